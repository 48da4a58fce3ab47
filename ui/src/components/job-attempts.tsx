import { duration } from '../format';
import type { JobEvent, JobRecord, WorkerRecord } from '../types';
import { Elapsed, Empty, StateBadge, Time } from './ui';

/** One run of a job on a worker, from its `started` event to the event that ended it. */
export interface Attempt {
  attempt: number | null;
  workerId: string | null;
  startedAt: number;
  endedAt: number | null;
  /** The event type that ended it (`succeeded`, `retry_scheduled`, …), or null while it runs. */
  outcome: string | null;
  /** The error or reason its end event carries. */
  note: string | null;
}

const ENDS = new Set(['succeeded', 'failed', 'retry_scheduled', 'lease_expired', 'released', 'cancelled']);

/** The outcome names as a state badge colour. */
const OUTCOME_STATE: Record<string, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  retry_scheduled: 'reverting',
  lease_expired: 'failed',
  released: 'pending',
  cancelled: 'cancelled',
};

function note(detail: Record<string, unknown> | null): string | null {
  if (!detail) return null;
  const error = detail.error as { name?: string; message?: string } | undefined;
  if (error?.message) return `${error.name ?? 'Error'}: ${error.message}`;
  if (typeof detail.reason === 'string') return detail.reason;
  return null;
}

/**
 * The attempts of a job, oldest first: each `started` event opens one; the next end event (of the
 * same attempt when it says which) closes it. An attempt still open is running (or its worker died
 * and the lease has not expired yet).
 */
export function deriveAttempts(events: readonly JobEvent[]): Attempt[] {
  const attempts: Attempt[] = [];
  let open: Attempt | null = null;
  for (const event of events) {
    if (event.type === 'started') {
      open = {
        attempt: event.attempt,
        workerId: event.workerId,
        startedAt: event.at,
        endedAt: null,
        outcome: null,
        note: null,
      };
      attempts.push(open);
    } else if (open && ENDS.has(event.type)) {
      if (event.attempt !== null && open.attempt !== null && event.attempt !== open.attempt) continue;
      open.endedAt = event.at;
      open.outcome = event.type;
      open.note = note(event.detail);
      open = null;
    }
  }
  return attempts;
}

/**
 * A worker's host: from the workers list, or from the id when it has the default shape
 * `<host>:<pid>:<random>`.
 */
export function workerHost(workerId: string | null, workers: readonly WorkerRecord[]): string | null {
  if (!workerId) return null;
  const known = workers.find((w) => w.id === workerId);
  if (known) return known.host;
  return /^(.+):\d+:[^:]+$/.exec(workerId)?.[1] ?? null;
}

export function AttemptsTable({
  events,
  job,
  workers,
}: {
  events: readonly JobEvent[];
  job: JobRecord;
  workers: readonly WorkerRecord[];
}) {
  const attempts = deriveAttempts(events);
  if (attempts.length === 0)
    return (
      <Empty>
        {job.state === 'pending' ? 'Not started yet: no attempt so far.' : 'This job never started.'}
      </Empty>
    );
  return (
    <div className="table-wrap">
      <table aria-label="attempts">
        <thead>
          <tr>
            <th className="num">#</th>
            <th>Outcome</th>
            <th>Worker</th>
            <th>Host</th>
            <th>Start</th>
            <th>End</th>
            <th className="num">Duration</th>
            <th>Error or reason</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => {
            const running = a.outcome === null && job.state === 'running' && a.attempt === job.attempt;
            return (
              <tr key={`${a.attempt}-${a.startedAt}`}>
                <td className="num">{a.attempt ?? '—'}</td>
                <td>
                  {a.outcome ? (
                    <span className={`badge state-${OUTCOME_STATE[a.outcome] ?? 'pending'}`}>
                      {a.outcome.replace(/_/g, ' ')}
                    </span>
                  ) : running ? (
                    <StateBadge state="running" />
                  ) : (
                    <span className="badge muted">no end recorded</span>
                  )}
                </td>
                <td className="mono small">{a.workerId ?? '—'}</td>
                <td>{workerHost(a.workerId, workers) ?? <span className="muted">—</span>}</td>
                <td>
                  <Time at={a.startedAt} />
                </td>
                <td>
                  <Time at={a.endedAt} fallback={running ? 'running' : '—'} />
                </td>
                <td className="num">
                  {a.endedAt !== null ? (
                    <span title={`${a.endedAt - a.startedAt} ms`}>{duration(a.endedAt - a.startedAt)}</span>
                  ) : running ? (
                    <Elapsed from={a.startedAt} />
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className="wrap">{a.note ?? <span className="muted">—</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
