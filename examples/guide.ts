// The code shown in docs/guide.md, region by region; a test runs this file and checks the guide
// shows each region as it is here.
import { z } from 'zod';
import {
  createClient,
  createWorker,
  defineTask,
  JobFailedError,
  PermanentError,
  ValidationError,
} from '../src/index.js';

const database = process.argv[2] ?? '.stint/guide.db';

// #region define
const sendEmail = defineTask({
  name: 'sendEmail',
  input: z.object({ to: z.string().email(), subject: z.string(), body: z.string().default('') }),
  output: z.object({ messageId: z.string() }),
  queue: 'email', // default 'default'
  priority: 0, // higher runs first
  timeout: '30s', // per attempt; default none
  retry: { maxAttempts: 5, backoff: '2s', factor: 2, maxBackoff: '10m', jitter: 0.25 },
  run: async (ctx, { to, subject }) => {
    ctx.log.info('sending', { to });
    if (to.endsWith('@invalid.example')) throw new PermanentError(`no such mailbox: ${to}`); // no retry
    const response = await fakeSmtp(to, subject, ctx.signal); // pass the signal on
    return { messageId: response.id };
  },
});
// #endregion define

async function fakeSmtp(to: string, _subject: string, signal: AbortSignal): Promise<{ id: string }> {
  signal.throwIfAborted();
  return { id: `msg-${to.length}` };
}

// #region worker
const worker = createWorker({
  store: database,
  tasks: [sendEmail],
  concurrency: 20,
  // queues: ['email'],          // default: the queues of its tasks
  // leaseDuration: '10s',       // a killed worker's jobs run again after about this long
  // shutdownTimeout: '30s',     // stop() lets running jobs finish this long, then hands them back
});
await worker.start();
// #endregion worker

// #region submit
const client = createClient({ store: database });

const job = await client.submit(
  sendEmail,
  { to: 'ada@example.com', subject: 'Welcome' },
  {
    delay: '2s', // or runAt: new Date(...)
    priority: 5,
    dedupKey: 'welcome:ada', // a second submit with this key returns this job
    dedupWindow: '1h', // default: until this job finishes
    metadata: { tenant: 'acme' },
  },
);
console.log(job.id, await job.status()); // "1 pending"
// #endregion submit

// #region result
const { messageId } = await job.result({ timeout: '1m' }); // typed: { messageId: string }

// From any other process that has only the id:
const again = await client.job<{ messageId: string }>(job.id).result();

// Submit and wait in one call:
const sent = await client.run(sendEmail, { to: 'grace@example.com', subject: 'Hi' });
// #endregion result
console.log('result', messageId === again.messageId && sent.messageId.startsWith('msg-'));

// #region errors
try {
  await client.submit(sendEmail, { to: 'not-an-address', subject: 'x' });
} catch (err) {
  if (err instanceof ValidationError) console.log(err.issues); // [{ path: 'input.to', message: 'Invalid email address' }]
}

const bounced = await client.submit(sendEmail, { to: 'nobody@invalid.example', subject: 'x' });
try {
  await bounced.result();
} catch (err) {
  if (err instanceof JobFailedError) console.log(err.error.name, err.error.message); // PermanentError no such mailbox: ...
}
// #endregion errors

// #region inspect
const page = await client.list({ state: ['failed'], task: 'sendEmail', limit: 20 });
for (const failed of page.jobs) {
  const history = await client.events(failed.id); // created, started, failed, ... with worker and attempt
  const lines = await client.logs(failed.id);
  console.log(failed.id, history.length, lines.length);
}
await client.retry(bounced.id); // runs it again, with a fresh attempt budget
await client.cancel(bounced.id); // pending: cancelled at once; running: its ctx.signal aborts
// #endregion inspect

await worker.close();
await client.close();
