/**
 * Charm logging to Juju's debug log through `juju-log`.
 *
 * Logging calls are synchronous for the caller: records are queued and sent in order, one
 * `juju-log` call each, and the entry point waits for the queue before the process exits. A failed
 * `juju-log` is reported once at flush time, never logged again (that would recurse).
 */
import type { ModelBackend } from './backend.js';

/** Python level names, which is what Juju and ops use. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number] | 'TRACE';

const RANK: Record<LogLevel, number> = { TRACE: 5, DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  critical(message: string): void;
  log(level: LogLevel, message: string): void;
}

export class JujuLogger implements Logger {
  private queue: Promise<void> = Promise.resolve();
  private failure: Error | null = null;

  constructor(
    private readonly backend: Pick<ModelBackend, 'jujuLog'> & Partial<Pick<ModelBackend, 'redactor'>>,
    private readonly options: { level?: LogLevel; alsoStderr?: boolean } = {},
  ) {}

  log(level: LogLevel, message: string): void {
    if (RANK[level] < RANK[this.options.level ?? 'DEBUG']) return;
    // juju-log redacts in the backend; the copy on stderr (JUJU_DEBUG) needs the same.
    if (this.options.alsoStderr) process.stderr.write(`${level} ${this.backend.redactor?.redact(message) ?? message}\n`);
    this.queue = this.queue.then(async () => {
      if (this.failure) return;
      try {
        await this.backend.jujuLog(level, message);
      } catch (e) {
        this.failure = e as Error;
      }
    });
  }

  debug(message: string): void {
    this.log('DEBUG', message);
  }
  info(message: string): void {
    this.log('INFO', message);
  }
  warning(message: string): void {
    this.log('WARNING', message);
  }
  error(message: string): void {
    this.log('ERROR', message);
  }
  critical(message: string): void {
    this.log('CRITICAL', message);
  }

  /** Wait until every queued record was sent; raise the first juju-log failure, if any. */
  async flush(): Promise<void> {
    await this.queue;
    if (this.failure) {
      const f = this.failure;
      this.failure = null;
      throw f;
    }
  }
}
