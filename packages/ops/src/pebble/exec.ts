// The client side of Pebble's exec, shaped like ops.pebble's Client.exec / ExecProcess
// (canonical/operator ops/pebble.py): POST /v1/exec answers a change and a task id; the client
// opens the task's control, stdio and (unless stderr is combined) stderr websockets; input goes
// out as binary messages ending with a text {"command":"end"}, output comes back the same way;
// the exit code is the task's data `exit-code` once the change is ready.
import type { PassThrough, Readable, Writable } from 'node:stream';
import type { PebbleClient } from './client.js';
import { signalName } from '../signals.js';
import { ChangeError, ExecError } from './errors.js';
import type { WebSocketConnection } from './websocket.js';

const END = '{"command":"end"}';

export interface ExecOptions {
  /** Run in this service's context: its environment, user, group and working dir (overridable). */
  serviceContext?: string;
  /** Environment variables for the process (on top of Pebble's own and the service context's). */
  environment?: Record<string, string>;
  /** Working directory (default: the user's $HOME, else /). */
  workingDir?: string;
  /** Kill the process after this many milliseconds; the change then fails `timed out after ...`. */
  timeoutMs?: number;
  userId?: number;
  user?: string;
  groupId?: number;
  group?: string;
  /** Input: sent whole, then end-of-file. Without it, write to `process.stdin` (and end it). */
  stdin?: string | Uint8Array | AsyncIterable<string | Uint8Array>;
  /** Where stdout goes; without it, read `process.stdout` or use waitOutput(). */
  stdout?: NodeJS.WritableStream;
  /** Where stderr goes (not with combineStderr). */
  stderr?: NodeJS.WritableStream;
  /** Text encoding of input and output (default utf8); null for Buffers. */
  encoding?: BufferEncoding | null;
  /** Merge stderr into stdout (one stream, in write order), as ops' combine_stderr. */
  combineStderr?: boolean;
}

/** What ExecProcess needs from the connection it was opened on. */
export interface ExecSession {
  client: PebbleClient;
  command: string[];
  changeId: string;
  timeoutMs: number | undefined;
  encoding: BufferEncoding | null;
  control: WebSocketConnection;
  stdio: WebSocketConnection;
  stderr: WebSocketConnection | null;
  /**
   * node:stream, which PebbleClient.exec loads when it is first needed: a static import would
   * cost every hook's start-up, exec or not.
   */
  streams: { PassThrough: typeof PassThrough; Writable: typeof Writable };
}

/** Output from a websocket until {"command":"end"} (or the connection closes) into `target`. */
async function pumpOutput(ws: WebSocketConnection, target: NodeJS.WritableStream, endTarget: boolean): Promise<void> {
  for (;;) {
    const m = await ws.receive();
    if (!m) break;
    if (m.binary) {
      target.write(m.data);
      continue;
    }
    let command: unknown;
    try {
      command = (JSON.parse(m.data.toString('utf8')) as { command?: unknown }).command;
    } catch {
      continue; // garbage: ops logs it and goes on
    }
    if (command === 'end') break;
  }
  if (endTarget) target.end();
}

/** A process started by PebbleClient.exec (ops: ExecProcess). Call wait() or waitOutput(). */
export class ExecProcess<T extends string | Buffer = string> {
  /** Write input here (and end it) unless `stdin` was given to exec. */
  readonly stdin: Writable | null;
  /** The process's output, unless `stdout` was given to exec. */
  readonly stdout: Readable | null;
  /** The process's error output, unless `stderr` was given or stderr is combined. */
  readonly stderr: Readable | null;
  private readonly pumps: Promise<void>[] = [];
  private stdinCancelled = false;

  constructor(
    private readonly s: ExecSession,
    opts: ExecOptions,
  ) {
    this.stdin = opts.stdin === undefined ? this.stdinWriter() : null;
    if (opts.stdin !== undefined) void this.sendInput(opts.stdin);
    const stdout = opts.stdout ? null : this.readable();
    this.stdout = stdout;
    this.pumps.push(pumpOutput(s.stdio, opts.stdout ?? stdout!, !opts.stdout));
    this.stderr = null;
    if (s.stderr) {
      const stderr = opts.stderr ? null : this.readable();
      this.stderr = stderr;
      this.pumps.push(pumpOutput(s.stderr, opts.stderr ?? stderr!, !opts.stderr));
    }
  }

