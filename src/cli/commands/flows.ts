import type { Command } from 'commander';
import type { SubmitFlowOptions } from '../../client/flows.js';
import { flowNotFound, ValidationError } from '../../core/errors.js';
import type { FlowSpec } from '../../flow/spec.js';
import {
  FINISHED_FLOW_STATES,
  type FlowRecord,
  type FlowState,
  type FlowStepRecord,
  isFlowFinished,
} from '../../flow/types.js';
import { EXIT, type GlobalOptions, printJson } from '../context.js';
import { bold, colourFlowState, dim, duration, errorText, logLine, relativeTime, table } from '../format.js';
import { loadTasks } from '../load-tasks.js';
import { readTextFlag } from '../parse.js';
import { withClient } from '../with-client.js';

type Globals = () => GlobalOptions;

const FLOW_STATES: readonly FlowState[] = ['running', 'reverting', ...FINISHED_FLOW_STATES];

interface SubmitFlags {
  store?: string;
  storeFile?: string;
  dedupKey?: string;
  dedupWindow?: string;
  metadata?: string;
  tasks?: string;
  wait?: boolean;
  waitTimeout?: string;
}

export function flowsCommands(program: Command, globals: Globals): void {
  const flows = program
    .command('flows')
    .description('submit, list, show, follow the logs of and cancel flows (graphs of steps)');

  flows
    .command('submit <spec>')
    .description(
      'submit a flow from a JSON spec file (- reads stdin); prints its id (or, with --wait, its outputs)',
    )
    .option('--store <json>', 'JSON object of named values the steps refer to as store.<key>')
    .option('--store-file <file>', 'the same, from a JSON file (--store keys win over its keys)')
    .option('--dedup-key <key>', 'return the existing flow while this key is held')
    .option('--dedup-window <duration>', 'how long the key is held (default: until that flow finishes)')
    .option('--metadata <json>', 'JSON object stored with the flow')
    .option('--tasks <file>', 'task module to check the steps against instead of the registered tasks')
    .option('-w, --wait', 'wait for the flow to end; exit 1 unless it succeeded')
    .option('--wait-timeout <duration>', 'with --wait: give up after this long, e.g. 5m')
    .action(async (file: string, flags: SubmitFlags) => {
      const g = globals();
      const spec = parseJson(
        file === '-' ? 'the spec on stdin' : file,
        await readTextFlag('spec', file),
      ) as FlowSpec;
      const options = await submitOptions(flags);
      const tasks = flags.tasks ? await loadTasks([flags.tasks]) : [];
      process.exitCode = await withClient(
        g,
        async (client, store) => {
          if (store === null && tasks.length > 0)
            throw new ValidationError(
              '--tasks checks steps against local task code only on a store (--database); on a server, steps are checked against the tasks its workers registered: drop --tasks',
              [{ path: '--tasks', message: 'not available with --server' }],
            );
          let handle: Awaited<ReturnType<typeof client.submitFlow>>;
          try {
            handle = await client.submitFlow(spec, options);
          } catch (err) {
            if (!(err instanceof ValidationError) || err.issues.length === 0) throw err;
            printIssues(file, err);
            return EXIT.usage;
          }
          if (!flags.wait) {
            if (g.json) printJson({ id: handle.id, deduplicated: handle.deduplicated });
            else {
              console.log(
                handle.deduplicated
                  ? `${handle.id} ${dim('(an existing flow with this dedup key)')}`
                  : handle.id,
              );
              if (process.stdout.isTTY) console.log(dim(`follow it: stint flows show ${handle.id}`));
            }
            return EXIT.ok;
          }
          await handle
            .result(flags.waitTimeout ? { timeout: flags.waitTimeout } : {})
            .catch((err: unknown) => {
              if ((err as { code?: string }).code !== 'FLOW_FAILED') throw err;
            });
          const flow = await handle.get();
          if (g.json) printJson(flow);
          else if (flow.state === 'succeeded') console.log(JSON.stringify(flow.output, null, 2));
          else {
            const step = flow.failedStep ? ` at step ${flow.failedStep}` : '';
            console.error(
              `flow ${flow.id} ${flow.state}${step}: ${flow.error?.name}: ${flow.error?.message}`,
            );
            console.error(dim(`see: stint flows show ${flow.id}`));
          }
          return flow.state === 'succeeded' ? EXIT.ok : EXIT.failed;
        },
        { tasks },
      );
    });

  flows
    .command('list')
    .alias('ls')
    .description('list flows, newest first')
    .option('--state <state>', `filter by state (${FLOW_STATES.join(', ')}); repeat with commas`)
    .option('--name <name>', 'filter by flow name')
    .option('--limit <n>', 'flows per page', '20')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(async (opts: { state?: string; name?: string; limit: string; cursor?: string }) => {
      const g = globals();
      const state = opts.state === undefined ? undefined : parseStates(opts.state);
      await withClient(g, async (client) => {
        const page = await client.listFlows({
          ...(state ? { state } : {}),
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
          limit: parseLimit(opts.limit),
        });
        if (g.json) return printJson(page);
        if (page.flows.length === 0) console.log(dim('no flows'));
        else console.log(table(FLOW_HEADERS, page.flows.map(flowRow)));
        if (page.nextCursor) console.log(dim(`more: stint flows list --cursor ${page.nextCursor}`));
      });
    });

  flows
    .command('show <id>')
    .description("a flow's state and error, and its steps in dependency order")
    .option('--items', 'list every item of a map step (default: counts by state)')
    .action(async (id: string, opts: { items?: boolean }) => {
      const g = globals();
      await withClient(g, async (client) => {
        const { flow, steps } = await client.flow(id).status();
        if (g.json) return printJson({ flow, steps });
        console.log(flowDetails(flow, steps, opts.items === true));
      });
    });

  flows
    .command('logs <id>')
    .description('the log lines of every job of a flow, each with its step')
    .option('-f, --follow', 'keep printing new lines until the flow ends')
    .action(async (id: string, opts: { follow?: boolean }) => {
      const g = globals();
      await withClient(g, async (client, store) => {
        let after = 0;
        for (;;) {
          // Read the state first: lines written before the flow ended are then all visible below.
          // (A server has no state-only read: the flow's record is read instead.)
          const state = store ? await store.getFlowState(id) : (await client.getFlow(id)).state;
          if (!state) throw flowNotFound(id);
          for (;;) {
            const lines = await client.flowLogs(id, { afterId: after, limit: 1000 });
            for (const l of lines)
              console.log(
                g.json
                  ? JSON.stringify(l)
                  : `${bold(l.role === 'revert' ? `${l.step} (revert)` : l.step)}${logLine(l)}`,
              );
            after = lines.at(-1)?.id ?? after;
            if (lines.length < 1000) break;
          }
          if (!opts.follow || isFlowFinished(state)) break;
          await new Promise((r) => setTimeout(r, 250));
        }
      });
    });

  flows
    .command('cancel <id>')
    .description('cancel a running flow: running steps are cancelled, completed ones reverted')
    .option('--reason <text>', 'recorded with the flow', 'cancelled from the CLI')
    .action(async (id: string, opts: { reason: string }) => {
      const g = globals();
      await withClient(g, async (client) => {
        const flow = await client.cancelFlow(id, opts.reason);
        if (g.json) return printJson(flow);
        console.log(
          isFlowFinished(flow.state)
            ? `flow ${id}: ${colourFlowState(flow.state)}`
            : `flow ${id}: ${colourFlowState(flow.state)}; workers cancel its running steps and revert completed ones`,
        );
      });
    });
}

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${what} is not valid JSON: ${(err as Error).message}`, [
      { path: what, message: 'invalid JSON' },
    ]);
  }
}

function jsonObject(what: string, text: string): Record<string, unknown> {
  const value = parseJson(what, text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(`${what} must be a JSON object`, [{ path: what, message: 'not an object' }]);
  return value as Record<string, unknown>;
}

async function submitOptions(flags: SubmitFlags): Promise<SubmitFlowOptions> {
  const options: SubmitFlowOptions = {};
  if (flags.storeFile !== undefined || flags.store !== undefined) {
    const fromFile =
      flags.storeFile === undefined
        ? {}
        : jsonObject(flags.storeFile, await readTextFlag('--store-file', flags.storeFile));
    const fromFlag = flags.store === undefined ? {} : jsonObject('--store', flags.store);
    options.store = { ...fromFile, ...fromFlag };
  }
  if (flags.dedupKey) options.dedupKey = flags.dedupKey;
  if (flags.dedupWindow) options.dedupWindow = flags.dedupWindow;
  if (flags.metadata) options.metadata = jsonObject('--metadata', flags.metadata);
  return options;
}

/** A spec's validation issues, one a line, each with the path it concerns. */
function printIssues(file: string, err: ValidationError): void {
  const n = err.issues.length;
  console.error(
    `stint: ${file === '-' ? 'the flow spec' : file} is invalid (${n} problem${n === 1 ? '' : 's'}):`,
  );
  for (const issue of err.issues) console.error(`  ${issue.path}: ${issue.message}`);
}

function parseStates(text: string): FlowState[] {
  const states = text.split(',');
  for (const s of states)
    if (!FLOW_STATES.includes(s as FlowState))
      throw new ValidationError(`--state ${s} is not a flow state (${FLOW_STATES.join(', ')})`, [
        { path: 'state', message: s },
      ]);
  return states as FlowState[];
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new ValidationError('--limit must be an integer from 1 to 1000', [
      { path: 'limit', message: value },
    ]);
  return n;
}

const FLOW_HEADERS = ['ID', 'NAME', 'STATE', 'STEPS', 'FAILED STEP', 'CREATED', 'DURATION'];

function flowRow(flow: FlowRecord): string[] {
  return [
    flow.id,
    flow.name,
    colourFlowState(flow.state),
    countsText(flow.counts),
    flow.failedStep ?? '-',
    relativeTime(flow.createdAt),
    flow.finishedAt === null ? '-' : duration(flow.finishedAt - flow.createdAt),
  ];
}

/** "3 succeeded, 1 running": counts by state, largest first. */
function countsText(counts: Partial<Record<string, number>>): string {
  const entries = Object.entries(counts).filter((e): e is [string, number] => (e[1] ?? 0) > 0);
  if (entries.length === 0) return '-';
  return entries
    .sort((a, b) => b[1] - a[1])
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
}

export function flowDetails(flow: FlowRecord, steps: readonly FlowStepRecord[], listItems: boolean): string {
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${dim(name.padEnd(12))}${value}`);
  field('flow', bold(flow.id));
  field('name', flow.name);
  field('state', colourFlowState(flow.state));
  field('on failure', flow.onFailure);
  field('created', `${new Date(flow.createdAt).toISOString()}  ${dim(relativeTime(flow.createdAt))}`);
  if (flow.finishedAt !== null)
    field(
      'finished',
      `${new Date(flow.finishedAt).toISOString()}  ${dim(`took ${duration(flow.finishedAt - flow.createdAt)}`)}`,
    );
  if (flow.failedStep) field('failed step', flow.failedStep);
  if (flow.error) field('error', errorText(flow.error));
  if (flow.dedupKey) field('dedup key', flow.dedupKey);
  if (flow.store) field('store', JSON.stringify(flow.store));
  if (flow.metadata) field('metadata', JSON.stringify(flow.metadata));
  out.push('', bold('steps'), ...stepGraph(steps, listItems));
  return out.join('\n');
}

