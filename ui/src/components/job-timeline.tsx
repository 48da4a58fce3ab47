import type { ReactNode } from 'react';
import { duration } from '../format';
import type { JobEvent } from '../types';
import { Empty, Time } from './ui';

/** Event types as badge colours. */
const EVENT_STATE: Record<string, string> = {
  created: 'pending',
  started: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  retry_scheduled: 'reverting',
  lease_expired: 'failed',
  released: 'pending',
  cancel_requested: 'cancelled',
  cancelled: 'cancelled',
  retried: 'running',
  stale_completion: 'reverted',
};

/** One detail value, readable: times relative, delays as durations, errors as "Name: message". */
function detailValue(key: string, value: unknown): ReactNode {
  if (typeof value === 'number' && (key === 'at' || key.endsWith('At'))) return <Time at={value} />;
  if (typeof value === 'number' && key.endsWith('Ms')) return duration(value);
  if (key === 'error' && value && typeof value === 'object') {
    const e = value as { name?: string; message?: string; code?: string };
    return `${e.name ?? 'Error'}${e.code ? ` [${e.code}]` : ''}: ${e.message ?? ''}`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function Detail({ detail }: { detail: Record<string, unknown> | null }) {
  if (!detail || Object.keys(detail).length === 0) return null;
  return (
    <dl className="job-event-detail">
      {Object.entries(detail).map(([key, value]) => (
        <div key={key}>
          <dt>{key.replace(/Ms$/, '')}</dt>
          <dd>{detailValue(key, value)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Every event of the job, oldest first, with the time since it was created. */
export function EventTimeline({ events, createdAt }: { events: readonly JobEvent[]; createdAt: number }) {
  if (events.length === 0) return <Empty>No events recorded.</Empty>;
  return (
    <ol className="job-timeline" aria-label="event timeline">
      {events.map((event) => (
        <li key={`${event.type}-${event.at}-${event.attempt}-${event.workerId}`}>
          <span
            className={`job-timeline-dot state-${EVENT_STATE[event.type] ?? 'pending'}`}
            aria-hidden="true"
          />
          <div className="job-timeline-body">
            <div className="job-timeline-head">
              <span className={`badge state-${EVENT_STATE[event.type] ?? 'pending'}`}>
                {event.type.replace(/_/g, ' ')}
              </span>
              <Time at={event.at} />
              <span className="muted small" title="since the job was created">
                +{duration(Math.max(0, event.at - createdAt))}
              </span>
              {event.attempt !== null && <span className="small">attempt {event.attempt}</span>}
              {event.workerId && <span className="small muted mono">{event.workerId}</span>}
            </div>
            <Detail detail={event.detail} />
          </div>
        </li>
      ))}
    </ol>
  );
}
