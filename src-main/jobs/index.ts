/** Long work off the main thread: the JobManager (main process) and its protocol. The worker is worker.ts. */
export { JobManager, type JobInfo, type JobManagerOptions, type JobState } from './runner.js';
export {
  JOB_EVENT_TYPES,
  JOB_KINDS,
  jobEventSchema,
  parseJobSpec,
  parentMessageSchema,
  workerMessageSchema,
  type JobEvent,
  type JobEventType,
  type JobKind,
  type JobSpec,
  type JobSpecInput,
  type ParentMessage,
  type WorkerMessage,
} from './protocol.js';
export { loadReftCheckpoint, readCheckpointMeta, saveReftCheckpoint, CHECKPOINT_FILE } from './checkpoint.js';
