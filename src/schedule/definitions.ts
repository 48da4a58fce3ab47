import type { SchedulePolicies, ScheduleRecord, ScheduleTarget, Trigger } from './types.js';

/**
 * What a schedule is, as opposed to where it stands: the parts a fire never changes. The stores
 * keep them parsed between due reads (see `createDefinitionCache`), so the coordinator's hot
 * read returns only the columns a fire moves.
 */
export type ScheduleDefinition = Pick<
  ScheduleRecord,
  'name' | 'description' | 'target' | 'trigger' | 'policies' | 'metadata' | 'createdAt'
>;

/** The columns a fire moves, as the stores' due reads return them. */
export interface ScheduleClock {
  id: string;
  state: ScheduleRecord['state'];
  nextFireAt: number | null;
  wakeAt: number | null;
  fireCount: number;
  lastFireAt: number | null;
  /** The runtime's JSON text ('{}' for most schedules). */
  runtime: string;
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** Entries kept at most; beyond, the cache starts over (a store with more schedules re-parses some). */
const MAX_ENTRIES = 100_000;
const MAX_INTERNED = 10_000;

const EMPTY_RUNTIME: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Parsed schedule definitions by schedule id, each valid for one `version` of the row. A fire
 * moves the version without touching the definition, so after a fire of this process commits the
 * entry follows it (`advanced`); any other change (an update, a pause, a dataset mark, another
 * coordinator's fire) moves the version past the entry and the next read parses the row again.
 * `createdAt` is checked too: SQLite may give a deleted schedule's id to a new one.
 *
 * Parsed JSON is shared and frozen: schedules whose target (or trigger, or policies) has the same
 * text get the same object, so a batch of their runs shares one job template (the stores insert
 * runs of one template in one statement, comparing templates by identity first).
 */
export function createDefinitionCache() {
  const entries = new Map<string, { version: number; createdAt: number; def: ScheduleDefinition }>();
  const interned = new Map<string, unknown>();

  /** JSON text parsed once and frozen; equal text, same object. */
  function parseShared<T>(text: string): T {
    let value = interned.get(text);
    if (value === undefined) {
      if (interned.size >= MAX_INTERNED) interned.clear();
      value = deepFreeze(JSON.parse(text) as unknown);
      interned.set(text, value);
    }
    return value as T;
  }

  return {
    /** The definition parsed from a row's JSON columns (text as both stores return it). */
    parse(row: {
      name: string;
      description: string | null;
      target: string;
      trigger: string;
      policies: string;
      metadata: string | null;
      createdAt: number;
    }): ScheduleDefinition {
      return {
        name: row.name,
        description: row.description,
        target: parseShared<ScheduleTarget>(row.target),
        trigger: parseShared<Trigger>(row.trigger),
        policies: parseShared<SchedulePolicies>(row.policies),
        metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
        createdAt: row.createdAt,
      };
    },
    /** The definition cached for this version of the schedule, or undefined (read the row). */
    get(clock: ScheduleClock): ScheduleDefinition | undefined {
      const entry = entries.get(clock.id);
      return entry && entry.version === clock.version && entry.createdAt === clock.createdAt
        ? entry.def
        : undefined;
    },
    put(id: string, version: number, def: ScheduleDefinition): void {
      if (entries.size >= MAX_ENTRIES && !entries.has(id)) entries.clear();
      entries.set(id, { version, createdAt: def.createdAt, def });
    },
    /** A fire fenced on `fromVersion` committed: the row is now at the next version, same definition. */
    advanced(id: string, fromVersion: number): void {
      const entry = entries.get(id);
      if (entry && entry.version === fromVersion) entry.version = fromVersion + 1;
    },
    forget(id: string): void {
      entries.delete(id);
    },
    /** A record from the moving columns and a definition. */
    record(clock: ScheduleClock, def: ScheduleDefinition): ScheduleRecord {
      return {
        id: clock.id,
        ...def,
        state: clock.state,
        nextFireAt: clock.nextFireAt,
        wakeAt: clock.wakeAt,
        fireCount: clock.fireCount,
        lastFireAt: clock.lastFireAt,
        runtime:
          clock.runtime === '{}' ? EMPTY_RUNTIME : (JSON.parse(clock.runtime) as Record<string, unknown>),
        version: clock.version,
        updatedAt: clock.updatedAt,
      };
    },
  };
}

export type DefinitionCache = ReturnType<typeof createDefinitionCache>;
