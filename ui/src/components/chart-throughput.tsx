import {
  type KeyboardEvent,
  type PointerEvent,
  type RefObject,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
import { count, plural } from '../format';
import type { JobThroughput, ThroughputBucket } from '../types';

/**
 * Jobs per time bucket: finished jobs as stacked bars (succeeded, failed, cancelled) and started
 * jobs as a line. Colours come from the state variables, so both themes work. Hover or focus the
 * chart and use the arrow keys to read a bucket; a visually hidden table holds every number.
 */

const SERIES = [
  { key: 'succeeded', label: 'succeeded', color: 'var(--s-succeeded)' },
  { key: 'failed', label: 'failed', color: 'var(--s-failed)' },
  { key: 'cancelled', label: 'cancelled', color: 'var(--s-cancelled)' },
] as const;
const STARTED = { label: 'started', color: 'var(--s-running)' };

const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 40 };

function clock(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** A round upper bound for the y axis and its step: 0, 5, 10 … */
function yScale(max: number): { top: number; step: number } {
  if (max <= 4) return { top: 4, step: 1 };
  const rough = max / 4;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= rough) ?? 10 * pow;
  return { top: Math.ceil(max / step) * step, step };
}

function finished(b: ThroughputBucket): number {
  return b.succeeded + b.failed + b.cancelled;
}

function describe(b: ThroughputBucket): string {
  return `${clock(b.at)}: ${b.started} started, ${b.succeeded} succeeded, ${b.failed} failed, ${b.cancelled} cancelled`;
}

function useWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(240, Math.floor(entry.contentRect.width)));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

