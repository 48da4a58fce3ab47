/**
 * Scenario `http`: one stint server process (bench/http-server.ts, auth off, 127.0.0.1, an
 * ephemeral port) and a keep-alive undici client in this process with CONCURRENCY requests in
 * flight. Three phases, each bounded in count and in time:
 *   1. single submits: POST /api/v1/jobs, one job each (after WARMUP unmeasured ones);
 *   2. bulk submits: POST /api/v1/jobs/bulk, BULK_SIZE jobs each, BULK_CONCURRENCY in flight;
 *   3. reads: GET /api/v1/jobs/:id over the jobs of phase 1.
 * No worker runs, so every job stays pending; the row count is checked at the end. The server
 * process's CPU time per request (submits, reads) is a steadier figure than the rates on a shared
 * machine. BENCH_BATCH_SUBMITS=0 turns off the batching of one turn's single submits in the store.
 * Only loopback addresses are ever contacted.
 */
import { join } from 'node:path';
import { Pool } from 'undici';
import {
  count,
  countByState,
  endChild,
  forkTs,
  type Metric,
  nextMessage,
  percentile,
  rate,
  type ScenarioContext,
} from './lib.js';

const CONCURRENCY = 32;
const WARMUP = 1000;
const SINGLE = 20_000;
const BULK_REQUESTS = 40;
const BULK_SIZE = 1000;
const BULK_CONCURRENCY = 4;
const READS = 20_000;
/** Each phase stops starting requests after this long (its figure is then over what it did). */
const PHASE_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;

interface Reply {
  status: number;
  body: string;
}

/**
 * One request through an undici pool of keep-alive connections: the client side costs a fraction
 * of node:http's, so more of the two cores are left to the server being measured.
 */
async function call(pool: Pool, method: 'GET' | 'POST', path: string, body?: string): Promise<Reply> {
  const res = await pool.request({
    method,
    path,
    body,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  return { status: res.statusCode, body: await res.body.text() };
}

/** Runs `one(i)` for i < n with `concurrency` in flight, until n are done or `PHASE_MS` has passed. */
async function drive(
  n: number,
  concurrency: number,
  one: (i: number) => Promise<void>,
): Promise<{ done: number; ms: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  const end = t0 + PHASE_MS;
  const lane = async () => {
    while (next < n && performance.now() < end) {
      const i = next++;
      const s = performance.now();
      await one(i);
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { done: latencies.length, ms: performance.now() - t0, latencies };
}

function expectStatus(reply: Reply, status: number, what: string): void {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status}: ${reply.body.slice(0, 300)}`);
}

async function measure(
  store: string,
  countPending: () => Promise<number>,
  target: number | null,
): Promise<Metric[]> {
  const server = forkTs(
    'http-server.ts',
    [store],
    (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean),
  );
  let opened: Pool | null = null;
  try {
    const { url } = await nextMessage(
      server,
      (m) => ((m as { type?: string }).type === 'ready' ? (m as { url: string }) : undefined),
      30_000,
      'the server to listen',
    );
    const base = new URL(url);
    if (base.hostname !== '127.0.0.1') throw new Error(`the server must listen on loopback, got ${url}`);
    /** The server's CPU time so far, in microseconds. */
    const serverCpu = async () => {
      const reply = nextMessage(
        server,
        (m) => ((m as { type?: string }).type === 'cpu' ? (m as { us: number }).us : undefined),
        10_000,
        "the server's CPU time",
      );
      server.send({ type: 'cpu' });
      return reply;
    };
    const pool = new Pool(base.origin, { connections: CONCURRENCY, pipelining: 1 });
    opened = pool;
    const submitBody = JSON.stringify({ task: 'noop', input: { n: 1 } });
    const ids: string[] = [];
    const submit = async () => {
      const reply = await call(pool, 'POST', '/api/v1/jobs', submitBody);
      expectStatus(reply, 201, 'submit');
      ids.push((JSON.parse(reply.body) as { id: string }).id);
    };
    await drive(WARMUP, CONCURRENCY, submit);
    const cpu0 = await serverCpu();
    const single = await drive(SINGLE, CONCURRENCY, submit);
    const submitCpuUs = (await serverCpu()) - cpu0;

    const bulkBody = JSON.stringify({
      task: 'noop',
      inputs: Array.from({ length: BULK_SIZE }, (_, n) => ({ n })),
    });
    const bulk = await drive(BULK_REQUESTS, BULK_CONCURRENCY, async () => {
      expectStatus(await call(pool, 'POST', '/api/v1/jobs/bulk', bulkBody), 201, 'bulk submit');
    });

    const cpu1 = await serverCpu();
    const reads = await drive(READS, CONCURRENCY, async (i) => {
      const id = ids[i % ids.length] as string;
      const reply = await call(pool, 'GET', `/api/v1/jobs/${id}`);
      expectStatus(reply, 200, 'get');
    });
    const readCpuUs = (await serverCpu()) - cpu1;

    const expected = WARMUP + single.done + bulk.done * BULK_SIZE;
    const pending = await countPending();
    if (pending !== expected) throw new Error(`http: ${pending} pending jobs stored, expected ${expected}`);
    return [
      {
        key: 'http.submit',
        label: `POST /jobs, 1 job each, up to ${count(SINGLE)} requests, ${CONCURRENCY} in flight`,
        value: rate(single.done, single.ms),
        unit: 'req/s',
        ...(target !== null ? { target: { op: '>=', value: target } } : {}),
      },
      {
        key: 'http.submit.p50',
        label: 'POST /jobs latency p50',
        value: percentile(single.latencies, 50),
        unit: 'ms',
      },
      {
        key: 'http.submit.p99',
        label: 'POST /jobs latency p99',
        value: percentile(single.latencies, 99),
        unit: 'ms',
      },
      {
        key: 'http.submit.cpu',
        label: "POST /jobs, the server process's CPU time per request",
        value: submitCpuUs / 1000 / single.done,
        unit: 'ms',
      },
      {
        key: 'http.bulk',
        label: `POST /jobs/bulk, ${count(BULK_SIZE)} jobs each, ${BULK_CONCURRENCY} in flight`,
        value: rate(bulk.done * BULK_SIZE, bulk.ms),
        unit: 'jobs/s',
      },
      {
        key: 'http.get',
        label: `GET /jobs/:id, up to ${count(READS)} requests, ${CONCURRENCY} in flight`,
        value: rate(reads.done, reads.ms),
        unit: 'req/s',
      },
      {
        key: 'http.get.cpu',
        label: "GET /jobs/:id, the server process's CPU time per request",
        value: readCpuUs / 1000 / reads.done,
        unit: 'ms',
      },
    ];
  } finally {
    await opened?.close();
    await endChild(server, 5000);
  }
}

/** The target: at least 5,000 HTTP submits/s on SQLite. */
export async function httpSqlite(ctx: ScenarioContext): Promise<Metric[]> {
  const path = join(ctx.dir, 'http.db');
  return measure(path, async () => countByState(path, 'pending'), 5000);
}

export async function httpPostgres(): Promise<Metric[]> {
  const { dropSchema, freshSchema, PG_URL, withPg } = await import('./pg-systems.js');
  const schema = freshSchema('stint');
  try {
    return await measure(
      `${PG_URL}?schema=${schema}`,
      () =>
        withPg(async (c) => {
          const r = await c.query(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE state = 'pending'`);
          return (r.rows[0] as { n: number }).n;
        }),
      null,
    );
  } finally {
    await dropSchema(schema);
  }
}
