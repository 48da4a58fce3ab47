/**
 * stint: durable jobs for TypeScript.
 *
 *   const hello = defineTask({ name: 'hello', input: z.object({ name: z.string() }), run: (ctx, i) => `hi ${i.name}` });
 *   const client = createClient({ store: '.stint/stint.db' });
 *   const worker = createWorker({ store: '.stint/stint.db', tasks: [hello] });
 *   await worker.start();
 *   const greeting = await client.run(hello, { name: 'Ada' });
 */
export {
  type Client,
  type ClientOptions,
  createClient,
  type JobHandle,
  type ResultOptions,
} from './client/client.js';
export type { FlowHandle, SubmitFlowOptions } from './client/flows.js';
export type { FollowLogsOptions } from './client/follow.js';
export { createHttpClient, type HttpClient, type HttpClientOptions } from './client/http.js';
export type { QueueApi, QueueSettingsInput } from './client/queues.js';
export type {
  BackfillOptions,
  ScheduleApi,
  ScheduleDefinition,
  ScheduleInfo,
  ScheduleJobOptions,
} from './client/schedules.js';
export type { SubmitOptions } from './client/submit-options.js';
export { type Coordinator, type CoordinatorOptions, createCoordinator } from './coordinator/coordinator.js';
export { type Clock, createFakeClock, type FakeClock, systemClock } from './core/clock.js';
export type { Duration } from './core/duration.js';
export {
  AuthError,
  ClosedError,
  ConflictError,
  type ErrorCode,
  FlowFailedError,
  FlowReferenceError,
  JobCancelledError,
  JobFailedError,
  JobTimeoutError,
  LeaseLostError,
  NotFoundError,
  PermanentError,
  QueueFullError,
  SandboxError,
  SchemaTooNewError,
  type SerializedError,
  ServerError,
  StintError,
  StoreError,
  ValidationError,
  type ValidationIssue,
  WaitTimeoutError,
  WorkerShutdownError,
} from './core/errors.js';
export type {
  JobEvent,
  JobEventType,
  JobFlowRef,
  JobLogEntry,
  JobProgress,
  JobRecord,
  JobState,
  LogLevel,
  LogStream,
  SandboxOverride,
} from './core/job.js';
export type {
  ConcurrencyLimit,
  LabelRequirements,
  Placement,
  Resources,
} from './core/placement.js';
export type { RetryOptions, RetryPolicy } from './core/retry.js';
export {
  createFlow,
  type FlowBuilder,
  type MapOptions,
  type Ref,
  type Refable,
  type StepHandle,
  type StepOptions,
} from './flow/builder.js';
export { checkFlowSpec, type FailurePolicy, type FlowSpec, type StepSpec } from './flow/spec.js';
export type {
  FlowFilter,
  FlowLogEntry,
  FlowPage,
  FlowRecord,
  FlowState,
  FlowStepRecord,
  StepState,
} from './flow/types.js';
export type { Logger } from './internal/logger.js';
export { PLACEHOLDERS } from './schedule/params.js';
export { nextFireTimes, parseTrigger, type TimeInput, type TriggerSpec } from './schedule/trigger.js';
export type {
  BackfillRecord,
  BackfillState,
  DatasetPartition,
  DatasetSummary,
  MisfirePolicy,
  OverlapPolicy,
  ScheduleEvent,
  ScheduleFilter,
  SchedulePolicies,
  ScheduleRecord,
  ScheduleRun,
  ScheduleRunState,
  ScheduleState,
  Trigger,
} from './schedule/types.js';
export { DEFAULT_DATABASE, openStore } from './store/open.js';
export { createPostgresStore, type PostgresStoreOptions } from './store/postgres/store.js';
export { createSqliteStore, type SqliteStoreOptions } from './store/sqlite/store.js';
export type { FailingTask, JobThroughput, ThroughputBucket, ThroughputRequest } from './store/stats.js';
export type {
  JobFilter,
  JobPage,
  LeaseRecord,
  QueueSettings,
  QueueStats,
  ShedPolicy,
  Store,
  TaskInfo,
  WorkerRecord,
  WorkerRecordState,
} from './store/types.js';
export type { FlowContext, JobLogger, TaskContext } from './task/context.js';
export {
  defineTask,
  type Task,
  type TaskDefinition,
  type TaskInput,
  type TaskOutput,
} from './task/define.js';
export type { TaskConcurrency } from './task/placement.js';
export type {
  ProcessSandboxOptions,
  SandboxKind,
  SandboxOptions,
  ShellSandboxOptions,
} from './task/sandbox.js';
export { defineShellTask, type ShellTaskDefinition } from './task/shell.js';
export type { WorkerOptions } from './worker/options.js';
export { createWorker, type Worker, type WorkerState } from './worker/worker.js';
