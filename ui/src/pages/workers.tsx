import { useCallback } from 'react';
import { api } from '../api';
import { CopyId, Empty, ErrorBox, Loading, PageHeader, StateBadge, Time } from '../components/ui';
import { count, exactTime, megabytes, plural, relativeTime } from '../format';
import { useApi, useLiveRefresh, useNow } from '../hooks';
import { Link, setQuery, useLocation, useTitle } from '../router';
import type { WorkerRecord } from '../types';

/** A worker is stale when it missed two heartbeats (the coordinator marks it gone after three). */
export function isStale(worker: WorkerRecord, now: number): boolean {
  return worker.state === 'active' && now - worker.heartbeatAt > 2 * worker.heartbeatMs;
}

const ORDER: Record<string, number> = { active: 0, gone: 1, stopped: 2 };

/** Every worker: what it serves, what it has and uses, whether it is alive. */
export function WorkersPage() {
  useTitle('Workers');
  const { query } = useLocation();
  const all = query.get('all') === '1';
  const load = useCallback(
    (signal: AbortSignal) =>
      api.get<{ workers: WorkerRecord[] }>('/workers', all ? undefined : { state: 'active' }, signal),
    [all],
  );
  const { data, error, loading, reload } = useApi(load, `workers:${all}`);
  useLiveRefresh(reload, { minMs: 1000, everyMs: 3000 });
  const now = useNow(3000);

  const toggle = (checked: boolean) => {
    const next = new URLSearchParams(query);
    if (checked) next.set('all', '1');
    else next.delete('all');
    setQuery(next);
  };
  const workers = [...(data?.workers ?? [])].sort(
    (a, b) => (ORDER[a.state] ?? 3) - (ORDER[b.state] ?? 3) || a.id.localeCompare(b.id),
  );
  const alive = workers.filter((w) => w.state === 'active').length;
  const stale = workers.filter((w) => isStale(w, now)).length;

  return (
    <>
      <PageHeader title="Workers">
        <label className="inline">
          <input type="checkbox" checked={all} onChange={(e) => toggle(e.currentTarget.checked)} />
          Include stopped and gone workers
        </label>
      </PageHeader>
      <ErrorBox error={error} title="Cannot list the workers" />
      {!data && loading && <Loading label="Loading workers" />}
      {data && (
        <p className="muted workers-summary" aria-live="polite">
          {count(alive)} alive
          {stale > 0 && <span className="worker-stale-text">, {count(stale)} missed heartbeats</span>}
          {all && `, ${count(workers.length - alive)} stopped or gone`}
        </p>
      )}
      {data && workers.length === 0 && (
        <div className="card">
          <Empty>
            {all ? 'No worker has registered yet.' : 'No worker is running.'} Start one with{' '}
            <code>stint worker tasks.ts</code> or <code>createWorker()</code>; jobs wait in their queue until
            a worker of that queue shows up.
          </Empty>
        </div>
      )}
      {workers.length > 0 && (
        <ul className="worker-list" aria-label="workers">
          {workers.map((w) => (
            <WorkerCard key={w.id} worker={w} stale={isStale(w, now)} />
          ))}
        </ul>
      )}
    </>
  );
}

