import { ValidationError } from '../core/errors.js';
import type { DefinitionCache, ScheduleClock } from '../schedule/definitions.js';
import type {
  BackfillRecord,
  BackfillState,
  DatasetPartition,
  DatasetSummary,
  ScheduleEvent,
  ScheduleEventType,
  SchedulePatch,
  SchedulePolicies,
  ScheduleRecord,
  ScheduleRun,
  ScheduleRunKind,
  ScheduleRunState,
  ScheduleState,
  ScheduleTarget,
  Trigger,
} from '../schedule/types.js';

/*
 * Schedule rows as both stores read them: JSON as text, times as integer ms, ids as integers
 * (exposed as strings), flags as 0/1; the PostgreSQL store casts to match. Tables and columns
 * (migration 0003_schedules.sql in each dialect):
 *
 * schedules          id, name (UNIQUE), description, target (JSON), trigger (JSON), trigger_type,
 *                    policies (JSON), state ('active'|'paused'|'completed'), next_fire_at, wake_at,
 *                    fire_count, last_fire_at, runtime (JSON, never null: '{}'), metadata (JSON),
 *                    version, created_at, updated_at
 *                    index schedules_wake (wake_at, id) WHERE state = 'active' AND wake_at IS NOT NULL
 * schedule_datasets  schedule_id, dataset; PRIMARY KEY (dataset, schedule_id); index on schedule_id
 * schedule_events    id (auto-increment), schedule_id, at, type, data (JSON); index (schedule_id, id)
 * schedule_runs      id, schedule_id, key, kind, fire_time, partition, backfill_id, job_id, flow_id,
 *                    created_at, open (1 until a reader sees its job/flow finished or gone, then 0;
 *                    SQLite writes runs of `allow`, non-continuous schedules with 0, migration 0006);
 *                    UNIQUE (schedule_id, key) (SQLite: (key, schedule_id)); partial indexes (schedule_id, created_at, id) WHERE open = 1,
 *                    (backfill_id, created_at, id) WHERE backfill_id IS NOT NULL, (partition, schedule_id) WHERE
 *                    partition IS NOT NULL, and (schedule_id, created_at, id) for listing.
 *                    No foreign key to jobs/flows: retention deletes those, the run row stays.
 * dataset_partitions dataset, partition, metadata (JSON), marked_at; PRIMARY KEY (dataset, partition);
 *                    index (dataset, marked_at, partition)
 * backfills          id, schedule_id, state ('running'|'finished'|'cancelled'), from_ms, to_ms,
 *                    partitions (JSON), concurrency, total, cursor, created, skipped, created_at,
 *                    finished_at; index (schedule_id, id)
 *
 * Behaviour both stores share (test/conformance/schedule-conformance.ts checks it):
 * - fireSchedules: a fire whose fence fails returns `{ applied: false, runs: [] }`; a run whose key
 *   is already taken (before, or earlier in the same batch) returns `created: false` with the ids of
 *   the run that holds the key.
 * - markPartition, when it creates the partition, sets `wake_at = now` (unless earlier) AND bumps
 *   `version` of the active schedules watching the dataset (a fire computed before the mark must
 *   fail its fence rather than overwrite the wake); `updated_at` stays.
 * - getScheduleEvents throws scheduleNotFound for an unknown name; default limit 1000.
 * - listScheduleRuns cursor: runCursor/parseRunCursor (created_at, id), newest first, default 50;
 *   listPartitions cursor: partitionCursor/parsePartitionCursor (marked_at, partition), default 50,
 *   20 runs per partition; listSchedules cursor: the last name; listBackfills: id DESC, default 50.
 * - a run's startedAt: the job's first start (min 'started' job_event, else jobs.started_at); a
 *   flow's createdAt. `schedule_runs.open` is cleared by activeScheduleRuns for runs it finds ended.
 */

