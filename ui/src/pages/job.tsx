import { useCallback, useState } from 'react';
import { ApiError, api } from '../api';
import { useCan } from '../auth';
import { AttemptsTable } from '../components/job-attempts';
import { JobError, JobFields } from '../components/job-fields';
import { JobLogs } from '../components/job-logs';
import { EventTimeline } from '../components/job-timeline';
import {
  Button,
  ConfirmButton,
  CopyId,
  Empty,
  ErrorBox,
  JsonBlock,
  Loading,
  PageHeader,
  Progress,
  StateBadge,
} from '../components/ui';
import { useApi, useLiveEvents, useLiveRefresh } from '../hooks';
import { Link, useTitle } from '../router';
import type { JobEvent, JobRecord, WorkerRecord } from '../types';

function JobActions({ job, onChange }: { job: JobRecord; onChange: () => void }) {
  const operator = useCan('operator');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const cancellable = (job.state === 'pending' || job.state === 'running') && !job.cancelRequested;
  const retryable = job.state === 'failed' || job.state === 'cancelled';
  const retry = () => {
    setBusy(true);
    setError(null);
    api.post<JobRecord>(`/jobs/${encodeURIComponent(job.id)}/retry`).then(
      () => {
        setBusy(false);
        onChange();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
      },
    );
  };
  if (!operator) return null;
  return (
    <>
      {cancellable && (
        <ConfirmButton
          label="Cancel"
          confirm={
            job.state === 'pending'
              ? `Cancel job ${job.id}? It will not run.`
              : `Cancel job ${job.id}? Its worker is asked to stop it; it ends cancelled.`
          }
          onConfirm={async () => {
            await api.post(`/jobs/${encodeURIComponent(job.id)}/cancel`, {
              reason: 'cancelled from the web UI',
            });
            onChange();
          }}
        />
      )}
      {retryable && (
        <Button variant="primary" onClick={retry} disabled={busy}>
          {busy ? 'Retrying…' : 'Retry'}
        </Button>
      )}
      {error && <ErrorBox error={error} title="Could not retry" />}
    </>
  );
}

function NotFound({ id }: { id: string }) {
  return (
    <Empty>
      <h1>No job {id}</h1>
      <p>
        It does not exist, or retention deleted it. <Link to="/jobs">Back to the jobs</Link>.
      </p>
    </Empty>
  );
}

export function JobPage({ id }: { id: string }) {
  const path = `/jobs/${encodeURIComponent(id)}`;
  const job = useApi((signal) => api.get<JobRecord>(path, undefined, signal), id);
  const events = useApi((signal) => api.get<{ events: JobEvent[] }>(`${path}/events`, undefined, signal), id);
  const workers = useApi((signal) => api.get<{ workers: WorkerRecord[] }>('/workers', undefined, signal), '');
  const { reload: reloadJob } = job;
  const { reload: reloadEvents } = events;
  const reload = useCallback(() => {
    reloadJob();
    reloadEvents();
  }, [reloadJob, reloadEvents]);
  const record = job.data?.id === id ? job.data : undefined;
  const finished = record ? ['succeeded', 'failed', 'cancelled'].includes(record.state) : false;
  useTitle(record ? `${record.task} ${id}` : `Job ${id}`);
  useLiveRefresh(reload, { minMs: 1000, everyMs: finished ? 30_000 : 3000 });
  useLiveEvents((event) => {
    if ((event.type === 'jobs-finished' || event.type === 'cancel-requested') && event.ids.includes(id))
      reload();
  });

  if (job.error?.status === 404) return <NotFound id={id} />;
  if (!record) return job.error ? <ErrorBox error={job.error} title="Could not read the job" /> : <Loading />;
  const workerList = workers.data?.workers ?? [];
  const eventList = events.data?.events ?? [];
  return (
    <>
      <PageHeader
        title={
          <span className="job-title">
            {record.task} <StateBadge state={record.state} />
            {record.cancelRequested && record.state === 'running' && (
              <span className="badge state-cancelled">cancel requested</span>
            )}
          </span>
        }
      >
        <JobActions job={record} onChange={reload} />
      </PageHeader>
      <div className="job-subtitle">
        <span className="muted">Job</span> <CopyId id={record.id} label="job id" />
        {record.flow && (
          <span className="muted">
            {' '}
            · step <code>{record.flow.step}</code> of{' '}
            <Link to={`/flows/${record.flow.id}`}>flow {record.flow.id}</Link>
          </span>
        )}
      </div>
      <ErrorBox error={job.error} title="Could not refresh the job" />
      {record.unplaceable && (
        <div className="job-unplaceable" role="alert">
          <strong>No worker can run this job.</strong> {record.unplaceable}
        </div>
      )}
      {record.progress && (
        <section className="card" aria-label="progress">
          <Progress done={record.progress.done} total={record.progress.total} label="job progress" />
        </section>
      )}
      <div className="columns job-columns">
        <section className="card" aria-labelledby="job-details">
          <h2 id="job-details">Details</h2>
          <JobFields job={record} workers={workerList} />
          {record.metadata && (
            <>
              <h3 className="job-subhead">Metadata</h3>
              <JsonBlock value={record.metadata} label="metadata" />
            </>
          )}
        </section>
        <div>
          <section className="card" aria-labelledby="job-input">
            <h2 id="job-input">Input</h2>
            <JsonBlock value={record.input} label="input" />
          </section>
          {record.state === 'succeeded' && (
            <section className="card" aria-labelledby="job-result">
              <h2 id="job-result">Result</h2>
              <JsonBlock value={record.output ?? null} label="result" />
            </section>
          )}
          {record.error && (
            <section className="card job-error-card" aria-labelledby="job-error">
              <h2 id="job-error">Error</h2>
              <JobError error={record.error} />
            </section>
          )}
        </div>
      </div>
      <section className="card" aria-labelledby="job-attempts">
        <h2 id="job-attempts">Attempts</h2>
        <ErrorBox error={events.error} title="Could not read the job's events" />
        <AttemptsTable events={eventList} job={record} workers={workerList} />
      </section>
      <section className="card" aria-labelledby="job-logs">
        <h2 id="job-logs">Logs</h2>
        <JobLogs key={id} jobId={id} live={!finished} onEnd={reload} />
      </section>
      <section className="card" aria-labelledby="job-events">
        <h2 id="job-events">Timeline</h2>
        <EventTimeline events={eventList} createdAt={record.createdAt} />
      </section>
    </>
  );
}
