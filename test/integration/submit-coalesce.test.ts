/**
 * Single submits that arrive in one event-loop turn share one transaction (store/insert-batch.ts),
 * and each still gets the outcome it would have had alone: its own job, its own validation error,
 * its own dedup result (as if the batch had been submitted one by one, in order), its own
 * QueueFullError. On both stores, through the client and through the HTTP server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toNewJob } from '../../src/client/submit-options.js';
import {
  createClient,
  createSqliteStore,
  defineTask,
  QueueFullError,
  type Store,
  ValidationError,
} from '../../src/index.js';
import { createServer } from '../../src/server/server.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import type { StoreNotification } from '../../src/store/types.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';

const add = defineTask({
  name: 'add',
  input: z.object({ a: z.number(), b: z.number() }),
  run: (_ctx, { a, b }) => a + b,
});

const dir = tempDir('stint-coalesce-');
const available = await pgAvailable();

const stores: [string, () => Promise<Store>][] = [
  ['sqlite', async () => createSqliteStore({ path: tempDbPath(dir) })],
];
if (available) {
  stores.push([
    'postgres',
    async () => {
      const store = createPostgresStore({
        connectionString: PG_URL,
        schema: freshSchema(),
        maxConnections: 4,
      });
      await store.now(); // migrated and reachable
      return store;
    },
  ]);
}

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});
function closeAfter<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}

/** Each promise's value or error, in order. */
function settleAll<T>(
  promises: Promise<T>[],
): Promise<({ ok: true; value: T } | { ok: false; error: unknown })[]> {
  return Promise.all(
    promises.map((p) =>
      p.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    ),
  );
}

