import { dim } from './format.js';

/** `[########----------------] ` for `done` of `total` (full when the total is 0). */
export function bar(done: number, total: number, width = 24): string {
  const filled = total <= 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${dim('-'.repeat(width - filled))}]`;
}

export interface ProgressLine {
  /** Replaces the line's text (drawn at most every 100 ms, except the last). */
  update(text: string): void;
  /** Ends the line (leaves the last text standing). */
  done(): void;
}

const NONE: ProgressLine = { update() {}, done() {} };

/**
 * One line of progress on stderr, redrawn in place; nothing at all when stderr is not a terminal
 * (pipes and CI logs get only the final output on stdout).
 */
export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  if (!stream.isTTY) return NONE;
  let last = 0;
  let pending: string | null = null;
  let drawn = false;
  const draw = (text: string) => {
    stream.write(`\r\x1b[2K${text}`);
    drawn = true;
    last = Date.now();
    pending = null;
  };
  return {
    update(text) {
      if (Date.now() - last >= 100) draw(text);
      else pending = text;
    },
    done() {
      if (pending !== null) draw(pending);
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/**
 * Redraws `line` every `everyMs` with what `read` returns until `stop()`; a failed read ends the
 * redraws and is rethrown by `stop()` (the caller's own wait reports the real outcome first).
 */
export function everyFew(line: ProgressLine, read: () => Promise<string | null>, everyMs = 500) {
  const controller = new AbortController();
  let failure: unknown = null;
  const loop = (async () => {
    while (!controller.signal.aborted) {
      const text = await read();
      if (text !== null) line.update(text);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, everyMs);
        controller.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  })().catch((err: unknown) => {
    failure = err;
  });
  return {
    async stop(): Promise<void> {
      controller.abort();
      await loop;
      line.done();
      if (failure) throw failure;
    },
  };
}
