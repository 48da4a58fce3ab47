import { useEffect, useState } from 'react';
import { api } from '../api';
import { useCan } from '../auth';
import { ScheduleActions, TargetLabel, TRIGGER_KIND, triggerWords } from '../components/schedule-parts';
import { Button, Empty, ErrorBox, Loading, PageHeader, StateBadge, Time, tableKeys } from '../components/ui';
import { count } from '../format';
import { useApi, useLiveRefresh } from '../hooks';
import { Link, navigate, setQuery, useLocation, useTitle } from '../router';
import type { ScheduleRecord, ScheduleRun } from '../types';

const STATES = ['active', 'paused', 'completed'] as const;
const KINDS = ['cron', 'interval', 'once', 'datasets', 'continuous'] as const;
/** The list has no last run: each row reads its newest run, at most this many rows at once. */
const LAST_RUN_PARALLEL = 6;

type Page = { schedules: ScheduleRecord[]; nextCursor: string | null };

/** The newest run of each schedule shown (the list endpoint does not carry it). */
function useLastRuns(
  schedules: ScheduleRecord[] | undefined,
  tick: number,
): Record<string, ScheduleRun | null> {
  const [runs, setRuns] = useState<Record<string, ScheduleRun | null>>({});
  const names = schedules?.map((s) => s.name).join('\n') ?? '';
  // biome-ignore lint/correctness/useExhaustiveDependencies: names and tick are the triggers
  useEffect(() => {
    const controller = new AbortController();
    const queue = names ? names.split('\n') : [];
    const next = async (): Promise<void> => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const page = await api.get<{ runs: ScheduleRun[] }>(
          `/schedules/${encodeURIComponent(name)}/runs`,
          { limit: 1 },
          controller.signal,
        );
        if (controller.signal.aborted) return;
        const run = page.runs[0] ?? null;
        setRuns((r) => ({ ...r, [name as string]: run }));
      }
    };
    const workers = Array.from({ length: Math.min(LAST_RUN_PARALLEL, queue.length) }, next);
    // A failed read leaves that row's cell empty: the schedule itself is still listed.
    Promise.allSettled(workers).then(
      () => undefined,
      () => undefined,
    );
    return () => controller.abort();
  }, [names, tick]);
  return runs;
}

export function SchedulesPage() {
  useTitle('Schedules');
  const canOperate = useCan('operator');
  const { query } = useLocation();
  const state = query.get('state') ?? '';
  const triggerType = query.get('trigger') ?? '';
  const cursor = query.get('cursor') ?? '';
  const [tick, setTick] = useState(0);
  const { data, error, loading, reload } = useApi(
    (signal) => api.get<Page>('/schedules', { state, triggerType, cursor, limit: 100 }, signal),
    `${state}|${triggerType}|${cursor}`,
  );
  useLiveRefresh(
    () => {
      reload();
      setTick((t) => t + 1);
    },
    { minMs: 2000, everyMs: 10_000 },
  );
  const lastRuns = useLastRuns(data?.schedules, tick);

  const filter = (key: string, value: string) => {
    const q = new URLSearchParams(query);
    if (value) q.set(key, value);
    else q.delete(key);
    q.delete('cursor');
    setQuery(q);
  };
  const open = (name: string) => navigate(`/schedules/${encodeURIComponent(name)}`);

  return (
    <>
      <PageHeader title="Schedules">
        {canOperate && (
          <Button variant="primary" onClick={() => navigate('/schedules/new')}>
            New schedule
          </Button>
        )}
      </PageHeader>
      <div className="filters">
        <label>
          State
          <select value={state} onChange={(e) => filter('state', e.target.value)}>
            <option value="">all</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Trigger
          <select value={triggerType} onChange={(e) => filter('trigger', e.target.value)}>
            <option value="">all</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {TRIGGER_KIND[k]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={error} title="Could not read the schedules" />
      {loading && !data && <Loading label="Loading schedules" />}
      {data && data.schedules.length === 0 && (
        <Empty>
          {state || triggerType ? (
            'No schedule matches these filters.'
          ) : (
            <>
              No schedules yet. Create one with <strong>New schedule</strong>,{' '}
              <code>stint schedules create</code> or <code>client.createSchedule()</code>.
            </>
          )}
        </Empty>
      )}
      {data && data.schedules.length > 0 && (
        <div className="table-wrap">
          <table className="schedules-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Target</th>
                <th>Trigger</th>
                <th>State</th>
                <th>Next fire</th>
                <th>Last run</th>
                <th className="num">Fired</th>
                {canOperate && (
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody onKeyDown={tableKeys((row) => open(row.dataset.row ?? ''))}>
              {data.schedules.map((s) => {
                const last = lastRuns[s.name];
                return (
                  <tr key={s.id} tabIndex={0} data-row={s.name} onClick={() => open(s.name)}>
                    <td className="schedule-name-cell">
                      <Link
                        to={`/schedules/${encodeURIComponent(s.name)}`}
                        onClick={(e) => e.stopPropagation()}
                      >
                        {s.name}
                      </Link>
                      {s.description && (
                        <div className="muted small schedule-desc" title={s.description}>
                          {s.description}
                        </div>
                      )}
                    </td>
                    <td className="schedule-target-cell">
                      <TargetLabel schedule={s} />
                    </td>
                    <td className="wrap schedule-trigger-cell">{triggerWords(s.trigger)}</td>
                    <td>
                      <StateBadge state={s.state} />
                    </td>
                    <td>
                      {s.state === 'active' ? (
                        <Time at={s.nextFireAt} fallback={s.trigger.type === 'datasets' ? 'on data' : '—'} />
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td>
                      {last === undefined ? (
                        <span className="muted">…</span>
                      ) : last === null ? (
                        <span className="muted">never</span>
                      ) : (
                        <span className="schedule-last-run">
                          <StateBadge state={last.state} /> <Time at={last.createdAt} />
                        </span>
                      )}
                    </td>
                    <td className="num">
                      {count(s.fireCount)}
                      {s.policies.maxRuns !== null && (
                        <span className="muted"> / {count(s.policies.maxRuns)}</span>
                      )}
                    </td>
                    {canOperate && (
                      <>
                        {/* biome-ignore lint/a11y/useKeyWithClickEvents: only stops the row's click; the buttons have their own keys */}
                        <td onClick={(e) => e.stopPropagation()}>
                          {s.state !== 'completed' && (
                            <ScheduleActions schedule={s} onDone={reload} compact />
                          )}
                        </td>
                      </>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data?.nextCursor && (
        <div className="schedule-pager">
          <Button
            onClick={() => {
              const q = new URLSearchParams(query);
              q.set('cursor', data.nextCursor ?? '');
              setQuery(q, { replace: false });
            }}
          >
            Next page
          </Button>
        </div>
      )}
    </>
  );
}
