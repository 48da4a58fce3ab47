import { useState } from 'react';
import { ApiError, api } from '../api';
import { useCan } from '../auth';
import type { BackfillRecord, ScheduleRecord } from '../types';
import { fireTime } from './schedule-parts';
import { fromLocalInput } from './schema-form';
import { Button, ConfirmButton, Dialog, Empty, ErrorBox, Progress, StateBadge, Time } from './ui';

type Issue = { path: string; message: string };
const issuesOf = (err: ApiError | null): Issue[] => (err?.details.issues as Issue[] | undefined) ?? [];

/** How far a backfill got: its runs that ended (or were skipped) of its total. */
function done(b: BackfillRecord): number {
  const r = b.runs;
  const ended =
    (r.succeeded ?? 0) + (r.failed ?? 0) + (r.cancelled ?? 0) + (r.revert_failed ?? 0) + (r.deleted ?? 0);
  return Math.min(b.total, ended + b.skipped);
}

function range(b: BackfillRecord): string {
  if (b.partitions) {
    const first = b.partitions[0] ?? '';
    const last = b.partitions[b.partitions.length - 1] ?? '';
    return b.partitions.length > 1 ? `partitions ${first} … ${last}` : `partition ${first}`;
  }
  return `${b.from === null ? '?' : fireTime(b.from)} → ${b.to === null ? '?' : fireTime(b.to)}`;
}

const RUN_STATES = [
  'pending',
  'running',
  'reverting',
  'succeeded',
  'failed',
  'revert_failed',
  'cancelled',
  'deleted',
] as const;

export function BackfillList({ backfills, onChange }: { backfills: BackfillRecord[]; onChange: () => void }) {
  const canOperate = useCan('operator');
  if (backfills.length === 0)
    return <Empty>No backfills. A backfill runs the schedule for every fire time in a past range.</Empty>;
  return (
    <ul className="schedule-backfill-list">
      {backfills.map((b) => (
        <li key={b.id} className="schedule-backfill">
          <div className="schedule-backfill-head">
            <strong>Backfill {b.id}</strong> <StateBadge state={b.state} />{' '}
            <span className="muted small">
              started <Time at={b.createdAt} />
              {b.finishedAt !== null && (
                <>
                  , ended <Time at={b.finishedAt} />
                </>
              )}
              , {b.concurrency} at once
            </span>
            {b.state === 'running' && canOperate && (
              <ConfirmButton
                label="Cancel backfill"
                confirm={`Stop backfill ${b.id}? No new runs start; its pending and running runs are cancelled.`}
                onConfirm={() => api.post(`/backfills/${b.id}/cancel`).then(onChange)}
              />
            )}
          </div>
          <div className="muted small">{range(b)}</div>
          <Progress done={done(b)} total={b.total} label={`backfill ${b.id} progress`} />
          <div className="small schedule-backfill-counts">
            {RUN_STATES.filter((s) => (b.runs[s] ?? 0) > 0).map((s) => (
              <span key={s}>
                <StateBadge state={s} /> {b.runs[s]}
              </span>
            ))}
            {b.skipped > 0 && (
              <span>
                <StateBadge state="skipped" /> {b.skipped} (already ran)
              </span>
            )}
            <span className="muted">
              {b.created} of {b.total} created
            </span>
          </div>
        </li>
      ))}
    </ul>
  );
}

/** "Start backfill" with its dialog: a time range (or partitions for dataset schedules) and a concurrency. */
export function StartBackfill({ schedule, onStarted }: { schedule: ScheduleRecord; onStarted: () => void }) {
  const canOperate = useCan('operator');
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [concurrency, setConcurrency] = useState('1');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const datasets = schedule.trigger.type === 'datasets';
  if (schedule.trigger.type === 'continuous') return null;
  const issues = issuesOf(error);
  const fieldError = (path: string) => issues.find((i) => i.path === path)?.message;

  const submit = () => {
    setBusy(true);
    setError(null);
    const body = {
      from: datasets ? from : (fromLocalInput(from) ?? from),
      to: datasets ? to : (fromLocalInput(to) ?? to),
      concurrency: Number(concurrency),
    };
    api.post<BackfillRecord>(`/schedules/${encodeURIComponent(schedule.name)}/backfills`, body).then(
      () => {
        setBusy(false);
        setOpen(false);
        onStarted();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
      },
    );
  };
  const input = (label: string, path: string, value: string, set: (v: string) => void) => {
    const err = fieldError(path);
    return (
      <label>
        {label}
        <input
          type={datasets ? 'text' : 'datetime-local'}
          value={value}
          onChange={(e) => set(e.target.value)}
          required
          aria-invalid={err ? true : undefined}
          placeholder={datasets ? 'partition name' : undefined}
        />
        {err && <span className="field-error">{err}</span>}
      </label>
    );
  };
  if (!canOperate) return null;
  return (
    <>
      <Button onClick={() => setOpen(true)}>Start backfill</Button>
      <Dialog open={open} title={`Backfill ${schedule.name}`} onClose={() => setOpen(false)}>
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <p className="muted small">
            {datasets
              ? 'Runs the schedule for every partition that all its datasets marked between these two partition names.'
              : 'Runs the schedule for every fire time in this range (your local time), oldest first. Fire times that already ran are skipped.'}
          </p>
          {input('From', 'from', from, setFrom)}
          {input('To', 'to', to, setTo)}
          <label>
            Concurrency
            <input
              type="number"
              min={1}
              max={10000}
              step={1}
              value={concurrency}
              onChange={(e) => setConcurrency(e.target.value)}
              aria-invalid={fieldError('concurrency') ? true : undefined}
            />
            <span className="schema-hint">runs at once</span>
            {fieldError('concurrency') && <span className="field-error">{fieldError('concurrency')}</span>}
          </label>
          <ErrorBox error={error} title="Could not start the backfill" />
          <div className="dialog-actions">
            <Button onClick={() => setOpen(false)}>Cancel</Button>
            <Button type="submit" variant="primary" disabled={busy}>
              {busy ? 'Starting…' : 'Start backfill'}
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
