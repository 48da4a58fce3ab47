import { createClient } from '../client/client.js';
import { createHttpClient, type HttpClient } from '../client/http.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import type { Task } from '../task/define.js';
import { EXIT, type GlobalOptions, printJson, target } from './context.js';
import { dim } from './format.js';

/** What commands work with: the client API, on a store or on a server (then there is no `store`). */
export type CommandClient = HttpClient;

/**
 * Opens a client for one command: on the store (`--database`), or on a stint server's HTTP API
 * (`--server`, `--token`). `store` is null on a server; use it only for extras (hints) that can be
 * left out there.
 */
export async function withClient<T>(
  g: GlobalOptions,
  fn: (client: CommandClient, store: Store | null) => Promise<T>,
  options: { tasks?: readonly Task[] } = {},
): Promise<T> {
  const where = target(g);
  const tasks = options.tasks ?? [];
  if (where.kind === 'server') {
    const client = createHttpClient({
      url: where.url,
      tasks,
      ...(where.token ? { token: where.token } : {}),
    });
    try {
      return await fn(client, null);
    } finally {
      await client.close();
    }
  }
  const store = openStore(where.url);
  try {
    const client = createClient({ store, tasks });
    try {
      return await fn(client, store);
    } finally {
      await client.close();
    }
  } finally {
    await store.close();
  }
}

/** Waits for a flow (a schedule's run-now) and prints its outputs, or how it failed. */
export async function waitForFlow(
  client: CommandClient,
  id: string,
  timeout: string | undefined,
  json: boolean,
): Promise<number> {
  const handle = client.flow(id);
  await handle.result(timeout ? { timeout } : {}).catch((err: unknown) => {
    if ((err as { code?: string }).code !== 'FLOW_FAILED') throw err;
  });
  const flow = await handle.get();
  if (json) printJson(flow);
  else if (flow.state === 'succeeded') console.log(JSON.stringify(flow.output, null, 2));
  else {
    const step = flow.failedStep ? ` at step ${flow.failedStep}` : '';
    console.error(`flow ${flow.id} ${flow.state}${step}: ${flow.error?.name}: ${flow.error?.message}`);
    console.error(dim(`see: stint flows show ${flow.id}`));
  }
  return flow.state === 'succeeded' ? EXIT.ok : EXIT.failed;
}

/**
 * Whether some worker has registered `task` (read from the store, or `GET /tasks/:name` on a
 * server); used for the "no worker has registered task X yet" notes.
 */
export async function isRegistered(client: CommandClient, task: string): Promise<boolean> {
  try {
    await client.getTask(task);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'TASK_NOT_FOUND') return false;
    throw err;
  }
}
