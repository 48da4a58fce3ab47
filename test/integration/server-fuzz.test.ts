import { describe, expect, it } from 'vitest';
import { counts, setup } from './server-helpers.js';

/** mulberry32: a small seeded PRNG, so a failure can be replayed from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const STRINGS = [
  '',
  ' ',
  'x',
  '../../etc/passwd',
  '%00',
  '\u0000',
  'ü∆😀',
  "'; drop table jobs; --",
  'null',
  '-1',
  '1e309',
];
const junkString = (r: Rng) => (r.int(4) === 0 ? 'z'.repeat(r.int(5000)) : r.pick(STRINGS));

function junkValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 6 : 8)) {
    case 0:
      return null;
    case 1:
      return r.pick([true, false]);
    case 2:
      return r.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER]);
    case 3:
    case 4:
      return junkString(r);
    case 5:
      return {};
    case 6:
      return Array.from({ length: r.int(4) }, () => junkValue(r, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: r.int(4) }, () => [junkString(r), junkValue(r, depth + 1)]),
      );
  }
}

/** Valid bodies of the routes that take one; the fuzzer always breaks them before sending. */
const BODIES: Record<string, () => Record<string, unknown>> = {
  'POST /api/v1/jobs': () => ({ task: 'greet', input: { name: 'x' }, options: { queue: 'q', priority: 1 } }),
  'POST /api/v1/jobs/bulk': () => ({ task: 'greet', inputs: [{}, {}] }),
  'POST /api/v1/jobs/:id/cancel': () => ({ reason: 'r' }),
  'POST /api/v1/flows': () => ({ spec: { name: 'f', steps: [{ name: 'a', task: 'greet' }] }, options: {} }),
  'POST /api/v1/flows/:id/cancel': () => ({ reason: 'r' }),
  'POST /api/v1/schedules': () => ({ name: 'fz', task: 'greet', trigger: { every: '1h' } }),
  'PATCH /api/v1/schedules/:name': () => ({ overlap: 'skip', trigger: { every: '2h' } }),
  'POST /api/v1/schedules/:name/run': () => ({}),
  'POST /api/v1/schedules/preview': () => ({ trigger: { cron: '* * * * *' }, count: 2 }),
  'POST /api/v1/schedules/:name/backfills': () => ({ from: 0, to: 3_600_000 }),
  'POST /api/v1/datasets/:name/partitions': () => ({ partition: 'p', metadata: {} }),
};
/** Routes that change state whatever their body: fuzzed only with ids and names that name nothing. */
const BODILESS = [
  'POST /api/v1/jobs/:id/retry',
  'POST /api/v1/schedules/:name/pause',
  'POST /api/v1/schedules/:name/resume',
  'DELETE /api/v1/schedules/:name',
  'POST /api/v1/backfills/:id/cancel',
];
const READS = [
  'GET /api/v1/jobs',
  'GET /api/v1/jobs/:id',
  'GET /api/v1/jobs/:id/events',
  'GET /api/v1/jobs/:id/logs',
  'GET /api/v1/jobs/:id/result',
  'GET /api/v1/flows',
  'GET /api/v1/flows/:id',
  'GET /api/v1/flows/:id/logs',
  'GET /api/v1/schedules',
  'GET /api/v1/schedules/:name',
  'GET /api/v1/schedules/:name/runs',
  'GET /api/v1/schedules/:name/events',
  'GET /api/v1/schedules/:name/backfills',
  'GET /api/v1/backfills',
  'GET /api/v1/backfills/:id',
  'GET /api/v1/datasets',
  'GET /api/v1/datasets/:name/partitions',
];
const QUERY_KEYS = [
  'state',
  'task',
  'queue',
  'flow',
  'cursor',
  'limit',
  'afterId',
  'wait',
  'name',
  'schedule',
  'triggerType',
];

/** Breaks a valid body for sure: the top-level objects are strict, so an unknown key or a wrong type always fails. */
function breakBody(r: Rng, body: Record<string, unknown>): { payload: string; type: string } {
  const json = (v: unknown) => ({ payload: JSON.stringify(v), type: 'application/json' });
  switch (r.int(7)) {
    case 0:
      return json({ ...body, [`fz_${r.int(1000)}`]: junkValue(r) });
    case 1: {
      const keys = Object.keys(body);
      const key = r.pick(keys);
      // A required string field set to an object, or any field set to a value of the wrong kind.
      return json({ ...body, [key]: { nested: junkValue(r) }, __unknown: 1 });
    }
    case 2:
      return json(r.pick([[], [body], 42, 'text', true]));
    case 3: {
      // A strict prefix of the JSON text is never valid JSON.
      const text = JSON.stringify(body);
      return { payload: text.slice(0, Math.min(r.int(20) + 1, text.length - 1)), type: 'application/json' };
    }
    case 4:
      return {
        payload: JSON.stringify(body),
        type: r.pick(['text/plain', 'application/x-www-form-urlencoded']),
      };
    case 5:
      return { payload: r.pick(['', '{', '{"a":}', 'nul', '\u0000', '[1,2']), type: 'application/json' };
    default: {
      const noisy: Record<string, unknown> = { ...body };
      for (let i = 0; i < 1 + r.int(3); i++) noisy[junkString(r) || 'k'] = junkValue(r);
      noisy[`__fz${r.int(100)}`] = true;
      return json(noisy);
    }
  }
}

