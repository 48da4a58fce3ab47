import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);

/** A file of the repository, as text. */
export const readRepoFile = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The lines between `// #region name` and `// #endregion name` of a repository file. */
export function region(file: string, name: string): string {
  const match = new RegExp(`// #region ${name}\\n([\\s\\S]*?)// #endregion ${name}\\n`).exec(
    readRepoFile(file),
  );
  if (!match?.[1]) throw new Error(`${file} has no region ${name}`);
  return match[1];
}

/** The ```ts blocks of a doc that follow `<!-- example: file#region -->`: [file, region, code]. */
export function exampleBlocks(doc: string): [string, string, string][] {
  return [
    ...readRepoFile(doc).matchAll(/<!-- example: ([\w./-]+?)#([\w-]+) -->\s*```ts\n([\s\S]*?)```/g),
  ].map((m) => [m[1] as string, m[2] as string, m[3] as string]);
}
