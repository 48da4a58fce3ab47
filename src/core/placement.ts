import { ValidationError } from './errors.js';

/**
 * Amounts of resources: `cpu`, `memoryMb`, `gpu`, or any custom key (`licenses`). A worker
 * advertises its capacity in these; a job requests amounts of them.
 */
export type Resources = Record<string, number>;

/**
 * Labels a job requires of its worker: a string must equal the worker's label, `true` asks only
 * that the worker has the label (any value). `{ os: 'linux', gpu: true }`.
 */
export type LabelRequirements = Record<string, string | true>;

/** What a job needs of its worker. Either part may be absent. */
export interface Placement {
  resources?: Resources;
  labels?: LabelRequirements;
}

/** At most `limit` jobs with this `key` run at once, across every worker. */
export interface ConcurrencyLimit {
  key: string;
  limit: number;
}

/** What a worker offers a claim: what is left of its capacity, and its labels. */
export interface WorkerOffer {
  free: Resources;
  labels: Record<string, string>;
}

const KEY = /^[A-Za-z0-9_.:/-]{1,100}$/;

function fail(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks amounts of resources (finite, ≥ 0, sane keys); returns them without zero entries. */
export function checkResources(value: unknown, path: string): Resources {
  if (!isPlainObject(value)) fail(path, 'must be an object of resource amounts, like { cpu: 2 }');
  const out: Resources = {};
  for (const [key, amount] of Object.entries(value)) {
    if (!KEY.test(key)) fail(`${path}.${key}`, 'resource names are 1-100 letters, digits or _ . : / -');
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount > 1e12) {
      fail(`${path}.${key}`, `must be a number from 0 to 1e12 (got ${JSON.stringify(amount)})`);
    }
    if (amount > 0) out[key] = amount;
  }
  return out;
}

/** Checks worker labels: string values only. */
export function checkLabels(value: unknown, path: string): Record<string, string> {
  if (!isPlainObject(value)) fail(path, 'must be an object of labels, like { os: "linux" }');
  const out: Record<string, string> = {};
  for (const [key, label] of Object.entries(value)) {
    if (!KEY.test(key)) fail(`${path}.${key}`, 'label names are 1-100 letters, digits or _ . : / -');
    if (typeof label !== 'string' || label.length > 200)
      fail(`${path}.${key}`, 'must be a string of at most 200 characters');
    out[key] = label;
  }
  return out;
}

/** Checks a job's placement; returns null when it asks for nothing. */
export function checkPlacement(
  resources: unknown,
  labels: unknown,
  path: { resources: string; labels: string },
): Placement | null {
  const placement: Placement = {};
  if (resources !== undefined && resources !== null) {
    const checked = checkResources(resources, path.resources);
    if (Object.keys(checked).length > 0) placement.resources = checked;
  }
  if (labels !== undefined && labels !== null) {
    if (!isPlainObject(labels)) fail(path.labels, 'must be an object, like { os: "linux", gpu: true }');
    const required: LabelRequirements = {};
    for (const [key, want] of Object.entries(labels)) {
      if (!KEY.test(key)) fail(`${path.labels}.${key}`, 'label names are 1-100 letters, digits or _ . : / -');
      if (want !== true && (typeof want !== 'string' || want.length > 200)) {
        fail(`${path.labels}.${key}`, 'must be a string (equal to the worker label) or true (has the label)');
      }
      required[key] = want;
    }
    if (Object.keys(required).length > 0) placement.labels = required;
  }
  return placement.resources || placement.labels ? placement : null;
}

export function checkConcurrency(value: unknown, path: string): ConcurrencyLimit {
  if (!isPlainObject(value)) fail(path, 'must be { key, limit }');
  const { key, limit } = value;
  if (typeof key !== 'string' || key.length === 0 || key.length > 500)
    fail(`${path}.key`, 'must be a string of 1-500 characters');
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1)
    fail(`${path}.limit`, `must be a positive integer (got ${JSON.stringify(limit)})`);
  return { key, limit };
}

/** The labels a worker lacks for a job, described (`os=linux`, `gpu`); empty when it matches. */
export function missingLabels(
  required: LabelRequirements | undefined,
  labels: Record<string, string>,
): string[] {
  if (!required) return [];
  const missing: string[] = [];
  for (const [key, want] of Object.entries(required)) {
    const have = labels[key];
    if (want === true ? have === undefined : have !== want)
      missing.push(want === true ? key : `${key}=${want}`);
  }
  return missing;
}

