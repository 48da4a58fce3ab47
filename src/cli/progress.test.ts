import { describe, expect, it } from 'vitest';
import { bar, everyFew, progressLine } from './progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

describe('progress on a terminal', () => {
  it('draws a bar of done/total', () => {
    expect(bar(0, 10, 10)).toMatch(/^\[-{10}\]$/);
    expect(bar(5, 10, 10)).toMatch(/^\[#{5}-{5}\]$/);
    expect(bar(12, 10, 10)).toMatch(/^\[#{10}\]$/);
    expect(bar(0, 0, 4)).toBe('[####]');
  });

  it('redraws one line in place on a TTY, at most every 100 ms, and ends it with the last text', () => {
    const { writes, stream } = fakeStream(true);
    const line = progressLine(stream);
    line.update('1/3');
    line.update('2/3');
    line.update('3/3');
    line.done();
    expect(writes).toEqual(['\r\x1b[2K1/3', '\r\x1b[2K3/3', '\n']);
  });

  it('writes nothing when not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const line = progressLine(stream);
    line.update('1/3');
    line.done();
    expect(writes).toEqual([]);
  });

  it('everyFew redraws until stopped and reports a failed read at stop', async () => {
    const { writes, stream } = fakeStream(true);
    let reads = 0;
    const ok = everyFew(progressLine(stream), async () => `read ${++reads}`, 5);
    await new Promise((r) => setTimeout(r, 150));
    await ok.stop();
    expect(reads).toBeGreaterThan(1);
    expect(writes.at(-1)).toBe('\n');

    const broken = everyFew(progressLine(fakeStream(true).stream), async () => {
      throw new Error('store gone');
    });
    await expect(broken.stop()).rejects.toThrow('store gone');
  });
});
