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

export interface StartOptions {
  host: string;
  port: number;
  /** Check API tokens and login sessions from the store. @default false (development on loopback) */
  auth?: boolean;
  /** Allow a non-loopback host without auth. */
  insecure?: boolean;
  /** Session cookies always `Secure` (behind a TLS-terminating proxy). @default when the request is https */
  secureCookies?: boolean;
  /** A bearer token that may read `/metrics` only. */
  metricsToken?: string;
}

/**
 * Starts the HTTP API. Without auth it refuses a host other machines can reach unless `insecure`
 * says the caller knows, and prints a loud warning either way.
 */
export async function startServer(store: Store | string, opts: StartOptions): Promise<Server> {
  const loopback = isLoopback(opts.host);
  if (!opts.auth && !loopback && !opts.insecure) {
    throw new ValidationError(
      `refusing to serve ${opts.host} without authentication: drop --no-auth (and create API tokens with stint tokens create), use --host 127.0.0.1, or pass --insecure if every client that can reach ${opts.host} is trusted`,
      [{ path: 'host', message: 'not a loopback address' }],
    );
  }
  const server = createServer({
    store,
    host: opts.host,
    port: opts.port,
    auth: opts.auth
      ? { mode: 'on', sessions: { secureCookie: opts.secureCookies ? true : 'auto' } }
      : { mode: 'off' },
    metrics: opts.metricsToken ? { token: opts.metricsToken } : {},
  });
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
  if (!opts.auth) console.error(authOffWarning(server.url, loopback));
  return server;
}

interface ServerFlags {
  host: string;
  port: string;
  auth: boolean;
  insecure?: boolean;
  secureCookies?: boolean;
  metricsToken?: string;
  coordinator: boolean;
}

/** With auth on, what credentials exist, and how to make the first one when there are none. */
async function credentialsHint(store: Store): Promise<string> {
  const [tokens, users] = await Promise.all([store.listApiTokens(), store.listUsers()]);
  const live = tokens.filter((t) => t.revokedAt === null).length;
  if (live > 0 || users.length > 0) return dim(`auth on: ${live} API token(s), ${users.length} user(s)`);
  return `auth on, but there are no API tokens or users yet: every request will be refused (401).
Create one with:  stint tokens create --name me --role admin
       or:        stint users create me --role admin --password-stdin`;
}

export function serverCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('server')
    .description('serve the HTTP API (and run coordinator duties when this process wins the lease)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', '7070')
    .option('--no-auth', 'serve without authentication (loopback only unless --insecure; loud warning)')
    .option('--insecure', 'allow --no-auth on a non-loopback --host')
    .option('--secure-cookies', 'always mark session cookies Secure (behind a TLS-terminating proxy)')
    .option('--metrics-token <token>', 'a bearer token that may read /metrics only (env STINT_METRICS_TOKEN)')
    .option('--no-coordinator', 'leave coordinator duties (schedules, lease expiry) to other processes')
    .action(async (opts: ServerFlags) => {
      const db = databaseUrl(globals());
      const port = parsePort(opts.port);
      const store = openStore(db);
      let server: Server;
      try {
        const metricsToken = opts.metricsToken ?? process.env.STINT_METRICS_TOKEN;
        server = await startServer(store, { ...opts, port, ...(metricsToken ? { metricsToken } : {}) });
        if (opts.auth) console.error(await credentialsHint(store));
      } catch (err) {
        await store.close();
        throw err;
      }
      const coordinator = opts.coordinator ? createCoordinator(store) : null;
      coordinator?.start();
      console.log(`${bold('stint server')} listening on ${server.url}
  ${dim('database')}  ${db}
  ${dim('web UI')}    ${server.url}/ui/
  ${dim('API')}       ${server.url}/api/v1   ${dim('docs')} ${server.url}/docs   ${dim('metrics')} ${server.url}/metrics
  ${dim('auth')}      ${opts.auth ? 'API tokens and login sessions from the store' : 'OFF'}`);
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
