import { useEffect, useState } from 'react';
import { api } from '../api';
import { useCan } from '../auth';
import { JobsBulkActions } from '../components/jobs-bulk';
import { clearFilters, hasFilters, JobsFilters } from '../components/jobs-filters';
import { currentQuery, Pager, useCursorPages } from '../components/jobs-pager';
import { JobsTable, type Sort } from '../components/jobs-table';
import { Button, Empty, ErrorBox, Loading, PageHeader } from '../components/ui';
import { useApi, useLiveRefresh } from '../hooks';
import { jobsPageKey, loadJobsPage } from '../jobs-query';
import { peek, take } from '../prefetch';
import { setQuery, useLocation, useTitle } from '../router';
import type { JobPage } from '../types';

/**
 * Names for the task and queue pickers, from the task registry (each task's default queue). Not
 * `GET /queues`: it counts jobs per state, which a big table makes slow. Asked only once `ready`
 * (the first page of jobs is in), so the rows never wait behind it.
 */
function useNames(ready: boolean): { tasks: string[]; queues: string[] } {
  const registry = useApi(
    (signal) =>
      ready
        ? api.get<{ tasks: { name: string; queue: string }[] }>('/tasks', undefined, signal)
        : Promise.resolve(null),
    ready ? 'tasks' : '',
  );
  const tasks = registry.data?.tasks ?? [];
  return {
    tasks: tasks.map((t) => t.name),
    queues: [...new Set(tasks.map((t) => t.queue))].sort(),
  };
}

function readSort(query: URLSearchParams): Sort | null {
  const column = query.get('sort');
  if (!column) return null;
  return { column, dir: query.get('dir') === 'desc' ? 'desc' : 'asc' };
}

function writeSort(sort: Sort | null): void {
  const q = currentQuery();
  if (sort) {
    q.set('sort', sort.column);
    q.set('dir', sort.dir);
  } else {
    q.delete('sort');
    q.delete('dir');
  }
  setQuery(q);
}

export function JobsPage() {
  useTitle('Jobs');
  const { query } = useLocation();
  const pages = useCursorPages(query);
  const operator = useCan('operator');
  const [selected, setSelected] = useState<Set<string>>(new Set());

  // One request per page: the filters, the cursor and the size; sorting is done here, not there.
  // The first one may have been started with the app (before this page's code had even loaded).
  const key = jobsPageKey(query);
  const page = useApi((signal) => take<JobPage>(key) ?? loadJobsPage(query, signal), key);
  // When that read has answered already, the rows are in this page's very first render.
  const [early] = useState(() => ({ key, data: peek<JobPage>(key) }));
  const data = page.data ?? (early.key === key ? early.data : undefined);
  const names = useNames(data !== undefined || page.error !== null);
  // A new page or new filters: the selection was about other rows.
  // biome-ignore lint/correctness/useExhaustiveDependencies: key is the trigger
  useEffect(() => setSelected(new Set()), [key]);
  // Live only on the first page: refreshing a later one would shift its rows under the reader.
  useLiveRefresh(() => {
    if (!pages.cursor) page.reload();
  });

  const jobs = data?.jobs ?? [];
  const filtered = hasFilters(query);
  return (
    <>
      <PageHeader title="Jobs">
        <span className="muted small jobs-live" title="The first page refreshes as jobs change">
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
      <JobsFilters query={query} tasks={names.tasks} queues={names.queues} />
      {operator && <JobsBulkActions selected={selected} onDone={page.reload} />}
      <ErrorBox error={page.error} title="Could not list the jobs" />
      {!data && page.loading && <Loading label="Loading jobs" />}
      {data && jobs.length === 0 && (
        <Empty>
          {filtered ? (
            <>
              <p>No jobs match these filters.</p>
              <Button onClick={clearFilters}>Clear filters</Button>
            </>
          ) : pages.cursor ? (
            <p>No more jobs: this is past the oldest one.</p>
          ) : (
            <p>
              No jobs yet. Submit one with <code>stint submit hello '{'{"name":"ada"}'}'</code> or from a
              schedule.
            </p>
          )}
        </Empty>
      )}
      {jobs.length > 0 && (
        <JobsTable
          jobs={jobs}
          sort={readSort(query)}
          onSort={writeSort}
          selection={operator ? { selected, onChange: setSelected } : null}
        />
      )}
      {data && <Pager pages={pages} nextCursor={data.nextCursor} shown={jobs.length} label="jobs" />}
    </>
  );
}
