import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createClient,
  createHttpClient,
  createSqliteStore,
  createWorker,
  defineTask,
  NotFoundError,
} from '../../src/index.js';
import { createServer } from '../../src/server/server.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { closeAfter, fakeAuth, quietLogger } from './server-helpers.js';

const dir = tempDir('stint-http-client-tasks-');

const greet = defineTask({
  name: 'greet',
  input: z.object({ name: z.string() }).describe('Says hello'),
  run: (_ctx, input) => `hello ${input.name}`,
});

describe('listTasks / getTask', () => {
  it('read the same registry on a store and over HTTP, with TASK_NOT_FOUND for an unknown name', async () => {
    const store = closeAfter(createSqliteStore({ path: tempDbPath(dir) }));
    const worker = createWorker({ store, tasks: [greet], logger: quietLogger, coordinator: false });
    await worker.start();
    await worker.stop();
    const server = closeAfter(createServer({ store, auth: fakeAuth, logger: false, port: 0 }));
    const url = await server.listen();
    const local = closeAfter(createClient({ store }));
    const remote = closeAfter(createHttpClient({ url, token: 'viewer' }));

    const here = await local.listTasks();
    expect(here).toHaveLength(1);
    expect(here[0]).toMatchObject({
      name: 'greet',
      description: 'Says hello',
      inputSchema: { type: 'object', required: ['name'] },
    });
    expect(await remote.listTasks()).toEqual(here);
    expect(await remote.getTask('greet')).toEqual(here[0]);
    expect(await local.getTask('greet')).toEqual(here[0]);
    await expect(remote.getTask('nope')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    await expect(local.getTask('nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});
