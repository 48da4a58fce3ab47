import { type ReactNode, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { API, ApiError, api } from '../api';
import { count, exactTime, plural } from '../format';
import type { JobLogEntry } from '../types';
import { Button, ErrorBox } from './ui';

/** Lines read per request of the existing log. */
const PAGE = 1000;
/** Lines kept in the page; older ones are dropped (the CLI's `stint logs <id>` shows them all). */
const MAX_LINES = 20_000;
/** Lines drawn at once: the newest of those that match the search. */
const MAX_DRAWN = 2000;
/** How far from the bottom (px) still counts as "at the end": new lines scroll into view. */
const STICK_PX = 32;

type Status = 'loading' | 'live' | 'reconnecting' | 'ended' | 'idle';

function clock(at: number): string {
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fieldsText(fields: Record<string, unknown> | null): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** The text with each case-insensitive match of `needle` marked. */
function highlight(text: string, needle: string): ReactNode {
  if (!needle) return text;
  const lower = text.toLowerCase();
  const parts: ReactNode[] = [];
  let from = 0;
  for (let i = lower.indexOf(needle); i >= 0 && parts.length < 200; i = lower.indexOf(needle, from)) {
    parts.push(text.slice(from, i), <mark key={i}>{text.slice(i, i + needle.length)}</mark>);
    from = i + needle.length;
  }
  parts.push(text.slice(from));
  return parts;
}

function LogLine({ line, needle }: { line: JobLogEntry; needle: string }) {
  const fields = fieldsText(line.fields);
  return (
    <div className={`log-line level-${line.level} stream-${line.stream}`}>
      <time className="log-time" dateTime={new Date(line.at).toISOString()} title={exactTime(line.at)}>
        {clock(line.at)}
      </time>
      <span className="log-attempt" title={`attempt ${line.attempt}`}>
        #{line.attempt}
      </span>
      <span className="log-level">{line.level}</span>
      {line.stream !== 'log' && <span className="log-stream">{line.stream}</span>}
      <span className="log-message">{highlight(line.message, needle)}</span>
      {fields && <span className="log-fields"> {highlight(fields, needle)}</span>}
    </div>
  );
}

/**
 * A job's logs: the lines written so far, then (while `live`) new ones from the server's event
 * stream. Searching filters the lines here; the view follows new lines until the reader scrolls up.
 * Give it `key={jobId}` so another job starts afresh.
 */
export function JobLogs({ jobId, live, onEnd }: { jobId: string; live: boolean; onEnd: () => void }) {
  const [lines, setLines] = useState<JobLogEntry[]>([]);
  const [dropped, setDropped] = useState(false);
  const [status, setStatus] = useState<Status>('loading');
  const [error, setError] = useState<ApiError | null>(null);
  const [search, setSearch] = useState('');
  const [following, setFollowing] = useState(true);
  const lastId = useRef(0);
  const buffer = useRef<JobLogEntry[]>([]);
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const endRef = useRef(onEnd);
  endRef.current = onEnd;

  const flush = useCallback(() => {
    flushTimer.current = null;
    const fresh = buffer.current;
    buffer.current = [];
    if (fresh.length === 0) return;
    setLines((old) => {
      const all = old.concat(fresh);
      if (all.length <= MAX_LINES) return all;
      setDropped(true);
      return all.slice(all.length - MAX_LINES);
    });
  }, []);
  /** Lines are gathered and drawn at most every 100 ms, however fast they arrive. */
  const push = useCallback(
    (more: JobLogEntry[]) => {
      for (const line of more) {
        if (line.id <= lastId.current) continue;
        lastId.current = line.id;
        buffer.current.push(line);
      }
      if (!flushTimer.current) flushTimer.current = setTimeout(flush, 100);
    },
    [flush],
  );

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let source: EventSource | null = null;
    const follow = () => {
      source = new EventSource(
        `${API}/jobs/${encodeURIComponent(jobId)}/logs/stream?afterId=${lastId.current}`,
        {
          withCredentials: true,
        },
      );
      source.onopen = () => setStatus('live');
      source.addEventListener('log', (message) => {
        push([JSON.parse((message as MessageEvent<string>).data) as JobLogEntry]);
      });
      source.addEventListener('end', () => {
        source?.close();
        setStatus('ended');
        endRef.current();
      });
      source.onerror = () => {
        // The browser reconnects by itself (resuming after the last line) unless it gave up.
        if (source?.readyState === EventSource.CLOSED) setStatus('idle');
        else setStatus('reconnecting');
      };
    };
    // Read what was written (since the last line this view has), then follow while the job runs.
    const read = async () => {
      for (let pages = 0; pages < MAX_LINES / PAGE && !signal.aborted; pages++) {
        const { logs } = await api.get<{ logs: JobLogEntry[] }>(
          `/jobs/${encodeURIComponent(jobId)}/logs`,
          { afterId: lastId.current || undefined, limit: PAGE },
          signal,
        );
        push(logs);
        if (logs.length < PAGE) break;
      }
      if (signal.aborted) return;
      if (live) follow();
      else setStatus('ended');
    };
    read().catch((err: unknown) => {
      if (signal.aborted) return;
      setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
      setStatus('idle');
    });
    return () => {
      controller.abort();
      (source as EventSource | null)?.close();
    };
  }, [jobId, live, push]);

  useEffect(
    () => () => {
      if (flushTimer.current) clearTimeout(flushTimer.current);
    },
    [],
  );

  const needle = search.trim().toLowerCase();
  const matching = needle
    ? lines.filter(
        (l) =>
          l.message.toLowerCase().includes(needle) || fieldsText(l.fields).toLowerCase().includes(needle),
      )
    : lines;
  const drawn = matching.length > MAX_DRAWN ? matching.slice(matching.length - MAX_DRAWN) : matching;

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when the drawn lines change
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [drawn.length, lines]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    stick.current = atEnd;
    setFollowing(atEnd);
  };
  const jump = () => {
    const el = box.current;
    if (!el) return;
    stick.current = true;
    setFollowing(true);
    el.scrollTop = el.scrollHeight;
  };

  return (
    <div className="job-logs">
      <div className="job-logs-bar">
        <label className="inline">
          <span className="sr-only">Search logs</span>
          <input
            type="search"
            placeholder="Search logs"
            aria-label="search logs"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
        <span className="muted small" aria-live="polite">
          {needle
            ? `${count(matching.length)} of ${plural(lines.length, 'line')}`
            : plural(lines.length, 'line')}
          {drawn.length < matching.length && ` (newest ${drawn.length} shown)`}
        </span>
        <span className={`job-logs-status ${status}`}>
          {status === 'live' && '● following'}
          {status === 'reconnecting' && 'reconnecting…'}
          {status === 'loading' && 'loading…'}
        </span>
        {!following && (
          <Button className="job-logs-jump" onClick={jump}>
            ↓ Follow new lines
          </Button>
        )}
      </div>
      <ErrorBox error={error} title="Could not read the logs" />
      {dropped && (
        <p className="muted small">
          Older lines were dropped to keep this page fast; <code>stint logs {jobId}</code> prints them all.
        </p>
      )}
      <div
        ref={box}
        className="logs job-logs-lines"
        role="log"
        aria-label="logs"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
        tabIndex={0}
        onScroll={onScroll}
      >
        {drawn.length === 0 ? (
          <div className="muted">
            {status === 'loading'
              ? 'Loading…'
              : needle
                ? 'No line matches the search.'
                : live
                  ? 'No lines yet: they appear here as the job writes them.'
                  : 'This job wrote no log lines.'}
          </div>
        ) : (
          drawn.map((line) => <LogLine key={line.id} line={line} needle={needle} />)
        )}
      </div>
    </div>
  );
}
