import type Database from 'better-sqlite3';
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
import type { ScheduleStatements } from './schedule-sql.js';
import type { WriteContext } from './write.js';

/** Runs listed with each partition. */
const RUNS_PER_PARTITION = 20;

/** Dataset partitions: marking them (waking the schedules that watch the dataset) and reading them. */
export function createSqliteDatasets(db: Database.Database, ctx: WriteContext, stmts: ScheduleStatements) {
  const pageCache = new Map<boolean, Database.Statement>();
  const page = (withCursor: boolean): Database.Statement => {
    let s = pageCache.get(withCursor);
    if (!s) {
      s = db.prepare(`SELECT * FROM dataset_partitions WHERE dataset = ?
        ${withCursor ? 'AND (marked_at, partition) < (?, ?)' : ''} ORDER BY marked_at DESC, partition DESC LIMIT ?`);
      pageCache.set(withCursor, s);
    }
    return s;
  };

  return {
    markPartition(
      dataset: string,
      partition: string,
      metadata: Record<string, unknown> | null,
    ): { created: boolean; partition: DatasetPartition } {
      const now = ctx.now();
      const created =
        stmts.insertPartition.run(
          dataset,
          partition,
          metadata === null ? null : JSON.stringify(metadata),
          now,
        ).changes === 1;
      if (created) stmts.wakeWatchers.run(now, now, dataset);
      const row = stmts.getPartition.get(dataset, partition) as DatasetPartitionDbRow;
      return { created, partition: toDatasetPartition(row) };
    },

    listDatasets(): DatasetSummary[] {
      return (stmts.datasets.all() as DatasetSummaryDbRow[]).map(toDatasetSummary);
    },

    listPartitions(
      dataset: string,
      options?: { limit?: number; cursor?: string },
    ): { partitions: (DatasetPartition & { runs: ScheduleRun[] })[]; nextCursor: string | null } {
      const limit = options?.limit ?? 50;
      const c = options?.cursor === undefined ? null : parsePartitionCursor(options.cursor);
      const rows = (
        c ? page(true).all(dataset, c.markedAt, c.partition, limit + 1) : page(false).all(dataset, limit + 1)
      ) as DatasetPartitionDbRow[];
      const partitions = rows.slice(0, limit).map((row) => ({
        ...toDatasetPartition(row),
        runs: (
          stmts.partitionRuns.all({
            dataset,
            partition: row.partition,
            limit: RUNS_PER_PARTITION,
          }) as ScheduleRunDbRow[]
        ).map(toScheduleRun),
      }));
      const last = partitions[partitions.length - 1];
      return { partitions, nextCursor: rows.length > limit && last ? partitionCursor(last) : null };
    },

    readyPartitions(request: {
      scheduleId: string;
      datasets: readonly string[];
      since: number;
      limit: number;
    }): string[] {
      const datasets = [...new Set(request.datasets)];
      const schedule = toRowId(request.scheduleId);
      if (datasets.length === 0 || schedule === null) return [];
      return stmts.readyPartitions.pluck().all({
        datasets: JSON.stringify(datasets),
        since: request.since,
        count: datasets.length,
        schedule,
        limit: request.limit,
      }) as string[];
    },

    completePartitions(request: {
      datasets: readonly string[];
      from: string;
      to: string;
      limit: number;
    }): string[] {
      const datasets = [...new Set(request.datasets)];
      if (datasets.length === 0) return [];
      return stmts.completePartitions.pluck().all({
        datasets: JSON.stringify(datasets),
        from: request.from,
        to: request.to,
        count: datasets.length,
        limit: request.limit,
      }) as string[];
    },
  };
}

export type SqliteDatasets = ReturnType<typeof createSqliteDatasets>;
