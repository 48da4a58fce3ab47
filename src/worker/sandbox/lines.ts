import { StringDecoder } from 'node:string_decoder';
import { MAX_LINE_CHARS } from './types.js';

/**
 * Splits a byte or text stream into lines (without their `\n` / `\r\n`); lines longer than
 * `MAX_LINE_CHARS` are cut and marked. `end()` emits a last line without a newline.
 */
export function lineSplitter(onLine: (line: string) => void): {
  push(chunk: Buffer | string): void;
  end(): void;
} {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  const emit = (line: string) => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    onLine(text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)} …[line cut]` : text);
  };
  return {
    push(chunk) {
      buffer += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        emit(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
      // A line that never ends must not grow without bound.
      if (buffer.length > MAX_LINE_CHARS * 2) {
        emit(buffer);
        buffer = '';
      }
    },
    end() {
      buffer += decoder.end();
      if (buffer.length > 0) emit(buffer);
      buffer = '';
    },
  };
}

/** The last `n` lines seen, for error messages. */
export function lastLines(n: number): { add(line: string): void; text(): string } {
  const lines: string[] = [];
  return {
    add(line) {
      lines.push(line);
      if (lines.length > n) lines.shift();
    },
    text: () => lines.join('\n'),
  };
}
