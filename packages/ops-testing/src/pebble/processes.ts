// How the emulator runs a service's command: for real with execa (run mode), or as a fake
// process that lives until a test ends it (fake mode). Both report output and exit the same way,
// so the supervision state machine above them does not know which one it drives.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface LaunchSpec {
  /** Service name, for messages. */
  name: string;
  /** Words of the command, already path-mapped. argv[0] is what to execute. */
  argv: string[];
  /** The container-side argv[0] and working dir, for Pebble-like error texts. */
  displayArgv0: string;
  displayWorkingDir: string;
  env: Record<string, string>;
  /**
   * The PATH a bare command name is looked up in: the emulated daemon's own, not the service's
   * environment (Pebble's exec.Command looks the name up before the environment is set).
   */
  lookupPath: string;
  /** Run as this uid/gid (Pebble sets SysProcAttr.Credential when it is not the daemon's own). */
  credential?: { uid: number; gid: number };
  /** Host working directory ('' = the emulator's own). */
  cwd: string;
}

export interface LaunchHooks {
  onOutput(chunk: Buffer): void;
  /** The process exited: its code, or 128 + signal number when killed (Pebble's reaper). */
  onExit(code: number): void;
}

export interface ProcessHandle {
  readonly pid: number | undefined;
  /** Signal the whole process group. */
  signal(sig: 'SIGTERM' | 'SIGKILL'): void;
  /** Send a signal to the process itself (POST /v1/signals: Pebble kills the pid, not the group). */
  kill(sig: NodeJS.Signals): void;
  readonly exited: boolean;
}

