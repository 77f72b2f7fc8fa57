// Errors raised by the Pebble client. They mirror ops.pebble's error classes so that charm code
// ported from Python maps one to one: ConnectionError -> PebbleConnectionError, APIError ->
// PebbleAPIError, ChangeError -> ChangeError, TimeoutError -> PebbleTimeoutError, PathError ->
// PathError, ProtocolError -> PebbleProtocolError.
import type { Change } from './types.js';

/** Base class of every error the Pebble client raises. */
export class PebbleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The socket is missing or refuses connections: Pebble is not (yet, or no longer) there. */
export class PebbleConnectionError extends PebbleError {
  constructor(
    message: string,
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Pebble answered, but not in the shape of its API (wrong Content-Type, bad JSON, bad fields). */
export class PebbleProtocolError extends PebbleError {}

/** A request, or waiting for a change, took longer than allowed. */
export class PebbleTimeoutError extends PebbleError {}

/** Pebble answered with a non-2xx status. `message` is Pebble's `result.message`. */
export class PebbleAPIError extends PebbleError {
  constructor(
    /** The HTTP status code, e.g. 400. */
    readonly code: number,
    /** The HTTP reason text, e.g. "Bad Request". */
    readonly status: string,
    message: string,
    /** Pebble's error kind (`not-found`, `no-default-services`, ...), when it sent one. */
    readonly kind: string | undefined,
    /** The whole decoded response body ({} if it was not JSON). */
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * A change finished with an error. `err` is Pebble's text ("cannot perform the following
 * tasks: ..."); the message also carries every task log, as ops' ChangeError does, because the
 * "Most recent service output" lines are usually what explains a failed start.
 */
export class ChangeError extends PebbleError {
  constructor(
    readonly err: string,
    readonly change: Change,
  ) {
    super(formatChangeError(err, change));
  }
}

function formatChangeError(err: string, change: Change): string {
  const parts = [err];
  change.tasks.forEach((task, i) => {
    if (task.log.length === 0) return;
    parts.push(`\n----- Logs from task ${i} -----\n`);
    parts.push(task.log.join('\n'));
  });
  if (parts.length > 1) parts.push('\n-----');
  return parts.join('');
}

/** A files API call failed for one path. `kind` is not-found, permission-denied or generic-file-error. */
export class PathError extends PebbleError {
  constructor(
    readonly kind: string,
    readonly pathMessage: string,
  ) {
    super(`${kind} - ${pathMessage}`);
  }
}

/**
 * An exec'd command exited with a non-zero code (ops: ExecError). `stdout`/`stderr` hold the
 * output when waitOutput() was waiting (stderr null when combined), null after wait().
 */
export class ExecError<T extends string | Buffer = string> extends PebbleError {
  /** Output longer than this is cut in the message (ops: STR_MAX_OUTPUT). */
  static readonly STR_MAX_OUTPUT = 1024;

  constructor(
    readonly command: string[],
    readonly exitCode: number,
    readonly stdout: T | null,
    readonly stderr: T | null,
  ) {
    super(formatExecError(command, exitCode, stdout, stderr));
  }
}

function formatExecError(command: string[], exitCode: number, stdout: string | Buffer | null, stderr: string | Buffer | null): string {
  let message = `non-zero exit code ${exitCode} executing ${JSON.stringify(command[0] ?? '')}`;
  for (const [name, out] of [['stdout', stdout], ['stderr', stderr]] as const) {
    if (out === null) continue;
    const text = out.toString();
    const cut = text.length > ExecError.STR_MAX_OUTPUT ? ' [truncated]' : '';
    message += `, ${name}=${JSON.stringify(text.slice(0, ExecError.STR_MAX_OUTPUT))}${cut}`;
  }
  return message;
}
