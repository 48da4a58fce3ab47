import { readFileSync } from 'node:fs';

let cached: string | null = null;

/**
 * stint's version, from the package.json above this file (src/internal/ when run from source,
 * dist/src/internal/ when built); 'unknown' when it cannot be read.
 */
export function stintVersion(): string {
  if (cached !== null) return cached;
  cached = 'unknown';
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'stint') {
        cached = pkg.version;
        break;
      }
    } catch {
      // not at this level; try the next one up
    }
  }
  return cached;
}