export interface Launcher {
  /** Start a process. Throws an Error with Pebble's text when it cannot be started. */
  launch(spec: LaunchSpec, hooks: LaunchHooks): ProcessHandle;
  /** SIGTERM every live process group, SIGKILL what is left after `graceMs`, wait for exits. */
  killAll(graceMs: number): Promise<void>;
  /** Number of live processes. */
  readonly liveCount: number;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

function signalNumber(sig: string | null): number {
  if (!sig) return 0;
  return SIGNALS[sig] ?? 0;
}

/** Resolve an executable as Go's exec.LookPath would, using the emulated Pebble's PATH. */
export function lookPath(file: string, pathEnv: string, cwd: string): string {
  const isExec = (p: string) => {
    try {
      const st = statSync(p);
      if (st.isDirectory()) return false;
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (file.includes('/')) return path.resolve(cwd || process.cwd(), file);
  for (const dir of pathEnv.split(':')) {
    const candidate = path.join(dir === '' ? '.' : dir, file);
    if (isExec(candidate)) return path.resolve(candidate);
  }
  throw new Error(`exec: ${JSON.stringify(file)}: executable file not found in $PATH`);
}

/** Go's exec.Command: a bare name is looked up in PATH (its error comes first); a path is kept. */
function resolveCommand(spec: LaunchSpec, file: string): string {
  if (file.includes('/')) return path.resolve(spec.cwd || process.cwd(), file);
  try {
    return lookPath(file, spec.lookupPath, spec.cwd);
  } catch (e) {
    throw new Error(`cannot start service: ${(e as Error).message.replace(JSON.stringify(file), JSON.stringify(spec.displayArgv0))}`);
  }
}

/** Go's PathError from os.StartProcess: "fork/exec <path as exec.Command resolved it>: <errno>". */
function forkExecError(spec: LaunchSpec, file: string, resolved: string): (why: string) => Error {
  const shown = file.includes('/') ? spec.displayArgv0 : resolved;
  return (why) => new Error(`cannot start service: fork/exec ${shown}: ${why}`);
}

/**
 * The forked child sets its groups, gid and uid before anything else; only root may switch to
 * another user, so anyone else fails with EPERM (Go's forkExec, setgroups/setgid/setuid).
 */
function checkCredential(spec: LaunchSpec, file: string, resolved: string): void {
  if (spec.credential && process.getuid?.() !== 0) throw forkExecError(spec, file, resolved)('operation not permitted');
}

/**
 * What the forked child would hit: chdir into working-dir, then execve. Pebble sets SysProcAttr,
 * so Go's os.StartProcess skips its friendlier "chdir <dir>" pre-check and both failures read
 * "fork/exec <command path>: <errno>" (the path as exec.Command resolved it).
 */
function checkSpawnable(spec: LaunchSpec, file: string, resolved: string): void {
  const fail = forkExecError(spec, file, resolved);
  if (spec.cwd) {
    let st;
    try {
      st = statSync(spec.cwd);
    } catch (e) {
      throw fail((e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : 'no such file or directory');
    }
    if (!st.isDirectory()) throw fail('not a directory');
  }
  try {
    accessSync(resolved, constants.X_OK);
  } catch (e) {
    throw fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : 'permission denied');
  }
}

// Every live real process group, so that a crashing test run does not leave orphans behind.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

interface RealProc extends ProcessHandle {
  exitPromise: Promise<void>;
}

/** Runs commands for real, each in its own process group, with execa. */
export class ExecaLauncher implements Launcher {
  private readonly live = new Set<RealProc>();

  get liveCount(): number {
    return this.live.size;
  }

  launch(spec: LaunchSpec, hooks: LaunchHooks): ProcessHandle {
    const [file, ...args] = spec.argv;
    if (file === undefined) throw new Error('cannot start service: empty command');
    const resolved = resolveCommand(spec, file);
    checkCredential(spec, file, resolved);
    checkSpawnable(spec, file, resolved);
    const child = execa(resolved, args, {
      env: spec.env,
      extendEnv: false,
      cwd: spec.cwd || undefined,
      detached: true, // own process group (and session), like Pebble's Setpgid
      ...(spec.credential ?? {}),
      stdin: 'ignore',
      buffer: false,
      reject: false,
      cleanup: false,
      stripFinalNewline: false,
    });
    // The promise settles on its own; keep it from reporting an unhandled rejection.
    void Promise.resolve(child).catch(() => undefined);
    const pid = child.pid;
    let exited = false;
    let resolveExit!: () => void;
    const exitPromise = new Promise<void>((r) => (resolveExit = r));
    const proc: RealProc = {
      pid,
      get exited() {
        return exited;
      },
      kill(sig) {
        if (exited || pid === undefined) return;
        try {
          process.kill(pid, sig);
        } catch {
          // Gone already.
        }
      },
      signal(sig) {
        if (exited || pid === undefined) return;
        try {
          process.kill(-pid, sig);
        } catch {
          // The group may already be gone.
        }
      },
      exitPromise,
    };
    const finish = (code: number) => {
      if (exited) return;
      exited = true;
      this.live.delete(proc);
      if (pid !== undefined) liveGroups.delete(pid);
      resolveExit();
      hooks.onExit(code);
    };
    child.stdout?.on('data', (c: Buffer) => hooks.onOutput(c));
    child.stderr?.on('data', (c: Buffer) => hooks.onOutput(c));
    // Report the exit once the output pipes are drained (Go's cmd.Wait does the same), so a
    // failed start can quote the last lines. A grandchild holding the pipes open must not delay
    // it forever: give up waiting after a second.
    child.on('exit', (code, sig) => {
      const status = code ?? 128 + signalNumber(sig);
      if (pid !== undefined) {
        // Pebble signals whole groups; make sure no stray member outlives its leader here.
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // none left
        }
      }
      setTimeout(() => finish(status), 1000).unref();
    });
    child.on('close', (code, sig) => finish(code ?? 128 + signalNumber(sig)));
    child.on('error', (err) => {
      if (pid === undefined) {
        hooks.onOutput(Buffer.from(`${err.message}\n`));
        finish(127);
      }
    });
    if (pid !== undefined) {
      installExitHook();
      liveGroups.add(pid);
    }
    this.live.add(proc);
    return proc;
  }

  async killAll(graceMs: number): Promise<void> {
    const procs = [...this.live];
    if (procs.length === 0) return;
    for (const p of procs) p.signal('SIGTERM');
    const all = Promise.all(procs.map((p) => p.exitPromise));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
    ]);
    if (timer) clearTimeout(timer);
    if (timedOut) {
      for (const p of procs) p.signal('SIGKILL');
      await all;
    }
  }
}

/** A process that never runs: it lives until signalled or until a test makes it exit. */
export class FakeProcess implements ProcessHandle {
  private done = false;
  /** Whether the fake process ignores SIGTERM (to exercise the SIGKILL path). */
  ignoreTerm = false;

  constructor(
    readonly pid: number,
    private readonly hooks: LaunchHooks,
    private readonly onGone: (p: FakeProcess) => void,
  ) {}

  get exited(): boolean {
    return this.done;
  }

  /** Signals sent with POST /v1/signals, in order (a fake process does not act on them). */
  readonly received: NodeJS.Signals[] = [];

  kill(sig: NodeJS.Signals): void {
    if (!this.done) this.received.push(sig);
  }

