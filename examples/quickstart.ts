import { z } from 'zod';
import { createClient, createWorker, defineTask } from '../src/index.js';

// A task: a name, an input schema and a handler. Its types flow to the client.
const resize = defineTask({
  name: 'resize',
  input: z.object({ url: z.string().url(), width: z.number().int().positive() }),
  retry: { maxAttempts: 5, backoff: '1s' },
  timeout: '30s',
  run: async (ctx, { url, width }) => {
    ctx.log.info('resizing', { url, width });
    ctx.progress(1, 1);
    return { url: `${url}?w=${width}` };
  },
});

const database = process.argv[2] ?? '.stint/quickstart.db';
const worker = createWorker({ store: database, tasks: [resize], concurrency: 10 });
const client = createClient({ store: database });
await worker.start();

// Fire and forget: the id comes back at once; any process can ask for the result later.
const job = await client.submit(resize, { url: 'https://example.com/cat.png', width: 640 });
console.log('submitted', job.id);

// ...or wait for it. `result` is typed as { url: string }.
const result = await job.result({ timeout: '10s' });
console.log('result', result.url);

await worker.close();
await client.close();
