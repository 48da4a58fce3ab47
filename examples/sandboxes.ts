// #region main
import { createClient, createWorker } from '../src/index.js';
import { countPrimes, wordCount } from './sandbox-tasks.js';

const database = process.argv[2] ?? '.stint/sandboxes.db';
const worker = createWorker({ store: database, tasks: [countPrimes, wordCount] });
const client = createClient({ store: database });
await worker.start();

const primes = await client.submit(countPrimes, { below: 10_000 });
// Every line of the job, from any process, as it is written; ends when the job ends.
for await (const line of client.followLogs(primes.id)) console.log(`[${line.stream}] ${line.message}`);
console.log('primes', (await primes.result()).primes);

console.log('words', (await client.run(wordCount, { text: "it's; rm -rf / $(oops)" })).words);

// One job may change its task's sandbox: this one runs inline, in the worker's process.
console.log('inline', (await client.run(countPrimes, { below: 100 }, { sandbox: 'inline' })).primes);

await worker.close();
await client.close();
// #endregion main
