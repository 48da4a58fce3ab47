import {
  type Clock,
  createFakeClock,
  createPostgresStore,
  createSqliteStore,
  type Store,
} from '../../src/index.js';
import type { AuthConfig } from '../../src/server/auth.js';
import { hashPassword, newApiToken } from '../../src/server/auth-crypto.js';
import { createServer, type Server } from '../../src/server/server.js';
import type { AuthRole } from '../../src/store/auth-types.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { closeAfter, type Json } from './server-helpers.js';

const dir = tempDir('stint-auth-');
const pg = await pgAvailable();

/** Both stores (PostgreSQL when reachable), each opened fresh per test with the given clock. */
export const STORES: { kind: 'sqlite' | 'postgres'; open(clock: Clock): Store }[] = [
  { kind: 'sqlite', open: (clock) => createSqliteStore({ path: tempDbPath(dir), clock }) },
  ...(pg
    ? [
        {
          kind: 'postgres' as const,
          open: (clock: Clock) =>
            createPostgresStore({ connectionString: PG_URL, schema: freshSchema('stint_auth'), clock }),
        },
      ]
    : []),
];

export interface AuthSetup {
  store: Store;
  server: Server;
  clock: ReturnType<typeof createFakeClock>;
  req(
    method: string,
    url: string,
    options?: { body?: unknown; headers?: Record<string, string>; remoteAddress?: string },
  ): Promise<{ status: number; body: Json; headers: Record<string, string | string[] | undefined> }>;
  /** A new API token of this role, as plaintext. */
  token(role: AuthRole, options?: { name?: string; expiresAt?: number | null }): Promise<string>;
  user(username: string, role: AuthRole, password: string): Promise<void>;
}

let names = 0;

/** A server with auth on over a fresh store, judged by a fake clock. */
export async function authSetup(
  open: (clock: Clock) => Store,
  options: { auth?: Partial<Extract<AuthConfig, { mode: 'on' }>>; metricsToken?: string } = {},
): Promise<AuthSetup> {
  const clock = createFakeClock(Date.now());
  const store = closeAfter(open(clock));
  const server = closeAfter(
    createServer({
      store,
      auth: { mode: 'on', clock, ...options.auth },
      logger: false,
      ...(options.metricsToken ? { metrics: { token: options.metricsToken } } : {}),
    }),
  );
  await server.app.ready();
  return {
    store,
    server,
    clock,
    async req(method, url, { body, headers = {}, remoteAddress } = {}) {
      const res = await server.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(remoteAddress ? { remoteAddress } : {}),
        ...(body === undefined ? {} : { payload: body as object }),
      });
      const isJson = String(res.headers['content-type'] ?? '').includes('json') && res.body.length > 0;
      return {
        status: res.statusCode,
        body: isJson ? res.json() : res.body,
        headers: res.headers as Record<string, string | string[] | undefined>,
      };
    },
    async token(role, { name, expiresAt = null } = {}) {
      const { token, hash } = newApiToken();
      await store.insertApiToken({
        name: name ?? `${role}-${names++}`,
        role,
        hash,
        expiresAt,
        now: clock.now(),
      });
      return token;
    },
    async user(username, role, password) {
      await store.insertUser({
        username,
        role,
        passwordHash: await hashPassword(password),
        now: clock.now(),
      });
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
