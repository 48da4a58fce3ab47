/**
 * Every store, client, worker and coordinator registers here while open, so tests can check that
 * `close()` left nothing behind (see test/setup/leaks.ts).
 */
const open = new Map<number, string>();
let next = 0;

export function trackResource(description: string): () => void {
  const id = next++;
  open.set(id, description);
  return () => {
    open.delete(id);
  };
}

/** Descriptions of everything created and not yet closed in this process. */
export function openResources(): string[] {
  return [...open.values()];
}