function WorkerCard({ worker: w, stale }: { worker: WorkerRecord; stale: boolean }) {
  const keys = [...new Set([...Object.keys(w.capacity), ...Object.keys(w.inUse)])].sort(
    (a, b) => resourceRank(a) - resourceRank(b) || a.localeCompare(b),
  );
  const runningLink =
    w.queues.length === 1
      ? `/jobs?state=running&queue=${encodeURIComponent(w.queues[0] ?? '')}`
      : '/jobs?state=running';
  const titleId = `worker-${w.id}`;
  return (
    <li className={`card worker-card ${stale ? 'stale' : ''} ${w.state !== 'active' ? 'inactive' : ''}`}>
      <article aria-labelledby={titleId}>
        <header className="worker-head">
          <h2 id={titleId} className="sr-only">
            worker {w.id}
          </h2>
          <CopyId id={w.id} label="worker id" />
          <StateBadge state={w.state} />
          {stale && (
            <span className="badge worker-stale-badge" title="missed two or more heartbeats">
              stale
            </span>
          )}
        </header>
        <dl className="fields worker-fields">
          <dt>host</dt>
          <dd>
            {w.host} <span className="muted">pid {w.pid}</span>
          </dd>
          <dt>version</dt>
          <dd>{w.version}</dd>
          <dt>queues</dt>
          <dd className="chips">
            {w.queues.map((q) => (
              <Link key={q} className="chip" to={`/jobs?queue=${encodeURIComponent(q)}`}>
                {q}
              </Link>
            ))}
          </dd>
          <dt>labels</dt>
          <dd className="chips">
            {Object.keys(w.labels).length === 0 && <span className="muted">none</span>}
            {Object.entries(w.labels).map(([k, v]) => (
              <span key={k} className="chip">
                {k}=<strong>{v}</strong>
              </span>
            ))}
          </dd>
          <dt>running</dt>
          <dd>
            {w.state === 'active' && w.running > 0 ? (
              <Link to={runningLink} aria-label={`${plural(w.running, 'running job')} on ${w.id}`}>
                {jobs(w.running)}
              </Link>
            ) : (
              jobs(w.running)
            )}{' '}
            <span className="muted">of {count(w.concurrency)} at once</span>
          </dd>
          <dt>heartbeat</dt>
          <dd className={stale ? 'worker-stale-text' : undefined}>
            <Heartbeat at={w.heartbeatAt} />{' '}
            <span className="muted">every {Math.round(w.heartbeatMs / 1000)} s</span>
          </dd>
          <dt>started</dt>
          <dd>
            <Time at={w.startedAt} />
            {w.stoppedAt !== null && (
              <>
                , stopped <Time at={w.stoppedAt} />
              </>
            )}
          </dd>
        </dl>
        {keys.length > 0 && (
          <div className="worker-resources">
            <h3 className="sr-only">resources</h3>
            {keys.map((k) => (
              <ResourceBar key={k} name={k} used={w.inUse[k] ?? 0} total={w.capacity[k] ?? 0} />
            ))}
          </div>
        )}
      </article>
    </li>
  );
}

function jobs(n: number): string {
  return plural(n, 'job');
}

/**
 * The last heartbeat, relative to a clock that ticks every second (heartbeats come every few
 * seconds, faster than <Time> re-renders); never "in 1s" when the browser's clock lags the store's.
 */
function Heartbeat({ at }: { at: number }) {
  const now = useNow(1000);
  const exact = exactTime(at);
  return (
    <time dateTime={new Date(at).toISOString()} title={exact}>
      {relativeTime(Math.min(at, now - 1000), now)}
    </time>
  );
}

function resourceRank(key: string): number {
  return key === 'cpu' ? 0 : key === 'memoryMb' ? 1 : 2;
}

/** Like UsageBar, with memory in MB/GB and the key named for people. */
function ResourceBar({ name, used, total }: { name: string; used: number; total: number }) {
  const memory = name === 'memoryMb';
  const label = memory ? 'memory' : name;
  const show = (n: number) => (memory ? megabytes(n) : count(n));
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : used > 0 ? 100 : 0;
  const text = `${show(used)} of ${show(total)} in use`;
  return (
    <div className="usage">
      <span className="usage-label">{label}</span>
      <meter
        className="sr-only"
        min={0}
        max={total}
        value={Math.min(used, total)}
        aria-label={`${label} in use`}
        aria-valuetext={text}
      />
      <div className="usage-track" aria-hidden="true">
        <div className={`usage-fill ${pct >= 90 ? 'high' : ''}`} style={{ width: `${pct}%` }} />
      </div>
      <span className="usage-value" title={text}>
        {show(used)} / {show(total)}
      </span>
    </div>
  );
}
