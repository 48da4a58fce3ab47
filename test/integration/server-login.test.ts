import { describe, expect, it } from 'vitest';
import { type AuthSetup, authSetup, STORES } from './auth-helpers.js';

const PASSWORD = 'correct horse battery';

/** The Set-Cookie header of a response, as one string. */
function setCookie(res: { headers: Record<string, string | string[] | undefined> }): string {
  const value = res.headers['set-cookie'];
  return Array.isArray(value) ? value.join('\n') : (value ?? '');
}

/** `stint_session=<value>` from a login response, ready to send back as a Cookie header. */
function sessionCookie(res: { headers: Record<string, string | string[] | undefined> }): string {
  const match = /stint_session=([^;]*)/.exec(setCookie(res));
  if (!match?.[1]) throw new Error(`no session cookie in ${setCookie(res)}`);
  return `stint_session=${match[1]}`;
}

async function login(s: AuthSetup, username: string, password: string, remoteAddress = '10.0.0.1') {
  return s.req('POST', '/api/v1/auth/login', { body: { username, password }, remoteAddress });
}

describe.each(STORES)('login sessions ($kind)', ({ open }) => {
  it('logs in, sets a locked-down cookie, and authenticates with it until logout', async () => {
    const s = await authSetup(open);
    await s.user('ada', 'operator', PASSWORD);
    const res = await login(s, 'ada', PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: { name: 'ada', role: 'operator', via: 'session' },
      expiresAt: s.clock.now() + 12 * 3_600_000,
    });
    const flags = setCookie(res).split('; ');
    expect(flags).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']));
    // Plain http (inject): not Secure, or the browser would drop it.
    expect(flags).not.toContain('Secure');
    const cookie = sessionCookie(res);
    // The store keeps only a hash of the session id.
    expect(JSON.stringify(await s.store.findSession(cookie.split('=')[1] as string, s.clock.now()))).toBe(
      'null',
    );

    const me = await s.req('GET', '/api/v1/auth/me', { headers: { cookie } });
    expect(me.body).toEqual({ name: 'ada', role: 'operator', via: 'session' });
    expect(
      (await s.req('GET', '/api/v1/jobs', { headers: { cookie: `theme=dark; ${cookie}` } })).status,
    ).toBe(200);

    // Changing something with the cookie needs the CSRF header.
    const noHeader = await s.req('POST', '/api/v1/jobs', { body: { task: 't' }, headers: { cookie } });
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error.message).toContain('x-stint-csrf');
    const withHeader = { cookie, 'x-stint-csrf': '1' };
    expect((await s.req('POST', '/api/v1/jobs', { body: { task: 't' }, headers: withHeader })).status).toBe(
      201,
    );
    // ... and the role still applies.
    expect((await s.req('DELETE', '/api/v1/schedules/x', { headers: withHeader })).status).toBe(403);

    expect((await s.req('POST', '/api/v1/auth/logout', { headers: { cookie } })).status).toBe(403);
    const out = await s.req('POST', '/api/v1/auth/logout', { headers: withHeader });
    expect(out.status).toBe(204);
    expect(setCookie(out)).toMatch(/stint_session=; .*Max-Age=0/);
    expect((await s.req('GET', '/api/v1/auth/me', { headers: { cookie } })).status).toBe(401);
  });

  it('marks the cookie Secure when configured, and ends sessions at expiry or when the user is removed', async () => {
    const s = await authSetup(open, { auth: { sessions: { ttl: '1h', secureCookie: true } } });
    await s.user('ada', 'viewer', PASSWORD);
    await s.user('bob', 'admin', PASSWORD);
    const ada = await login(s, 'ada', PASSWORD);
    expect(setCookie(ada).split('; ')).toEqual(expect.arrayContaining(['Secure', 'Max-Age=3600']));
    const bob = sessionCookie(await login(s, 'bob', PASSWORD));
    expect((await s.req('GET', '/api/v1/auth/me', { headers: { cookie: bob } })).status).toBe(200);
    expect(await s.store.deleteUser('bob')).toBe(true);
    expect((await s.req('GET', '/api/v1/auth/me', { headers: { cookie: bob } })).status).toBe(401);

    const cookie = sessionCookie(ada);
    s.clock.advance(3_600_000 - 1);
    expect((await s.req('GET', '/api/v1/jobs', { headers: { cookie } })).status).toBe(200);
    s.clock.advance(1);
    expect((await s.req('GET', '/api/v1/jobs', { headers: { cookie } })).status).toBe(401);
  });

  it('answers 401 to a wrong password or an unknown user, alike', async () => {
    const s = await authSetup(open);
    await s.user('ada', 'viewer', PASSWORD);
    for (const [username, password] of [
      ['ada', 'wrong password'],
      ['nobody', PASSWORD],
    ] as const) {
      const res = await login(s, username, password);
      expect(res.status).toBe(401);
      expect(res.body.error).toEqual({
        code: 'UNAUTHENTICATED',
        message: 'wrong username or password',
        details: {},
      });
      expect(setCookie(res)).toBe('');
    }
    expect((await s.req('POST', '/api/v1/auth/login', { body: { username: 'ada' } })).status).toBe(400);
  });

  it('throttles a username after 5 failures in 15 minutes without checking the password, then lets it in again', async () => {
    const s = await authSetup(open);
    await s.user('ada', 'viewer', PASSWORD);
    for (let i = 0; i < 5; i++) {
      s.clock.advance(1000);
      // From different addresses: the username's own count trips.
      expect((await login(s, 'ada', `guess ${i}`, `10.0.1.${i}`)).status).toBe(401);
    }
    const first = s.clock.now() - 4000;
    const blocked = await login(s, 'ada', PASSWORD, '10.0.2.1');
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBe(Math.ceil((first + 15 * 60_000 - s.clock.now()) / 1000));
    expect(blocked.body.error.details).toEqual({ retryAfterSeconds: retryAfter });
    // Other users are not affected.
    await s.user('bob', 'viewer', PASSWORD);
    expect((await login(s, 'bob', PASSWORD, '10.0.2.2')).status).toBe(200);

    s.clock.advance(retryAfter * 1000);
    expect((await login(s, 'ada', PASSWORD, '10.0.2.1')).status).toBe(200);
    // Success forgets the username's failures.
    expect((await login(s, 'ada', 'guess again', '10.0.2.3')).status).toBe(401);
    expect((await login(s, 'ada', PASSWORD, '10.0.2.3')).status).toBe(200);
  });

  it('throttles a client address that fails for many usernames', async () => {
    const s = await authSetup(open, { auth: { throttle: { maxFailures: 3, window: '1m' } } });
    await s.user('ada', 'viewer', PASSWORD);
    for (const name of ['u1', 'u2', 'u3'])
      expect((await login(s, name, PASSWORD, '10.9.9.9')).status).toBe(401);
    const blocked = await login(s, 'ada', PASSWORD, '10.9.9.9');
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('60');
    expect((await login(s, 'ada', PASSWORD, '10.9.9.8')).status).toBe(200);
    s.clock.advance(60_000);
    expect((await login(s, 'ada', PASSWORD, '10.9.9.9')).status).toBe(200);
  });
});