  signal(sig: 'SIGTERM' | 'SIGKILL'): void {
    if (this.done) return;
    if (sig === 'SIGTERM' && this.ignoreTerm) return;
    queueMicrotask(() => this.exit(128 + signalNumber(sig)));
  }

  /** End the fake process with an exit code, as if the workload exited. */
  exit(code: number): void {
    if (this.done) return;
    this.done = true;
    this.onGone(this);
    this.hooks.onExit(code);
  }

  /** Forget the process without reporting an exit (used when a test sets a status directly). */
  detach(): void {
    if (this.done) return;
    this.done = true;
    this.onGone(this);
  }

  /** Feed output as if the workload wrote it. */
  write(text: string): void {
    if (!this.done) this.hooks.onOutput(Buffer.from(text));
  }
}

export class FakeLauncher implements Launcher {
  private nextPid = 100_000;
  private readonly live = new Set<FakeProcess>();

  get liveCount(): number {
    return this.live.size;
  }

  launch(spec: LaunchSpec, hooks: LaunchHooks): FakeProcess {
    if (spec.argv.length === 0) throw new Error('cannot start service: empty command');
    const p = new FakeProcess(this.nextPid++, hooks, (gone) => this.live.delete(gone));
    this.live.add(p);
    return p;
  }

  async killAll(): Promise<void> {
    for (const p of [...this.live]) p.exit(128 + 9);
  }
}

// ---------------------------------------------------------------------------------------------

const PREFIX_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[[^\]]+\] /;

/**
 * Where the last `k` lines of `text` start, counted as Pebble's RingBuffer.reverseLinePosition
 * does: walking back from the end, the trailing newline closes the last line, and the walk stops
 * at the newline that closes the line before the k lines.
 */
function tailStart(text: string, k: number): number {
  let newlines = -1;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === '\n') newlines++;
    if (newlines === k) return i + 1;
  }
  return text.startsWith('\n') ? 1 : 0;
}

/**
 * A service's output, kept as Pebble keeps it: each line prefixed with a timestamp and the
 * service name, in a buffer bounded to `maxBytes` (oldest lines dropped first).
 */
export class OutputBuffer {
  private lines: string[] = [];
  private partial = '';
  private size = 0;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(
    private readonly serviceName: string,
    private readonly now: () => number,
    private readonly maxBytes = 100 * 1024,
  ) {}

  write(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let rest = text;
    while (rest.length) {
      if (this.partial === '') this.partial = `${new Date(this.now()).toISOString()} [${this.serviceName}] `;
      const nl = rest.indexOf('\n');
      if (nl < 0) {
        this.partial += rest;
        break;
      }
      this.push(this.partial + rest.slice(0, nl + 1));
      this.partial = '';
      rest = rest.slice(nl + 1);
    }
  }

  /** Call `fn` with each line (with its prefix) once it is complete; returns the unsubscribe. */
  subscribe(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private push(line: string): void {
    for (const fn of [...this.listeners]) fn(line);
    this.lines.push(line);
    this.size += Buffer.byteLength(line);
    while (this.size > this.maxBytes && this.lines.length > 1) this.size -= Buffer.byteLength(this.lines.shift()!);
  }

  /** Lines with Pebble's "<time> [name] " prefix, as `pebble logs` shows them. */
  formatted(): string {
    return this.lines.join('') + this.partial;
  }

  /**
   * The formatted text of the last `n` lines as RingBuffer.HeadIterator(n) gives it; n < 0: all.
   * `complete`: without an unfinished last line (a follower gets it once it is finished).
   */
  head(n: number, complete = false): string {
    const all = complete ? this.lines.join('') : this.formatted();
    return n < 0 ? all : all.slice(tailStart(all, n));
  }

  /** The raw output (prefixes removed). */
  text(): string {
    return (this.lines.join('') + this.partial)
      .split('\n')
      .map((l) => l.replace(PREFIX_RE, ''))
      .join('\n');
  }

  /**
   * Pebble's servicelog.LastLines(n, indent, stripPrefix): the text after the (n+1)th newline
   * from the end (so n lines, or n+1 when the last line is unfinished), trimmed of surrounding
   * whitespace as one string, "(...)" in place of the first line when more than n remain, then
   * each line's prefix stripped and the indent added. Never empty: no output gives the indent.
   */
  lastLines(n: number, indent: string): string {
    const all = this.formatted();
    const lines = all.slice(tailStart(all, n + 1)).trim().split('\n');
    if (lines.length > n) lines[0] = '(...)';
    return lines.map((l) => indent + l.replace(PREFIX_RE, '')).join('\n');
  }
}
