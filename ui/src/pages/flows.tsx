import { api } from '../api';
import { DebouncedInput } from '../components/jobs-filters';
import { currentQuery, Pager, setFilter, useCursorPages } from '../components/jobs-pager';
import {
  Button,
  Elapsed,
  Empty,
  ErrorBox,
  Loading,
  PageHeader,
  StateBadge,
  Time,
  tableKeys,
} from '../components/ui';
import { duration, plural } from '../format';
import { useApi, useLiveRefresh } from '../hooks';
import { navigate, setQuery, useLocation, useTitle } from '../router';
import type { FlowRecord } from '../types';

const FLOW_STATES = ['running', 'reverting', 'succeeded', 'failed', 'revert_failed', 'cancelled'] as const;
/** Step states in the order their counts are shown. */
const STEP_STATES = [
  'succeeded',
  'running',
  'pending',
  'waiting',
  'failed',
  'reverting',
  'reverted',
  'revert_failed',
  'cancelled',
  'skipped',
] as const;

interface FlowPage {
  flows: FlowRecord[];
  nextCursor: string | null;
}

function StepCounts({ counts }: { counts: FlowRecord['counts'] }) {
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  return (
    <span className="flows-list-counts" title={plural(total, 'step')}>
      {STEP_STATES.filter((s) => counts[s]).map((s) => (
        <span key={s} className={`flows-list-count state-${s}`}>
          {counts[s]} {s.replace(/_/g, ' ')}
        </span>
      ))}
      {total === 0 && <span className="muted">—</span>}
    </span>
  );
}

function FlowDuration({ flow }: { flow: FlowRecord }) {
  if (flow.finishedAt === null) return <Elapsed from={flow.createdAt} />;
  return (
    <span title={`${flow.finishedAt - flow.createdAt} ms`}>{duration(flow.finishedAt - flow.createdAt)}</span>
  );
}

export function FlowsPage() {
  useTitle('Flows');
  const { query } = useLocation();
  const pages = useCursorPages(query);
  const state = query.get('state') ?? '';
  const name = query.get('name') ?? '';
  const key = query.toString();
  const page = useApi(
    (signal) =>
      api.get<FlowPage>(
        '/flows',
        { state: state || undefined, name: name || undefined, cursor: pages.cursor, limit: pages.limit },
        signal,
      ),
    key,
  );
  useLiveRefresh(() => {
    if (!pages.cursor) page.reload();
  });
  const flows = page.data?.flows ?? [];
  const filtered = Boolean(state || name);
  const clear = () => {
    const q = currentQuery();
    for (const k of ['state', 'name', 'cursor']) q.delete(k);
    setQuery(q);
  };
  const open = (row: HTMLElement) => row.dataset.id && navigate(`/flows/${row.dataset.id}`);
  return (
    <>
      <PageHeader title="Flows">
        <span className="muted small jobs-live">
          {pages.cursor ? (
            'Live updates on the first page only'
          ) : (
            <>
              <span className="jobs-live-dot" aria-hidden="true">
                ●
              </span>{' '}
              Live
            </>
          )}
        </span>
      </PageHeader>
      <search className="filters" aria-label="flow filters">
        <label>
          State
          <select value={state} onChange={(e) => setFilter('state', e.target.value)}>
            <option value="">Any state</option>
            {FLOW_STATES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor="flows-filter-name">
          Name
          <DebouncedInput
            id="flows-filter-name"
            value={name}
            onCommit={(v) => setFilter('name', v)}
            placeholder="exact flow name"
            maxLength={200}
          />
        </label>
        {filtered && <Button onClick={clear}>Clear filters</Button>}
      </search>
      <ErrorBox error={page.error} title="Could not list the flows" />
      {!page.data && page.loading && <Loading label="Loading flows" />}
      {page.data && flows.length === 0 && (
        <Empty>
          {filtered ? (
            <>
              <p>No flows match these filters.</p>
              <Button onClick={clear}>Clear filters</Button>
            </>
          ) : (
            <p>
              No flows yet. Submit one with <code>client.submitFlow(…)</code> or{' '}
              <code>POST /api/v1/flows</code>.
            </p>
          )}
        </Empty>
      )}
      {flows.length > 0 && (
        <div className="table-wrap">
          <table aria-label="flows">
            <thead>
              <tr>
                <th className="num">ID</th>
                <th>Name</th>
                <th>State</th>
                <th>Steps</th>
                <th>Created</th>
                <th>Finished</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody
              onKeyDown={tableKeys(open)}
              onClick={(e) => {
                const row = (e.target as HTMLElement).closest<HTMLElement>('[data-row]');
                if (row && !(e.target as HTMLElement).closest('a, button, input')) open(row);
              }}
            >
              {flows.map((flow) => (
                <tr key={flow.id} data-row data-id={flow.id} tabIndex={0}>
                  <td className="num mono">{flow.id}</td>
                  <td>{flow.name}</td>
                  <td>
                    <StateBadge state={flow.state} />
                    {flow.failedStep && (
                      <span className="muted small">
                        {' '}
                        at <code>{flow.failedStep}</code>
                      </span>
                    )}
                  </td>
                  <td>
                    <StepCounts counts={flow.counts} />
                  </td>
                  <td>
                    <Time at={flow.createdAt} />
                  </td>
                  <td>
                    <Time at={flow.finishedAt} fallback={flow.state === 'running' ? 'running' : '—'} />
                  </td>
                  <td className="num">
                    <FlowDuration flow={flow} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page.data && (
        <Pager pages={pages} nextCursor={page.data.nextCursor} shown={flows.length} label="flows" />
      )}
    </>
  );
}