export interface ScheduleDbRow {
  id: number | string;
  name: string;
  description: string | null;
  target: string;
  trigger: string;
  trigger_type: string;
  policies: string;
  state: ScheduleState;
  next_fire_at: number | null;
  wake_at: number | null;
  fire_count: number;
  last_fire_at: number | null;
  runtime: string;
  metadata: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface ScheduleEventDbRow {
  id: number | string;
  schedule_id: number | string;
  at: number;
  type: ScheduleEventType;
  data: string | null;
}

/** A schedule_runs row joined with its schedule's name and its job's or flow's state and times. */
export interface ScheduleRunDbRow {
  id: number | string;
  schedule_id: number | string;
  schedule_name: string;
  key: string;
  kind: ScheduleRunKind;
  fire_time: number | null;
  partition: string | null;
  backfill_id: number | string | null;
  job_id: number | string | null;
  flow_id: number | string | null;
  created_at: number;
  /** The job's or flow's state; null when the row is gone (retention). */
  state: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface DatasetPartitionDbRow {
  dataset: string;
  partition: string;
  metadata: string | null;
  marked_at: number;
}

export interface DatasetSummaryDbRow {
  name: string;
  partitions: number | string;
  last_marked_at: number;
}

export interface BackfillDbRow {
  id: number | string;
  schedule_id: number | string;
  schedule_name: string;
  state: BackfillState;
  from_ms: number | null;
  to_ms: number | null;
  partitions: string | null;
  concurrency: number;
  total: number;
  cursor: string | null;
  created: number;
  skipped: number;
  created_at: number;
  finished_at: number | null;
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
const idOf = (v: number | string | null): string | null => (v === null ? null : String(v));
const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

export function toScheduleRecord(row: ScheduleDbRow): ScheduleRecord {
  return {
    id: String(row.id),
    name: row.name,
    description: row.description,
    target: JSON.parse(row.target) as ScheduleTarget,
    trigger: JSON.parse(row.trigger) as Trigger,
    policies: JSON.parse(row.policies) as SchedulePolicies,
    state: row.state,
    nextFireAt: row.next_fire_at === null ? null : Number(row.next_fire_at),
    wakeAt: row.wake_at === null ? null : Number(row.wake_at),
    fireCount: Number(row.fire_count),
    lastFireAt: row.last_fire_at === null ? null : Number(row.last_fire_at),
    runtime: (parse(row.runtime) ?? {}) as Record<string, unknown>,
    metadata: parse(row.metadata) as Record<string, unknown> | null,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toScheduleEvent(row: ScheduleEventDbRow): ScheduleEvent {
  return {
    id: Number(row.id),
    scheduleId: String(row.schedule_id),
    at: Number(row.at),
    type: row.type,
    data: parse(row.data) as Record<string, unknown> | null,
  };
}

export function toScheduleRun(row: ScheduleRunDbRow): ScheduleRun {
  return {
    id: String(row.id),
    scheduleId: String(row.schedule_id),
    scheduleName: row.schedule_name,
    key: row.key,
    kind: row.kind,
    fireTime: row.fire_time === null ? null : Number(row.fire_time),
    partition: row.partition,
    backfillId: idOf(row.backfill_id),
    jobId: idOf(row.job_id),
    flowId: idOf(row.flow_id),
    createdAt: Number(row.created_at),
    state: (row.state ?? 'deleted') as ScheduleRunState,
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

export function toDatasetPartition(row: DatasetPartitionDbRow): DatasetPartition {
  return {
    dataset: row.dataset,
    partition: row.partition,
    metadata: parse(row.metadata) as Record<string, unknown> | null,
    markedAt: Number(row.marked_at),
  };
}

export function toDatasetSummary(row: DatasetSummaryDbRow): DatasetSummary {
  return { name: row.name, partitions: Number(row.partitions), lastMarkedAt: Number(row.last_marked_at) };
}

export function toBackfillRecord(
  row: BackfillDbRow,
  runs: Partial<Record<ScheduleRunState, number>>,
): BackfillRecord {
  return {
    id: String(row.id),
    scheduleId: String(row.schedule_id),
    scheduleName: row.schedule_name,
    state: row.state,
    from: row.from_ms === null ? null : Number(row.from_ms),
    to: row.to_ms === null ? null : Number(row.to_ms),
    partitions: parse(row.partitions) as string[] | null,
    concurrency: Number(row.concurrency),
    total: Number(row.total),
    cursor: row.cursor,
    created: Number(row.created),
    skipped: Number(row.skipped),
    runs,
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

/** Datasets a trigger watches (maintained in `schedule_datasets`). */
export function watchedDatasets(trigger: Trigger): string[] {
  return trigger.type === 'datasets' ? [...new Set(trigger.datasets)] : [];
}

const badCursor = (): ValidationError =>
  new ValidationError('cursor is not one this store returned', [
    { path: 'cursor', message: 'invalid cursor' },
  ]);

/** Where a run is on listing's cursor: created_at and id, newest first. */
export function runCursor(run: { createdAt: number; id: string }): string {
  return `${run.createdAt}:${run.id}`;
}

export function parseRunCursor(cursor: string): { createdAt: number; id: number } {
  const [at, id] = cursor.split(':');
  const createdAt = Number(at);
  const n = Number(id);
  if (!Number.isFinite(createdAt) || !Number.isInteger(n)) throw badCursor();
  return { createdAt, id: n };
}

/** Partition listing's cursor: marked_at and partition, newest mark first. */
export function partitionCursor(p: { markedAt: number; partition: string }): string {
  return `${p.markedAt}:${p.partition}`;
}

export function parsePartitionCursor(cursor: string): { markedAt: number; partition: string } {
  const i = cursor.indexOf(':');
  const markedAt = Number(cursor.slice(0, i));
  if (i < 0 || !Number.isFinite(markedAt)) throw badCursor();
  return { markedAt, partition: cursor.slice(i + 1) };
}

/** Schedule patch keys and their columns, in a stable order (JSON columns stringified). */
const PATCH_COLUMNS: [keyof SchedulePatch, string, boolean][] = [
  ['description', 'description', false],
  ['target', 'target', true],
  ['trigger', 'trigger', true],
  ['policies', 'policies', true],
  ['state', 'state', false],
  ['nextFireAt', 'next_fire_at', false],
  ['wakeAt', 'wake_at', false],
  ['runtime', 'runtime', true],
  ['metadata', 'metadata', true],
];

/**
 * A schedule patch as column/value pairs (only the keys present), in a stable order; a trigger
 * change also sets `trigger_type`.
 */
export function schedulePatchColumns(patch: SchedulePatch): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, column, isJson] of PATCH_COLUMNS) {
    if (!(key in patch)) continue;
    const value = patch[key];
    if (key === 'runtime') out.push([column, JSON.stringify(value ?? {})]);
    else out.push([column, isJson ? json(value) : (value ?? null)]);
    if (key === 'trigger' && patch.trigger) out.push(['trigger_type', patch.trigger.type]);
  }
  return out;
}

/** Run states counted per state, as `BackfillRecord.runs`. */
export function countRunStates(
  rows: readonly { state: string | null; n: number | string }[],
): Partial<Record<ScheduleRunState, number>> {
  const out: Partial<Record<ScheduleRunState, number>> = {};
  for (const r of rows) {
    const s = (r.state ?? 'deleted') as ScheduleRunState;
    out[s] = (out[s] ?? 0) + Number(r.n);
  }
  return out;
}

/** The columns a due read returns (`dueClocks`): what a fire moves, without the JSON definitions. */
export interface ClockRow {
  id: number;
  state: ScheduleRecord['state'];
  next_fire_at: number | null;
  wake_at: number | null;
  fire_count: number;
  last_fire_at: number | null;
  runtime: string;
  version: number;
  created_at: number;
  updated_at: number;
}

export const toClock = (r: ClockRow): ScheduleClock => ({
  id: String(r.id),
  state: r.state,
  nextFireAt: r.next_fire_at,
  wakeAt: r.wake_at,
  fireCount: r.fire_count,
  lastFireAt: r.last_fire_at,
  runtime: r.runtime,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Due schedules read as clocks: the records their cached definitions give, and the ids to read whole. */
export interface DueRead {
  out: (ScheduleRecord | null)[];
  /** Ids whose definitions are not cached for their version, with their place in `out`. */
  missing: Map<string, number>;
}

/** Turns due clocks into records where the cache holds their definition at their version. */
export function cachedDue(rows: readonly ClockRow[], definitions: DefinitionCache): DueRead {
  const out: (ScheduleRecord | null)[] = [];
  const missing = new Map<string, number>();
  for (const clock of rows.map(toClock)) {
    const def = definitions.get(clock);
    if (def) out.push(definitions.record(clock, def));
    else {
      missing.set(clock.id, out.length);
      out.push(null);
    }
  }
  return { out, missing };
}

/**
 * Completes a due read with the whole rows of its missing ids (parsed, cached at their version);
 * a schedule deleted in between drops out.
 */
export function completeDue(
  due: DueRead,
  rows: readonly (ScheduleDbRow & ClockRow)[],
  definitions: DefinitionCache,
): ScheduleRecord[] {
  for (const row of rows) {
    const clock = toClock(row);
    const def = definitions.parse({ ...row, createdAt: row.created_at });
    definitions.put(clock.id, clock.version, def);
    due.out[due.missing.get(clock.id) as number] = definitions.record(clock, def);
  }
  return due.out.filter((r) => r !== null);
}
