import { FLOW_ENGINE_COLUMNS, STEP_INSERT_COLUMNS } from '../flow-rows.js';
import { NOW, quoteIdent } from './sql.js';

/**
 * The statements of flows, for one schema (see sql.ts for the conventions: `$1` is `now` wherever
 * a statement reads the time). Rows are cast to match SQLite's (../flow-rows.ts): JSON as text,
 * times as ms, flags as booleans.
 */
const FLOW_COLUMNS = `id, name, state, on_failure, store::text AS store, output::text AS output, error::text AS error,
  failed_step, open_steps, active_jobs, seq, failures, revert_failures, reverting_step, cancel_reason, created_at,
  finished_at, metadata::text AS metadata, dedup_key`;

const STEP_COLUMNS = `name, task, kind, parent, idx, state, waiting_on, deps::text AS deps, input::text AS input,
  map::text AS map, on_failure, revertible, job::text AS job, job_id, revert_job_id, output::text AS output,
  error::text AS error, revert_error::text AS revert_error, completed_seq, map_total, map_done`;

/** A column list with each column qualified by a table alias. */
const qualify = (columns: string, alias: string) =>
  columns.replace(/(^|,\s*)(\w+)/g, (_m, sep: string, col: string) => `${sep}${alias}.${col}`);

/** Steps by state, as a JSON object (text), for a flow row aliased `f`. */
const countsOf = (s: string) => `(SELECT coalesce(json_object_agg(c.state, c.n), '{}')::text FROM (
    SELECT state, count(*)::int AS n FROM ${s}.flow_steps WHERE flow_id = f.id GROUP BY state) c) AS counts`;

