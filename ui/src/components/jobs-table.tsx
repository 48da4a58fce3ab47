import { type KeyboardEvent, type MouseEvent, useEffect, useRef } from 'react';
import { duration } from '../format';
import { navigate } from '../router';
import type { JobRecord } from '../types';
import { Elapsed, StateBadge, Time, tableKeys } from './ui';

export type SortDir = 'asc' | 'desc';
export interface Sort {
  column: string;
  dir: SortDir;
}

interface Column {
  key: string;
  label: string;
  num?: boolean;
  value: (job: JobRecord, now: number) => string | number;
}

const STATE_ORDER = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

/** The sortable columns; `value` is what the loaded page is ordered by. */
const COLUMNS: Column[] = [
  { key: 'id', label: 'ID', num: true, value: (j) => Number(j.id) },
  { key: 'task', label: 'Task', value: (j) => j.task },
  { key: 'queue', label: 'Queue', value: (j) => j.queue },
  { key: 'state', label: 'State', value: (j) => STATE_ORDER.indexOf(j.state) },
  { key: 'attempt', label: 'Attempt', num: true, value: (j) => j.attempt },
  { key: 'created', label: 'Created', value: (j) => j.createdAt },
  { key: 'started', label: 'Started', value: (j) => j.startedAt ?? 0 },
  {
    key: 'duration',
    label: 'Duration',
    num: true,
    value: (j, now) => (j.startedAt === null ? -1 : (j.finishedAt ?? now) - j.startedAt),
  },
  { key: 'worker', label: 'Worker', value: (j) => j.workerId ?? '' },
];

const SORT_HINT =
  'The server lists jobs newest first; sorting by a column orders only the jobs on this page.';

export function sortJobs(jobs: readonly JobRecord[], sort: Sort | null): readonly JobRecord[] {
  const column = sort && COLUMNS.find((c) => c.key === sort.column);
  if (!sort || !column) return jobs;
  const now = Date.now();
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...jobs].sort((a, b) => {
    const x = column.value(a, now);
    const y = column.value(b, now);
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return order * sign || Number(b.id) - Number(a.id);
  });
}

/** How long the job ran: ticking while it runs (only those rows re-render every second). */
function JobDuration({ job }: { job: JobRecord }) {
  if (job.state === 'running') return <Elapsed from={job.startedAt} />;
  if (job.state === 'pending' || job.startedAt === null || job.finishedAt === null)
    return <span className="muted">—</span>;
  const ms = job.finishedAt - job.startedAt;
  return <span title={`${ms} ms`}>{duration(ms)}</span>;
}

/** The "select every job on this page" box: checked, unchecked or in between. */
function SelectAll({ ids, selected, onChange }: SelectionProps & { ids: string[] }) {
  const ref = useRef<HTMLInputElement>(null);
  const count = ids.filter((id) => selected.has(id)).length;
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = count > 0 && count < ids.length;
  }, [count, ids.length]);
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label="select all jobs on this page"
      checked={ids.length > 0 && count === ids.length}
      disabled={ids.length === 0}
      onChange={(e) => {
        const next = new Set(selected);
        for (const id of ids) {
          if (e.target.checked) next.add(id);
          else next.delete(id);
        }
        onChange(next);
      }}
    />
  );
}

interface SelectionProps {
  selected: ReadonlySet<string>;
  onChange: (selected: Set<string>) => void;
}

/** The jobs of one page. Rows open the job (click, Enter); Space or x selects the focused row. */
export function JobsTable({
  jobs,
  sort,
  onSort,
  selection,
}: {
  jobs: readonly JobRecord[];
  sort: Sort | null;
  onSort: (sort: Sort | null) => void;
  /** Absent for users who may not act on jobs (no checkboxes). */
  selection: SelectionProps | null;
}) {
  const rows = sortJobs(jobs, sort);
  const open = (id: string | undefined) => id && navigate(`/jobs/${id}`);
  const toggle = (id: string) => {
    if (!selection) return;
    const next = new Set(selection.selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    selection.onChange(next);
  };
  const arrows = tableKeys((row) => open(row.dataset.id));
  const onKeyDown = (event: KeyboardEvent<HTMLTableSectionElement>) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>('[data-row]');
    if (selection && row && event.target === row && (event.key === ' ' || event.key === 'x')) {
      event.preventDefault();
      if (row.dataset.id) toggle(row.dataset.id);
      return;
    }
    arrows(event);
  };
  const onClick = (event: MouseEvent<HTMLTableSectionElement>) => {
    const target = event.target as HTMLElement;
    if (target.closest('input, a, button, label')) return;
    open(target.closest<HTMLElement>('[data-row]')?.dataset.id);
  };
  const cycle = (key: string) => {
    if (sort?.column !== key) onSort({ column: key, dir: 'asc' });
    else if (sort.dir === 'asc') onSort({ column: key, dir: 'desc' });
    else onSort(null);
  };
  return (
    <div className="table-wrap">
      <table aria-label="jobs" className="jobs-table">
        <thead>
          <tr>
            {selection && (
              <th className="check">
                <SelectAll ids={jobs.map((j) => j.id)} {...selection} />
              </th>
            )}
            {COLUMNS.map((c) => {
              const dir = sort?.column === c.key ? sort.dir : null;
              return (
                <th
                  key={c.key}
                  className={c.num ? 'num' : undefined}
                  aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : 'none'}
                >
                  <button type="button" className="sort" title={SORT_HINT} onClick={() => cycle(c.key)}>
                    {c.label}
                    <span aria-hidden="true" className="sort-mark">
                      {dir === 'asc' ? ' ▲' : dir === 'desc' ? ' ▼' : ''}
                    </span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody onKeyDown={onKeyDown} onClick={onClick}>
          {rows.map((job) => {
            const checked = selection?.selected.has(job.id) ?? false;
            return (
              <tr
                key={job.id}
                data-row
                data-id={job.id}
                tabIndex={0}
                aria-selected={selection ? checked : undefined}
                className={checked ? 'selected' : undefined}
              >
                {selection && (
                  <td className="check">
                    <input
                      type="checkbox"
                      aria-label={`select job ${job.id}`}
                      checked={checked}
                      onChange={() => toggle(job.id)}
                    />
                  </td>
                )}
                <td className="num mono">{job.id}</td>
                <td>{job.task}</td>
                <td>{job.queue}</td>
                <td>
                  <StateBadge state={job.state} />
                  {job.cancelRequested && job.state === 'running' && (
                    <span className="muted small"> cancelling</span>
                  )}
                  {job.unplaceable && (
                    <span className="jobs-unplaceable" title={job.unplaceable}>
                      {' '}
                      ⚠<span className="sr-only">unplaceable: {job.unplaceable}</span>
                    </span>
                  )}
                </td>
                <td className="num">
                  {job.attempt}/{job.maxAttempts}
                </td>
                <td>
                  <Time at={job.createdAt} />
                </td>
                <td>
                  <Time at={job.startedAt} />
                </td>
                <td className="num">
                  <JobDuration job={job} />
                </td>
                <td className="jobs-worker" title={job.workerId ?? undefined}>
                  {job.workerId ?? <span className="muted">—</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
