/**
 * Entry point of the workload process (run by Pebble): read the environment, run the
 * synchronizer until SIGTERM/SIGINT or a fatal error, exit with the documented code.
 */
import v8 from 'node:v8';
import { formatConfigProblems, parseConfig } from './config.js';
import { createLogger } from './log.js';
import { redactorFromEnv } from './redact.js';
import { newCounters, writeStatusFile, type SyncStatus } from './status.js';
import { EXIT, startSynchronizer } from './supervisor.js';

function configFailureStatus(message: string): SyncStatus {
  return {
    state: 'failed',
    healthy: false,
    position: '0-0',
    positionDate: null,
    savedPosition: null,
    lastError: { kind: 'config', message, at: new Date().toISOString() },
    exitCode: EXIT.CONFIG,
    counters: newCounters(),
    queueLength: 0,
    queuedMessages: { now: 0, max: 0, bound: 0 },
    remote: { streamUrl: '', connectionId: null, lastReceivedId: null, headId: null },
    local: { url: '', version: null, writePath: null },
    timing: { startedAt: new Date().toISOString(), firstEventAt: null, lastAcceptAt: null },
    applyMode: '',
    pid: process.pid,
    memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed },
  };
}

/**
 * Grow the heap to at most twice the live size between major GCs instead of V8's default factor
 * (up to 4x for a small heap). The synchronizer's live data is small (the queue and a few batches)
 * but it churns through large strings (bundles), so by default the peak RSS depended on how long
 * the run was and on GC timing: 150-205 MB at 50k events, 176-195 MB at 200k (bench:sync, RSS
 * ratio 1.02-1.30 between runs). With this: 132-140 MB at 50k, 148-152 MB at 200k (ratio
 * 1.07-1.09), and no throughput change beyond the run-to-run noise. 30% bounded it tighter (1.03)
 * but cost about 10% more CPU in major GCs. The flag is read whenever the next GC limit is
 * computed, so setting it at start-up takes effect (which the figures above show).
 */
v8.setFlagsFromString('--heap-growing-percent=100');

/**
 * Built from the raw environment before it is parsed, so that even the report of an invalid
 * configuration, and a crash, cannot print a token or a URL's password.
 */
const redactor = redactorFromEnv(process.env);

/** A JSON log line written without a logger (before one exists, or after it failed), redacted. */
function writeRecord(rec: Record<string, unknown>): void {
  process.stderr.write(`${redactor.redact(JSON.stringify({ ts: new Date().toISOString(), ...rec }))}\n`);
}

// Node would print an uncaught exception itself, message and stack unredacted: report it here
// instead, with the exit code Node would use (1, EXIT.INTERNAL). Unhandled rejections end up here too.
process.on('uncaughtException', (err: Error) => {
  writeRecord({ level: 'error', msg: `internal error: ${err.stack ?? err.message}` });
  process.exit(EXIT.INTERNAL);
});

async function main(): Promise<number> {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    const message = formatConfigProblems(parsed.problems);
    writeRecord({ level: 'error', msg: message, problems: parsed.problems, exitCode: EXIT.CONFIG });
    const file = process.env.SYNC_STATUS_FILE?.trim();
    if (file) {
      try {
        writeStatusFile(file, configFailureStatus(message), redactor);
      } catch {
        /* nothing more we can do; stderr has the message */
      }
    }
    return EXIT.CONFIG;
  }
  const config = parsed.config;
  const log = createLogger(config.logLevel, redactor);
  log.info('starting the OpenCTI stream synchronizer', {
    local: config.local.url,
    remote: config.remote.url,
    stream: config.remote.streamId,
    connectorId: config.connector.id,
    mode: config.apply.mode,
    sslVerify: config.remote.sslVerify,
    // Where /healthz and /metrics listen (SYNC_HTTP_HOST, SYNC_HTTP_PORT), so the choice is visible.
    http: `${config.http.host}:${config.http.port}`,
  });
  let handle;
  try {
    handle = await startSynchronizer(config, { logger: log, redactor });
  } catch (err) {
    log.error(`cannot start: ${err instanceof Error ? err.message : String(err)} (can /healthz listen on ${config.http.host}:${config.http.port}? check SYNC_HTTP_HOST and SYNC_HTTP_PORT)`, { exitCode: EXIT.INTERNAL });
    return EXIT.INTERNAL;
  }
  const h = handle;
  const onSignal = (sig: string) => {
    log.info('signal received', { signal: sig });
    void h.stop(`${sig} received`);
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const exit = await h.done;
  return exit.code;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Timers and sockets are closed by stop(); force the exit in case a library keeps a handle.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    writeRecord({ level: 'error', msg: `internal error: ${err instanceof Error ? err.message : String(err)}` });
    process.exit(EXIT.INTERNAL);
  },
);
