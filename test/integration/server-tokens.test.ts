import { describe, expect, it } from 'vitest';
import { authSetup, bearer, STORES } from './auth-helpers.js';

type Role = 'viewer' | 'operator' | 'admin';
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

describe.each(STORES)('API tokens ($kind)', ({ open }) => {
  it('lets each role through the route classes it may use, and answers 403 to the others', async () => {
    const s = await authSetup(open);
    const tokens = {
      viewer: await s.token('viewer'),
      operator: await s.token('operator'),
      admin: await s.token('admin'),
    };
    let n = 0;
    const classes: Record<
      Role,
      { method: string; url: () => Promise<string>; body?: unknown; ok: number }[]
    > = {
      viewer: [
        { method: 'GET', url: async () => '/api/v1/jobs', ok: 200 },
        { method: 'GET', url: async () => '/api/v1/schedules', ok: 200 },
        { method: 'GET', url: async () => '/api/v1/auth/me', ok: 200 },
        { method: 'GET', url: async () => '/metrics', ok: 200 },
      ],
      operator: [
        { method: 'POST', url: async () => '/api/v1/jobs', body: { task: 'greet' }, ok: 201 },
        {
          method: 'POST',
          url: async () => '/api/v1/datasets/d/partitions',
          body: { partition: 'p' },
          ok: 201,
        },
      ],
      admin: [
        {
          method: 'DELETE',
          url: async () => {
            const name = `s${n++}`;
            const created = await s.req('POST', '/api/v1/schedules', {
              body: { name, task: 't', trigger: { every: '1h' } },
              headers: bearer(tokens.admin),
            });
            expect(created.status).toBe(201);
            return `/api/v1/schedules/${name}`;
          },
          ok: 204,
        },
      ],
    };
    for (const [needed, cases] of Object.entries(classes) as [Role, (typeof classes)[Role]][]) {
      for (const c of cases) {
        for (const who of Object.keys(tokens) as Role[]) {
          const url = await c.url();
          const body = c.body && 'partition' in (c.body as object) ? { partition: `p${n++}` } : c.body;
          const res = await s.req(c.method, url, { body, headers: bearer(tokens[who]) });
          const label = `${who} ${c.method} ${url}`;
          if (RANK[who] >= RANK[needed]) expect(res.status, label).toBe(c.ok);
          else {
            expect(res.status, label).toBe(403);
            expect(res.body.error.code).toBe('FORBIDDEN');
            expect(res.body.error.message).toContain(`needs the ${needed} role`);
          }
        }
      }
    }
  });

  it('answers 401 to missing, unknown, malformed, revoked and expired tokens', async () => {
    const s = await authSetup(open);
    const revoked = await s.token('admin', { name: 'old' });
    const expiring = await s.token('admin', { expiresAt: s.clock.now() + 60_000 });
    const good = await s.token('viewer', { name: 'good' });
    expect((await s.req('GET', '/api/v1/jobs', { headers: bearer(good) })).status).toBe(200);
    expect((await s.req('GET', '/api/v1/jobs', { headers: bearer(expiring) })).status).toBe(200);
    expect(await s.store.revokeApiToken('old', s.clock.now())).toMatchObject({ name: 'old' });
    s.clock.advance(60_000);
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      unknown: bearer('stint_not-a-real-token'),
      basic: { authorization: 'Basic dXNlcjpwYXNz' },
      empty: { authorization: 'Bearer ' },
      revoked: bearer(revoked),
      expired: bearer(expiring),
      // A good token does not make a bad one pass, nor a cookie that is no session.
      cookie: { cookie: 'stint_session=forged' },
    };
    for (const [label, headers] of Object.entries(cases)) {
      for (const url of ['/api/v1/jobs', '/metrics']) {
        const res = await s.req('GET', url, { headers });
        expect(res.status, `${label} ${url}`).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
    }
    // Revoking by id works too, and only live tokens can be revoked.
    const [goodRecord] = (await s.store.listApiTokens()).filter((t) => t.name === 'good');
    expect(await s.store.revokeApiToken(goodRecord?.id as string, s.clock.now())).toMatchObject({
      name: 'good',
    });
    expect(await s.store.revokeApiToken('good', s.clock.now())).toBeNull();
    expect((await s.req('GET', '/api/v1/jobs', { headers: bearer(good) })).status).toBe(401);
  });

  it('records when a token was last used, at most once a minute, and names the caller', async () => {
    const s = await authSetup(open);
    const token = await s.token('operator', { name: 'ci' });
    const lastUsed = async () => (await s.store.listApiTokens()).find((t) => t.name === 'ci')?.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    const t0 = s.clock.now();
    const me = await s.req('GET', '/api/v1/auth/me', { headers: bearer(token) });
    expect(me.body).toEqual({ name: 'ci', role: 'operator', via: 'token' });
    expect(await lastUsed()).toBe(t0);
    s.clock.advance(30_000);
    await s.req('GET', '/api/v1/jobs', { headers: bearer(token) });
    expect(await lastUsed()).toBe(t0);
    s.clock.advance(30_000);
    await s.req('GET', '/api/v1/jobs', { headers: bearer(token) });
    expect(await lastUsed()).toBe(t0 + 60_000);
  });

  it('keeps one live token per name, stores only hashes, and lets a revoked name be used again', async () => {
    const s = await authSetup(open);
    const token = await s.token('viewer', { name: 'ci' });
    await expect(s.token('admin', { name: 'ci' })).rejects.toMatchObject({ code: 'CONFLICT' });
    const [record] = await s.store.listApiTokens();
    expect(JSON.stringify(record)).not.toContain(token);
    expect(Object.keys(record ?? {}).sort()).toEqual(
      ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role'].sort(),
    );
    await s.store.revokeApiToken('ci', s.clock.now());
    await s.token('admin', { name: 'ci' });
    expect((await s.store.listApiTokens()).map((t) => [t.name, t.revokedAt === null])).toEqual([
      ['ci', false],
      ['ci', true],
    ]);
  });
});