export function ThroughputChart({ data, title = 'Throughput' }: { data: JobThroughput; title?: string }) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const width = useWidth(wrapRef);
  const [active, setActive] = useState<number | null>(null);
  const captionId = useId();
  const { buckets } = data;
  const n = Math.max(1, buckets.length);
  const max = Math.max(0, ...buckets.map((b) => Math.max(finished(b), b.started)));
  const { top, step } = yScale(max);
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / n;
  const barW = Math.max(1, slot * 0.72);
  const x = (i: number) => PAD.left + i * slot;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;

  const totals = buckets.reduce(
    (t, b) => ({
      started: t.started + b.started,
      succeeded: t.succeeded + b.succeeded,
      failed: t.failed + b.failed,
      cancelled: t.cancelled + b.cancelled,
    }),
    { started: 0, succeeded: 0, failed: 0, cancelled: 0 },
  );
  const minutes = Math.round((data.until - data.since) / 60_000);
  const summary = `${title}, last ${plural(minutes, 'minute')} in ${Math.round(data.bucketMs / 1000)}-second buckets: ${count(totals.started)} started, ${count(totals.succeeded)} succeeded, ${count(totals.failed)} failed, ${count(totals.cancelled)} cancelled. Peak ${plural(max, 'job')} in one bucket.`;

  // Time labels: about one per 80 px, on round bucket counts.
  const every = [1, 2, 5, 10, 15, 20, 30, 60, 120].find((k) => (plotW / n) * k >= 80) ?? n;
  const ticks = buckets
    .map((b, i) => ({ b, i }))
    .filter(({ b }) => Math.round(b.at / data.bucketMs) % every === 0);
  const yTicks: number[] = [];
  for (let v = 0; v <= top; v += step) yTicks.push(v);

  const startedPath = buckets
    .map((b, i) => `${i === 0 ? 'M' : 'L'}${(x(i) + slot / 2).toFixed(1)},${y(b.started).toFixed(1)}`)
    .join(' ');

  const pick = (event: PointerEvent<HTMLDivElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const i = Math.floor((event.clientX - rect.left - PAD.left) / slot);
    setActive(i >= 0 && i < buckets.length ? i : null);
  };
  const keys = (event: KeyboardEvent<HTMLDivElement>) => {
    const last = buckets.length - 1;
    let next: number | null = null;
    if (event.key === 'ArrowLeft') next = Math.max(0, (active ?? last + 1) - 1);
    else if (event.key === 'ArrowRight') next = Math.min(last, (active ?? -1) + 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = last;
    else if (event.key === 'Escape') setActive(null);
    if (next === null) return;
    event.preventDefault();
    setActive(next);
  };
  const current = active === null ? null : buckets[active];
  // The tooltip sits beside the bucket, on the side with more room, so it never hides the bar.
  const TIP_W = 190;
  const tipLeft =
    active === null
      ? 0
      : x(active) + slot / 2 < width / 2
        ? Math.min(width - TIP_W, x(active) + slot + 8)
        : Math.max(0, x(active) - TIP_W - 8);

  return (
    <figure className="chart">
      <figcaption id={captionId} className="sr-only">
        {summary}
      </figcaption>
      <ul className="chart-legend" aria-hidden="true">
        <li>
          <span className="chart-swatch line" style={{ background: STARTED.color }} /> {STARTED.label}
        </li>
        {SERIES.map((s) => (
          <li key={s.key}>
            <span className="chart-swatch" style={{ background: s.color }} /> {s.label}
          </li>
        ))}
      </ul>
      <div
        className="chart-plot"
        ref={wrapRef}
        role="slider"
        tabIndex={0}
        aria-label={`${title}: pick a bucket with the arrow keys`}
        aria-describedby={captionId}
        aria-valuemin={0}
        aria-valuemax={Math.max(0, buckets.length - 1)}
        aria-valuenow={active ?? Math.max(0, buckets.length - 1)}
        aria-valuetext={current ? describe(current) : 'no bucket picked'}
        onPointerMove={pick}
        onPointerLeave={() => setActive(null)}
        onKeyDown={keys}
        onBlur={() => setActive(null)}
      >
        <svg width={width} height={HEIGHT} aria-hidden="true">
          {yTicks.map((v) => (
            <g key={v}>
              <line className="chart-grid" x1={PAD.left} x2={width - PAD.right} y1={y(v)} y2={y(v)} />
              <text className="chart-axis" x={PAD.left - 6} y={y(v)} dy="0.32em" textAnchor="end">
                {v}
              </text>
            </g>
          ))}
          {ticks.map(({ b, i }) => (
            <text
              key={b.at}
              className="chart-axis"
              x={x(i) + slot / 2}
              y={HEIGHT - PAD.bottom + 16}
              textAnchor="middle"
            >
              {clock(b.at)}
            </text>
          ))}
          {active !== null && (
            <rect className="chart-hover" x={x(active)} y={PAD.top} width={slot} height={plotH} />
          )}
          {buckets.map((b, i) => {
            let base = 0;
            return (
              <g key={b.at}>
                {SERIES.map((s) => {
                  const v = b[s.key];
                  if (v === 0) return null;
                  const rect = (
                    <rect
                      key={s.key}
                      x={x(i) + (slot - barW) / 2}
                      y={y(base + v)}
                      width={barW}
                      height={Math.max(1, y(base) - y(base + v))}
                      fill={s.color}
                    />
                  );
                  base += v;
                  return rect;
                })}
              </g>
            );
          })}
          <path className="chart-line" d={startedPath} stroke={STARTED.color} />
          <line className="chart-baseline" x1={PAD.left} x2={width - PAD.right} y1={y(0)} y2={y(0)} />
        </svg>
        {current && (
          <div className="chart-tooltip" style={{ left: tipLeft }} aria-hidden="true">
            <strong>
              {clock(current.at)}–{clock(current.at + data.bucketMs)}
            </strong>
            <dl>
              <dt>
                <span className="chart-swatch line" style={{ background: STARTED.color }} /> started
              </dt>
              <dd>{count(current.started)}</dd>
              {SERIES.map((s) => (
                <TooltipRow key={s.key} label={s.label} color={s.color} value={current[s.key]} />
              ))}
            </dl>
          </div>
        )}
      </div>
      <div className="sr-only">
        <table>
          <caption>{title} per bucket (buckets with jobs)</caption>
          <thead>
            <tr>
              <th scope="col">time</th>
              <th scope="col">started</th>
              <th scope="col">succeeded</th>
              <th scope="col">failed</th>
              <th scope="col">cancelled</th>
            </tr>
          </thead>
          <tbody>
            {buckets
              .filter((b) => b.started + finished(b) > 0)
              .map((b) => (
                <tr key={b.at}>
                  <th scope="row">{clock(b.at)}</th>
                  <td>{b.started}</td>
                  <td>{b.succeeded}</td>
                  <td>{b.failed}</td>
                  <td>{b.cancelled}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

function TooltipRow({ label, color, value }: { label: string; color: string; value: number }) {
  return (
    <>
      <dt>
        <span className="chart-swatch" style={{ background: color }} /> {label}
      </dt>
      <dd>{count(value)}</dd>
    </>
  );
}
