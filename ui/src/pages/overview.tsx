import { useCallback } from 'react';
import { api } from '../api';
import { ThroughputChart } from '../components/chart-throughput';
import { Empty, ErrorBox, Loading, PageHeader, Stat, Time } from '../components/ui';
import { count } from '../format';
import { useApi, useLiveRefresh } from '../hooks';
import { Link, useTitle } from '../router';
import type { Overview, QueueStats } from '../types';

/** The cluster at a glance: stats, throughput over the last hour, queues and failing tasks. */
export function OverviewPage() {
  useTitle('Overview');
  const load = useCallback((signal: AbortSignal) => api.get<Overview>('/overview', undefined, signal), []);
  const { data, error, loading, reload } = useApi(load, 'overview');
  useLiveRefresh(reload, { minMs: 1000, everyMs: 5000 });

  return (
    <>
      <PageHeader title="Overview" />
      <ErrorBox error={error} title="Cannot read the overview" />
      {!data && loading && <Loading label="Loading the overview" />}
      {data && <OverviewBody data={data} />}
    </>
  );
}

function OverviewBody({ data }: { data: Overview }) {
  const due = data.queues.reduce((n, q) => n + q.due, 0);
  const failedLastHour = data.throughput.buckets.reduce((n, b) => n + b.failed, 0);
  const lease = data.coordinator;
  return (
    <>
      <section className="grid overview-stats" aria-label="cluster stats">
        <Stat label="Running jobs" value={<Link to="/jobs?state=running">{count(data.jobs.running)}</Link>} />
        <Stat
          label="Pending jobs"
          value={<Link to="/jobs?state=pending">{count(data.jobs.pending)}</Link>}
          hint={`${count(due)} due now`}
        />
        <Stat label="Workers alive" value={<Link to="/workers">{count(data.workers.active)}</Link>} />
        <Stat
          label="Failed last hour"
          value={
            <Link to="/jobs?state=failed" className={failedLastHour > 0 ? 'overview-bad' : undefined}>
              {count(failedLastHour)}
            </Link>
          }
        />
        <Stat
          label="Coordinator"
          value={
            lease ? (
              <span className="overview-holder" title={`term ${lease.term}`}>
                {lease.holder}
              </span>
            ) : (
              <span className="muted">none</span>
            )
          }
          hint={
            lease ? (
              <>
                term {lease.term}, lease expires <Time at={lease.expiresAt} />
              </>
            ) : (
              'no process holds the lease: schedules do not fire until one does'
            )
          }
        />
      </section>

      <section className="card overview-chart" aria-labelledby="throughput-title">
        <h2 id="throughput-title">Throughput, last hour</h2>
        <ThroughputChart data={data.throughput} title="Jobs per minute" />
      </section>

      <div className="columns overview-columns">
        <section aria-labelledby="queues-title">
          <h2 id="queues-title">Queues</h2>
          <QueueTable queues={data.queues} />
        </section>
        <section aria-labelledby="failing-title">
          <h2 id="failing-title">Failing tasks, last hour</h2>
          {data.failingTasks.length === 0 ? (
            <div className="card">
              <Empty>No job failed in the last hour.</Empty>
            </div>
          ) : (
            <div className="table-wrap">
              <table aria-labelledby="failing-title">
                <thead>
                  <tr>
                    <th scope="col">task</th>
                    <th scope="col" className="num">
                      failed
                    </th>
                    <th scope="col">last failure</th>
                  </tr>
                </thead>
                <tbody>
                  {data.failingTasks.map((t) => (
                    <tr key={t.task}>
                      <td>
                        <Link
                          to={`/jobs?task=${encodeURIComponent(t.task)}&state=failed`}
                          aria-label={`failed jobs of ${t.task}`}
                        >
                          {t.task}
                        </Link>
                      </td>
                      <td className="num">{count(t.failed)}</td>
                      <td>
                        <Time at={t.lastFailedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}

function QueueTable({ queues }: { queues: QueueStats[] }) {
  if (queues.length === 0)
    return (
      <div className="card">
        <Empty>No queues yet: submit a job and its queue shows up here.</Empty>
      </div>
    );
  return (
    <div className="table-wrap">
      <table aria-labelledby="queues-title">
        <thead>
          <tr>
            <th scope="col">queue</th>
            <th scope="col" className="num">
              pending
            </th>
            <th scope="col" className="num">
              due
            </th>
            <th scope="col" className="num">
              running
            </th>
            <th scope="col" className="num">
              failed
            </th>
            <th scope="col" className="num" title="succeeded or failed in the last minute">
              done/min
            </th>
            <th scope="col" className="num">
              workers
            </th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => {
            const jobs = (state: string) => `/jobs?queue=${encodeURIComponent(q.name)}&state=${state}`;
            const starved = q.workers === 0 && q.pending > 0;
            return (
              <tr key={q.name}>
                <th scope="row">
                  <Link to={`/jobs?queue=${encodeURIComponent(q.name)}`}>{q.name}</Link>
                </th>
                <td className="num">
                  <Link to={jobs('pending')} aria-label={`${q.pending} pending in ${q.name}`}>
                    {count(q.pending)}
                  </Link>
                </td>
                <td className="num">{count(q.due)}</td>
                <td className="num">
                  <Link to={jobs('running')} aria-label={`${q.running} running in ${q.name}`}>
                    {count(q.running)}
                  </Link>
                </td>
                <td className="num">
                  <Link
                    to={jobs('failed')}
                    aria-label={`${q.failed} failed in ${q.name}`}
                    className={q.failed > 0 ? 'overview-bad' : undefined}
                  >
                    {count(q.failed)}
                  </Link>
                </td>
                <td className="num">{count(q.finishedLastMinute)}</td>
                <td className="num">
                  {starved ? (
                    <span className="overview-bad" title="jobs wait: no live worker serves this queue">
                      0 ⚠<span className="sr-only"> no worker serves this queue</span>
                    </span>
                  ) : (
                    count(q.workers)
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