/**
 * The steps as a table in dependency order: each step indented by its depth (the longest chain of
 * steps it waits for), a map step followed by its items' counts (or the items, with `listItems`),
 * and the error of a failed step or revert below its row.
 */
function stepGraph(steps: readonly FlowStepRecord[], listItems: boolean): string[] {
  const top = steps.filter((s) => s.kind !== 'item');
  const items = new Map<string, FlowStepRecord[]>();
  for (const s of steps)
    if (s.kind === 'item' && s.parent !== null) items.set(s.parent, [...(items.get(s.parent) ?? []), s]);
  const depth = depths(top);
  const order = top
    .map((s, i) => ({ s, i, d: depth.get(s.name) ?? 0 }))
    .sort((a, b) => a.d - b.d || a.i - b.i);

  const rows: string[][] = [];
  const below = new Map<number, string[]>();
  const add = (step: FlowStepRecord, indent: string, extra: string[]) => {
    rows.push(stepRow(step, indent));
    const notes = [...extra, ...stepNotes(step)];
    if (notes.length > 0)
      below.set(
        rows.length - 1,
        notes.map((n) => `${indent}    ${n}`),
      );
  };
  for (const { s, d } of order) {
    const indent = '  '.repeat(d);
    const own = (items.get(s.name) ?? []).sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    add(s, indent, own.length > 0 && !listItems ? itemSummary(own) : []);
    if (listItems) for (const item of own) add(item, `${indent}  · `, []);
  }
  const lines = table(['STEP', 'STATE', 'TASK', 'WAITS FOR', 'JOB', 'ITEMS'], rows).split('\n');
  return lines.flatMap((line, i) => [`  ${line}`, ...(below.get(i - 1) ?? []).map((n) => `  ${n}`)]);
}

