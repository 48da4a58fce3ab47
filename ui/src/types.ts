// The API's JSON shapes are the library's own records: the server sends them as they are.

export type { SerializedError } from '../../src/core/errors.js';
export type { JobEvent, JobLogEntry, JobRecord, JobState } from '../../src/core/job.js';
export type { FlowRecord, FlowState, FlowStepRecord, StepState } from '../../src/flow/types.js';
export type {
  BackfillRecord,
  DatasetPartition,
  DatasetSummary,
  ScheduleEvent,
  ScheduleRecord,
  ScheduleRun,
  Trigger,
} from '../../src/schedule/types.js';
export type { Overview } from '../../src/server/routes/overview.js';
export type { FailingTask, JobThroughput, ThroughputBucket } from '../../src/store/stats.js';
export type { JobPage, QueueStats, TaskInfo, WorkerRecord } from '../../src/store/types.js';

export type Role = 'viewer' | 'operator' | 'admin';

export interface Principal {
  name: string;
  role: Role;
  via?: 'token' | 'session' | 'custom' | 'none';
}
