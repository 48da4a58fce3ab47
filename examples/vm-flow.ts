import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { createClient, createFlow, createWorker, defineTask, FlowFailedError } from '../src/index.js';

// #region tasks
/** What the pretend cloud did, in order (the example's tests read it). */
export const cloud: string[] = [];

export const createNetwork = defineTask({
  name: 'createNetwork',
  input: z.object({ cidr: z.string() }),
  output: z.object({ id: z.string() }),
  run: (_ctx, { cidr }) => {
    cloud.push(`create network ${cidr}`);
    return { id: `net-${cidr}` };
  },
  revert: (_ctx, _input, output) => {
    cloud.push(`delete network ${output.id}`);
  },
});

export const allocateIp = defineTask({
  name: 'allocateIp',
  input: z.object({ networkId: z.string() }),
  output: z.object({ ip: z.string() }),
  run: (_ctx, { networkId }) => {
    cloud.push(`allocate ip in ${networkId}`);
    return { ip: '10.0.0.7' };
  },
  revert: (_ctx, _input, output) => {
    cloud.push(`release ip ${output.ip}`);
  },
});

export const attachDisk = defineTask({
  name: 'attachDisk',
  input: z.object({ sizeGb: z.number() }),
  output: z.object({ diskId: z.string() }),
  run: (_ctx, { sizeGb }) => {
    cloud.push(`attach disk ${sizeGb}GB`);
    return { diskId: `disk-${sizeGb}` };
  },
  revert: (_ctx, _input, output) => {
    cloud.push(`detach disk ${output.diskId}`);
  },
});

export const bootVm = defineTask({
  name: 'bootVm',
  input: z.object({ ip: z.string(), networkId: z.string(), diskId: z.string(), image: z.string() }),
  output: z.object({ vmId: z.string() }),
  retry: { maxAttempts: 2, backoff: 10 },
  run: ({ attempt, log }, { ip, image }) => {
    log.info('booting', { image, ip });
    cloud.push(`boot ${image} at ${ip} (attempt ${attempt})`);
    if (image === 'broken') throw new Error('the image does not boot');
    return { vmId: `vm-${ip}` };
  },
});
// #endregion tasks

// #region flow
/** CreateVirtualMachine, composed for one request. */
export function createVirtualMachine() {
  const f = createFlow<{ cidr: string; image: string; diskGb: number }>('CreateVirtualMachine');
  const net = f.step(createNetwork, { cidr: f.store.cidr });
  const ip = f.step(allocateIp, { networkId: net.output.id }); // after createNetwork: it needs its id
  const disk = f.step(attachDisk, { sizeGb: f.store.diskGb }); // in parallel with allocateIp
  f.step(bootVm, {
    ip: ip.output.ip,
    networkId: net.output.id,
    diskId: disk.output.diskId,
    image: f.store.image,
  });
  return f;
}
// #endregion flow

export const vmTasks = [createNetwork, allocateIp, attachDisk, bootVm];

async function main(database: string) {
  const worker = createWorker({ store: database, tasks: vmTasks, concurrency: 4 });
  const client = createClient({ store: database });
  await worker.start();
  // #region submit
  const flow = await client.submitFlow(createVirtualMachine(), {
    store: { cidr: '10.0.0.0/24', image: 'debian-13', diskGb: 20 },
  });
  const outputs = await flow.result({ timeout: '30s' });
  console.log('vm', outputs.bootVm); // { vmId: 'vm-10.0.0.7' }

  const failing = await client.submitFlow(createVirtualMachine(), {
    store: { cidr: '10.0.1.0/24', image: 'broken', diskGb: 20 },
  });
  try {
    await failing.result({ timeout: '30s' });
  } catch (err) {
    if (!(err instanceof FlowFailedError)) throw err;
    console.log(err.state, err.step, err.error.message); // failed bootVm the image does not boot
    const { steps } = await failing.status();
    for (const s of steps) console.log(s.name, s.state); // createNetwork reverted, ... bootVm failed
  }
  // #endregion submit
  console.log(cloud.join('\n'));
  await worker.close();
  await client.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  await main(process.argv[2] ?? '.stint/vm-flow.db');