function param(r: Rng, kind: 'id' | 'name', existing: readonly string[], allowExisting: boolean): string {
  const choice = r.int(allowExisting ? 4 : 3);
  if (choice === 3) return r.pick(existing);
  if (choice === 2) return kind === 'id' ? String(900_000 + r.int(100_000)) : `fz-none-${r.int(1000)}`;
  return encodeURIComponent(junkString(r) || '%');
}

function query(r: Rng): string {
  if (r.int(3) === 0) return '';
  const parts = Array.from({ length: 1 + r.int(4) }, () => {
    const key = r.int(5) === 0 ? junkString(r) : r.pick(QUERY_KEYS);
    const value = r.int(3) === 0 ? String(junkValue(r)) : junkString(r);
    return `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  });
  return `?${parts.join('&')}`;
}

describe('fuzz', () => {
  it('answers 1,000 random and malformed requests without a 5xx, and changes nothing', async () => {
    const seed = Number(process.env.STINT_FUZZ_SEED ?? 20261123);
    const r = prng(seed);
    const { req, server, store } = await setup({ bodyLimit: 64 * 1024 });
    // Some state for the requests to aim at.
    const job = await req('POST', '/api/v1/jobs', { task: 'greet', input: { name: 'a' } });
    const done = await req('POST', '/api/v1/jobs', { task: 'greet', input: { name: 'b' } });
    await req('POST', `/api/v1/jobs/${done.body.id}/cancel`);
    await req('POST', '/api/v1/schedules', { name: 'sched', task: 'greet', trigger: { every: '1h' } });
    const backfill = await req('POST', '/api/v1/schedules/sched/backfills', { from: 0, to: 7_200_000 });
    await req('POST', '/api/v1/datasets/ds/partitions', { partition: 'p1' });
    const ids = [job.body.id, done.body.id, backfill.body.id];
    const names = ['sched', 'ds'];
    const before = await counts(store);
    expect(before).toMatchObject({ jobs: 2, schedules: 1, backfills: 1, partitions: 1 });

    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const kind = r.int(10);
      const route = kind < 5 ? r.pick(Object.keys(BODIES)) : kind < 7 ? r.pick(BODILESS) : r.pick(READS);
      const [method, template] = route.split(' ') as [string, string];
      const safe = !BODILESS.includes(route);
      const url =
        template
          .replace(':id', () => param(r, 'id', ids, safe))
          .replace(':name', () => param(r, 'name', names, safe)) + query(r);
      const make = BODIES[route];
      const body = make ? breakBody(r, make()) : r.int(2) === 0 ? breakBody(r, { any: 1 }) : undefined;
      const res = await server.app.inject({
        method: method as 'GET',
        url: route === 'GET /api/v1/jobs/:id/result' ? `${url}${url.includes('?') ? '&' : '?'}wait=0` : url,
        ...(body && method !== 'GET'
          ? { payload: body.payload, headers: { 'content-type': body.type } }
          : {}),
      });
      const label = `#${i} (seed ${seed}) ${method} ${url} ${body?.type ?? ''} ${body?.payload.slice(0, 200) ?? ''}`;
      expect(res.statusCode, `${label} -> ${res.body.slice(0, 300)}`).toBeLessThan(500);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 400) {
        const error = res.json().error;
        expect(typeof error.code, label).toBe('string');
        expect(typeof error.message, label).toBe('string');
        expect(res.body, label).not.toMatch(/at .+\.(ts|js):\d+/);
      } else {
        // Only reads may succeed; anything that would write got a broken body or names nothing.
        expect(method, `${label} succeeded`).toBe('GET');
      }
    }
    expect(await counts(store)).toEqual(before);
    // The mix reached the validation, not-found and media-type paths.
    expect(statuses.get(400)).toBeGreaterThan(300);
    expect(statuses.get(404)).toBeGreaterThan(10);
  });
});
