import { StoreError, ValidationError } from '../../core/errors.js';
import type { DatasetPartition, DatasetSummary, ScheduleRun } from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import {
  type DatasetPartitionDbRow,
  type DatasetSummaryDbRow,
  parsePartitionCursor,
  partitionCursor,
  type ScheduleRunDbRow,
  toDatasetPartition,
  toDatasetSummary,
  toScheduleRun,
} from '../schedule-rows.js';
import type { Db, Queryable } from './db.js';
import { runSchedule } from './schedule-sql.js';
import type { TxContext } from './write.js';

/** Runs listed with each partition (the newest). */
const RUNS_PER_PARTITION = 20;

/**
 * Marks a partition available; when it is new, the active schedules watching its dataset look at
 * once. Two marks of one partition at once: the second waits for the first to commit, then finds it.
 */
export async function markPartition(
  ctx: TxContext,
  dataset: string,
  partition: string,
  metadata: Record<string, unknown> | null,
): Promise<{ created: boolean; partition: DatasetPartition }> {
  const { db, tx } = ctx;
  const [row] = await runSchedule<DatasetPartitionDbRow>(db, tx, 'markPartition', [
    ctx.now,
    dataset,
    partition,
    metadata === null ? null : JSON.stringify(metadata),
  ]);
  if (row) {
    await runSchedule(db, tx, 'wakeWatchers', [ctx.now, dataset]);
    return { created: true, partition: toDatasetPartition(row) };
  }
  const [held] = await runSchedule<DatasetPartitionDbRow>(db, tx, 'getPartition', [dataset, partition]);
  if (!held) throw new StoreError(`partition ${dataset}/${partition} vanished while it was being marked`);
  return { created: false, partition: toDatasetPartition(held) };
}

export async function listDatasets(db: Db, on: Queryable): Promise<DatasetSummary[]> {
  return (await runSchedule<DatasetSummaryDbRow>(db, on, 'listDatasets', [])).map(toDatasetSummary);
}

export async function listPartitions(
  db: Db,
  on: Queryable,
  dataset: string,
  options: { limit?: number; cursor?: string } | undefined,
): Promise<{ partitions: (DatasetPartition & { runs: ScheduleRun[] })[]; nextCursor: string | null }> {
  const limit = options?.limit ?? 50;
  const after = options?.cursor === undefined ? null : cursorOf(options.cursor);
  const rows = await runSchedule<DatasetPartitionDbRow>(db, on, 'listPartitions', [
    dataset,
    after?.markedAt ?? null,
    after?.partition ?? '',
    limit + 1,
  ]);
  const page = rows.slice(0, limit).map(toDatasetPartition);
  const runs =
    page.length === 0
      ? []
      : await runSchedule<ScheduleRunDbRow>(db, on, 'partitionRuns', [
          dataset,
          page.map((p) => p.partition),
          RUNS_PER_PARTITION,
        ]);
  const byPartition = new Map<string, ScheduleRun[]>();
  for (const r of runs) {
    const run = toScheduleRun(r);
    const list = byPartition.get(run.partition ?? '') ?? [];
    list.push(run);
    byPartition.set(run.partition ?? '', list);
  }
  const last = page[page.length - 1];
  return {
    partitions: page.map((p) => ({ ...p, runs: byPartition.get(p.partition) ?? [] })),
    nextCursor: rows.length > limit && last ? partitionCursor(last) : null,
  };
}

export async function readyPartitions(
  db: Db,
  on: Queryable,
  request: { scheduleId: string; datasets: readonly string[]; since: number; limit: number },
): Promise<string[]> {
  const datasets = [...new Set(request.datasets)];
  const scheduleId = toRowId(request.scheduleId);
  if (datasets.length === 0 || scheduleId === null || request.limit <= 0) return [];
  const rows = await runSchedule<{ partition: string }>(db, on, 'readyPartitions', [
    datasets,
    datasets.length,
    request.since,
    scheduleId,
    request.limit,
  ]);
  return rows.map((r) => r.partition);
}

export async function completePartitions(
  db: Db,
  on: Queryable,
  request: { datasets: readonly string[]; from: string; to: string; limit: number },
): Promise<string[]> {
  const datasets = [...new Set(request.datasets)];
  if (datasets.length === 0 || request.limit <= 0) return [];
  const rows = await runSchedule<{ partition: string }>(db, on, 'completePartitions', [
    datasets,
    datasets.length,
    request.from,
    request.to,
    request.limit,
  ]);
  return rows.map((r) => r.partition);
}

function cursorOf(cursor: string): { markedAt: number; partition: string } {
  try {
    return parsePartitionCursor(cursor);
  } catch (err) {
    throw new ValidationError(
      'cursor is not one this store returned',
      [{ path: 'cursor', message: 'invalid cursor' }],
      { cause: err },
    );
  }
}
