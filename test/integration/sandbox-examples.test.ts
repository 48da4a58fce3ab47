import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleBlocks, region } from '../doc-examples.js';
import { tempDir } from '../helpers.js';
import { spawnFixture } from '../processes.js';

const dir = tempDir();

describe('docs/sandboxes.md examples', () => {
  it('shows each example exactly as it is in examples/', () => {
    const blocks = exampleBlocks('docs/sandboxes.md');
    expect(blocks).toHaveLength(2);
    for (const [file, name, code] of blocks)
      expect(code?.replace("from 'stint'", "from '../src/index.js'")).toBe(region(file, name));
  });

  it('examples/sandboxes.ts runs and prints what the doc says', async () => {
    const child = spawnFixture('../../examples/sandboxes.ts', [join(dir, 'sandboxes.db')]);
    await child.waitFor(/^inline 25$/, 60_000);
    expect(await child.exited).toBe(0);
    expect(child.lines).toEqual([
      '[stdout] checked 9998 numbers',
      '[log] done',
      'primes 1229',
      'words 5',
      'checked 98 numbers',
      'inline 25',
    ]);
  }, 90_000);
});
