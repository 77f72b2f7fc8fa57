// Exec as Pebble v1.29.0 runs it (P:internals/overlord/cmdstate/request.go, handlers.go): the
// request is turned into an execution whose environment and working directory are settled up
// front; its task waits (5 s) for the client's stdio (and stderr) websockets, then runs the
// command as a real process in its own session, stdin from the stdio websocket, output to it
// (binary messages, then a text {"command":"end"}), signals from the control websocket, and
// records {"exit-code": N} as the task's data; a timeout kills it and fails the task.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { CLOSE_ABNORMAL, type WebSocketConnection } from '@juju-ts/ops';
import type { Task } from './changes.js';
import { formatGoDuration } from './gotext.js';
import { lookPath } from './processes.js';
import { isCurrent, type Ids, type UserDb } from './users.js';

/** How long the task waits for the client's websockets (cmdstate connectTimeout). */
const CONNECT_TIMEOUT_MS = 5000;
/** How long output may still arrive after the process exited (cmd.WaitDelay). */
const WAIT_DELAY_MS = 1000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const END = '{"command":"end"}';

export type ExecWebsocket = 'control' | 'stdio' | 'stderr';

export interface ExecRequest {
  command: string[];
  /** Environment after merging the service context (request values win). */
  environment: Record<string, string>;
  workingDir: string;
  timeoutNs: number;
  ids: Ids | null;
  splitStderr: boolean;
}

export interface ExecContext {
  /** The emulated daemon's own environment. */
  env: Record<string, string>;
  userDb: UserDb;
  /** Container path -> host path (pathMap). */
  mapPath(p: string): string;
}

/** exec.LookPath as the API's up-front check runs it, in the daemon's PATH. */
export function findExecutable(file: string, ctx: ExecContext): string | null {
  const host = ctx.mapPath(file);
  if (!host.includes('/')) {
    try {
      return lookPath(host, ctx.env['PATH'] ?? '', '');
    } catch {
      return null;
    }
  }
  try {
    const st = statSync(host);
    if (st.isDirectory()) return null;
    accessSync(host, constants.X_OK);
    return path.resolve(host);
  } catch {
    return null;
  }
}

/**
 * cmdstate.Exec: the daemon's environment (without HOME and USER when switching user), the
 * request's on top, PATH and LANG defaults, HOME and USER from the user's entry, and the working
 * directory (default $HOME, else /) checked to exist. Throws Pebble's texts.
 */
export function settleExecution(req: Omit<ExecRequest, 'workingDir'> & { workingDir: string }, ctx: ExecContext): { environment: Record<string, string>; workingDir: string } {
  const environment: Record<string, string> = { ...ctx.env };
  const uid = req.ids?.uid ?? process.getuid?.() ?? 0;
  if (req.ids && req.ids.uid !== process.getuid?.()) {
    delete environment['HOME'];
    delete environment['USER'];
  }
  Object.assign(environment, req.environment);
  environment['PATH'] ??= DEFAULT_PATH;
  if (!environment['HOME'] || !environment['USER']) {
    const entry = ctx.userDb.userById(uid);
    if (entry) {
      if (!environment['HOME']) environment['HOME'] = entry.home;
      if (!environment['USER']) environment['USER'] = entry.name;
    }
  }
  environment['LANG'] ??= 'C.UTF-8';
  return { environment, workingDir: workingDir(req.workingDir, environment['HOME'] ?? '', ctx) };
}

