import { backfillNotFound, ValidationError } from '../core/errors.js';
import type { TimeInput, TriggerSpec } from '../schedule/trigger.js';
import type {
  BackfillRecord,
  DatasetPartition,
  DatasetSummary,
  ScheduleEvent,
  ScheduleRecord,
  ScheduleRun,
} from '../schedule/types.js';
import type { QueueSettings, QueueStats, Store, TaskInfo, WorkerRecord } from '../store/types.js';
import { specOf } from './http-flows.js';
import type { Request } from './http-request.js';
import type { QueueApi } from './queues.js';
import type { ScheduleApi, ScheduleDefinition, ScheduleInfo } from './schedules.js';

const ID = /^[0-9]{1,19}$/;
const seg = (value: string): string => encodeURIComponent(value);
const time = (t: TimeInput | undefined) => (t instanceof Date ? t.getTime() : t);

/** A definition as the API takes it: a task by name, a flow as its spec. */
function toBody(d: Partial<ScheduleDefinition>): Record<string, unknown> {
  const { task, flow, ...rest } = d;
  return {
    ...rest,
    ...(task !== undefined ? { task: typeof task === 'string' ? task : task.name } : {}),
    ...(flow !== undefined ? { flow: specOf(flow) } : {}),
  };
}

/** The API names a schedule's flow fields under `flow` (`flow.steps.0.task`); the client from the flow's root. */
function fromFlowRoot(err: unknown): never {
  if (!(err instanceof ValidationError)) throw err;
  const issues = err.issues.map((i) => ({ ...i, path: i.path.replace(/^flow\.steps/, 'steps') }));
  throw new ValidationError(err.message, issues, { cause: err });
}

/** Schedules, datasets, backfills, queues and workers over the HTTP API. */
export function createHttpScheduleApi(call: Request): ScheduleApi & QueueApi {
  const schedule = (name: string, rest = '') => `/schedules/${seg(name)}${rest}`;
  const backfillPath = (id: string, rest = '') => {
    if (!ID.test(id)) throw backfillNotFound(id);
    return `/backfills/${id}${rest}`;
  };
  const body = async <T>(p: Promise<{ body: T }>) => (await p).body;
  return {
    createSchedule: (d) =>
      body(
        call<ScheduleInfo>('create schedules', 'POST', '/schedules', { body: toBody(d) }).catch(fromFlowRoot),
      ),
    updateSchedule: (name, changes) =>
      body(
        call<ScheduleInfo>('change schedules', 'PATCH', schedule(name), { body: toBody(changes) }).catch(
          fromFlowRoot,
        ),
      ),
    getSchedule: (name) => body(call<ScheduleInfo>('read schedules', 'GET', schedule(name))),
    listSchedules: (filter = {}) =>
      body(
        call<{ schedules: ScheduleRecord[]; nextCursor: string | null }>(
          'list schedules',
          'GET',
          '/schedules',
          {
            query: { ...filter },
          },
        ),
      ),
    async deleteSchedule(name) {
      await call('delete schedules', 'DELETE', schedule(name));
    },
    pauseSchedule: (name) => body(call<ScheduleInfo>('pause schedules', 'POST', schedule(name, '/pause'))),
    resumeSchedule: (name) => body(call<ScheduleInfo>('resume schedules', 'POST', schedule(name, '/resume'))),
    runScheduleNow: (name, options = {}) =>
      body(
        call<ScheduleRun>('run schedules', 'POST', schedule(name, '/run'), {
          ...(options.partition !== undefined ? { body: { partition: options.partition } } : {}),
        }),
      ),
    scheduleEvents: async (name) =>
      (await call<{ events: ScheduleEvent[] }>('read schedules', 'GET', schedule(name, '/events'))).body
        .events,
    scheduleRuns: (name, options = {}) =>
      body(
        call<{ runs: ScheduleRun[]; nextCursor: string | null }>(
          'read schedules',
          'GET',
          schedule(name, '/runs'),
          {
            query: { ...options },
          },
        ),
      ),
    nextFireTimes: async (trigger: TriggerSpec, options = {}) => {
      const preview = { trigger, count: options.count, after: time(options.after) };
      return (
        await call<{ fireTimes: number[] }>('preview triggers', 'POST', '/schedules/preview', {
          body: preview,
        })
      ).body.fireTimes;
    },
    markAvailable: (dataset, partition, metadata) =>
      body(
        call<{ created: boolean; partition: DatasetPartition }>(
          'mark datasets',
          'POST',
          `/datasets/${seg(dataset)}/partitions`,
          { body: { partition, ...(metadata !== undefined ? { metadata } : {}) } },
        ),
      ),
    listDatasets: async () =>
      (await call<{ datasets: DatasetSummary[] }>('list datasets', 'GET', '/datasets')).body.datasets,
    listPartitions: (dataset, options = {}) =>
      body(
        call<Awaited<ReturnType<Store['listPartitions']>>>(
          'list datasets',
          'GET',
          `/datasets/${seg(dataset)}/partitions`,
          { query: { ...options } },
        ),
      ),
    backfill: (name, options) =>
      body(
        call<BackfillRecord>('start backfills', 'POST', schedule(name, '/backfills'), {
          body: { ...options, from: time(options.from), to: time(options.to) },
        }),
      ),
    getBackfill: async (id) => body(call<BackfillRecord>('read backfills', 'GET', backfillPath(id))),
    listBackfills: async (name) =>
      (
        await call<{ backfills: BackfillRecord[] }>(
          'list backfills',
          'GET',
          name === undefined ? '/backfills' : schedule(name, '/backfills'),
        )
      ).body.backfills,
    cancelBackfill: async (id) =>
      body(call<BackfillRecord>('cancel backfills', 'POST', backfillPath(id, '/cancel'))),
    setQueue: (name, settings) =>
      body(call<QueueSettings>('change queues', 'PATCH', `/queues/${seg(name)}`, { body: settings })),
    getQueue: (name) => body(call<QueueSettings>('read queues', 'GET', `/queues/${seg(name)}`)),
    listQueues: async () =>
      (await call<{ queues: QueueStats[] }>('list queues', 'GET', '/queues')).body.queues,
    listWorkers: async (filter) =>
      (await call<{ workers: WorkerRecord[] }>('list workers', 'GET', '/workers', { query: { ...filter } }))
        .body.workers,
    listTasks: async () => (await call<{ tasks: TaskInfo[] }>('list tasks', 'GET', '/tasks')).body.tasks,
    getTask: (name) => body(call<TaskInfo>('read tasks', 'GET', `/tasks/${seg(name)}`)),
  };
}
