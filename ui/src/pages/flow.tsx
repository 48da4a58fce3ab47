import { lazy, Suspense, useCallback } from 'react';
import { api } from '../api';
import { useCan } from '../auth';
import {
  ConfirmButton,
  CopyId,
  Elapsed,
  Empty,
  ErrorBox,
  Loading,
  PageHeader,
  StateBadge,
  Time,
} from '../components/ui';
import { plural } from '../format';
import { useApi, useLiveRefresh } from '../hooks';
import { Link, useTitle } from '../router';
import type { FlowRecord, FlowStepRecord } from '../types';

// React Flow and dagre load only when a flow is opened.
const FlowGraph = lazy(() => import('../components/flow-graph'));

/** Items of one map shown in the steps table; the rest are behind a link to the flow's jobs. */
const TABLE_ITEMS = 20;

interface FlowStatus {
  flow: FlowRecord;
  steps: FlowStepRecord[];
}

/** One flow: its state, the step graph and every step with its job. */
export function FlowPage({ id }: { id: string }) {
  const load = useCallback(
    (signal: AbortSignal) => api.get<FlowStatus>(`/flows/${encodeURIComponent(id)}`, undefined, signal),
    [id],
  );
  const { data, error, loading, reload } = useApi(load, `flow:${id}`);
  const canCancel = useCan('operator');
  const live = data ? data.flow.state === 'running' || data.flow.state === 'reverting' : true;
  useLiveRefresh(
    () => {
      if (live) reload();
    },
    { minMs: 1000, everyMs: 3000 },
  );
  useTitle(data ? `Flow ${data.flow.name} (${id})` : `Flow ${id}`);

  if (!data) {
    return (
      <>
        <PageHeader title={<>Flow {id}</>} />
        {error?.status === 404 ? (
          <div className="card">
            <Empty>
              There is no flow {id}: it may have been removed by retention.{' '}
              <Link to="/flows">See all flows</Link>.
            </Empty>
          </div>
        ) : (
          <ErrorBox error={error} title="Cannot read the flow" />
        )}
        {loading && !error && <Loading label="Loading the flow" />}
      </>
    );
  }
  const { flow, steps } = data;
  return (
    <>
      <PageHeader
        title={
          <span className="flow-title">
            {flow.name} <StateBadge state={flow.state} />
          </span>
        }
      >
        {canCancel && flow.state === 'running' && (
          <ConfirmButton
            label="Cancel flow"
            confirm="Running steps are cancelled and completed steps with a revert are reverted, in reverse order. This cannot be undone."
            onConfirm={() => api.post(`/flows/${encodeURIComponent(flow.id)}/cancel`, {}).then(reload)}
          />
        )}
      </PageHeader>
      <ErrorBox error={error} title="Cannot refresh the flow" />
      <section className="card flow-summary" aria-label="flow summary">
        <dl className="fields">
          <dt>id</dt>
          <dd>
            <CopyId id={flow.id} label="flow id" />
          </dd>
          <dt>steps</dt>
          <dd className="flow-counts">
            {Object.entries(flow.counts).map(([state, n]) => (
              <span key={state} className={`badge state-${state}`}>
                {n} {state.replace(/_/g, ' ')}
              </span>
            ))}
          </dd>
          <dt>created</dt>
          <dd>
            <Time at={flow.createdAt} />
          </dd>
          <dt>{flow.finishedAt ? 'finished' : 'running for'}</dt>
          <dd>
            {flow.finishedAt ? (
              <>
                <Time at={flow.finishedAt} /> <span className="muted">after</span>{' '}
                <Elapsed from={flow.createdAt} to={flow.finishedAt} />
              </>
            ) : (
              <Elapsed from={flow.createdAt} />
            )}
          </dd>
          <dt>jobs</dt>
          <dd>
            <Link to={`/jobs?flow=${encodeURIComponent(flow.id)}`}>every job of this flow</Link>
          </dd>
          {flow.failedStep && (
            <>
              <dt>failed step</dt>
              <dd>
                <FailedStepLink name={flow.failedStep} steps={steps} />
              </dd>
            </>
          )}
        </dl>
        {flow.error && (
          <div className={flow.state === 'cancelled' ? 'error-box flow-note' : 'error-box'} role="note">
            <strong>{flow.state === 'cancelled' ? 'Cancelled' : 'Error'}</strong>
            <div>
              {flow.error.code && <code>{flow.error.code}</code>} {flow.error.message}
            </div>
          </div>
        )}
      </section>

      <section className="flow-graph-section" aria-labelledby="flow-graph-title">
        <h2 id="flow-graph-title">Steps</h2>
        {steps.length === 0 ? (
          <div className="card">
            <Empty>This flow has no steps.</Empty>
          </div>
        ) : (
          <div className="card flow-graph-card">
            <Suspense fallback={<Loading label="Drawing the graph" />}>
              <FlowGraph steps={steps} flowId={flow.id} />
            </Suspense>
            <p className="muted small flow-legend">
              Click a step to open its job. Reverted steps have a dashed border.
            </p>
          </div>
        )}
      </section>

      <StepsTable flowId={flow.id} steps={steps} />
    </>
  );
}

