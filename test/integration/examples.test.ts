import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { spawnFixture } from '../processes.js';

const dir = tempDir();
const pgUp = await pgAvailable();
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** A file's region between `// #region name` and `// #endregion name`, or the whole file. */
function region(file: string, name: string | undefined): string {
  const text = read(file);
  if (!name) return text;
  const match = new RegExp(`// #region ${name}\\n([\\s\\S]*?)// #endregion ${name}\\n`).exec(text);
  if (!match?.[1]) throw new Error(`${file} has no region ${name}`);
  return match[1];
}

describe('examples in the docs', () => {
  for (const doc of [
    'README.md',
    'docs/guide.md',
    'docs/many-machines.md',
    'docs/flows.md',
    'docs/schedules.md',
  ]) {
    it(`${doc} shows each example exactly as it is in examples/`, () => {
      const blocks = [
        ...read(doc).matchAll(/<!-- example: ([\w./-]+?)(?:#([\w-]+))? -->\s*```ts\n([\s\S]*?)```/g),
      ];
      expect(blocks.length).toBeGreaterThan(0);
      for (const [, file, name, code] of blocks) {
        expect(code!.replace("from 'stint'", "from '../src/index.js'"), `${doc}: ${file}#${name ?? ''}`).toBe(
          region(file!, name),
        );
      }
    });
  }

  it('examples/quickstart.ts runs', async () => {
    const child = spawnFixture('../../examples/quickstart.ts', [join(dir, 'quickstart.db')]);
    await child.waitFor(/^result https:\/\/example\.com\/cat\.png\?w=640$/);
    expect(await child.exited).toBe(0);
  });

  it.skipIf(!pgUp)('examples/postgres.ts runs', async () => {
    const child = spawnFixture('../../examples/postgres.ts', [
      `${PG_URL}?schema=${freshSchema('stint_example')}`,
    ]);
    await child.waitFor(/^result https:\/\/example\.com\/cat\.png\?w=640$/);
    expect(await child.exited).toBe(0);
  });

  it('examples/vm-flow.ts runs: the flow succeeds, then a failing one is reverted', async () => {
    const child = spawnFixture('../../examples/vm-flow.ts', [join(dir, 'vm-flow.db')]);
    await child.waitFor(/^failed bootVm the image does not boot$/);
    await child.waitFor(/^delete network net-10\.0\.1\.0\/24$/);
    expect(await child.exited).toBe(0);
  });

  it('examples/schedules.ts runs: a dataset-triggered run and a backfill', async () => {
    const child = spawnFixture('../../examples/schedules.ts', [join(dir, 'schedules.db')]);
    await child.waitFor(/^partition 2026-11-22 \{ date: '2026-11-22', rows: 42 \}$/);
    await child.waitFor(/^backfill finished 3 of 3$/);
    expect(await child.exited).toBe(0);
  });

  it('examples/guide.ts runs', async () => {
    const child = spawnFixture('../../examples/guide.ts', [join(dir, 'guide.db')]);
    await child.waitFor(/^result true$/);
    expect(await child.exited).toBe(0);
  });
});
