import { useState } from 'react';
import { ApiError, api } from '../api';
import { plural } from '../format';
import type { JobState } from '../types';
import { Button, ConfirmButton, ErrorBox } from './ui';

/** What `POST /jobs/cancel` and `POST /jobs/retry` answer for each id. */
interface BulkResult {
  id: string;
  ok: boolean;
  state?: JobState;
  error?: { code: string; message: string };
}

interface Outcome {
  action: 'cancel' | 'retry';
  results: BulkResult[];
}

/** The server takes at most this many ids per request (MAX_BULK_IDS); a page holds at most 200. */
const MAX_IDS = 1000;

function BulkMessage({ outcome, onClose }: { outcome: Outcome; onClose: () => void }) {
  const done = outcome.results.filter((r) => r.ok);
  const failed = outcome.results.filter((r) => !r.ok);
  const requested = done.filter((r) => r.state === 'running').length;
  const verb = outcome.action === 'cancel' ? 'Cancelled' : 'Retried';
  return (
    <div className={`jobs-bulk-result ${failed.length > 0 ? 'partial' : ''}`} role="status">
      <div className="jobs-bulk-summary">
        <strong>
          {verb} {done.length - requested} of {outcome.results.length}
          {requested > 0 && `; cancel requested for ${requested} running`}
          {failed.length > 0 && `; ${failed.length} left as they were`}.
        </strong>
        <button type="button" className="icon-button" aria-label="dismiss" onClick={onClose}>
          ✕
        </button>
      </div>
      {failed.length > 0 && (
        <ul>
          {failed.map((r) => (
            <li key={r.id}>
              job <code>{r.id}</code>: <code>{r.error?.code}</code> {r.error?.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Cancel / Retry for the selected jobs, with a result per id. */
export function JobsBulkActions({ selected, onDone }: { selected: ReadonlySet<string>; onDone: () => void }) {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = [...selected].slice(0, MAX_IDS);
  /** Sends the action; a refused request rejects (the cancel dialog shows it; retry shows it below). */
  const request = async (action: 'cancel' | 'retry') => {
    const answer = await api.post<{ results: BulkResult[] }>(`/jobs/${action}`, { ids });
    setOutcome({ action, results: answer.results });
    onDone();
  };
  const retry = () => {
    setBusy(true);
    setError(null);
    request('retry').then(
      () => setBusy(false),
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
      },
    );
  };
  const n = ids.length;
  return (
    <div className="jobs-bulk">
      <div className="jobs-bulk-bar">
        <span className="muted small" aria-live="polite">
          {n === 0 ? 'Select jobs to act on several at once' : `${n} selected`}
        </span>
        <ConfirmButton
          label={n > 0 ? `Cancel ${n} selected` : 'Cancel selected'}
          confirm={`Cancel ${plural(n, 'job')}? Pending ones are cancelled at once; running ones are asked to stop. Finished ones are left as they are.`}
          onConfirm={() => request('cancel')}
          disabled={n === 0 || busy}
        />
        <Button disabled={n === 0 || busy} onClick={retry}>
          {n > 0 ? `Retry ${n} selected` : 'Retry selected'}
        </Button>
      </div>
      <ErrorBox error={error} title="The bulk action failed" />
      {outcome && <BulkMessage outcome={outcome} onClose={() => setOutcome(null)} />}
    </div>
  );
}