/** The resources a job asks for beyond `available` (`cpu 3 > 2`); empty when it fits. */
export function shortfall(requested: Resources | undefined, available: Resources): string[] {
  if (!requested) return [];
  const short: string[] = [];
  for (const [key, amount] of Object.entries(requested)) {
    const have = available[key] ?? 0;
    if (amount > have + 1e-9) short.push(`${key} ${amount} > ${have}`);
  }
  return short;
}

export function fits(placement: Placement | null, offer: WorkerOffer): boolean {
  if (!placement) return true;
  return (
    missingLabels(placement.labels, offer.labels).length === 0 &&
    shortfall(placement.resources, offer.free).length === 0
  );
}

export function addResources(into: Resources, amounts: Resources | undefined, sign: 1 | -1): void {
  if (!amounts) return;
  for (const [key, amount] of Object.entries(amounts)) {
    const next = (into[key] ?? 0) + sign * amount;
    // Float sums drift; snap tiny remainders so capacity does not leak.
    into[key] = Math.abs(next) < 1e-9 ? 0 : next;
  }
}

/**
 * Placed candidates a claim reads per queue: enough to look past jobs that do not fit this worker
 * (jobs of a saturated concurrency key are passed over by the store's query itself). A queue whose
 * head holds more jobs than this that fit nowhere hides the ones behind them from this claim.
 */
export function scanBudget(limit: number): number {
  return Math.max(200, 10 * limit);
}

/** A pending placed job, as a claim sees it. */
export interface PlacedCandidate {
  id: string;
  queue: string;
  placement: Placement | null;
  concurrency: ConcurrencyLimit | null;
}

/**
 * Picks, in claim order, the candidates that fit what the worker has left, each taking its
 * resources from `offer.free`, whose concurrency key has room (`running` counts the key's running
 * jobs, and grows with each pick) and whose queue has starts left (`allowance`, for rate limits).
 * A candidate that does not fit is skipped, not waited for: a smaller job behind it may still run
 * here, and a bigger worker may take the skipped one.
 */
export function pickPlaced(
  candidates: readonly PlacedCandidate[],
  offer: WorkerOffer,
  running: Map<string, number>,
  limit: number,
  allowance: (queue: string) => number = () => Number.POSITIVE_INFINITY,
): { ids: string[]; perQueue: Map<string, number> } {
  const free = { ...offer.free };
  const ids: string[] = [];
  const perQueue = new Map<string, number>();
  for (const c of candidates) {
    if (ids.length >= limit) break;
    const used = perQueue.get(c.queue) ?? 0;
    if (used >= allowance(c.queue)) continue;
    if (c.concurrency && (running.get(c.concurrency.key) ?? 0) >= c.concurrency.limit) continue;
    if (!fits(c.placement, { free, labels: offer.labels })) continue;
    addResources(free, c.placement?.resources, -1);
    if (c.concurrency) running.set(c.concurrency.key, (running.get(c.concurrency.key) ?? 0) + 1);
    perQueue.set(c.queue, used + 1);
    ids.push(c.id);
  }
  return { ids, perQueue };
}

/** A live worker as placement sees it: the whole of its capacity, its labels and queues. */
export interface WorkerShape {
  queues: readonly string[];
  capacity: Resources;
  labels: Record<string, string>;
}

/**
 * Why no live worker of `queue` could ever run a job with this placement, or null when one could
 * (or when no worker of the queue is live: then the job waits for one, which is not a fault).
 */
export function unplaceableReason(
  queue: string,
  placement: Placement | null,
  workers: readonly WorkerShape[],
): string | null {
  if (!placement) return null;
  const ofQueue = workers.filter((w) => w.queues.includes(queue));
  if (ofQueue.length === 0) return null;
  let best: string[] | null = null;
  for (const w of ofQueue) {
    const problems = [
      ...missingLabels(placement.labels, w.labels),
      ...shortfall(placement.resources, w.capacity),
    ];
    if (problems.length === 0) return null;
    if (!best || problems.length < best.length) best = problems;
  }
  return `no live worker of queue ${queue} can run it (${ofQueue.length} checked; closest lacks ${(best ?? []).join(', ')})`;
}
