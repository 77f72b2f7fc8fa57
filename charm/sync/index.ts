/** The synchronizer as a library: parse a configuration, start it, watch it, stop it. */
export { parseConfig, formatConfigProblems, startTimestampToStreamId, type SyncConfig, type ConfigResult } from './config.js';
export { startSynchronizer, EXIT, type SyncHandle, type SyncExit, type StartOptions } from './supervisor.js';
export { syncStatusSchema, SYNC_STATES, HEALTHY_STATES, type SyncStatus, type SyncState, type Counters } from './status.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
export { DOCUMENTS } from './documents.js';