describe.each(stores)('single submits of one turn, batched (%s)', (kind, openStore) => {
  /**
   * A store whose next turn's submits are batched: submits go to the store at once until one turn
   * has seen several (a caller awaiting one submit after another never waits for a turn's end).
   */
  async function setup() {
    const store = closeAfter(await openStore());
    const client = closeAfter(createClient({ store, tasks: [add] }));
    await Promise.all([0, 1].map((a) => client.submit(add, { a, b: 0 }, { queue: 'warm-up' })));
    await new Promise((resolve) => setImmediate(resolve));
    return { store, client };
  }

  it('gives each of many concurrent submits its own job, with its own input', async () => {
    const { store, client } = await setup();
    const seen: StoreNotification[] = [];
    const unsubscribe = store.subscribe((n) => {
      if (n.type === 'jobs-available') seen.push(n);
    });
    const n = 50;
    const handles = await Promise.all(
      Array.from({ length: n }, (_, i) => client.submit(add, { a: i, b: 1 })),
    );
    unsubscribe();
    expect(new Set(handles.map((h) => h.id)).size).toBe(n);
    expect(handles.every((h) => !h.deduplicated)).toBe(true);
    for (const [i, h] of handles.entries()) {
      const job = await store.getJob(h.id);
      expect(job).toMatchObject({ task: 'add', state: 'pending', input: { a: i, b: 1 } });
    }
    // Submitted in one turn: stored by one insert, announced once (once per job without batching).
    if (kind === 'sqlite') expect(seen.length).toBe(1);
    // A submit on its own afterwards is stored at once, and so are the ones awaited after it.
    for (let i = 0; i < 3; i++) expect((await client.submit(add, { a: -i, b: 0 })).deduplicated).toBe(false);
    // Ids follow the order of the calls.
    const ids = handles.map((h) => Number(h.id));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });

  it('fails a bad submit alone: invalid input, an unknown option, input the store cannot hold', async () => {
    const { store, client } = await setup();
    const calls: Promise<unknown>[] = [
      client.submit(add, { a: 1, b: 2 }),
      client.submit(add, { a: 'one', b: 2 } as never),
      client.submit(add, { a: 3, b: 4 }),
      client.submit(add, { a: 5, b: 6 }, { bogus: true } as never),
      // By name, so the client does not check it: JSON has no BigInt, and the store refuses it.
      client.submit('by-name', { big: 10n }),
      client.submit('by-name', { fine: true }),
      // PostgreSQL's jsonb (metadata) has no room for a NUL character.
      ...(kind === 'postgres'
        ? [client.submit('by-name', { fine: 'too' }, { metadata: { text: 'nul \u0000 inside' } })]
        : []),
      client.submit(add, { a: 7, b: 8 }),
    ];
    const out = await settleAll(calls);
    const ok = out.filter((o) => o.ok);
    expect(out.map((o) => o.ok)).toEqual([
      true,
      false,
      true,
      false,
      false,
      true,
      ...(kind === 'postgres' ? [false] : []),
      true,
    ]);
    const errors = out.flatMap((o) => (o.ok ? [] : [o.error]));
    expect(errors[0]).toBeInstanceOf(ValidationError);
    expect((errors[0] as ValidationError).message).toMatch(/input/);
    expect(errors[1]).toBeInstanceOf(ValidationError);
    expect((errors[1] as Error).message).toMatch(/bogus/);
    expect((errors[2] as Error).message).toMatch(/BigInt/);
    if (kind === 'postgres') expect((errors[3] as Error).message).toMatch(/\\u0000|unicode|0x00/i);
    // The good ones are stored, each with its own input; nothing else is.
    const page = await store.listJobs({ queue: 'default', limit: 100 });
    expect(page.jobs.length).toBe(ok.length);
    const inputs = page.jobs.map((j) => j.input);
    expect(inputs).toEqual(
      expect.arrayContaining([{ a: 1, b: 2 }, { a: 3, b: 4 }, { fine: true }, { a: 7, b: 8 }]),
    );
  });

  it('deduplicates within one batch exactly as if the submits came one by one', async () => {
    const { store, client } = await setup();
    const earlier = await client.submit(add, { a: 0, b: 0 }, { dedupKey: 'earlier' });
    const keys = ['k1', 'k1', 'k2', null, 'k1', 'earlier', 'k2', null];
    const handles = await Promise.all(
      keys.map((key, i) => client.submit(add, { a: i, b: 0 }, key === null ? {} : { dedupKey: key })),
    );
    const [k1, k1again, k2, plain1, k1third, old, k2again, plain2] = handles;
    expect(k1?.deduplicated).toBe(false);
    expect(k1again).toMatchObject({ id: k1?.id, deduplicated: true });
    expect(k1third).toMatchObject({ id: k1?.id, deduplicated: true });
    expect(k2?.deduplicated).toBe(false);
    expect(k2?.id).not.toBe(k1?.id);
    expect(k2again).toMatchObject({ id: k2?.id, deduplicated: true });
    expect(old).toMatchObject({ id: earlier.id, deduplicated: true });
    expect(plain1?.deduplicated).toBe(false);
    expect(plain2?.deduplicated).toBe(false);
    expect(new Set([k1?.id, k2?.id, plain1?.id, plain2?.id, earlier.id]).size).toBe(5);
    // The first submit of each key is the one stored.
    expect((await store.getJob(k1?.id as string))?.input).toEqual({ a: 0, b: 0 });
    expect((await store.getJob(k2?.id as string))?.input).toEqual({ a: 2, b: 0 });
    expect((await store.listJobs({ queue: 'default', limit: 100 })).jobs.length).toBe(5);
  });

  it('admits into a limited queue in order: the submits past the limit fail, the others are stored', async () => {
    const { store, client } = await setup();
    await store.setQueue('limited', { maxPending: 3 });
    // Interleaved with submits to an unlimited queue, which all succeed.
    const calls = Array.from({ length: 10 }, (_, i) =>
      client.submit(add, { a: i, b: 0 }, { queue: i % 2 === 0 ? 'limited' : 'default' }),
    );
    const out = await settleAll(calls);
    // limited: i = 0, 2, 4 fit; 6 and 8 do not.
    expect(out.map((o) => o.ok)).toEqual([true, true, true, true, true, true, false, true, false, true]);
    for (const o of out) if (!o.ok) expect(o.error).toBeInstanceOf(QueueFullError);
    const limited = await store.listJobs({ queue: 'limited', limit: 100 });
    expect(
      limited.jobs.map((j) => j.input).sort((x, y) => (x as { a: number }).a - (y as { a: number }).a),
    ).toEqual([
      { a: 0, b: 0 },
      { a: 2, b: 0 },
      { a: 4, b: 0 },
    ]);
    expect((await store.listJobs({ queue: 'default', limit: 100 })).jobs.length).toBe(5);
  });

  it('sheds by priority as if the submits came one by one (drop_lowest_priority)', async () => {
    const { store, client } = await setup();
    await store.setQueue('shed', { maxPending: 2, shedPolicy: 'drop_lowest_priority' });
    const priorities = [1, 5, 3, 0];
    const out = await settleAll(
      priorities.map((priority, i) => client.submit(add, { a: i, b: 0 }, { queue: 'shed', priority })),
    );
    // One by one: 1 and 5 fit; 3 sheds 1 (the lowest pending); 0 outranks nothing left (5, 3).
    expect(out.map((o) => o.ok)).toEqual([true, true, true, false]);
    expect((out[3] as { error: unknown }).error).toBeInstanceOf(QueueFullError);
    const ids = out.map((o) => (o.ok ? (o.value as { id: string }).id : null));
    expect((await store.getJob(ids[0] as string))?.state).toBe('cancelled');
    expect((await store.getJob(ids[1] as string))?.state).toBe('pending');
    expect((await store.getJob(ids[2] as string))?.state).toBe('pending');
  });

  it('answers each of many concurrent HTTP submits on its own', async () => {
    const store = closeAfter(await openStore());
    await store.setQueue('limited', { maxPending: 2 });
    const server = closeAfter(
      createServer({ store, host: '127.0.0.1', port: 0, auth: { mode: 'off' }, logger: false, ui: false }),
    );
    const url = await server.listen();
    const post = async (body: unknown) => {
      const res = await fetch(`${url}/api/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        body: (await res.json()) as { id: string; deduplicated: boolean; error?: { code: string } },
      };
    };
    const bodies: unknown[] = [];
    for (let i = 0; i < 40; i++) bodies.push({ task: 'add', input: { a: i, b: 1 } });
    bodies.push({ task: 'add', input: { a: -1, b: 1 }, options: { runAt: 'not a time' } });
    for (let i = 0; i < 3; i++)
      bodies.push({ task: 'add', input: { a: 100 + i, b: 1 }, options: { dedupKey: 'same' } });
    for (let i = 0; i < 4; i++)
      bodies.push({ task: 'add', input: { a: 200 + i, b: 1 }, options: { queue: 'limited' } });
    const replies = await Promise.all(bodies.map(post));

    const plain = replies.slice(0, 40);
    expect(plain.every((r) => r.status === 201 && r.body.deduplicated === false)).toBe(true);
    expect(new Set(plain.map((r) => r.body.id)).size).toBe(40);
    for (const [i, r] of plain.entries())
      expect((await store.getJob(r.body.id))?.input).toEqual({ a: i, b: 1 });

    const bad = replies[40];
    expect(bad?.status).toBe(400);
    expect(JSON.stringify(bad?.body)).toMatch(/options\.runAt/);

    // Requests may reach the server in any order: one of the three is stored, the others get its id.
    const same = replies.slice(41, 44);
    expect(same.filter((r) => r.status === 201)).toHaveLength(1);
    expect(same.filter((r) => r.status === 200 && r.body.deduplicated === true)).toHaveLength(2);
    expect(new Set(same.map((r) => r.body.id)).size).toBe(1);

    const limited = replies.slice(44);
    expect(limited.filter((r) => r.status === 201)).toHaveLength(2);
    const full = limited.filter((r) => r.status === 429);
    expect(full).toHaveLength(2);
    for (const r of full) expect(r.body).toMatchObject({ error: { code: 'QUEUE_FULL' } });
    expect((await store.listJobs({ queue: 'limited', limit: 10 })).jobs).toHaveLength(2);
    expect((await store.listJobs({ queue: 'default', limit: 100 })).jobs).toHaveLength(41);
  });

  it('stores the submits already handed in before the store closes', async () => {
    const store = await openStore();
    const pending = Array.from({ length: 5 }, (_, i) =>
      store.insertJobs([toNewJob('add', undefined, { a: i })]),
    );
    await store.close();
    const rows = (await Promise.all(pending)).flat();
    expect(rows.every((r) => r.created)).toBe(true);
    expect(new Set(rows.map((r) => r.id)).size).toBe(5);
  });
});
