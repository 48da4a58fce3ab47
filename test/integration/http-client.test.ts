import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { add, hello } from '../../examples/tasks.js';
import {
  AuthError,
  ConflictError,
  createHttpClient,
  createSqliteStore,
  createWorker,
  NotFoundError,
  QueueFullError,
  ServerError,
  ValidationError,
  WaitTimeoutError,
} from '../../src/index.js';
import { createServer } from '../../src/server/server.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { closeAfter, fakeAuth } from './server-helpers.js';

const dir = tempDir('stint-http-client-');

/** A listening server with the fake roles (`Bearer operator` is an operator), and a worker on its store. */
async function start() {
  const store = closeAfter(createSqliteStore({ path: tempDbPath(dir) }));
  const server = closeAfter(createServer({ store, auth: fakeAuth, logger: false, port: 0 }));
  const url = await server.listen();
  const as = (token?: string) =>
    closeAfter(createHttpClient({ url: `${url}/api/v1/`, ...(token ? { token } : {}) }));
  return { store, url, as };
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

describe('createHttpClient', () => {
  it('maps the API errors back to the typed errors of the client on a store', async () => {
    const { as } = await start();
    const operator = as('operator');

    const local = await rejection(operator.submit(hello, { name: '' }));
    expect(local).toBeInstanceOf(ValidationError);
    expect((local as ValidationError).issues[0]?.path).toBe('input.name');
    const remote = await rejection(operator.submit('add', {}, { priority: 'high' as unknown as number }));
    expect(remote).toBeInstanceOf(ValidationError);
    expect((remote as ValidationError).issues).toEqual([
      { path: 'options.priority', message: expect.any(String) },
    ]);

    for (const id of ['999', 'not-an-id']) {
      const missing = await rejection(operator.get(id));
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(missing).toMatchObject({
        code: 'JOB_NOT_FOUND',
        message: `job ${id} does not exist (it may have been removed by retention)`,
      });
    }
    const job = await operator.submit(
      'add',
      { a: 1, b: 2 },
      { queue: 'q', runAt: new Date(Date.now() + 3_600_000) },
    );
    expect((await operator.cancel(job.id)).state).toBe('cancelled');
    expect(await rejection(operator.cancel(job.id))).toBeInstanceOf(ConflictError);
    expect(await rejection(job.result({ timeout: '10ms' }))).toMatchObject({ code: 'JOB_CANCELLED' });

    await as('admin').setQueue('small', { maxPending: 1 });
    await operator.submit('add', { a: 1, b: 1 }, { queue: 'small' });
    const full = await rejection(operator.submit('add', { a: 1, b: 1 }, { queue: 'small' }));
    expect(full).toBeInstanceOf(QueueFullError);
    expect(full).toMatchObject({ queue: 'small', maxPending: 1 });
    const pending = await rejection(
      operator
        .job((await operator.list({ queue: 'small' })).jobs[0]?.id as string)
        .result({ timeout: '50ms' }),
    );
    expect(pending).toBeInstanceOf(WaitTimeoutError);

    const forbidden = await rejection(as('viewer').submit('add', {}));
    expect(forbidden).toBeInstanceOf(AuthError);
    expect(forbidden.message).toBe(
      "your token's role viewer may not submit jobs: that needs the operator role (use a token made with stint tokens create --role operator)",
    );
    expect(await rejection(as('nobody').list())).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await rejection(as().list())).toMatchObject({
      message: expect.stringMatching(/^the server needs a token/),
    });
    const closed = await closedPort();
    const gone = await rejection(createHttpClient({ url: `http://127.0.0.1:${closed}` }).list());
    expect(gone).toBeInstanceOf(ServerError);
    expect(gone.message).toMatch(
      /^cannot reach the stint server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    expect(() => createHttpClient({ url: 'localhost:7070' })).toThrow(/must start with http/);
  });

  it('runs jobs, flows and schedules through the server', async () => {
    const { store, as } = await start();
    const worker = closeAfter(createWorker({ store, tasks: [add, hello] }));
    await worker.start();
    const client = as('admin');

    expect(await client.run(add, { a: 2, b: 3 }, { timeout: '10s' })).toEqual({ sum: 5 });
    const greeted = await client.submit(hello, { name: 'Ada' });
    await greeted.result({ timeout: '10s' });
    const lines: string[] = [];
    for await (const line of client.followLogs(greeted.id)) lines.push(line.message);
    expect(lines).toEqual(['saying hello to Ada']);
    expect((await client.events(greeted.id)).map((e) => e.type)).toEqual(['created', 'started', 'succeeded']);
    const many = await client.submitMany('add', [
      { a: 1, b: 1 },
      { a: 2, b: 2 },
    ]);
    expect(await Promise.all(many.map((h) => h.result({ timeout: '10s' })))).toEqual([
      { sum: 2 },
      { sum: 4 },
    ]);

    const flow = await client.submitFlow({
      name: 'sums',
      steps: [
        { name: 'one', task: 'add', input: { a: 1, b: 2 } },
        { name: 'two', task: 'add', input: { a: { $ref: 'steps.one.output.sum' }, b: 10 } },
      ],
    });
    expect(await flow.result({ timeout: '10s' })).toMatchObject({ two: { sum: 13 } });
    const bad = await rejection(
      client.submitFlow({
        name: 'bad',
        steps: [{ name: 'x', task: 'add', input: { a: { $ref: 'steps.nope.output' } } }],
      }),
    );
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).issues[0]?.path).toMatch(/^steps\.0/);

    const schedule = await client.createSchedule({
      name: 'hourly',
      trigger: { every: '1h' },
      task: add,
      input: { a: 4, b: 4 },
    });
    expect(schedule.nextFireTimes).toHaveLength(5);
    const run = await client.runScheduleNow('hourly');
    expect(await client.job(run.jobId as string).result({ timeout: '10s' })).toEqual({ sum: 8 });
    expect((await client.scheduleRuns('hourly')).runs).toHaveLength(1);
    expect(await client.markAvailable('raw/events', '2026-11-22')).toMatchObject({ created: true });
    expect((await client.listPartitions('raw/events')).partitions).toHaveLength(1);
    expect((await client.listWorkers()).map((w) => w.state)).toEqual(['active']);
    await client.deleteSchedule('hourly');
    expect(await rejection(client.getSchedule('hourly'))).toMatchObject({ code: 'SCHEDULE_NOT_FOUND' });
    await worker.stop();
  }, 30_000);
});
