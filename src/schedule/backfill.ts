import type { Logger } from '../internal/logger.js';
import type { Store } from '../store/types.js';
import { renderRun } from './fire.js';
import { fireKey, type PlannedRun, partitionKey } from './plan.js';
import { fireTimesBetween } from './trigger.js';
import type { BackfillRecord, ScheduleRecord, ScheduleRunState } from './types.js';

/** Backfills moved on per coordinator round. */
const BACKFILLS_PER_ROUND = 100;
/** Candidate batches per backfill per round: runs that already existed don't take a slot, so look further. */
const BATCHES_PER_BACKFILL = 10;
/** Backfill ranges hold at most this many fire times or partitions. */
export const MAX_BACKFILL_RUNS = 100_000;

const ACTIVE: readonly ScheduleRunState[] = ['pending', 'running', 'reverting'];

/** Runs of the backfill still going. */
export function activeRuns(backfill: BackfillRecord): number {
  let n = 0;
  for (const state of ACTIVE) n += backfill.runs[state] ?? 0;
  return n;
}

/** The next fire times (or partitions) of a backfill after its cursor, at most `limit`. */
function nextCandidates(
  schedule: ScheduleRecord,
  backfill: BackfillRecord,
  cursor: string | null,
  limit: number,
) {
  const runs: (PlannedRun & { backfillId: string })[] = [];
  let last: string | null = cursor;
  if (backfill.partitions) {
    const start = cursor === null ? 0 : Number(cursor) + 1;
    backfill.partitions.slice(start, start + limit).forEach((partition, i) => {
      runs.push({
        key: partitionKey(partition),
        kind: 'backfill',
        fireTime: backfill.createdAt,
        partition,
        backfillId: backfill.id,
      });
      last = String(start + i);
    });
  } else if (backfill.from !== null && backfill.to !== null) {
    const from = cursor === null ? backfill.from : Number(cursor) + 1;
    for (const fireTime of fireTimesBetween(schedule.trigger, from, backfill.to, limit).times) {
      runs.push({
        key: fireKey(fireTime),
        kind: 'backfill',
        fireTime,
        partition: null,
        backfillId: backfill.id,
      });
      last = String(fireTime);
    }
  }
  return { runs, cursor: last };
}

/**
 * Moves every running backfill on: tops its running runs up to its concurrency with the next fire
 * times of its range (a fire time that already has a run, from the schedule or an earlier backfill,
 * is counted as skipped and not run again), and finishes it when the range is done and its runs ended.
 */
export async function advanceBackfills(store: Store, logger: Logger): Promise<number> {
  let created = 0;
  const backfills = await store.listBackfills({ state: 'running', limit: BACKFILLS_PER_ROUND });
  for (const backfill of backfills) {
    const schedule = await store.getScheduleById(backfill.scheduleId);
    if (!schedule) continue;
    let slots = backfill.concurrency - activeRuns(backfill);
    let cursor = backfill.cursor;
    let exhausted = false;
    for (let batch = 0; batch < BATCHES_PER_BACKFILL && slots > 0; batch++) {
      const next = nextCandidates(schedule, backfill, cursor, slots);
      if (next.runs.length === 0) {
        exhausted = true;
        break;
      }
      const [result] = await store.fireSchedules([
        { scheduleId: schedule.id, runs: next.runs.map((run) => renderRun(schedule, run)) },
      ]);
      if (!result?.applied) break;
      const made = result.runs.filter((r) => r.created).length;
      await store.updateBackfill(backfill.id, {
        cursor: next.cursor,
        created: made,
        skipped: result.runs.length - made,
      });
      cursor = next.cursor;
      created += made;
      slots -= made;
    }
    if (exhausted && activeRuns(backfill) === 0 && slots === backfill.concurrency) {
      await store.updateBackfill(backfill.id, { state: 'finished' });
      logger.info({ backfill: backfill.id, schedule: schedule.name }, 'stint: backfill finished');
    }
  }
  return created;
}
