/**
 * stint benchmark runner: `npm run bench [-- --only drain,latency] [-- --runs 5] [-- --json out.json]`.
 *
 * Every run of every scenario happens in a fresh child process (bench/scenario-child.ts) with its
 * own temp directory, killed if it overruns RUN_LIMIT_MS. Runs are interleaved (all scenarios,
 * then all again), and the table shows the median of each figure with every run's value.
 * Without `--runs`, each scenario runs its own default count (3, or fewer for slow ones).
 * BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to the scenario children.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { endChild, forkTs, type Metric, median, nextMessage, REPO_ROOT, type Target } from './lib.js';
import { type ScenarioInfo, scenariosFor } from './scenarios.js';

/** Hard limit for one run of one scenario, on top of the scenario's own deadlines. */
const RUN_LIMIT_MS = 60_000;

interface Args {
  only: string[] | null;
  /** null: each scenario's default. */
  runs: number | null;
  json: string | null;
  store: 'sqlite' | 'postgres';
}

const DEFAULT_RUNS = 3;

function parseArgs(argv: string[]): Args {
  const args: Args = { only: null, runs: null, json: null, store: 'sqlite' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--only') args.only = value().split(',').filter(Boolean);
    else if (flag === '--runs') args.runs = Number(value());
    else if (flag === '--json') args.json = value();
    else if (flag === '--store') {
      const store = value();
      if (store !== 'sqlite' && store !== 'postgres') throw new Error('--store must be sqlite or postgres');
      args.store = store;
    } else if (flag === '--help' || flag === '-h') {
      console.log(
        `usage: npm run bench -- [--store sqlite|postgres] [--only ${[...new Set([...scenariosFor('sqlite'), ...scenariosFor('postgres')].map((s) => s.name))].join(',')}] [--runs N] [--json file]`,
      );
      process.exit(0);
    } else throw new Error(`unknown flag ${flag} (try --help)`);
  }
  if (args.runs !== null && (!Number.isInteger(args.runs) || args.runs < 1 || args.runs > 20))
    throw new Error('--runs must be 1-20');
  for (const name of args.only ?? []) {
    if (!scenariosFor(args.store).some((s) => s.name === name))
      throw new Error(`unknown scenario ${name} for --store ${args.store}`);
  }
  return args;
}

function machineLine(): string {
  const db = new Database(':memory:');
  const sqlite = db.prepare('select sqlite_version()').pluck().get() as string;
  db.close();
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  const gib = (totalmem() / 2 ** 30).toFixed(1);
  return `${cpu.length} × ${model} | ${gib} GiB RAM | Node ${process.version} | SQLite ${sqlite} | stint ${pkg.version} | ${platform()} ${release()}`;
}

/** The PostgreSQL server's version, for the machine line of `--store postgres`. */
async function postgresVersion(): Promise<string> {
  // Loaded only here: a SQLite invocation loads nothing of the PostgreSQL scenarios.
  const { PG_URL } = await import('./pg-systems.js');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const r = await client.query('SHOW server_version');
    return `PostgreSQL ${(r.rows[0] as { server_version: string }).server_version.split(' ')[0]}`;
  } finally {
    await client.end();
  }
}

async function runOnce(s: ScenarioInfo, store: Args['store']): Promise<Metric[]> {
  const name = s.name;
  const dir = mkdtempSync(join(tmpdir(), `stint-bench-${name}-`));
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = forkTs('scenario-child.ts', [name, dir, store], flags);
  try {
    const reply = await nextMessage(
      child,
      (m) =>
        (m as { type?: string }).type
          ? (m as { type: string; metrics?: Metric[]; message?: string })
          : undefined,
      s.limitMs ?? RUN_LIMIT_MS,
      `scenario ${name}`,
    );
    if (reply.type !== 'result' || !reply.metrics) throw new Error(reply.message ?? 'no metrics');
    return reply.metrics;
  } finally {
    await endChild(child, 5000);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  scenario: string;
  metric: Metric;
  values: number[];
  median: number;
}

const fmt = (value: number, unit: Metric['unit']): string => {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'jobs/s':
    case 'steps/s':
    case 'schedules/s':
    case 'req/s':
    case 'count':
      return Math.round(value).toLocaleString('en-US');
    case 'ms':
      return value < 1 ? value.toFixed(3) : value < 100 ? value.toFixed(2) : value.toFixed(0);
    case 's':
      return value.toFixed(2);
    case 'MB':
      return value.toFixed(1);
    case 'x':
      return value.toFixed(2);
  }
};

