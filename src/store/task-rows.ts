import { type TaskRow, toTaskDefaults } from './rows.js';
import type { LeaseRecord, TaskDefaults, TaskInfo } from './types.js';

/** A tasks row as `listTasks` reads it (JSON columns as text; PostgreSQL casts to match). */
export type TaskInfoRow = TaskRow & {
  input_schema: string | null;
  description: string | null;
  updated_at: number;
};

export function toTaskInfo(row: TaskInfoRow): TaskInfo {
  const defaults = toTaskDefaults(row);
  return {
    ...defaults,
    placement: defaults.placement ?? null,
    concurrency: defaults.concurrency ?? null,
    inputSchema: row.input_schema === null ? null : (JSON.parse(row.input_schema) as Record<string, unknown>),
    description: row.description,
    updatedAt: Number(row.updated_at),
  };
}

/** The input schema and description as bound parameters (JSON text, or null). */
export function taskDescriptionParams(t: TaskDefaults): [string | null, string | null] {
  return [t.inputSchema ? JSON.stringify(t.inputSchema) : null, t.description ?? null];
}

export interface LeaseRow {
  name: string;
  holder: string;
  term: number;
  expires_at: number;
}

export function toLeaseRecord(row: LeaseRow): LeaseRecord {
  return { name: row.name, holder: row.holder, term: Number(row.term), expiresAt: Number(row.expires_at) };
}