  private readable(): PassThrough {
    const stream = new this.s.streams.PassThrough();
    if (this.s.encoding) stream.setEncoding(this.s.encoding);
    return stream;
  }

  private stdinWriter(): Writable {
    const ws = this.s.stdio;
    return new this.s.streams.Writable({
      // Strings written are encoded with the exec's encoding before write() sees them.
      defaultEncoding: this.s.encoding ?? 'utf8',
      write(chunk: Buffer, _enc, done) {
        ws.send(chunk);
        done();
      },
      final(done) {
        ws.send(END);
        done();
      },
    });
  }

  private async sendInput(input: string | Uint8Array | AsyncIterable<string | Uint8Array>): Promise<void> {
    const encoding = this.s.encoding ?? 'utf8';
    const send = (chunk: string | Uint8Array) => this.s.stdio.send(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    if (typeof input === 'string' || input instanceof Uint8Array) send(input);
    else {
      try {
        for await (const chunk of input) {
          if (this.stdinCancelled) return;
          send(chunk);
        }
      } catch {
        // The source failed: end the input as if it had ended.
      }
    }
    if (!this.stdinCancelled) this.s.stdio.send(END);
  }

  /**
   * Wait for the process to finish (at most the exec timeout plus a second). Throws ExecError
   * for a non-zero exit code, ChangeError when Pebble could not run it or it timed out.
   */
  async wait(): Promise<void> {
    const exitCode = await this.waitExit();
    if (exitCode !== 0) throw new ExecError<T>(this.s.command, exitCode, null, null);
  }

  /**
   * Wait, and return everything the process wrote: `stderr` is null when combined. Throws
   * ExecError (with the output) for a non-zero exit code; a TypeError when exec was given
   * `stdout` (use wait()).
   */
  async waitOutput(): Promise<{ stdout: T; stderr: T | null }> {
    if (!this.stdout) throw new TypeError("can't use waitOutput() when exec was called with the stdout option; use wait() instead");
    const collect = (stream: Readable | null) => {
      if (!stream) return Promise.resolve(null);
      const chunks: Array<string | Buffer> = [];
      stream.on('data', (c: string | Buffer) => chunks.push(c));
      return new Promise<T>((resolve) =>
        stream.on('end', () => resolve((this.s.encoding ? chunks.join('') : Buffer.concat(chunks as Buffer[])) as T)),
      );
    };
    const out = collect(this.stdout);
    const err = collect(this.stderr);
    const exitCode = await this.waitExit();
    const [stdout, stderr] = [(await out)!, await err];
    if (exitCode !== 0) throw new ExecError<T>(this.s.command, exitCode, stdout, stderr);
    return { stdout, stderr };
  }

  /** Send a signal ("SIGHUP", or its number) to the process, over the control websocket. */
  sendSignal(sig: string | number): void {
    const name = typeof sig === 'number' ? signalName(sig) : sig;
    if (name === undefined) throw new RangeError(`unknown signal number ${sig}`);
    this.s.control.send(JSON.stringify({ command: 'signal', signal: { name } }));
  }

  private async waitExit(): Promise<number> {
    const timeoutMs = this.s.timeoutMs === undefined ? null : this.s.timeoutMs + 1000;
    let change;
    try {
      change = await this.s.client.waitChange(this.s.changeId, { timeoutMs });
    } catch (e) {
      this.closeAll();
      throw e;
    }
    this.stdinCancelled = true;
    // The output streams end with Pebble's end message, sent before the change is ready.
    await Promise.all(this.pumps);
    this.closeAll();
    if (change.err) throw new ChangeError(change.err, change);
    const code = change.tasks[0]?.data['exit-code'];
    return typeof code === 'number' ? code : -1;
  }

  private closeAll(): void {
    this.stdinCancelled = true;
    for (const ws of [this.s.control, this.s.stdio, this.s.stderr]) ws?.destroy();
  }
}

