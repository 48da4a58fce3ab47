import { useState } from 'react';
import { api } from '../api';
import { useCan } from '../auth';
import { BackfillList, StartBackfill } from '../components/schedule-backfills';
import {
  FireTimes,
  fireTime,
  RunLink,
  ScheduleActions,
  shortDuration,
  TargetLabel,
  triggerWords,
} from '../components/schedule-parts';
import {
  Button,
  ConfirmButton,
  CopyId,
  Elapsed,
  Empty,
  ErrorBox,
  JsonBlock,
  Loading,
  PageHeader,
  StateBadge,
  Time,
} from '../components/ui';
import { count, exactTime, plural } from '../format';
import { useApi, useLiveRefresh } from '../hooks';
import { Link, navigate, useTitle } from '../router';
import type { BackfillRecord, ScheduleEvent, ScheduleRecord, ScheduleRun } from '../types';

type Info = ScheduleRecord & { nextFireTimes: number[] };
const RUNS_PAGE = 50;

export function SchedulePage({ name }: { name: string }) {
  useTitle(`Schedule ${name}`);
  const canOperate = useCan('operator');
  const canAdmin = useCan('admin');
  const path = `/schedules/${encodeURIComponent(name)}`;
  const [runLimit, setRunLimit] = useState(RUNS_PAGE);
  const schedule = useApi((signal) => api.get<Info>(path, undefined, signal), path);
  const runs = useApi(
    (signal) =>
      api.get<{ runs: ScheduleRun[]; nextCursor: string | null }>(
        `${path}/runs`,
        { limit: runLimit },
        signal,
      ),
    `${path}|${runLimit}`,
  );
  const backfills = useApi(
    (signal) => api.get<{ backfills: BackfillRecord[] }>(`${path}/backfills`, undefined, signal),
    path,
  );
  const events = useApi(
    (signal) => api.get<{ events: ScheduleEvent[] }>(`${path}/events`, undefined, signal),
    path,
  );
  const reloadAll = () => {
    schedule.reload();
    runs.reload();
    backfills.reload();
    events.reload();
  };
  const backfilling = backfills.data?.backfills.some((b) => b.state === 'running') ?? false;
  useLiveRefresh(reloadAll, { minMs: 1500, everyMs: backfilling ? 2000 : 10_000 });

  const s = schedule.data;
  if (schedule.error && !s)
    return (
      <>
        <PageHeader title={<>Schedule {name}</>} />
        <ErrorBox
          error={schedule.error}
          title={
            schedule.error.status === 404
              ? 'No such schedule (it may have been deleted)'
              : 'Could not read the schedule'
          }
        />
        <Link to="/schedules">All schedules</Link>
      </>
    );
  if (!s) return <Loading label="Loading the schedule" />;

  return (
    <>
      <PageHeader
        title={
          <>
            Schedule {s.name} <StateBadge state={s.state} />
          </>
        }
      >
        {s.state !== 'completed' && <ScheduleActions schedule={s} onDone={reloadAll} />}
        {canOperate && (
          <>
            <Button onClick={() => navigate(`${path}/edit`)}>Edit</Button>
            <StartBackfill schedule={s} onStarted={reloadAll} />
          </>
        )}
        {canAdmin && (
          <ConfirmButton
            label="Delete"
            confirm={`Delete schedule ${s.name} with its runs, events and backfills? The jobs and flows it created stay.`}
            onConfirm={() => api.delete(path).then(() => navigate('/schedules'))}
          />
        )}
      </PageHeader>
      <ErrorBox error={schedule.error} title="Could not refresh the schedule" />
      <div className="columns schedule-columns">
        <section className="card" aria-labelledby="schedule-fields">
          <h2 id="schedule-fields">Schedule</h2>
          <dl className="fields">
            {s.description && (
              <>
                <dt>Description</dt>
                <dd>{s.description}</dd>
              </>
            )}
            <dt>Runs</dt>
            <dd>
              <TargetLabel schedule={s} />
              {s.target.kind === 'job' && <span className="muted small"> on queue {s.target.job.queue}</span>}
            </dd>
            <dt>Trigger</dt>
            <dd>{triggerWords(s.trigger)}</dd>
            <dt>Misfire</dt>
            <dd>
              {s.policies.misfire.replace('_', ' ')}
              <span className="muted small">
                {' '}
                (grace {shortDuration(s.policies.misfireGraceMs)}
                {s.policies.misfire === 'catch_up' ? `, at most ${s.policies.maxCatchUp}` : ''})
              </span>
            </dd>
            <dt>Overlap</dt>
            <dd>{s.policies.overlap.replace('_', ' ')}</dd>
            <dt>Fired</dt>
            <dd>
              {count(s.fireCount)}
              {s.policies.maxRuns === null ? ' (no limit)' : ` of ${count(s.policies.maxRuns)}`}
            </dd>
            <dt>Last fire</dt>
            <dd>
              <Time at={s.lastFireAt} fallback="never" />
            </dd>
            <dt>Next fire</dt>
            <dd>
              {s.state === 'active' ? (
                <Time
                  at={s.nextFireAt}
                  fallback={s.trigger.type === 'datasets' ? 'when data arrives' : 'none'}
                />
              ) : (
                <span className="muted">{s.state}</span>
              )}
            </dd>
            <dt>Created</dt>
            <dd>
              <Time at={s.createdAt} />
            </dd>
            <dt>Updated</dt>
            <dd>
              <Time at={s.updatedAt} />
            </dd>
            <dt>Id</dt>
            <dd>
              <CopyId id={s.id} label="schedule id" />
            </dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="schedule-next">
          <h2 id="schedule-next">Next fire times</h2>
          {s.state === 'paused' && (
            <p className="muted small">Paused: these are the times it would fire when resumed.</p>
          )}
          <FireTimes
            times={s.nextFireTimes}
            empty={
              s.trigger.type === 'datasets'
                ? 'Fires when every dataset it waits for has marked a partition.'
                : s.trigger.type === 'continuous'
                  ? 'Runs again each time the previous run ends.'
                  : 'No fire time is coming.'
            }
          />
          <h3>{s.target.kind === 'job' ? 'Input' : 'Flow'}</h3>
          <JsonBlock
            label={s.target.kind === 'job' ? 'input' : 'flow'}
            value={s.target.kind === 'job' ? s.target.job.input : s.target.flow.spec}
          />
        </section>
      </div>

      <section className="card" aria-labelledby="schedule-backfills">
        <h2 id="schedule-backfills">Backfills</h2>
        <ErrorBox error={backfills.error} title="Could not read the backfills" />
        {backfills.data ? (
          <BackfillList backfills={backfills.data.backfills} onChange={reloadAll} />
        ) : (
          !backfills.error && <Loading label="Loading backfills" />
        )}
      </section>

      <section className="card" aria-labelledby="schedule-runs">
        <h2 id="schedule-runs">Runs</h2>
        <ErrorBox error={runs.error} title="Could not read the runs" />
        {runs.data && runs.data.runs.length === 0 && (
          <Empty>No runs yet. {s.state === 'active' ? 'They appear here as the schedule fires.' : ''}</Empty>
        )}
        {runs.data && runs.data.runs.length > 0 && <RunsTable runs={runs.data.runs} />}
        {runs.data?.nextCursor && (
          <div className="schedule-pager">
            <Button
              onClick={() => setRunLimit((l) => Math.min(500, l + RUNS_PAGE))}
              disabled={runLimit >= 500}
            >
              Show more runs
            </Button>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="schedule-events">
        <h2 id="schedule-events">Events</h2>
        <ErrorBox error={events.error} title="Could not read the events" />
        {events.data && <EventsTable events={events.data.events} />}
      </section>
    </>
  );
}

function RunsTable({ runs }: { runs: ScheduleRun[] }) {
  return (
    <div className="table-wrap schedule-flat">
      <table>
        <thead>
          <tr>
            <th>Fire time</th>
            <th>Kind</th>
            <th>State</th>
            <th>Run</th>
            <th>Created</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>
                {r.fireTime !== null && r.kind !== 'partition' ? (
                  <span className="mono" title={new Date(r.fireTime).toISOString()}>
                    {exactTime(r.fireTime).slice(0, 19)}
                  </span>
                ) : r.partition !== null ? (
                  <span>
                    partition <code>{r.partition}</code>
                  </span>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td>
                {r.kind === 'now' ? 'run now' : r.kind}
                {r.backfillId && <span className="muted small"> #{r.backfillId}</span>}
              </td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>
                <RunLink run={r} />
              </td>
              <td>
                <Time at={r.createdAt} />
              </td>
              <td>
                {r.startedAt !== null ? (
                  <Elapsed from={r.startedAt} to={r.finishedAt} />
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const EVENTS_SHOWN = 50;

/** Epoch milliseconds from 2001-09-09 on (below that, a number is a count or a duration). */
const EPOCH_MS_FROM = 1e12;
const EPOCH_MS_UNTIL = 1e14;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A time in an event's data: a plausible epoch-ms number or an ISO date-time string; else null. */
function eventTime(value: unknown): number | null {
  if (typeof value === 'number')
    return Number.isFinite(value) && value > EPOCH_MS_FROM && value < EPOCH_MS_UNTIL ? value : null;
  if (typeof value !== 'string' || !ISO_TIME.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}

/** A reference to a run's job or flow (`{ job: '12' }`), as events name them. */
function runRef(value: unknown): { kind: 'job' | 'flow'; id: string } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  const v = value as Record<string, unknown>;
  if (keys.length !== 1) return null;
  if (typeof v.job === 'string') return { kind: 'job', id: v.job };
  if (typeof v.flow === 'string') return { kind: 'flow', id: v.flow };
  return null;
}

function EventValue({ value }: { value: unknown }) {
  const at = eventTime(value);
  if (at !== null)
    return (
      <>
        <span className="mono">{at % 1000 === 0 ? fireTime(at) : exactTime(at)}</span>{' '}
        <span className="muted small">
          (<Time at={at} />)
        </span>
      </>
    );
  const ref = runRef(value);
  if (ref) return <Link to={`/${ref.kind}s/${ref.id}`}>{`${ref.kind} ${ref.id}`}</Link>;
  if (Array.isArray(value))
    return value.length === 0 ? (
      <span className="muted">none</span>
    ) : (
      value.map((v, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list, drawn once
        <span key={i}>
          {i > 0 && ', '}
          <EventValue value={v} />
        </span>
      ))
    );
  if (typeof value === 'number') return <>{count(value)}</>;
  if (typeof value === 'string' || typeof value === 'boolean') return <>{String(value)}</>;
  if (value === null) return <span className="muted">none</span>;
  return <span className="mono small">{JSON.stringify(value)}</span>;
}

/** An event's data as "key: value" pairs; times exact (with the relative time), runs as links. */
function EventDetails({ data }: { data: Record<string, unknown> | null }) {
  const entries = Object.entries(data ?? {});
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <dl className="schedule-event-details">
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>
            <EventValue value={value} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

function EventsTable({ events }: { events: ScheduleEvent[] }) {
  const [all, setAll] = useState(false);
  if (events.length === 0) return <Empty>No events.</Empty>;
  const newest = [...events].reverse().slice(0, all ? undefined : EVENTS_SHOWN);
  return (
    <>
      <div className="table-wrap schedule-flat">
        <table>
          <thead>
            <tr>
              <th>When</th>
              <th>Event</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {newest.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time at={e.at} />
                </td>
                <td>{e.type.replace(/_/g, ' ')}</td>
                <td className="wrap schedule-event-data">
                  <EventDetails data={e.data} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {events.length > EVENTS_SHOWN && !all && (
        <div className="schedule-pager">
          <Button onClick={() => setAll(true)}>Show all {plural(events.length, 'event')}</Button>
        </div>
      )}
    </>
  );
}
