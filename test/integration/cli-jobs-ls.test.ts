import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-run.js';
import { tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';

const dir = tempDir('stint-cli-ls-');
const pg = await pgAvailable();
const stint = (args: string[]) => runCli(args, { cwd: dir });

const databases = [
  { kind: 'sqlite', url: () => join(dir, 'ls.db') },
  ...(pg ? [{ kind: 'postgres', url: () => `${PG_URL}?schema=${freshSchema('stint_cli_ls')}` }] : []),
];

describe.each(databases)('stint jobs ls --since/--until/--search, $kind', ({ url }) => {
  it('filters by creation time (ISO or a duration ago) and metadata text', async () => {
    const db = url();
    const submit = async (metadata: string) => {
      const r = await stint(['submit', 't', '--metadata', metadata, '--json', '--database', db]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { id: string }).id;
    };
    const acme = await submit('{"customer":"Acme"}');
    const other = await submit('{"customer":"Globex"}');
    const ls = async (...args: string[]) => {
      const r = await stint(['jobs', 'ls', '--json', '--database', db, ...args]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id);
    };
    expect(await ls('--since', '1h', '--search', 'ACME')).toEqual([acme]);
    expect(await ls('--since', '2000-01-01T00:00:00Z', '--until', '2099-01-01')).toEqual([other, acme]);
    expect(await ls('--until', '1h')).toEqual([]);

    const table = await stint(['jobs', 'ls', '--search', 'globex', '--database', db]);
    expect(table.stdout).toMatch(new RegExp(`^${other}\\s+t\\s+default\\s+pending`, 'm'));
    expect(table.stdout).not.toMatch(new RegExp(`^${acme}\\s`, 'm'));

    const bad = await stint(['jobs', 'ls', '--since', 'yesterday', '--database', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since must be an ISO time .* or a duration ago such as 30m/);
  }, 120_000);
});
