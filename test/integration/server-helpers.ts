import type { FastifyRequest } from 'fastify';
import { afterEach } from 'vitest';
import { createSqliteStore, type Store } from '../../src/index.js';
import type { AuthConfig, Principal, Role } from '../../src/server/auth.js';
import { createServer, type Server } from '../../src/server/server.js';
import { tempDbPath, tempDir } from '../helpers.js';

const dir = tempDir('stint-server-');
export const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
  // app.inject (light-my-request) leaves a short chain of setImmediate callbacks behind each
  // response; let it run out so the leak check counts only what the server left.
  await new Promise((resolve) => setTimeout(resolve, 5));
});

/** Closed after the current test. */
export function closeAfter<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}

/** A fake authenticate: `Authorization: Bearer <role>` is that role; anything else is nobody. */
export const fakeAuth: AuthConfig = {
  mode: 'on',
  async authenticate(request: FastifyRequest): Promise<Principal | null> {
    const match = /^Bearer (viewer|operator|admin)$/.exec(request.headers.authorization ?? '');
    const cookie = /(?:^|;\s*)session=(viewer|operator|admin)/.exec(request.headers.cookie ?? '');
    const role = (match?.[1] ?? cookie?.[1]) as Role | undefined;
    return role ? { name: `${role}-user`, role } : null;
  },
};

/** Response bodies, read loosely: the assertions say what shape they expect. */
// biome-ignore lint/suspicious/noExplicitAny: tests index into JSON bodies of many shapes
export type Json = any;

export interface Setup {
  store: Store;
  server: Server;
  /** One request through `app.inject`; the body parsed when it is JSON. */
  req(
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Json; headers: Record<string, unknown> }>;
}

export async function setup(
  options: { auth?: AuthConfig; bodyLimit?: number; store?: Store; wrap?: (store: Store) => Store } = {},
): Promise<Setup> {
  const store = options.store ?? closeAfter(createSqliteStore({ path: tempDbPath(dir) }));
  const server = closeAfter(
    createServer({
      store: options.wrap ? options.wrap(store) : store,
      auth: options.auth ?? { mode: 'off' },
      logger: false,
      ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    }),
  );
  await server.app.ready();
  return {
    store,
    server,
    async req(method, url, body, headers = {}) {
      const res = await server.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(body === undefined
          ? {}
          : typeof body === 'string'
            ? { payload: body, headers: { 'content-type': 'application/json', ...headers } }
            : { payload: body as object }),
      });
      const isJson = String(res.headers['content-type'] ?? '').includes('json') && res.body.length > 0;
      return { status: res.statusCode, body: isJson ? res.json() : res.body, headers: res.headers };
    },
  };
}

/** Counts of everything a request could change, to show a request changed nothing. */
export async function counts(store: Store): Promise<Record<string, number>> {
  const [jobs, flows, schedules, datasets, backfills] = await Promise.all([
    store.listJobs({ limit: 1000 }),
    store.listFlows({ limit: 1000 }),
    store.listSchedules({ limit: 1000 }),
    store.listDatasets(),
    store.listBackfills({ limit: 1000 }),
  ]);
  const partitions = datasets.reduce((n, d) => n + d.partitions, 0);
  const states = jobs.jobs.map((j) => `${j.id}:${j.state}:${j.cancelRequested}`).join(',');
  return {
    jobs: jobs.jobs.length,
    jobStates: hash(states),
    flows: flows.flows.length,
    schedules: schedules.schedules.length,
    scheduleVersions: schedules.schedules.reduce((n, s) => n + s.version, 0),
    datasets: datasets.length,
    partitions,
    backfills: backfills.length,
  };
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return h;
}
