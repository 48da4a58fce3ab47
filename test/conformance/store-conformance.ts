import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../../src/core/clock.js';
import { ConflictError, NotFoundError } from '../../src/core/errors.js';
import { DEFAULT_RETRY } from '../../src/core/retry.js';
import { MAX_LOG_LINES_PER_JOB } from '../../src/store/rules.js';
import type { NewJob, Store, StoreNotification } from '../../src/store/types.js';

/**
 * Behaviour every store must have. Each backend's test file calls this with a factory that makes
 * a fresh, empty store on the given clock.
 */
export function describeStoreConformance(
  name: string,
  makeStore: (clock: FakeClock) => Promise<Store>,
): void {
  describe(`store conformance: ${name}`, () => {
    let clock: FakeClock;
    let store: Store;

    beforeEach(async () => {
      clock = createFakeClock(Date.UTC(2026, 10, 23, 12));
      store = await makeStore(clock);
    });
    afterEach(async () => {
      await store.close();
    });

    const job = (over: Partial<NewJob> = {}): NewJob => ({
      task: 't',
      queue: 'default',
      input: { n: 1 },
      priority: 0,
      retry: DEFAULT_RETRY,
      timeoutMs: null,
      metadata: null,
      dedup: null,
      ...over,
    });
    const claim = (limit = 10, over: Partial<Parameters<Store['claimJobs']>[0]> = {}) =>
      store.claimJobs({ workerId: 'w1', queues: ['default'], tasks: ['t'], limit, leaseMs: 10_000, ...over });
    const insert = async (over: Partial<NewJob> = {}) => {
      const [r] = await store.insertJobs([job(over)]);
      return r!.id;
    };

    describe('lifecycle', () => {
      it('stores a new job as pending with its fields', async () => {
        const id = await insert({ input: { a: [1, 'x'] }, metadata: { team: 'infra' }, priority: 3 });
        const rec = await store.getJob(id);
        expect(rec).toMatchObject({
          id,
          task: 't',
          queue: 'default',
          state: 'pending',
          input: { a: [1, 'x'] },
          priority: 3,
          attempt: 0,
          maxAttempts: 3,
          createdAt: clock.now(),
          runAt: clock.now(),
          metadata: { team: 'infra' },
          output: null,
          error: null,
        });
      });

      it('claims, completes, and records every transition', async () => {
        const id = await insert();
        const [claimed] = await claim();
        expect(claimed).toMatchObject({ id, attempt: 1, attemptsUsed: 1, input: { n: 1 } });
        expect((await store.getJob(id))!.state).toBe('running');
        clock.advance(5);
        const [res] = await store.completeJobs({
          completions: [{ id, attempt: 1, workerId: 'w1', outcome: 'succeeded', output: { ok: true } }],
        });
        expect(res).toEqual({ id, applied: true, state: 'succeeded' });
        const rec = (await store.getJob(id))!;
        expect(rec).toMatchObject({ state: 'succeeded', output: { ok: true }, finishedAt: clock.now() });
        const events = await store.getJobEvents(id);
        expect(events.map((e) => e.type)).toEqual(['created', 'started', 'succeeded']);
        expect(events[1]).toMatchObject({ attempt: 1, workerId: 'w1' });
      });

      it('inserts a mixed batch in order: runs sharing a template, other jobs, and dedup keys', async () => {
        const shared = job({ priority: 2 });
        const [held] = await store.insertJobs([job({ dedup: { key: 'k', windowMs: null }, input: 'held' })]);
        const batch = [
          { ...shared, input: 1 },
          { ...shared, input: 2 },
          job({ input: 3, queue: 'other' }),
          job({ input: 4, dedup: { key: 'k', windowMs: null } }),
          { ...shared, input: 5 },
          { ...shared, input: 6 },
          { ...shared, input: 7 },
        ];
        const res = await store.insertJobs(batch);
        expect(res.map((r) => r.created)).toEqual([true, true, true, false, true, true, true]);
        expect(res[3]!.id).toBe(held!.id);
        const inputs = await Promise.all(res.map(async (r) => (await store.getJob(r.id))!.input));
        expect(inputs).toEqual([1, 2, 3, 'held', 5, 6, 7]);
        expect((await store.getJob(res[4]!.id))!).toMatchObject({
          priority: 2,
          maxAttempts: 3,
          state: 'pending',
        });
        const ids = res.filter((r) => r.created).map((r) => Number(r.id));
        expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      });

      it('returns nothing for unknown ids and rejects operations on them', async () => {
        expect(await store.getJob('999999')).toBeNull();
        expect(await store.getJob('not-an-id')).toBeNull();
        await expect(store.cancelJob('999999', 'x')).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.retryJob('999999')).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('claim order and filters', () => {
      it('takes higher priority first, then earlier runAt, then insertion order', async () => {
        const a = await insert({ priority: 0 });
        const b = await insert({ priority: 5 });
        const c = await insert({ priority: 0 });
        const d = await insert({ priority: 5, runAt: clock.now() - 1000 });
        const order: string[] = [];
        for (let i = 0; i < 4; i++) order.push(...(await claim(1)).map((j) => j.id));
        expect(order).toEqual([d, b, a, c]);
      });

      it('does not start delayed jobs before their time', async () => {
        const id = await insert({ delayMs: 60_000 });
        expect(await claim()).toEqual([]);
        clock.advance(59_999);
        expect(await claim()).toEqual([]);
        clock.advance(1);
        expect((await claim()).map((j) => j.id)).toEqual([id]);
      });

      it('claims only the given queues and tasks, merging queues by priority', async () => {
        const low = await insert({ queue: 'a', priority: 1 });
        const high = await insert({ queue: 'b', priority: 9 });
        await insert({ queue: 'c', priority: 100 });
        await insert({ queue: 'a', task: 'other', priority: 100 });
        const got = await claim(10, { queues: ['a', 'b'] });
        expect(got.map((j) => j.id)).toEqual([high, low]);
      });

      it('keeps every kind of JSON input intact through a shared insert', async () => {
        const inputs = [
          'text',
          'with "quotes" and \\',
          0,
          -1.5,
          1e21,
          true,
          false,
          null,
          [1, 'two'],
          { nested: { a: [null] } },
          '',
        ];
        const res = await store.insertJobs(inputs.map((input) => job({ input })));
        expect(await Promise.all(res.map(async (r) => (await store.getJob(r.id))!.input))).toEqual(inputs);
        const claimed = await claim(20);
        expect(claimed.map((c) => c.input)).toEqual(inputs);
        await store.completeJobs({
          completions: claimed.map((c) => ({
            id: c.id,
            attempt: 1,
            workerId: 'w1',
            outcome: 'succeeded' as const,
            output: c.input,
          })),
        });
        expect(await Promise.all(res.map(async (r) => (await store.getJob(r.id))!.output))).toEqual(inputs);
      });

      it('completes and claims in one call', async () => {
        const [a, b] = await store.insertJobs([job({ input: 'a' }), job({ input: 'b' })]);
        await claim(1);
        const out = await store.completeAndClaim(
          { completions: [{ id: a!.id, attempt: 1, workerId: 'w1', outcome: 'succeeded', output: 'done' }] },
          { workerId: 'w1', queues: ['default'], tasks: ['t'], limit: 5, leaseMs: 1000 },
        );
        expect(out.results).toEqual([{ id: a!.id, applied: true, state: 'succeeded' }]);
        expect(out.jobs.map((j) => j.id)).toEqual([b!.id]);
        expect((await store.getJob(a!.id))!.output).toBe('done');
      });

      it('completes many and claims many in one call: every result applied, every job claimed once', async () => {
        const inserted = await store.insertJobs(Array.from({ length: 9 }, (_, i) => job({ input: i })));
        const first = await claim(4);
        const out = await store.completeAndClaim(
          {
            completions: first.map((c) => ({
              id: c.id,
              attempt: 1,
              workerId: 'w1',
              outcome: 'succeeded' as const,
              output: c.input,
            })),
          },
          { workerId: 'w1', queues: ['default'], tasks: ['t'], limit: 10, leaseMs: 1000 },
        );
        expect(out.results).toEqual(first.map((c) => ({ id: c.id, applied: true, state: 'succeeded' })));
        expect(out.jobs.map((j) => j.id).sort()).toEqual(
          inserted
            .slice(4)
            .map((r) => r.id)
            .sort(),
        );
        for (const c of first) expect((await store.getJob(c.id))!.output).toBe(c.input);
      });

      it('completes and claims with a stale completion in the batch: results in order, the stale one recorded', async () => {
        const [a, b, c] = await store.insertJobs([
          job({ input: 'a' }),
          job({ input: 'b' }),
          job({ input: 'c' }),
        ]);
        await claim(2);
        const out = await store.completeAndClaim(
          {
            completions: [
              { id: a!.id, attempt: 5, workerId: 'old', outcome: 'succeeded', output: 'late' },
              { id: b!.id, attempt: 1, workerId: 'w1', outcome: 'succeeded', output: 'done' },
            ],
          },
          { workerId: 'w1', queues: ['default'], tasks: ['t'], limit: 5, leaseMs: 1000 },
        );
        expect(out.results).toEqual([
          { id: a!.id, applied: false, state: 'running' },
          { id: b!.id, applied: true, state: 'succeeded' },
        ]);
        expect(out.jobs.map((j) => j.id)).toEqual([c!.id]);
        expect((await store.getJob(a!.id))!.output).toBeNull();
        const events = (await store.getJobEvents(a!.id)).map((e) => e.type);
        expect(events).toContain('stale_completion');
      });

      it('claims at most the limit, and never the same job twice', async () => {
        await store.insertJobs(Array.from({ length: 25 }, () => job()));
        const first = await claim(10);
        const second = await claim(10, { workerId: 'w2' });
        const third = await claim(10);
        expect([first.length, second.length, third.length]).toEqual([10, 10, 5]);
        const ids = new Set([...first, ...second, ...third].map((j) => j.id));
        expect(ids.size).toBe(25);
        expect(await claim(10)).toEqual([]);
      });
    });

    describe('failures and retries', () => {
      it('schedules a retry after the given delay, then fails for good', async () => {
        const id = await insert();
        const [c1] = await claim();
        const error = { name: 'Error', message: 'boom', stack: 'Error: boom\n at x' };
        await store.completeJobs({
          completions: [{ id, attempt: 1, workerId: 'w1', outcome: 'failed', error, retryDelayMs: 500 }],
        });
        let rec = (await store.getJob(id))!;
        expect(rec).toMatchObject({ state: 'pending', runAt: clock.now() + 500, error });
        expect(await claim()).toEqual([]);
        clock.advance(500);
        const [c2] = await claim();
        expect(c2).toMatchObject({ id, attempt: 2, attemptsUsed: 2 });
        expect(c1!.attempt).toBe(1);
        await store.completeJobs({
          completions: [{ id, attempt: 2, workerId: 'w1', outcome: 'failed', error, retryDelayMs: null }],
        });
        rec = (await store.getJob(id))!;
        expect(rec).toMatchObject({ state: 'failed', attempt: 2, error, finishedAt: clock.now() });
        expect((await store.getJobEvents(id)).map((e) => e.type)).toEqual([
          'created',
          'started',
          'retry_scheduled',
          'started',
          'failed',
        ]);
      });

      it('retries a failed job with a fresh attempt budget, keeping attempt numbers growing', async () => {
        const id = await insert();
        await claim();
        await store.completeJobs({
          completions: [
            {
              id,
              attempt: 1,
              workerId: 'w1',
              outcome: 'failed',
              error: { name: 'E', message: 'x' },
              retryDelayMs: null,
            },
          ],
        });
        await expect(store.retryJob((await insert()) as string)).rejects.toBeInstanceOf(ConflictError);
        const rec = await store.retryJob(id);
        expect(rec).toMatchObject({ state: 'pending', error: null, finishedAt: null });
        const [again] = await claim(1);
        expect(again).toMatchObject({ id, attempt: 2, attemptsUsed: 1 });
        expect((await store.getJobEvents(id)).map((e) => e.type)).toContain('retried');
      });

      it('hands a released job back without using an attempt', async () => {
        const id = await insert();
        await claim();
        await store.completeJobs({
          completions: [{ id, attempt: 1, workerId: 'w1', outcome: 'released', reason: 'shutdown' }],
        });
        const [again] = await claim();
        expect(again).toMatchObject({ id, attempt: 2, attemptsUsed: 1 });
      });
    });

    describe('leases and fencing', () => {
      it('rejects and records a completion that carries a stale attempt', async () => {
        const id = await insert();
        await claim();
        const [res] = await store.completeJobs({
          completions: [{ id, attempt: 7, workerId: 'old', outcome: 'succeeded', output: 1 }],
        });
        expect(res).toEqual({ id, applied: false, state: 'running' });
        expect((await store.getJob(id))!.state).toBe('running');
        const stale = (await store.getJobEvents(id)).find((e) => e.type === 'stale_completion');
        expect(stale).toMatchObject({ attempt: 7, workerId: 'old', detail: { currentAttempt: 1 } });
      });

      it('renews leases, and reports lost ones', async () => {
        const id = await insert();
        await claim();
        clock.advance(9_000);
        expect(
          await store.extendLeases({ workerId: 'w1', jobs: [{ id, attempt: 1 }], leaseMs: 10_000 }),
        ).toEqual({
          lost: [],
          cancelRequested: [],
        });
        expect((await store.getJob(id))!.leaseExpiresAt).toBe(clock.now() + 10_000);
        expect(
          (await store.extendLeases({ workerId: 'w1', jobs: [{ id, attempt: 2 }], leaseMs: 10_000 })).lost,
        ).toEqual([id]);
      });

      it('expires leases into a retry with the next attempt, and fences the old holder out', async () => {
        const id = await insert();
        await claim();
        clock.advance(10_001);
        const expired = await store.expireLeases({
          limit: 100,
          decide: ({ attemptsUsed }) => (attemptsUsed < 3 ? 0 : null),
        });
        expect(expired).toBe(1);
        expect((await store.getJob(id))!).toMatchObject({ state: 'pending', error: { code: 'LEASE_LOST' } });
        const [again] = await claim(1, { workerId: 'w2' });
        expect(again).toMatchObject({ id, attempt: 2 });
        const [late] = await store.completeJobs({
          completions: [{ id, attempt: 1, workerId: 'w1', outcome: 'succeeded', output: 'late' }],
        });
        expect(late!.applied).toBe(false);
        await store.completeJobs({
          completions: [{ id, attempt: 2, workerId: 'w2', outcome: 'succeeded', output: 'ok' }],
        });
        expect((await store.getJob(id))!).toMatchObject({ state: 'succeeded', output: 'ok' });
        expect((await store.getJobEvents(id)).map((e) => e.type)).toEqual([
          'created',
          'started',
          'lease_expired',
          'retry_scheduled',
          'started',
          'stale_completion',
          'succeeded',
        ]);
      });

      it('fails an expired job with no attempts left, and leaves live leases alone', async () => {
        const dead = await insert();
        await claim(1);
        clock.advance(5_000);
        const live = await insert();
        await claim(1);
        clock.advance(5_001);
        expect(await store.expireLeases({ limit: 100, decide: () => null })).toBe(1);
        expect((await store.getJob(dead))!.state).toBe('failed');
        expect((await store.getJob(live))!.state).toBe('running');
      });
    });

    describe('cancel', () => {
      it('cancels a pending job at once', async () => {
        const id = await insert();
        const rec = await store.cancelJob(id, 'not needed');
        expect(rec).toMatchObject({
          state: 'cancelled',
          error: { code: 'JOB_CANCELLED', message: 'not needed' },
        });
        expect(await claim()).toEqual([]);
        await expect(store.cancelJob(id, 'again')).rejects.toBeInstanceOf(ConflictError);
      });

      it('does not start again a job whose cancel was requested: a retry or hand-back ends it cancelled', async () => {
        const failing = await insert();
        const handedBack = await insert();
        await claim();
        await store.cancelJob(failing, 'user');
        await store.cancelJob(handedBack, 'user');
        const results = await store.completeJobs({
          completions: [
            {
              id: failing,
              attempt: 1,
              workerId: 'w1',
              outcome: 'failed',
              error: { name: 'Error', message: 'boom' },
              retryDelayMs: 0,
            },
            { id: handedBack, attempt: 1, workerId: 'w1', outcome: 'released', reason: 'shutdown' },
          ],
        });
        expect(results.map((r) => r.state)).toEqual(['cancelled', 'cancelled']);
        expect((await store.getJob(failing))!.state).toBe('cancelled');
        expect((await store.getJob(handedBack))!.state).toBe('cancelled');
        expect(await claim()).toEqual([]);
      });

      it('asks the holder of a running job to stop, via the lease renewal', async () => {
        const id = await insert();
        await claim();
        const rec = await store.cancelJob(id, 'user');
        expect(rec).toMatchObject({ state: 'running', cancelRequested: true });
        const renewed = await store.extendLeases({
          workerId: 'w1',
          jobs: [{ id, attempt: 1 }],
          leaseMs: 10_000,
        });
        expect(renewed.cancelRequested).toEqual([id]);
        await store.completeJobs({
          completions: [{ id, attempt: 1, workerId: 'w1', outcome: 'cancelled', reason: 'user' }],
        });
        expect((await store.getJob(id))!.state).toBe('cancelled');
        expect((await store.getJobEvents(id)).map((e) => e.type)).toEqual([
          'created',
          'started',
          'cancel_requested',
          'cancelled',
        ]);
      });

      it('cancels a running job whose holder died when its lease expires', async () => {
        const id = await insert();
        await claim();
        await store.cancelJob(id, 'user');
        clock.advance(10_001);
        await store.expireLeases({ limit: 10, decide: () => 0 });
        expect((await store.getJob(id))!.state).toBe('cancelled');
      });
    });

    describe('dedup', () => {
      it('returns the first job inside the window and creates nothing', async () => {
        const [a] = await store.insertJobs([job({ dedup: { key: 'k', windowMs: 60_000 } })]);
        clock.advance(59_999);
        const [b] = await store.insertJobs([job({ dedup: { key: 'k', windowMs: 60_000 } })]);
        expect(b).toEqual({ id: a!.id, created: false });
        expect((await store.listJobs({})).jobs).toHaveLength(1);
        clock.advance(1);
        const [c] = await store.insertJobs([job({ dedup: { key: 'k', windowMs: 60_000 } })]);
        expect(c!.created).toBe(true);
        expect(c!.id).not.toBe(a!.id);
      });

      it('without a window, holds the key until the job finishes', async () => {
        const [a] = await store.insertJobs([job({ dedup: { key: 'k', windowMs: null } })]);
        clock.advance(1_000_000);
        expect((await store.insertJobs([job({ dedup: { key: 'k', windowMs: null } })]))[0]).toEqual({
          id: a!.id,
          created: false,
        });
        await claim();
        await store.completeJobs({
          completions: [{ id: a!.id, attempt: 1, workerId: 'w1', outcome: 'succeeded', output: null }],
        });
        const [b] = await store.insertJobs([job({ dedup: { key: 'k', windowMs: null } })]);
        expect(b!.created).toBe(true);
      });

      it('dedups within one batch', async () => {
        const res = await store.insertJobs([
          job({ dedup: { key: 'same', windowMs: 1000 } }),
          job({ dedup: { key: 'same', windowMs: 1000 } }),
        ]);
        expect(res[1]).toEqual({ id: res[0]!.id, created: false });
      });
    });

    describe('logs, progress, listing', () => {
      it('stores logs in order and progress of the running attempt', async () => {
        const id = await insert();
        await claim();
        await store.completeJobs({
          completions: [],
          logs: [
            { jobId: id, attempt: 1, at: clock.now(), level: 'info', message: 'one', fields: { k: 1 } },
            { jobId: id, attempt: 1, at: clock.now(), level: 'error', message: 'two', fields: null },
          ],
          progress: [{ jobId: id, attempt: 1, done: 3, total: 10 }],
        });
        const logs = await store.getJobLogs(id);
        expect(logs.map((l) => [l.level, l.message, l.fields])).toEqual([
          ['info', 'one', { k: 1 }],
          ['error', 'two', null],
        ]);
        expect((await store.getJobLogs(id, { afterId: logs[0]!.id })).map((l) => l.message)).toEqual(['two']);
        expect((await store.getJob(id))!.progress).toEqual({ done: 3, total: 10 });
      });

      it('keeps at most MAX_LOG_LINES_PER_JOB lines per job over all attempts, then one marker', async () => {
        const id = await insert();
        await claim();
        const lines = (attempt: number, n: number, from: number) =>
          Array.from({ length: n }, (_, i) => ({
            jobId: id,
            attempt,
            at: clock.now(),
            level: 'info' as const,
            message: `line ${from + i}`,
            fields: null,
          }));
        await store.completeJobs({ completions: [], logs: lines(1, MAX_LOG_LINES_PER_JOB - 2, 0) });
        await store.completeJobs({
          completions: [
            {
              id,
              attempt: 1,
              workerId: 'w1',
              outcome: 'failed',
              error: { name: 'E', message: 'x' },
              retryDelayMs: 0,
            },
          ],
          logs: lines(1, 1, MAX_LOG_LINES_PER_JOB - 2),
        });
        await claim();
        await store.completeJobs({ completions: [], logs: lines(2, 5, MAX_LOG_LINES_PER_JOB - 1) });
        await store.completeJobs({ completions: [], logs: lines(2, 3, MAX_LOG_LINES_PER_JOB + 4) });
        let last = 0;
        const all: { message: string; attempt: number }[] = [];
        for (;;) {
          const page = await store.getJobLogs(id, { afterId: last, limit: 1000 });
          if (page.length === 0) break;
          all.push(...page);
          last = page.at(-1)!.id;
        }
        expect(all).toHaveLength(MAX_LOG_LINES_PER_JOB + 1);
        expect(all.at(-2)).toMatchObject({ message: `line ${MAX_LOG_LINES_PER_JOB - 1}`, attempt: 2 });
        expect(all.at(-1)!.message).toMatch(/^log truncated: more than 10000 lines for this job/);
      }, 60_000);

      it('lists newest first with filters and a cursor', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 7; i++)
          ids.push(await insert({ task: i % 2 ? 'odd' : 'even', queue: i < 4 ? 'a' : 'b' }));
        const page1 = await store.listJobs({ limit: 3 });
        expect(page1.jobs.map((j) => j.id)).toEqual([ids[6], ids[5], ids[4]]);
        const page2 = await store.listJobs({ limit: 3, cursor: page1.nextCursor! });
        const page3 = await store.listJobs({ limit: 3, cursor: page2.nextCursor! });
        expect(page3.jobs.map((j) => j.id)).toEqual([ids[0]]);
        expect(page3.nextCursor).toBeNull();
        expect((await store.listJobs({ task: 'odd', queue: 'a' })).jobs.map((j) => j.id)).toEqual([
          ids[3],
          ids[1],
        ]);
        await store.cancelJob(ids[2]!, 'x');
        expect((await store.listJobs({ state: ['cancelled'] })).jobs.map((j) => j.id)).toEqual([ids[2]]);
        expect((await store.listJobs({ state: 'pending' })).jobs).toHaveLength(6);
      });

      it('lists by creation time: after inclusive, before exclusive, paged inside the range', async () => {
        const t0 = clock.now();
        const made: { id: string; at: number }[] = [];
        for (let i = 0; i < 40; i++) {
          made.push({ id: await insert({ task: i % 3 ? 'x' : 'y' }), at: clock.now() });
          clock.advance(i % 5 === 4 ? 120_000 : 1000);
        }
        const ids = async (filter: Parameters<Store['listJobs']>[0]) => {
          const out: string[] = [];
          for (let cursor: string | undefined, n = 0; n < 20; n++) {
            const page = await store.listJobs({ ...filter, limit: 7, ...(cursor ? { cursor } : {}) });
            out.push(...page.jobs.map((j) => j.id));
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          return out;
        };
        const expected = (after: number | null, before: number | null, task?: string) =>
          made
            .filter((m) => (after === null || m.at >= after) && (before === null || m.at < before))
            .filter((m) => task === undefined || (made.indexOf(m) % 3 !== 0) === (task === 'x'))
            .map((m) => m.id)
            .reverse();
        const times = [t0 - 1, t0, made[3]!.at, made[4]!.at, made[4]!.at + 1, made[17]!.at, made[39]!.at + 1];
        for (const after of times) {
          expect(await ids({ createdAfter: after })).toEqual(expected(after, null));
          expect(await ids({ createdBefore: after })).toEqual(expected(null, after));
          for (const before of times.filter((b) => b > after)) {
            expect(await ids({ createdAfter: after, createdBefore: before })).toEqual(
              expected(after, before),
            );
          }
        }
        expect(await ids({ createdAfter: made[10]!.at, task: 'x' })).toEqual(
          expected(made[10]!.at, null, 'x'),
        );
        await expect(store.listJobs({ createdAfter: t0, createdBefore: t0 })).rejects.toThrow(
          /createdAfter must be earlier than createdBefore/,
        );
        await expect(store.listJobs({ createdAfter: 1.5 })).rejects.toThrow(/createdAfter must be whole/);
      });

      it('searches metadata text, case-insensitively, with % and _ as plain characters', async () => {
        const acme = await insert({ metadata: { customer: 'Acme-42', note: 'a_b' } });
        const other = await insert({ metadata: { customer: 'Globex', note: '50% off' } });
        await insert({ metadata: null });
        const found = async (search: string) => (await store.listJobs({ search })).jobs.map((j) => j.id);
        expect(await found('acme')).toEqual([acme]);
        expect(await found('ACME-4')).toEqual([acme]);
        expect(await found('customer')).toEqual([other, acme]);
        expect(await found('%')).toEqual([other]);
        expect(await found('a_b')).toEqual([acme]);
        expect(await found('a%b')).toEqual([]);
        expect(await found('\\')).toEqual([]);
        expect(await found('nobody')).toEqual([]);
        const page = await store.listJobs({ search: 'customer', limit: 1 });
        expect(page.jobs.map((j) => j.id)).toEqual([other]);
        expect(
          (await store.listJobs({ search: 'customer', cursor: page.nextCursor! })).jobs.map((j) => j.id),
        ).toEqual([acme]);
        await expect(store.listJobs({ search: '' })).rejects.toThrow(/search must be 1 to 200 characters/);
        await expect(store.listJobs({ search: 'x'.repeat(201) })).rejects.toThrow(/search must be/);
      });
    });

    describe('retention', () => {
      it('deletes finished jobs older than the cutoff, with their events and logs', async () => {
        const old = await insert({ dedup: { key: 'old', windowMs: 10 ** 9 } });
        await store.cancelJob(old, 'x');
        clock.advance(1000);
        const recent = await insert();
        await store.cancelJob(recent, 'x');
        const pending = await insert();
        expect(await store.deleteFinishedJobs({ before: clock.now() - 500, limit: 100 })).toBe(1);
        expect(await store.getJob(old)).toBeNull();
        expect(await store.getJobEvents(old)).toEqual([]);
        expect(await store.getJob(recent)).not.toBeNull();
        expect(await store.getJob(pending)).not.toBeNull();
        // The dedup key of a deleted job is free again.
        expect(
          (await store.insertJobs([job({ dedup: { key: 'old', windowMs: 10 ** 9 } })]))[0]!.created,
        ).toBe(true);
      });
    });

    describe('ids', () => {
      it('never reuses an id, even after retention deleted old jobs', async () => {
        const ids = [await insert(), await insert(), await insert()];
        for (const id of ids) await store.cancelJob(id, 'x');
        clock.advance(1000);
        const deleted = await store.deleteFinishedJobs({ before: clock.now(), limit: 100 });
        expect(deleted).toBeGreaterThanOrEqual(2);
        const next = await insert();
        expect(Number(next)).toBeGreaterThan(Math.max(...ids.map(Number)));
        expect(await store.getJob(ids[0]!)).toBeNull();
      });
    });

    describe('task registry', () => {
      it('keeps the last registration of each task', async () => {
        expect(await store.getTaskDefaults('email')).toBeNull();
        const retry = { ...DEFAULT_RETRY, maxAttempts: 7 };
        await store.registerTasks([
          { name: 'email', queue: 'mail', priority: 1, retry, timeoutMs: 5000, revertible: true },
        ]);
        expect(await store.getTaskDefaults('email')).toEqual({
          name: 'email',
          queue: 'mail',
          priority: 1,
          retry,
          timeoutMs: 5000,
          revertible: true,
          placement: null,
          concurrency: null,
        });
        await store.registerTasks([
          {
            name: 'email',
            queue: 'mail2',
            priority: 0,
            retry: DEFAULT_RETRY,
            timeoutMs: null,
            revertible: false,
            placement: { resources: { cpu: 2 }, labels: { gpu: true } },
            concurrency: { key: 'smtp', limit: 3 },
          },
        ]);
        expect(await store.getTaskDefaults('email')).toMatchObject({
          queue: 'mail2',
          timeoutMs: null,
          revertible: false,
          placement: { resources: { cpu: 2 }, labels: { gpu: true } },
          concurrency: { key: 'smtp', limit: 3 },
        });
      });
    });

    describe('named leases', () => {
      it('elects one holder, renews it, and fences takeovers with a growing term', async () => {
        expect(await store.acquireLease('coordinator', 'a', 5000)).toBe(1);
        expect(await store.acquireLease('coordinator', 'b', 5000)).toBeNull();
        clock.advance(4000);
        expect(await store.acquireLease('coordinator', 'a', 5000)).toBe(1);
        clock.advance(4000);
        expect(await store.acquireLease('coordinator', 'b', 5000)).toBeNull();
        clock.advance(1001);
        expect(await store.acquireLease('coordinator', 'b', 5000)).toBe(2);
        await store.releaseLease('coordinator', 'b');
        expect(await store.acquireLease('coordinator', 'a', 5000)).toBe(3);
      });
    });

    describe('notifications', () => {
      it('announces new jobs, finished jobs and cancel requests', async () => {
        const seen: StoreNotification[] = [];
        const unsubscribe = store.subscribe((n) => {
          if (n.type !== 'changed') seen.push(n);
        });
        const id = await insert({ queue: 'q', delayMs: 100 });
        expect(seen).toContainEqual({
          type: 'jobs-available',
          queues: ['q'],
          earliestRunAt: clock.now() + 100,
        });
        clock.advance(100);
        await claim(1, { queues: ['q'] });
        await store.cancelJob(id, 'x');
        expect(seen).toContainEqual({ type: 'cancel-requested', ids: [id] });
        await store.completeJobs({
          completions: [{ id, attempt: 1, workerId: 'w1', outcome: 'cancelled', reason: 'x' }],
        });
        expect(seen).toContainEqual({ type: 'jobs-finished', ids: [id] });
        unsubscribe();
      });
    });
  });
}
