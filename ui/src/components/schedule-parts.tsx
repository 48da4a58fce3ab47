import { useState } from 'react';
import { ApiError, api } from '../api';
import { useCan } from '../auth';
import { duration, exactTime, plural } from '../format';

/** The exact local time without milliseconds (fire times are whole seconds). */
export const fireTime = (at: number): string => exactTime(at).replace(/\.\d{3} /, ' ');

import { Link } from '../router';
import type { ScheduleRecord, ScheduleRun, Trigger } from '../types';
import { Button, Dialog, ErrorBox, Time } from './ui';

/** A duration in ms as the API writes them back: 15m, 2h, 1d, 1500ms. */
export function shortDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms < 1000 ? `${ms}ms` : duration(ms);
}

/** A trigger in words: "cron 0 2 * * * in Europe/Berlin", "every 15m, aligned to …". */
export function triggerWords(trigger: Trigger): string {
  switch (trigger.type) {
    case 'cron':
      return `cron ${trigger.expression} in ${trigger.timezone}`;
    case 'interval':
      return trigger.referenceMs === 0
        ? `every ${shortDuration(trigger.everyMs)}, aligned to the clock (UTC)`
        : `every ${shortDuration(trigger.everyMs)}, aligned to ${fireTime(trigger.referenceMs)}`;
    case 'once':
      return `once at ${fireTime(trigger.atMs)}`;
    case 'datasets':
      return `when ${trigger.datasets.join(' and ')} ${trigger.datasets.length > 1 ? 'have' : 'has'} a partition`;
    case 'continuous':
      return `continuously: restart ${shortDuration(trigger.backoffMs)} after each run (backoff up to ${shortDuration(trigger.maxBackoffMs)})`;
  }
}

/** The kind of trigger, short, for a badge. */
export const TRIGGER_KIND: Record<Trigger['type'], string> = {
  cron: 'cron',
  interval: 'every',
  once: 'once',
  datasets: 'datasets',
  continuous: 'continuous',
};

/** What each run of the schedule starts: "task dailyReport" or "flow (3 steps)". */
export function TargetLabel({ schedule }: { schedule: ScheduleRecord }) {
  const { target } = schedule;
  if (target.kind === 'job')
    return (
      <span>
        <span className="muted">task</span> <code>{target.job.task}</code>
      </span>
    );
  const steps = target.flow.steps.length;
  return (
    <span>
      <span className="muted">flow</span> {plural(steps, 'step')}{' '}
      <span className="muted small schedule-steps">({target.flow.steps.map((s) => s.task).join(', ')})</span>
    </span>
  );
}

/** A link to what a run created (its job or flow). */
export function RunLink({ run }: { run: ScheduleRun }) {
  if (run.flowId) return <Link to={`/flows/${run.flowId}`}>flow {run.flowId}</Link>;
  if (run.jobId) return <Link to={`/jobs/${run.jobId}`}>job {run.jobId}</Link>;
  return <span className="muted">—</span>;
}

/** The next fire times as a list (a preview, or a saved schedule's). */
export function FireTimes({ times, empty }: { times: number[]; empty: string }) {
  if (times.length === 0) return <p className="muted small">{empty}</p>;
  return (
    <ol className="schedule-fire-times" aria-label="next fire times">
      {times.map((t) => (
        <li key={t}>
          <span className="mono">{fireTime(t)}</span>{' '}
          <span className="muted small">
            (<Time at={t} />)
          </span>
        </li>
      ))}
    </ol>
  );
}

/**
 * Pause / Resume and Run now for operators. A dataset schedule runs now for a partition, asked for in
 * a dialog. `onDone` re-reads the page; `compact` leaves out the message line (table rows).
 */
export function ScheduleActions({
  schedule,
  onDone,
  compact = false,
}: {
  schedule: ScheduleRecord;
  onDone: () => void;
  compact?: boolean;
}) {
  const canOperate = useCan('operator');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [partition, setPartition] = useState('');
  const path = `/schedules/${encodeURIComponent(schedule.name)}`;
  const act = (what: string, run: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    setNote(null);
    run().then(
      (result) => {
        setBusy(false);
        setAsking(false);
        const r = result as Partial<ScheduleRun> | undefined;
        setNote(
          r?.jobId ? `started job ${r.jobId}` : r?.flowId ? `started flow ${r.flowId}` : `${what} done`,
        );
        onDone();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
      },
    );
  };
  const runNow = () => {
    if (schedule.trigger.type === 'datasets') setAsking(true);
    else act('run now', () => api.post(`${path}/run`));
  };
  const label = compact ? `${schedule.name}: ` : '';
  if (!canOperate) return null;
  return (
    <>
      <div className="schedule-actions">
        {schedule.state === 'active' && (
          <Button
            onClick={() => act('pause', () => api.post(`${path}/pause`))}
            disabled={busy}
            aria-label={compact ? `Pause ${schedule.name}` : undefined}
          >
            Pause
          </Button>
        )}
        {schedule.state === 'paused' && (
          <Button
            onClick={() => act('resume', () => api.post(`${path}/resume`))}
            disabled={busy}
            aria-label={compact ? `Resume ${schedule.name}` : undefined}
          >
            Resume
          </Button>
        )}
        <Button
          onClick={runNow}
          disabled={busy}
          aria-label={compact ? `Run now ${schedule.name}` : undefined}
        >
          Run now
        </Button>
        {!compact && note && (
          <span className="muted small" role="status">
            {note}
          </span>
        )}
      </div>
      {error &&
        (compact ? <span className="field-error">{label + error.message}</span> : <ErrorBox error={error} />)}
      <Dialog open={asking} title={`Run ${schedule.name} now`} onClose={() => setAsking(false)}>
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            act('run now', () => api.post(`${path}/run`, { partition }));
          }}
        >
          <p className="muted">A dataset schedule runs for a partition: which one?</p>
          <label>
            Partition
            <input value={partition} onChange={(e) => setPartition(e.target.value)} required autoFocus />
          </label>
          <ErrorBox error={error} />
          <div className="dialog-actions">
            <Button onClick={() => setAsking(false)}>Cancel</Button>
            <Button type="submit" variant="primary" disabled={busy || partition === ''}>
              Run now
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
