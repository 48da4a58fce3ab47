// Placement: resources, labels, concurrency keys and queue limits, on one worker.
// Run: npx tsx examples/placement.ts [database]
import { z } from 'zod';
import { createClient, createWorker, defineTask, QueueFullError } from '../src/index.js';

const database = process.argv[2] ?? '.stint/placement.db';

// #region tasks
// Each render takes 2 cpu and a gpu of the worker it runs on, and only runs where zone=eu-1.
const render = defineTask({
  name: 'render',
  input: z.object({ frame: z.number() }),
  resources: { cpu: 2, gpu: 1 },
  labels: { zone: 'eu-1' },
  run: async (_ctx, input) => `frame ${input.frame} rendered`,
});

// At most 2 syncs per customer run at once, across every worker of the cluster.
const sync = defineTask({
  name: 'sync',
  input: z.object({ customer: z.string() }),
  concurrency: { limit: 2, key: (input) => `customer:${input.customer}` },
  run: async (_ctx, input) => `synced ${input.customer}`,
});
// #endregion tasks

// #region worker
const worker = createWorker({
  store: database,
  tasks: [render, sync],
  // The sum of the resources of the jobs it runs stays within this.
  capacity: { cpu: 8, gpu: 1 },
  labels: { zone: 'eu-1' },
});
// #endregion worker
const client = createClient({ store: database });
await worker.start();

const frames = await Promise.all([1, 2, 3].map((frame) => client.run(render, { frame })));
console.log(frames.join(', '));
console.log((await client.run(sync, { customer: 'acme' })) as string);

// #region queues
// A bounded queue: 2 pending jobs at most; a third submission is refused at once.
await client.setQueue('reports', { maxPending: 2, shedPolicy: 'reject' });
await client.submit('report', {}, { queue: 'reports' });
await client.submit('report', {}, { queue: 'reports' });
try {
  await client.submit('report', {}, { queue: 'reports' });
} catch (err) {
  if (err instanceof QueueFullError) console.log(`refused: queue ${err.queue} is full`);
  else throw err;
}
// #endregion queues

const [me] = await client.listWorkers({ state: 'active' });
console.log(`worker labels zone=${me?.labels.zone}, capacity gpu=${me?.capacity.gpu}`);
await worker.close();
await client.close();