export function pgFlowStatements(schema: string) {
  const s = quoteIdent(schema);
  return {
    /** (namespace, key): serializes submits of one flow dedup key until commit */
    lockFlowDedup: 'SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))',
    /** (key) -> the newest flow holding the key */
    dedupFlow: `SELECT id, state, created_at FROM ${s}.flows WHERE dedup_key = $1 ORDER BY id DESC LIMIT 1`,
    /** ($1 now, name, on_failure, spec, store, open_steps, metadata, dedup_key) -> id */
    insertFlow: `INSERT INTO ${s}.flows (name, state, on_failure, spec, store, open_steps, created_at, metadata, dedup_key)
      VALUES ($2, 'running', $3, $4::json, $5::json, $6, ${NOW}, $7::jsonb, $8) RETURNING id`,
    /** (id) -> the flow, locked until commit */
    lockFlow: `SELECT ${FLOW_ENGINE_COLUMNS} FROM ${s}.flows WHERE id = $1 FOR UPDATE`,
    /** (id) -> the flow with its step counts */
    getFlow: `SELECT ${qualify(FLOW_COLUMNS, 'f')}, ${countsOf(s)} FROM ${s}.flows f WHERE f.id = $1`,
    /** list: a prefix; the store appends WHERE / ORDER BY / LIMIT */
    listFlowsPrefix: `SELECT ${qualify(FLOW_COLUMNS, 'f')}, ${countsOf(s)} FROM ${s}.flows f`,

    /**
     * (flow_id, then one array per column of STEP_INSERT_COLUMNS after flow_id, from_steps[], to_steps[]):
     * steps in the given order, with their dependency edges
     */
    insertSteps: `WITH steps AS (
        INSERT INTO ${s}.flow_steps (${STEP_INSERT_COLUMNS})
        SELECT $1, t.name, t.task, t.kind, t.parent, t.idx, t.state, t.waiting_on, t.deps, t.input, t.map,
          t.on_failure, t.revertible, t.job
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::json[],
          $10::json[], $11::json[], $12::text[], $13::boolean[], $14::json[]) WITH ORDINALITY
          AS t(name, task, kind, parent, idx, state, waiting_on, deps, input, map, on_failure, revertible, job, n)
        ORDER BY t.n),
      edges AS (
        INSERT INTO ${s}.flow_edges (flow_id, from_step, to_step)
        SELECT $1, e.from_step, e.to_step FROM unnest($15::text[], $16::text[]) AS e(from_step, to_step)
        ON CONFLICT DO NOTHING)
      SELECT 1`,
    /** (flow_id, name) */
    getStep: `SELECT ${STEP_COLUMNS} FROM ${s}.flow_steps WHERE flow_id = $1 AND name = $2`,
    /** (flow_id) */
    stepNames: `SELECT name FROM ${s}.flow_steps WHERE flow_id = $1`,
    /** (flow_id, names[]) */
    stepStates: `SELECT name, state FROM ${s}.flow_steps WHERE flow_id = $1 AND name = ANY($2::text[])`,
    /** (flow_id, name) -> the steps that wait on `name`, one wait fewer, in insertion order */
    releaseDependents: `WITH released AS (
        UPDATE ${s}.flow_steps SET waiting_on = waiting_on - 1
        WHERE flow_id = $1 AND name IN (SELECT to_step FROM ${s}.flow_edges WHERE flow_id = $1 AND from_step = $2)
        RETURNING *)
      SELECT ${STEP_COLUMNS} FROM released ORDER BY pos`,
    /** (flow_id, name) */
    dependentsOf: `SELECT to_step AS name FROM ${s}.flow_edges WHERE flow_id = $1 AND from_step = $2 ORDER BY to_step`,
    /** (flow_id, names[]) */
    outputsOf: `SELECT name, output::text AS output FROM ${s}.flow_steps WHERE flow_id = $1 AND name = ANY($2::text[])`,
    /** (flow_id, parent) */
    itemOutputs: `SELECT output::text AS output FROM ${s}.flow_steps WHERE flow_id = $1 AND parent = $2 ORDER BY idx`,
    /** (flow_id) */
    topLevelOutputs: `SELECT name, output::text AS output FROM ${s}.flow_steps
      WHERE flow_id = $1 AND parent IS NULL AND state = 'succeeded' ORDER BY pos`,
    /** (flow_id, parent, limit) */
    /** (flow_id) -> the flow's store values */
    flowStore: `SELECT store::text AS store FROM ${s}.flows WHERE id = $1`,
    /** (id) -> just the state */
    flowState: `SELECT state FROM ${s}.flows WHERE id = $1`,
    /**
     * ($1 now, task, queue, priority, max_attempts, backoff_ms, factor, max_ms, jitter, timeout_ms, flow_id,
     *  parent, limit) -> how many of the map's next waiting items got their job (in item order)
     */
    startItems: `WITH picked AS (
        SELECT name, input, idx FROM ${s}.flow_steps
        WHERE flow_id = $11 AND parent = $12 AND state = 'waiting' ORDER BY idx LIMIT $13 FOR UPDATE),
      started AS (
        INSERT INTO ${s}.jobs (task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
          backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, flow_id, flow_step, flow_role)
        SELECT $2, $3, 'pending', coalesce(p.input, 'null'::json), $4, ${NOW}, ${NOW}, $5, $6, $7, $8, $9, $10,
          $11, p.name, 'run' FROM picked p ORDER BY p.idx
        RETURNING id, flow_step),
      marked AS (
        UPDATE ${s}.flow_steps st SET state = 'pending', job_id = j.id FROM started j
        WHERE st.flow_id = $11 AND st.name = j.flow_step RETURNING 1)
      SELECT count(*)::int AS n FROM marked`,
    /** (flow_id) -> top-level steps skipped */
    skipWaiting: `WITH skipped AS (
        UPDATE ${s}.flow_steps SET state = 'skipped' WHERE flow_id = $1 AND state = 'waiting' RETURNING parent)
      SELECT count(*)::int AS n FROM skipped WHERE parent IS NULL`,
    /** (flow_id, parent) */
    skipWaitingItems: `UPDATE ${s}.flow_steps SET state = 'skipped' WHERE flow_id = $1 AND parent = $2 AND state = 'waiting'`,
    /**
     * ($1 now, error, flow_id, detail) -> the flow's run jobs: pending ones cancelled (kind 'c', with
     * their step), running ones asked to cancel (kind 'r'); each with its event
     */
    cancelFlowJobs: `WITH cancelled AS (
        UPDATE ${s}.jobs SET state = 'cancelled', error = $2::json, finished_at = ${NOW}
        WHERE flow_id = $3 AND state = 'pending' AND flow_role = 'run' RETURNING id, flow_step),
      cancelled_events AS (
        INSERT INTO ${s}.job_events (job_id, at, type, attempt, worker_id, detail)
        SELECT id, ${NOW}, 'cancelled', NULL, NULL, $4::json FROM cancelled ORDER BY id),
      requested AS (
        UPDATE ${s}.jobs SET cancel_requested = true
        WHERE flow_id = $3 AND state = 'running' AND flow_role = 'run' AND NOT cancel_requested
        RETURNING id, attempt, worker_id),
      requested_events AS (
        INSERT INTO ${s}.job_events (job_id, at, type, attempt, worker_id, detail)
        SELECT id, ${NOW}, 'cancel_requested', attempt, worker_id, $4::json FROM requested ORDER BY id)
      SELECT 'c' AS kind, id, flow_step FROM cancelled
      UNION ALL SELECT 'r', id, NULL FROM requested
      ORDER BY id`,
    /** (flow_id) -> the succeeded step with a revert that completed last */
    lastRevertible: `SELECT ${STEP_COLUMNS} FROM ${s}.flow_steps
      WHERE flow_id = $1 AND state = 'succeeded' AND revertible AND kind <> 'map'
      AND completed_seq IS NOT NULL ORDER BY completed_seq DESC LIMIT 1`,
    /** (flow_id): map steps whose items were reverted take their items' outcome */
    settleRevertedMaps: `UPDATE ${s}.flow_steps m SET state = CASE WHEN EXISTS (SELECT 1 FROM ${s}.flow_steps i WHERE i.flow_id = m.flow_id
        AND i.parent = m.name AND i.state = 'revert_failed') THEN 'revert_failed' ELSE 'reverted' END
    WHERE m.flow_id = $1 AND m.kind = 'map' AND m.state = 'succeeded' AND EXISTS (SELECT 1 FROM ${s}.flow_steps i
      WHERE i.flow_id = m.flow_id AND i.parent = m.name AND i.state IN ('reverted', 'revert_failed'))`,
    /** (id) */
    jobInput: `SELECT input::text AS input FROM ${s}.jobs WHERE id = $1`,
    /** ($1 now, task, queue, input, priority, max_attempts, backoff_ms, factor, max_ms, jitter, timeout_ms, flow_id, step, role) */
    insertFlowJob: `INSERT INTO ${s}.jobs (task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
        backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, flow_id, flow_step, flow_role)
      VALUES ($2, $3, 'pending', $4::json, $5, ${NOW}, ${NOW}, $6, $7, $8, $9, $10, $11, $12, $13, $14)
      RETURNING id`,
    /** (flow_id) -> every step, map items after the top-level steps, with its job's state */
    listSteps: `SELECT ${qualify(STEP_COLUMNS, 's')}, j.state AS job_state
      FROM ${s}.flow_steps s LEFT JOIN ${s}.jobs j ON j.id = s.job_id
      WHERE s.flow_id = $1 ORDER BY s.parent IS NOT NULL, s.pos`,
  } as const;
}

export type PgFlowStatements = ReturnType<typeof pgFlowStatements>;

/** An UPDATE of the named columns (a patch): `$1` (and `$2`) select the row, the values follow. */
export function patchSql(schema: string, table: 'flows' | 'flow_steps', columns: readonly string[]): string {
  const where = table === 'flows' ? 'id = $1' : 'flow_id = $1 AND name = $2';
  const first = table === 'flows' ? 2 : 3;
  const set = columns.map((c, i) => `${c} = $${first + i}`).join(', ');
  return `UPDATE ${quoteIdent(schema)}.${table} SET ${set} WHERE ${where}`;
}
