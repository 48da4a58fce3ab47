import type { ReactNode } from 'react';
import { duration } from '../format';
import { Link } from '../router';
import type { JobRecord, SerializedError, WorkerRecord } from '../types';
import { workerHost } from './job-attempts';
import { Elapsed, Time } from './ui';

function placementText(job: JobRecord): string | null {
  const parts: string[] = [];
  for (const [key, amount] of Object.entries(job.placement?.resources ?? {})) parts.push(`${key} ${amount}`);
  for (const [key, value] of Object.entries(job.placement?.labels ?? {}))
    parts.push(value === true ? `label ${key}` : `${key}=${value}`);
  return parts.length > 0 ? parts.join(', ') : null;
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** The job's facts: where and when it ran, what it needs, where it belongs. */
export function JobFields({ job, workers }: { job: JobRecord; workers: readonly WorkerRecord[] }) {
  const placement = placementText(job);
  const host = workerHost(job.workerId, workers);
  const delayed = job.state === 'pending' && job.runAt > Date.now();
  return (
    <dl className="fields">
      <Field label="Queue">{job.queue}</Field>
      <Field label="Priority">{job.priority}</Field>
      <Field label="Attempt">
        {job.attempt} of {job.maxAttempts}
      </Field>
      <Field label="Created">
        <Time at={job.createdAt} />
      </Field>
      <Field label="Run at">
        <Time at={job.runAt} />
        {delayed && <span className="muted small"> (waiting for its time)</span>}
      </Field>
      <Field label="Started">
        <Time at={job.startedAt} fallback="not yet" />
      </Field>
      <Field label="Finished">
        <Time at={job.finishedAt} fallback={job.state === 'running' ? 'running' : '—'} />
      </Field>
      <Field label="Duration">
        {job.state === 'running' ? (
          <Elapsed from={job.startedAt} />
        ) : job.startedAt !== null && job.finishedAt !== null ? (
          duration(job.finishedAt - job.startedAt)
        ) : (
          <span className="muted">—</span>
        )}
      </Field>
      {job.timeoutMs !== null && <Field label="Timeout">{duration(job.timeoutMs)} per attempt</Field>}
      <Field label="Worker">
        {job.workerId ? (
          <>
            <span className="mono">{job.workerId}</span>
            {host && <span className="muted"> on {host}</span>}
          </>
        ) : (
          <span className="muted">—</span>
        )}
      </Field>
      {job.state === 'running' && job.leaseExpiresAt !== null && (
        <Field label="Lease expires">
          <Time at={job.leaseExpiresAt} />
        </Field>
      )}
      {job.dedupKey && (
        <Field label="Dedup key">
          <code>{job.dedupKey}</code>
        </Field>
      )}
      {job.flow && (
        <Field label="Flow">
          <Link to={`/flows/${job.flow.id}`}>flow {job.flow.id}</Link> · step <code>{job.flow.step}</code>
          {job.flow.role === 'revert' && <span className="badge state-reverting">revert</span>}
        </Field>
      )}
      {placement && <Field label="Placement">{placement}</Field>}
      {job.concurrency && (
        <Field label="Concurrency">
          at most {job.concurrency.limit} with key <code>{job.concurrency.key}</code>
        </Field>
      )}
      {job.sandbox && (
        <Field label="Sandbox">
          {[job.sandbox.kind, job.sandbox.memoryMb !== undefined ? `${job.sandbox.memoryMb} MB` : null]
            .filter(Boolean)
            .join(', ')}
        </Field>
      )}
      {job.cancelRequested && job.state === 'running' && (
        <Field label="Cancel">requested: the worker is stopping it</Field>
      )}
    </dl>
  );
}

/** A job's error: name, code and message, then its stack. */
export function JobError({ error }: { error: SerializedError }) {
  return (
    <div className="job-error">
      <div className="job-error-head">
        <strong>{error.name}</strong>
        {error.code && <code className="job-error-code">{error.code}</code>}
        {error.retryable === false && <span className="badge state-failed">not retryable</span>}
      </div>
      <p className="job-error-message">{error.message}</p>
      {error.stack && (
        <details open>
          <summary>Stack</summary>
          <pre className="stack">{error.stack}</pre>
        </details>
      )}
    </div>
  );
}
