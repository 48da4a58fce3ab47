import Fastify, { type RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/index.js';
import { installAuth } from '../../src/server/auth.js';
import { createServer } from '../../src/server/server.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { closeAfter, counts, fakeAuth, setup } from './server-helpers.js';

const dir = tempDir('stint-server-auth-');
type Who = 'none' | 'bad' | 'viewer' | 'operator' | 'admin';
const WHO: Who[] = ['none', 'bad', 'viewer', 'operator', 'admin'];
const headersOf = (who: Who): Record<string, string> =>
  who === 'none' ? {} : { authorization: `Bearer ${who === 'bad' ? 'forged' : who}` };

describe('auth', () => {
  it('answers 401 without valid credentials, 403 for too low a role, and lets each role class through', async () => {
    const { req, store } = await setup({ auth: fakeAuth });
    let n = 0;
    // One representative request per class; each builds what it needs so it can succeed.
    interface Case {
      method: string;
      url: () => string | Promise<string>;
      body?: () => unknown;
      ok: number;
    }
    const classes: Record<'viewer' | 'operator' | 'admin', Case[]> = {
      viewer: [
        { method: 'GET', url: () => '/api/v1/jobs', ok: 200 },
        { method: 'GET', url: () => '/api/v1/datasets', ok: 200 },
        {
          method: 'POST',
          url: () => '/api/v1/schedules/preview',
          body: () => ({ trigger: { every: '1h' } }),
          ok: 200,
        },
      ],
      operator: [
        { method: 'POST', url: () => '/api/v1/jobs', body: () => ({ task: 'greet' }), ok: 201 },
        {
          method: 'POST',
          url: () => '/api/v1/datasets/d/partitions',
          body: () => ({ partition: `p${n++}` }),
          ok: 201,
        },
      ],
      admin: [
        {
          method: 'DELETE',
          url: async () => {
            const name = `s${n++}`;
            await req(
              'POST',
              '/api/v1/schedules',
              { name, task: 't', trigger: { every: '1h' } },
              headersOf('admin'),
            );
            return `/api/v1/schedules/${name}`;
          },
          ok: 204,
        },
      ],
    };
    const rank = { viewer: 1, operator: 2, admin: 3 } as const;
    for (const [needed, requests] of Object.entries(classes) as [keyof typeof rank, Case[]][]) {
      for (const r of requests) {
        for (const who of WHO) {
          const url = await r.url();
          const res = await req(r.method, url, r.body?.(), headersOf(who));
          const label = `${who} ${r.method} ${url}`;
          if (who === 'none' || who === 'bad') {
            expect(res.status, label).toBe(401);
            expect(res.body.error.code).toBe('UNAUTHENTICATED');
            expect(res.headers['www-authenticate']).toBe('Bearer');
          } else if (rank[who] < rank[needed]) {
            expect(res.status, label).toBe(403);
            expect(res.body.error).toMatchObject({ code: 'FORBIDDEN' });
            expect(res.body.error.message).toContain(needed);
          } else {
            expect(res.status, label).toBe(r.ok);
          }
        }
      }
    }
    // A session cookie works as well as a header: authenticate sees the raw request.
    expect((await req('GET', '/api/v1/jobs', undefined, { cookie: 'a=b; session=viewer' })).status).toBe(200);
    // Auth comes before the body is even read: a viewer's bad body is 403, nobody's is 401.
    const before = await counts(store);
    expect((await req('POST', '/api/v1/jobs', '{oops', headersOf('viewer'))).status).toBe(403);
    expect((await req('POST', '/api/v1/jobs', '{oops')).status).toBe(401);
    expect(await counts(store)).toEqual(before);
  });

  it('keeps health checks and the OpenAPI document public, and closes every API route to strangers', async () => {
    const { req } = await setup({ auth: fakeAuth });
    expect((await req('GET', '/healthz')).status).toBe(200);
    expect((await req('GET', '/readyz')).status).toBe(200);
    expect((await req('GET', '/docs')).status).toBe(200);
    const doc = (await req('GET', '/openapi.json')).body;
    let checked = 0;
    for (const [path, operations] of Object.entries(
      doc.paths as Record<string, Record<string, { security?: unknown[] }>>,
    )) {
      if (!path.startsWith('/api/v1')) continue;
      for (const [method, op] of Object.entries(operations)) {
        // Login and logout are public by design, and say so with an empty security list.
        if (op.security?.length === 0) {
          expect(path).toMatch(/^\/api\/v1\/auth\/(login|logout)$/);
          continue;
        }
        const url = path.replace('{id}', '1').replace('{name}', 'x');
        const res = await req(method.toUpperCase(), url);
        expect(res.status, `${method} ${url}`).toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('refuses to register an API route that declares no role', async () => {
    const app = Fastify({ logger: false });
    // Awaiting register loads the plugin, and the check throws right there.
    await expect(
      app.register(async (api) => {
        installAuth(api, fakeAuth);
        api.get('/open', async () => 'x');
      }),
    ).rejects.toThrow(/declares no access role/);
  });
});

describe('OpenAPI document', () => {
  it('is valid JSON with an operation for every route, each path parameter declared', async () => {
    const store = closeAfter(createSqliteStore({ path: tempDbPath(dir) }));
    const server = closeAfter(createServer({ store, auth: fakeAuth, logger: false }));
    const routes: RouteOptions[] = [];
    server.app.addHook('onRoute', (route) => {
      routes.push(route);
    });
    await server.app.ready();
    const res = await server.app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body);
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.info.title).toContain('stint');
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const api = routes.flatMap((r) =>
      (Array.isArray(r.method) ? r.method : [r.method])
        .filter((m) => m !== 'HEAD')
        .map((m) => ({ method: m.toLowerCase(), url: r.url })),
    );
    const documented = api.filter((r) => r.url.startsWith('/api/v1') || /^\/(healthz|readyz)$/.test(r.url));
    expect(documented.length).toBeGreaterThan(30);
    for (const { method, url } of documented) {
      const path = url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${url} is documented`).toBeDefined();
      expect(op.tags?.length, `${method} ${url} has tags`).toBeGreaterThan(0);
      expect(op.summary, `${method} ${url} has a summary`).toBeTruthy();
      for (const name of [...url.matchAll(/:(\w+)/g)].map((m) => m[1])) {
        expect(op.parameters, `${method} ${url} declares ${name}`).toContainEqual(
          expect.objectContaining({ in: 'path', name, required: true }),
        );
      }
    }
    const count = Object.values(doc.paths as Record<string, object>).reduce(
      (n, ops) => n + Object.keys(ops).length,
      0,
    );
    expect(count).toBe(documented.length);
    const submit = doc.paths['/api/v1/jobs'].post;
    const schema = submit.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['task']);
    expect(Object.keys(schema.properties.options.properties)).toContain('dedupKey');
  });
});
