import type {
  FlowFilter,
  FlowPage,
  FlowRecord,
  FlowState,
  FlowStepRecord,
  StepState,
} from '../../flow/types.js';
import { type FlowDbRow, type StepDbRow, toFlowRecord, toFlowStepRecord } from '../flow-rows.js';
import { toRowId } from '../rows.js';
import { decodeCursor, encodeCursor } from '../rules.js';
import type { Db, Queryable } from './db.js';

/** Reads of flows: a flow with its step counts (one query), its steps, pages of flows. */

type FlowWithCounts = FlowDbRow & { counts: string };

const toRecord = (row: FlowWithCounts): FlowRecord =>
  toFlowRecord(row, JSON.parse(row.counts) as Partial<Record<StepState, number>>);

export async function readFlow(db: Db, on: Queryable, id: string): Promise<FlowRecord | null> {
  const rowId = toRowId(id);
  if (rowId === null) return null;
  const [row] = await db.run<FlowWithCounts>(on, 'getFlow', [rowId]);
  return row ? toRecord(row) : null;
}

export async function readFlowState(db: Db, on: Queryable, id: string): Promise<FlowState | null> {
  const rowId = toRowId(id);
  if (rowId === null) return null;
  const [row] = await db.run<{ state: FlowState }>(on, 'flowState', [rowId]);
  return row?.state ?? null;
}

export async function getFlowSteps(db: Db, on: Queryable, id: string): Promise<FlowStepRecord[] | null> {
  const rowId = toRowId(id);
  if (rowId === null) return null;
  const rows = await db.run<StepDbRow>(on, 'listSteps', [rowId]);
  // A flow always has a step; no rows means no flow (or an empty one, which the builder refuses).
  if (rows.length === 0 && !(await readFlow(db, on, id))) return null;
  return rows.map(toFlowStepRecord);
}

export async function listFlows(db: Db, on: Queryable, filter: FlowFilter): Promise<FlowPage> {
  const where: string[] = [];
  const values: unknown[] = [];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const states =
    filter.state === undefined ? [] : typeof filter.state === 'string' ? [filter.state] : [...filter.state];
  if (states.length > 0) where.push(`f.state = ANY(${bind(states)}::text[])`);
  if (filter.name !== undefined) where.push(`f.name = ${bind(filter.name)}`);
  if (filter.cursor !== undefined) where.push(`f.id < ${bind(decodeCursor(filter.cursor))}`);
  const limit = filter.limit ?? 50;
  const sql = `${db.statements.listFlowsPrefix} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY f.id DESC LIMIT ${bind(limit + 1)}`;
  const rows = await db.runText<FlowWithCounts>(on, sql, values);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    flows: page.map(toRecord),
    nextCursor: rows.length > limit && last ? encodeCursor(Number(last.id)) : null,
  };
}