const meets = (value: number, t: Target) => (t.op === '>=' ? value >= t.value : value <= t.value);

function printTable(rows: Row[], machine: string, runs: string, errors: string[]): void {
  const out: string[] = [];
  out.push(`machine: ${machine}`);
  out.push(`runs: ${runs}; median shown, every run's value in the 'runs' column`);
  out.push('');
  out.push('| scenario | metric | median | unit | runs | target | result |');
  out.push('|---|---|---:|---|---|---|---|');
  for (const r of rows) {
    const m = r.metric;
    const target = m.target ? `${m.target.op} ${fmt(m.target.value, m.unit)}` : '';
    let result = '';
    if (m.target) {
      const ok = meets(r.median, m.target);
      const off = m.target.op === '>=' ? r.median / m.target.value : m.target.value / r.median;
      result = ok ? 'pass' : `MISS (${(off * 100).toFixed(0)}% of target)`;
    }
    const all = r.values.map((v) => fmt(v, m.unit)).join(', ');
    out.push(
      `| ${r.scenario} | ${m.label} | ${fmt(r.median, m.unit)} | ${m.unit} | ${all} | ${target} | ${result} |`,
    );
  }
  for (const e of errors) out.push(`error: ${e}`);
  console.log(out.join('\n'));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const chosen = scenariosFor(args.store).filter((s) => !args.only || args.only.includes(s.name));
  const machine = args.store === 'postgres' ? `${machineLine()} | ${await postgresVersion()}` : machineLine();
  const runsOf = (s: (typeof chosen)[number]) => args.runs ?? s.runs ?? DEFAULT_RUNS;
  const rounds = Math.max(...chosen.map(runsOf));
  const runsLine = chosen.map((s) => `${s.name} ${runsOf(s)}`).join(', ');
  console.error(`stint bench, runs: ${runsLine}\n${machine}`);
  const byKey = new Map<string, Row>();
  const errors: string[] = [];
  const started = performance.now();
  for (let run = 1; run <= rounds; run++) {
    for (const s of chosen) {
      if (run > runsOf(s)) continue;
      const t0 = performance.now();
      try {
        for (const metric of await runOnce(s, args.store)) {
          const row = byKey.get(metric.key) ?? { scenario: s.name, metric, values: [], median: 0 };
          row.values.push(metric.value);
          byKey.set(metric.key, row);
        }
        console.error(
          `  run ${run}/${runsOf(s)} ${s.name}: ${((performance.now() - t0) / 1000).toFixed(1)}s`,
        );
      } catch (err) {
        const message = `run ${run} ${s.name}: ${(err as Error).message}`;
        errors.push(message);
        console.error(`  ${message}`);
      }
    }
  }
  const rows = [...byKey.values()];
  for (const r of rows) r.median = median(r.values);
  const bareDrain = byKey.get('bare.drain');
  const stintDrain = byKey.get('drain.committed');
  if (bareDrain && stintDrain) {
    const ratio = stintDrain.median / bareDrain.median;
    const metric: Metric = {
      key: 'drain.ratio',
      label: 'stint drain / bare-loop drain (medians)',
      value: ratio,
      unit: 'x',
      target: { op: '>=', value: 1 / 3 },
    };
    rows.splice(rows.indexOf(stintDrain) + 1, 0, {
      scenario: 'drain',
      metric,
      values: [ratio],
      median: ratio,
    });
  }
  console.error(`total ${((performance.now() - started) / 1000).toFixed(0)}s\n`);
  printTable(rows, machine, runsLine, errors);
  if (args.json) writeFileSync(args.json, JSON.stringify({ machine, runs: runsLine, rows, errors }, null, 2));
  if (errors.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`stint bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
