/**
 * Structured logs: one JSON object per line on stderr, `{"ts","level","msg",...fields}`.
 * Every rendered line goes through the process's Redactor (message and fields alike: an error
 * text from a server may quote a token). As a second line of defence any field whose name
 * contains "token", "authorization", "password" or "secret" is replaced by "[redacted]".
 */
import type { LOG_LEVELS } from './config.js';
import type { Redactor } from './redact.js';

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /token|authorization|password|secret/i;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

/** The redactor is required: a logger that could print a configured secret must not exist. */
export function createLogger(level: LogLevel, redactor: Redactor, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < min) return;
    const rec: Record<string, unknown> = { ts: new Date().toISOString(), level: lvl, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) rec[k] = SECRET_KEY.test(k) ? '[redacted]' : v;
    write(`${redactor.redact(JSON.stringify(rec))}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (l) => RANK[l] >= min,
  };
}
