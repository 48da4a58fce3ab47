import { type Client, createClient } from '../client/client.js';
import type { Store } from '../store/types.js';
import { EXIT, type GlobalOptions, printJson, withStore } from './context.js';
import { dim } from './format.js';

/** Opens the store and a client on it for one command. */
export function withClient<T>(
  g: GlobalOptions,
  fn: (client: Client, store: Store) => Promise<T>,
): Promise<T> {
  return withStore(g, async (store) => {
    const client = createClient({ store });
    try {
      return await fn(client, store);
    } finally {
      await client.close();
    }
  });
}

/** Waits for a flow (a schedule's run-now) and prints its outputs, or how it failed. */
export async function waitForFlow(
  client: Client,
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
