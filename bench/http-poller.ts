/**
 * The outside client of scenario `responsiveness`: polls http://127.0.0.1:<port>/ one request at
 * a time (1 ms apart) until told to stop, then sends the response times it saw.
 *   node --import tsx bench/http-poller.ts <port>
 * Only the loopback address is ever contacted. Exits after 90 s whatever happens.
 */
import { Agent, get } from 'node:http';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: http-poller.ts <port>');
setTimeout(() => process.exit(3), 90_000).unref();
process.on('disconnect', () => process.exit(0));

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const MAX_REQUESTS = 200_000;
let stopping = false;

function request(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

process.once('message', () => {
  stopping = true;
});

async function main(): Promise<void> {
  await request(); // Connect before the measurement starts.
  process.send?.({ type: 'ready' });
  const times: number[] = [];
  while (!stopping && times.length < MAX_REQUESTS) {
    const t0 = performance.now();
    await request();
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 1));
  }
  agent.destroy();
  process.send?.({ type: 'times', times });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
