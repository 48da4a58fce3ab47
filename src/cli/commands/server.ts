import { isIP } from 'node:net';
import type { Command } from 'commander';
import { createCoordinator } from '../../coordinator/coordinator.js';
import { ValidationError } from '../../core/errors.js';
import { createServer, type Server } from '../../server/server.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/types.js';
import { databaseUrl, type GlobalOptions } from '../context.js';
import { bold, dim } from '../format.js';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** The warning printed whenever the API runs without authentication. */
export function authOffWarning(url: string, loopback: boolean): string {
  const bar = '!'.repeat(72);
  const who = loopback
    ? 'any program or user on this machine'
    : 'ANYONE WHO CAN REACH THIS ADDRESS ON THE NETWORK';
  return `${bar}
!! AUTHENTICATION IS OFF: ${who} can submit, cancel and
!! delete through ${url} with full admin rights.
${bar}`;
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ValidationError('--port must be a port number (0-65535)', [{ path: 'port', message: text }]);
  return port;
}

/**
 * Starts the HTTP API with auth off (until API tokens exist). Refuses a host other machines can
 * reach unless `insecure` says the caller knows.
 */
export async function startServer(
  store: Store | string,
  opts: { host: string; port: number; insecure?: boolean },
): Promise<Server> {
  const loopback = isLoopback(opts.host);
  if (!loopback && !opts.insecure) {
    throw new ValidationError(
      `refusing to serve ${opts.host} without authentication: API tokens are not available yet. Use --host 127.0.0.1, or pass --insecure if every client that can reach ${opts.host} is trusted`,
      [{ path: 'host', message: 'not a loopback address' }],
    );
  }
  const server = createServer({ store, host: opts.host, port: opts.port, auth: { mode: 'off' } });
  try {
    await server.listen();
  } catch (err) {
    await server.close();
    if ((err as { code?: unknown }).code === 'EADDRINUSE')
      throw new ValidationError(`port ${opts.port} on ${opts.host} is in use: pick another with --port`, [
        { path: 'port', message: 'in use' },
      ]);
    throw err;
  }
  console.error(authOffWarning(server.url, loopback));
  return server;
}

export function serverCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('server')
    .description('serve the HTTP API (and run coordinator duties when this process wins the lease)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', '7070')
    .option('--insecure', 'allow a non-loopback --host without authentication')
    .option('--no-coordinator', 'leave coordinator duties (schedules, lease expiry) to other processes')
    .action(async (opts: { host: string; port: string; insecure?: boolean; coordinator: boolean }) => {
      const db = databaseUrl(globals());
      const port = parsePort(opts.port);
      const store = openStore(db);
      let server: Server;
      try {
        server = await startServer(store, { ...opts, port });
      } catch (err) {
        await store.close();
        throw err;
      }
      const coordinator = opts.coordinator ? createCoordinator(store) : null;
      coordinator?.start();
      console.log(`${bold('stint server')} listening on ${server.url}
  ${dim('database')}  ${db}
  ${dim('API')}       ${server.url}/api/v1   ${dim('docs')} ${server.url}/docs`);
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(130);
        stopping = true;
        console.error(`\n${signal}: stopping the server...`);
        const done = async () => {
          await server.close();
          await coordinator?.stop();
          await store.close();
        };
        done().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`stint: error while stopping: ${(err as Error).message}`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
