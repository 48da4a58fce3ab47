import { useCallback, useEffect, useRef, useState } from 'react';
import { API, ApiError } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  /** Reads again (keeps showing the current data meanwhile). */
  reload: () => void;
}

/**
 * Runs `load` when `key` changes (and on `reload`), keeping the last data while a new read runs.
 * A read that is overtaken by a newer one is aborted and its answer dropped.
 */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // biome-ignore lint/correctness/useExhaustiveDependencies: key and tick are the triggers
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export type LiveEvent =
  | { type: 'jobs-available'; queues: string[]; earliestRunAt: number }
  | { type: 'jobs-finished'; ids: string[] }
  | { type: 'cancel-requested'; ids: string[] }
  | { type: 'flows-finished'; ids: string[] }
  | { type: 'changed' };

type LiveListener = (event: LiveEvent) => void;
const listeners = new Set<LiveListener>();
let source: EventSource | null = null;
const EVENT_TYPES = ['jobs-available', 'jobs-finished', 'cancel-requested', 'flows-finished', 'changed'];

function openSource(): void {
  if (source) return;
  source = new EventSource(`${API}/events`, { withCredentials: true });
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      let parsed: LiveEvent;
      try {
        parsed = { type, ...JSON.parse((message as MessageEvent<string>).data) } as LiveEvent;
      } catch {
        parsed = { type: 'changed' };
      }
      for (const listener of listeners) listener(parsed);
    });
  }
}

/** Subscribes to the server's state changes (one shared SSE connection for the whole app). */
export function useLiveEvents(listener: LiveListener): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const wrapped: LiveListener = (event) => ref.current(event);
    listeners.add(wrapped);
    openSource();
    return () => {
      listeners.delete(wrapped);
      if (listeners.size === 0 && source) {
        source.close();
        source = null;
      }
    };
  }, []);
}

/**
 * Calls `refresh` when the server reports a change, at most once per `minMs`, and every
 * `everyMs` regardless (some changes, e.g. progress or heartbeats, send no event).
 */
export function useLiveRefresh(refresh: () => void, { minMs = 1000, everyMs = 5000 } = {}): void {
  const last = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const ref = useRef(refresh);
  ref.current = refresh;
  const fire = useCallback(() => {
    const wait = last.current + minMs - Date.now();
    if (wait <= 0) {
      last.current = Date.now();
      ref.current();
    } else if (!pending.current) {
      pending.current = setTimeout(() => {
        pending.current = null;
        last.current = Date.now();
        ref.current();
      }, wait);
    }
  }, [minMs]);
  useLiveEvents(fire);
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') fire();
    }, everyMs);
    return () => {
      clearInterval(timer);
      if (pending.current) clearTimeout(pending.current);
    };
  }, [everyMs, fire]);
}

/** A value re-rendered every `ms` (for relative times). */
export function useNow(ms = 15_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
