import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../core/clock.js';
import { DEFAULT_RETRY } from '../core/retry.js';
import { createSqliteStore } from '../store/sqlite/store.js';
import type { NewJob, Store } from '../store/types.js';
import { createCoordinator } from './coordinator.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const job: NewJob = {
  task: 't',
  queue: 'default',
  input: {},
  priority: 0,
  retry: DEFAULT_RETRY,
  timeoutMs: null,
  metadata: null,
  dedup: null,
};

let stores: Store[] = [];
afterEach(async () => {
  for (const s of stores) await s.close();
  stores = [];
});

function setup() {
  const clock = createFakeClock(Date.UTC(2026, 10, 23));
  const store = createSqliteStore({ path: ':memory:', clock });
  stores.push(store);
  const make = (id: string) =>
    createCoordinator(store, {
      id,
      clock,
      logger: quiet,
      leaseTtl: '5s',
      retention: '1h',
      retentionInterval: '1m',
    });
  return { clock, store, make };
}

describe('coordinator', () => {
  it('has one leader at a time, and a successor when the leader stops renewing', async () => {
    const { clock, make } = setup();
    const a = make('a');
    const b = make('b');
    await a.tick();
    await b.tick();
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    clock.advance(4000);
    await a.tick();
    await b.tick();
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    clock.advance(5001); // a has died: no renewal
    await b.tick();
    expect(b.isLeader()).toBe(true);
    expect(b.term()).toBe(2);
  });

  it('sweeps expired leases into retries, and leaves them to the leader only', async () => {
    const { clock, store, make } = setup();
    const [{ id } = { id: '' }] = await store.insertJobs([job]);
    await store.claimJobs({ workerId: 'dead', queues: ['default'], tasks: ['t'], limit: 1, leaseMs: 1000 });
    const leader = make('leader');
    const follower = make('follower');
    await leader.tick();
    clock.advance(1001);
    await follower.tick();
    expect((await store.getJob(id))!.state).toBe('running');
    await leader.tick();
    expect((await store.getJob(id))!).toMatchObject({ state: 'pending', error: { code: 'LEASE_LOST' } });
  });

  it('deletes jobs finished longer ago than the retention', async () => {
    const { clock, store, make } = setup();
    const [{ id: old } = { id: '' }] = await store.insertJobs([job]);
    await store.cancelJob(old, 'x');
    clock.advance(3_600_001);
    const [{ id: recent } = { id: '' }] = await store.insertJobs([job]);
    await store.cancelJob(recent, 'x');
    await make('c').tick();
    expect(await store.getJob(old)).toBeNull();
    expect(await store.getJob(recent)).not.toBeNull();
  });

  it('releases the lease on stop so a successor takes over at once', async () => {
    const { store, make } = setup();
    const a = make('a');
    a.start();
    await a.tick();
    await a.stop();
    const b = make('b');
    await b.tick();
    expect(b.isLeader()).toBe(true);
    expect(await store.acquireLease('coordinator', 'a', 1000)).toBeNull();
  });
});
