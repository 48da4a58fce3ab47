import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-run.js';
import { tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { spawnFixture } from '../processes.js';

const dir = tempDir('stint-cli-auth-');
const pg = await pgAvailable();

/** Runs `stint <args>` from source in `dir`, with `stdin` piped in. */
const stint = (args: string[], env: Record<string, string>, stdin = '') =>
  runCli(args, { cwd: dir, env: { STINT_PASSWORD: '', ...env }, stdin });

const DATABASES = [
  { kind: 'sqlite', url: () => join(dir, `cli-${Date.now()}.db`) },
  ...(pg ? [{ kind: 'postgres', url: () => `${PG_URL}?schema=${freshSchema('stint_cli_auth')}` }] : []),
];

describe.each(DATABASES)('stint tokens and users ($kind)', ({ url }) => {
  it('creates, lists and revokes tokens that a running stint server accepts and then refuses', async () => {
    const env = { STINT_DATABASE_URL: url() };
    const created = await stint(['tokens', 'create', '--name', 'ci', '--role', 'viewer', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const record = JSON.parse(created.stdout) as { id: string; name: string; role: string; token: string };
    expect(record).toMatchObject({ name: 'ci', role: 'viewer', revokedAt: null, expiresAt: null });
    expect(record.token).toMatch(/^stint_[A-Za-z0-9_-]{43}$/);

    // Human output: the token alone on stdout, the advice on stderr.
    const human = await stint(
      ['tokens', 'create', '--name', 'deploy', '--role', 'operator', '--expires', '30d'],
      env,
    );
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.trim()).toMatch(/^stint_\S+$/);
    expect(human.stderr).toMatch(/token deploy \(operator, id \d+\) created, expires/);
    expect(human.stderr).toMatch(/not shown again/);

    const taken = await stint(['tokens', 'create', '--name', 'ci', '--role', 'admin'], env);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already named ci/);
    const badRole = await stint(['tokens', 'create', '--name', 'x', '--role', 'root'], env);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/--role must be one of viewer, operator, admin/);

    const listed = await stint(['tokens', 'ls'], env);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+ROLE\s+STATE\s+CREATED\s+LAST USED\s+EXPIRES/);
    expect(listed.stdout).toMatch(/ci\s+viewer\s+active\s+(just now|\d+s ago)\s+-\s+never/);
    expect(listed.stdout).not.toContain(record.token);

    const server = spawnFixture('cli.ts', ['server', '--port', '0', '--no-coordinator'], env, { cwd: dir });
    const line = await server.waitFor(/listening on http/);
    const base = /listening on (http\S+)/.exec(line)?.[1] as string;
    const get = (path: string, token?: string) =>
      fetch(base + path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await get('/api/v1/jobs')).status).toBe(401);
    expect((await get('/api/v1/jobs', record.token)).status).toBe(200);
    expect((await get('/metrics', record.token)).status).toBe(200);

    const revoked = await stint(['tokens', 'revoke', 'ci'], env);
    expect(revoked.stdout).toMatch(new RegExp(`token ci \\(id ${record.id}\\) revoked`));
    expect((await get('/api/v1/jobs', record.token)).status).toBe(401);
    const again = await stint(['tokens', 'revoke', 'ci'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no live token has the id or name ci: list them with stint tokens ls/);
    const all = JSON.parse((await stint(['tokens', 'ls', '--json'], env)).stdout) as {
      tokens: { name: string; revokedAt: number | null; lastUsedAt: number | null }[];
    };
    expect(all.tokens.map((t) => [t.name, t.revokedAt !== null, t.lastUsedAt !== null])).toEqual([
      ['ci', true, true],
      ['deploy', false, false],
    ]);

    // Users: the password from stdin (never argv), then a login through the running server.
    const user = await stint(
      ['users', 'create', 'ada', '--role', 'admin', '--password-stdin'],
      env,
      'a long password\n',
    );
    expect(user.code, user.stderr).toBe(0);
    expect(user.stdout).toMatch(/user ada \(admin\) created/);
    const short = await stint(['users', 'create', 'bob', '--role', 'viewer'], {
      ...env,
      STINT_PASSWORD: 'short',
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 10 characters/);
    const argv = await stint(
      ['users', 'create', 'bob', '--role', 'viewer', '--password', 'another long one'],
      env,
    );
    expect(argv.code, argv.stderr).toBe(0);
    expect(argv.stderr).toMatch(/warning: --password puts the password in the process list/);
    const none = await stint(['users', 'create', 'carol', '--role', 'viewer'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--password-stdin, set STINT_PASSWORD/);

    const users = JSON.parse((await stint(['users', 'ls', '--json'], env)).stdout) as { users: object[] };
    expect(users.users).toEqual([
      expect.objectContaining({ username: 'ada', role: 'admin' }),
      expect.objectContaining({ username: 'bob', role: 'viewer' }),
    ]);
    expect(JSON.stringify(users)).not.toMatch(/scrypt|password/);
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ada', password: 'a long password' }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect((await fetch(`${base}/api/v1/auth/me`, { headers: { cookie } })).status).toBe(200);

    expect((await stint(['users', 'rm', 'ada'], env)).stdout).toMatch(/user ada removed/);
    expect((await fetch(`${base}/api/v1/auth/me`, { headers: { cookie } })).status).toBe(401);
    expect((await stint(['users', 'rm', 'ada'], env)).code).toBe(2);

    server.process.kill('SIGINT');
    expect(await server.exited).toBe(0);
    // About twenty child processes, each loading the CLI from source.
  }, 180_000);
});