function stepRow(step: FlowStepRecord, indent: string): string[] {
  const job = [step.jobId ?? '-', step.revertJobId ? dim(`revert ${step.revertJobId}`) : ''].filter(Boolean);
  return [
    indent + step.name,
    colourFlowState(step.state),
    step.task,
    step.kind === 'item' || step.deps.length === 0 ? '-' : step.deps.join(', '),
    job.join(' '),
    step.items ? `${step.items.done}/${step.items.total}` : '',
  ];
}

function stepNotes(step: FlowStepRecord): string[] {
  const notes: string[] = [];
  if (step.error && step.state !== 'succeeded' && step.state !== 'reverted')
    notes.push(errorText(step.error));
  if (step.revertError) notes.push(`revert: ${errorText(step.revertError)}`);
  return notes;
}

/** A map's items as counts by state, and the first failed item's error. */
function itemSummary(items: readonly FlowStepRecord[]): string[] {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item.state] = (counts[item.state] ?? 0) + 1;
  const text = Object.entries(counts)
    .map(([state, n]) => `${n} ${colourFlowState(state)}`)
    .join(', ');
  const failed = items.find((i) => i.error && (i.state === 'failed' || i.state === 'revert_failed'));
  const first = failed?.error ? [`first failure ${failed.name}: ${errorText(failed.error)}`] : [];
  return [`items: ${text} ${dim('(--items lists them)')}`, ...first];
}

/** Each step's depth: 0 when it waits for nothing, else one more than its deepest dependency. */
function depths(steps: readonly FlowStepRecord[]): Map<string, number> {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const depth = new Map<string, number>();
  const visit = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const step = byName.get(name);
    if (!step || seen.has(name)) return 0; // a cycle cannot be stored; stay safe if one is
    seen.add(name);
    const d = step.deps.length === 0 ? 0 : 1 + Math.max(...step.deps.map((dep) => visit(dep, seen)));
    seen.delete(name);
    depth.set(name, d);
    return d;
  };
  for (const s of steps) visit(s.name, new Set());
  return depth;
}
