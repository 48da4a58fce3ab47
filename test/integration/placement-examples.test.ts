import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleBlocks, region } from '../doc-examples.js';
import { tempDir } from '../helpers.js';
import { spawnFixture } from '../processes.js';

const dir = tempDir();

describe('docs/placement.md examples', () => {
  it('shows each example exactly as it is in examples/', () => {
    const blocks = exampleBlocks('docs/placement.md');
    expect(blocks).toHaveLength(3);
    for (const [file, name, code] of blocks) expect(code).toBe(region(file, name));
  });

  it('examples/placement.ts runs and prints what it says', async () => {
    const child = spawnFixture('../../examples/placement.ts', [join(dir, 'placement.db')]);
    expect(await child.exited).toBe(0);
    expect(child.lines).toEqual([
      'frame 1 rendered, frame 2 rendered, frame 3 rendered',
      'synced acme',
      'refused: queue reports is full',
      'worker labels zone=eu-1, capacity gpu=1',
    ]);
  }, 90_000);
});
