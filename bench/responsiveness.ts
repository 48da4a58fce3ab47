/**
 * Scenario `responsiveness`: does a drain starve the rest of its process? During the same
 * 50,000-job in-process drain as scenario `drain`:
 * - a `setInterval(…, 5)` timer records how late each tick is (gap between ticks minus 5 ms);
 * - a tiny node:http server on 127.0.0.1 answers a poller in another process
 *   (bench/http-poller.ts), which sends one request at a time, 1 ms apart, and records each
 *   response time. The poller being another process keeps its own clock honest.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DRAIN_JOBS, drainInProcess, prepareJobs } from './drain.js';
import { endChild, forkTs, type Metric, nextMessage, percentile, rate, type ScenarioContext } from './lib.js';

const TICK_MS = 5;

export async function responsiveness(ctx: ScenarioContext): Promise<Metric[]> {
  const path = join(ctx.dir, 'responsiveness.db');
  await prepareJobs(path, DRAIN_JOBS);

  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const poller = forkTs('http-poller.ts', [String(port)]);
  const delays: number[] = [];
  let interval: NodeJS.Timeout | undefined;
  try {
    await nextMessage(
      poller,
      (m) => ((m as { type?: string }).type === 'ready' ? true : undefined),
      20_000,
      'poller',
    );
    let last = performance.now();
    interval = setInterval(() => {
      const now = performance.now();
      delays.push(Math.max(0, now - last - TICK_MS));
      last = now;
    }, TICK_MS);

    const drain = await drainInProcess(path, DRAIN_JOBS);

    clearInterval(interval);
    poller.send({ type: 'stop' });
    const times = await nextMessage(
      poller,
      (m) => ((m as { type?: string }).type === 'times' ? (m as { times: number[] }).times : undefined),
      10_000,
      'poller results',
    );
    return [
      {
        key: 'resp.timer.max',
        label: 'worst 5 ms timer delay',
        value: percentile(delays, 100),
        unit: 'ms',
        target: { op: '<=', value: 50 },
      },
      { key: 'resp.timer.p99', label: 'timer delay p99', value: percentile(delays, 99), unit: 'ms' },
      {
        key: 'resp.http.max',
        label: 'max HTTP response (127.0.0.1)',
        value: percentile(times, 100),
        unit: 'ms',
      },
      { key: 'resp.http.p99', label: 'HTTP response p99', value: percentile(times, 99), unit: 'ms' },
      {
        key: 'resp.http.count',
        label: 'HTTP requests served during the drain',
        value: times.length,
        unit: 'count',
      },
      {
        key: 'resp.drain',
        label: 'drain rate under this load',
        value: rate(DRAIN_JOBS, drain.committedMs),
        unit: 'jobs/s',
      },
    ];
  } finally {
    clearInterval(interval);
    await endChild(poller);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