function FailedStepLink({ name, steps }: { name: string; steps: FlowStepRecord[] }) {
  const step = steps.find((s) => s.name === name);
  return step?.jobId ? <Link to={`/jobs/${step.jobId}`}>{name}</Link> : name;
}

function summary(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function StepsTable({ flowId, steps }: { flowId: string; steps: FlowStepRecord[] }) {
  const top = steps.filter((s) => s.kind !== 'item');
  const rows: { step: FlowStepRecord; depth: number }[] = [];
  const hidden = new Map<string, number>();
  for (const s of top) {
    rows.push({ step: s, depth: 0 });
    const items = steps
      .filter((i) => i.kind === 'item' && i.parent === s.name)
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    for (const i of items.slice(0, TABLE_ITEMS)) rows.push({ step: i, depth: 1 });
    if (items.length > TABLE_ITEMS) hidden.set(s.name, items.length - TABLE_ITEMS);
  }
  return (
    <section className="flow-steps" aria-labelledby="flow-steps-title">
      <h2 id="flow-steps-title">Step list</h2>
      <div className="table-wrap">
        <table aria-labelledby="flow-steps-title">
          <thead>
            <tr>
              <th scope="col">step</th>
              <th scope="col">task</th>
              <th scope="col">state</th>
              <th scope="col">job</th>
              <th scope="col">revert job</th>
              <th scope="col">output or error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ step: s, depth }) => (
              <StepRow key={s.name} step={s} depth={depth} more={hidden.get(s.name)} flowId={flowId} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function StepRow({
  step: s,
  depth,
  more,
  flowId,
}: {
  step: FlowStepRecord;
  depth: number;
  more: number | undefined;
  flowId: string;
}) {
  const detail = s.error ? s.error.message : summary(s.output);
  return (
    <tr className={depth ? 'flow-item-row' : undefined}>
      <th scope="row" className={depth ? 'flow-step-indent' : undefined}>
        {s.name}
        {s.kind === 'map' && s.items && (
          <span className="muted small">
            {' '}
            map {s.items.done}/{s.items.total}
            {more !== undefined && (
              <>
                {' '}
                (
                <Link to={`/jobs?flow=${encodeURIComponent(flowId)}`}>
                  {plural(more, 'more item')} in jobs
                </Link>
                )
              </>
            )}
          </span>
        )}
      </th>
      <td>{s.task}</td>
      <td>
        <StateBadge state={s.state} />
      </td>
      <td>
        {s.jobId ? (
          <Link to={`/jobs/${s.jobId}`} aria-label={`job ${s.jobId} of step ${s.name}`}>
            {s.jobId}
          </Link>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td>
        {s.revertJobId ? (
          <Link to={`/jobs/${s.revertJobId}`} aria-label={`revert job ${s.revertJobId} of step ${s.name}`}>
            {s.revertJobId}
          </Link>
        ) : (
          <span className="muted">—</span>
        )}
        {s.revertError && <div className="flow-revert-error small">{s.revertError.message}</div>}
      </td>
      <td className={`wrap mono flow-output ${s.error ? 'flow-output-error' : ''}`} title={detail}>
        {detail || <span className="muted">—</span>}
      </td>
    </tr>
  );
}
