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