function workingDir(requested: string, home: string, ctx: ExecContext): string {
  let dir = requested;
  let what = 'working directory';
  if (dir === '') {
    if (home === '') return '/';
    dir = home;
    what = 'home directory';
  }
  let st;
  try {
    st = statSync(ctx.mapPath(dir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${what} ${JSON.stringify(dir)} does not exist`);
    throw new Error(`cannot stat ${what} ${JSON.stringify(dir)}: stat ${dir}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new Error(`${what} ${JSON.stringify(dir)} not a directory`);
  return dir;
}

/** One exec: its websockets (connected by the client) and its process. */
export class Execution {
  readonly sockets = new Map<ExecWebsocket, WebSocketConnection | null>();
  private ioConnected!: () => void;
  private readonly ioReady = new Promise<void>((resolve) => (this.ioConnected = resolve));

  constructor(
    readonly request: ExecRequest,
    private readonly ctx: ExecContext,
    private readonly live: Set<ChildProcess>,
  ) {
    this.sockets.set('control', null);
    this.sockets.set('stdio', null);
    if (request.splitStderr) this.sockets.set('stderr', null);
  }

  /**
   * A client connected websocket `id` (execution.connect): 'unknown' for an id this exec has not,
   * 'taken' when it is already connected.
   */
  connect(id: string, ws: () => WebSocketConnection | null): 'ok' | 'unknown' | 'taken' | 'refused' {
    if (!this.sockets.has(id as ExecWebsocket)) return 'unknown';
    if (this.sockets.get(id as ExecWebsocket)) return 'taken';
    const conn = ws();
    if (!conn) return 'refused';
    this.sockets.set(id as ExecWebsocket, conn);
    if (this.sockets.get('stdio') && (!this.request.splitStderr || this.sockets.get('stderr'))) this.ioConnected();
    return 'ok';
  }

  /** The task handler (handlers.go doExec/do). Resolves with the exit code in the task data. */
  async run(task: Task, signal: AbortSignal): Promise<void> {
    await this.waitIO(task, signal);
    const code = await this.spawnAndWait(task, signal);
    task.data = { 'exit-code': code };
  }

  private async waitIO(task: Task, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.ioReady.then(() => 'ok' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CONNECT_TIMEOUT_MS))),
      new Promise<'aborted'>((resolve) => signal.addEventListener('abort', () => resolve('aborted'), { once: true })),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`exec ${task.id}: timeout waiting for websocket connections: context deadline exceeded`);
    if (outcome === 'aborted') throw new Error('context canceled');
  }

  private async spawnAndWait(task: Task, signal: AbortSignal): Promise<number> {
    const stdio = this.sockets.get('stdio')!;
    const stderrWs = this.sockets.get('stderr') ?? null;
    const control = this.sockets.get('control') ?? null;
    // Whatever ends the exec without an exit code gives the task exit code -1 and fails it.
    const fail = (err: Error): never => {
      this.endOutput(stdio, stderrWs, control);
      task.data = { 'exit-code': -1 };
      throw err;
    };
    let started: { child: ChildProcess; exited: Promise<number | Error> };
    try {
      started = this.spawn();
    } catch (e) {
      return fail(e as Error);
    }
    const { child, exited } = started;
    void this.pumpStdin(stdio, child);
    const outputs = [pumpOutput(child.stdout!, stdio)];
    if (stderrWs && child.stderr) outputs.push(pumpOutput(child.stderr, stderrWs));
    if (control) void this.controlLoop(control, child);

    let timedOut = false;
    const kill = () => child.pid !== undefined && !child.killed && tryKill(child.pid, 'SIGKILL');
    const { timeoutNs } = this.request;
    const timer = timeoutNs > 0 ? setTimeout(() => ((timedOut = true), kill()), timeoutNs / 1e6) : undefined;
    signal.addEventListener('abort', kill, { once: true });
    const code = await exited;
    clearTimeout(timer);
    this.live.delete(child);
    if (code instanceof Error) return fail(code);
    control?.destroy(); // Pebble closes the control connection once the process is gone
    // Output still in the pipes is sent, for at most WaitDelay after the exit.
    await Promise.race([Promise.all(outputs), new Promise((r) => setTimeout(r, WAIT_DELAY_MS).unref())]);
    if (timedOut) return fail(new Error(`timed out after ${formatGoDuration(timeoutNs)}: context deadline exceeded`));
    this.endOutput(stdio, stderrWs, null);
    if (signal.aborted) throw new Error('context canceled');
    return code;
  }

  /**
   * Start the process (exec.CommandContext + reaper.StartCommand): its own session, the settled
   * environment and working dir, the user's credential. `exited` gives the exit code (128 +
   * signal when killed) or the start's error as Go words it.
   */
  private spawn(): { child: ChildProcess; exited: Promise<number | Error> } {
    const { command, environment, ids, splitStderr, workingDir } = this.request;
    const resolved = findExecutable(command[0]!, this.ctx) ?? this.ctx.mapPath(command[0]!);
    const credential = ids && !isCurrent(ids) ? ids : null;
    // The forked child's setgid/setuid fails for anyone but root (Go's forkExec).
    if (credential && process.getuid?.() !== 0) throw new Error(`fork/exec ${resolved}: operation not permitted`);
    const args = command.slice(1).map((a) => this.ctx.mapPath(a));
    // Without split-stderr Pebble hands the process one pipe for both stdout and stderr, so their
    // order is the order of the writes; Node cannot share one pipe between two fds, so a shell
    // joins them (`exec` replaces it: the command is the process that runs).
    const [file, argv] = splitStderr ? [resolved, args] : ['/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', resolved, ...args]];
    const child = spawn(file, argv, {
      env: environment,
      cwd: this.ctx.mapPath(workingDir),
      detached: true, // Setsid, as Pebble starts exec processes
      stdio: ['pipe', 'pipe', splitStderr ? 'pipe' : 'ignore'],
      ...(credential ?? {}),
    });
    this.live.add(child);
    const exited = new Promise<number | Error>((resolve) => {
      child.on('error', (e: NodeJS.ErrnoException) => resolve(new Error(`fork/exec ${resolved}: ${ERRNO_TEXT[e.code ?? ''] ?? e.message}`)));
      child.on('exit', (code, sig) => resolve(code ?? 128 + signalNumber(sig)));
    });
    child.stdin!.on('error', () => undefined); // the process may exit before reading its input
    return { child, exited };
  }

  /** Send the end of output on each stream and let the connections close. */
  private endOutput(stdio: WebSocketConnection, stderr: WebSocketConnection | null, control: WebSocketConnection | null): void {
    for (const ws of [stdio, stderr]) {
      if (!ws) continue;
      ws.send(END);
      ws.end();
    }
    control?.destroy();
  }

  /** stdio websocket -> process stdin: binary messages are data, {"command":"end"} is EOF. */
  private async pumpStdin(ws: WebSocketConnection, child: ChildProcess): Promise<void> {
    for (;;) {
      const m = await ws.receive();
      if (!m) break;
      if (m.binary) {
        child.stdin!.write(m.data);
        continue;
      }
      try {
        if ((JSON.parse(m.data.toString('utf8')) as { command?: unknown }).command === 'end') break;
      } catch {
        // Pebble logs an undecodable command and goes on.
      }
    }
    child.stdin!.end();
  }

  /** The control websocket: {"command":"signal","signal":{"name":"SIGHUP"}}; resize needs a terminal. */
  private async controlLoop(ws: WebSocketConnection, child: ChildProcess): Promise<void> {
    for (;;) {
      const m = await ws.receive();
      if (!m) break;
      let cmd: { command?: unknown; signal?: { name?: unknown } | null };
      try {
        cmd = JSON.parse(m.data.toString('utf8')) as typeof cmd;
      } catch {
        continue;
      }
      const name = cmd.signal?.name;
      if (cmd.command === 'signal' && typeof name === 'string' && /^SIG[A-Z0-9]+$/.test(name) && child.pid !== undefined) {
        tryKill(child.pid, name as NodeJS.Signals);
      }
    }
    // A client that vanished without closing (1006) takes its process with it.
    if (ws.closeCode === CLOSE_ABNORMAL && child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      tryKill(child.pid, 'SIGKILL');
    }
  }
}

function pumpOutput(stream: NodeJS.ReadableStream, ws: WebSocketConnection): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => ws.send(chunk));
    stream.on('end', () => resolve());
    stream.on('error', () => resolve());
  });
}

function tryKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already, or an unknown signal name (Pebble logs and goes on)
  }
}

/** Go's errno texts for what a spawn can fail with. */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  ENOTDIR: 'not a directory',
  EPERM: 'operation not permitted',
  ENOEXEC: 'exec format error',
};

function signalNumber(sig: NodeJS.Signals | null): number {
  return sig ? (osConstants.signals[sig] ?? 0) : 0;
}

/**
 * Kill the exec processes still running, with their sessions' process groups (emulator
 * teardown: a test run leaves nothing behind; Pebble's exec processes die with the container).
 */
export function killExecs(live: Set<ChildProcess>): void {
  for (const child of live) if (child.pid !== undefined) tryKill(-child.pid, 'SIGKILL');
  live.clear();
}
