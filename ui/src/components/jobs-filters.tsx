import { type InputHTMLAttributes, useEffect, useRef, useState } from 'react';
import { JOB_STATE_NAMES, RANGES, selectedStates } from '../jobs-query';
import { setQuery } from '../router';
import type { JobState } from '../types';
import { currentQuery, setFilter } from './jobs-pager';
import { Button } from './ui';

export { JOB_STATE_NAMES, jobsApiQuery, selectedStates } from '../jobs-query';

/** The URL keys the filters use (sorting and paging keys are not filters). */
const FILTER_KEYS = ['state', 'task', 'queue', 'range', 'after', 'before', 'search'];

export function hasFilters(query: URLSearchParams): boolean {
  return FILTER_KEYS.some((k) => query.has(k));
}

export function clearFilters(): void {
  const query = currentQuery();
  for (const key of [...FILTER_KEYS, 'cursor']) query.delete(key);
  setQuery(query);
}

type TextProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'> & {
  value: string;
  onCommit: (value: string) => void;
  delayMs?: number;
};

/** A text input that commits its value after the user stops typing (or on Enter). */
export function DebouncedInput({ value, onCommit, delayMs = 400, ...rest }: TextProps) {
  const [text, setText] = useState(value);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const commit = useRef(onCommit);
  commit.current = onCommit;
  useEffect(() => setText(value), [value]);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const schedule = (next: string) => {
    setText(next);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => commit.current(next.trim()), delayMs);
  };
  return (
    <input
      {...rest}
      value={text}
      onChange={(e) => schedule(e.target.value)}
      onKeyDown={(e) => {
        if (e.key !== 'Enter') return;
        if (timer.current) clearTimeout(timer.current);
        commit.current(text.trim());
      }}
    />
  );
}

/** The filter bar of the jobs page: every value lives in the URL query. */
export function JobsFilters({
  query,
  tasks,
  queues,
}: {
  query: URLSearchParams;
  tasks: readonly string[];
  queues: readonly string[];
}) {
  const states = selectedStates(query);
  const range = query.get('range') ?? '';
  const toggleState = (state: JobState, on: boolean) => {
    const next = on ? [...states, state] : states.filter((s) => s !== state);
    setFilter(
      'state',
      JOB_STATE_NAMES.filter((s) => next.includes(s)),
    );
  };
  const setRange = (value: string) => {
    const q = currentQuery();
    if (value) q.set('range', value);
    else q.delete('range');
    if (value !== 'custom') {
      q.delete('after');
      q.delete('before');
    }
    q.delete('cursor');
    setQuery(q);
  };
  return (
    <search className="filters jobs-filters" aria-label="job filters">
      <fieldset className="state-filter">
        <legend>State</legend>
        {JOB_STATE_NAMES.map((state) => (
          <label key={state} className={`inline jobs-state-chip ${states.includes(state) ? 'on' : ''}`}>
            <input
              type="checkbox"
              checked={states.includes(state)}
              onChange={(e) => toggleState(state, e.target.checked)}
            />
            <span className={`state-${state}`}>{state}</span>
          </label>
        ))}
      </fieldset>
      <label htmlFor="jobs-filter-task">
        Task
        <DebouncedInput
          id="jobs-filter-task"
          list="jobs-task-names"
          value={query.get('task') ?? ''}
          onCommit={(v) => setFilter('task', v)}
          placeholder="any task"
          size={14}
        />
        <datalist id="jobs-task-names">
          {tasks.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      <label htmlFor="jobs-filter-queue">
        Queue
        <DebouncedInput
          id="jobs-filter-queue"
          list="jobs-queue-names"
          value={query.get('queue') ?? ''}
          onCommit={(v) => setFilter('queue', v)}
          placeholder="any queue"
          size={10}
        />
        <datalist id="jobs-queue-names">
          {queues.map((q) => (
            <option key={q} value={q} />
          ))}
        </datalist>
      </label>
      <label>
        Created
        <select value={range} onChange={(e) => setRange(e.target.value)}>
          <option value="">Any time</option>
          {RANGES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {range === 'custom' && (
        <>
          <label>
            Created from
            <input
              type="datetime-local"
              value={query.get('after') ?? ''}
              onChange={(e) => setFilter('after', e.target.value)}
            />
          </label>
          <label>
            Created before
            <input
              type="datetime-local"
              value={query.get('before') ?? ''}
              onChange={(e) => setFilter('before', e.target.value)}
            />
          </label>
        </>
      )}
      <label className="jobs-search" htmlFor="jobs-filter-search">
        Search metadata
        <DebouncedInput
          id="jobs-filter-search"
          type="search"
          value={query.get('search') ?? ''}
          onCommit={(v) => setFilter('search', v)}
          placeholder="customer-42, order id…"
          maxLength={200}
        />
      </label>
      {hasFilters(query) && <Button onClick={clearFilters}>Clear filters</Button>}
    </search>
  );
}
