/**
 * Runs hook tools through one long-lived `/bin/sh`, started on the first call.
 *
 * Why: each process Node spawns is a fork of the whole Node process. The kernel copies its page
 * tables, the child tears that copy down again at exec, and the parent then takes a copy-on-write
 * fault on every page it writes until the next call. Measured with `perf` in the synchronizer's
 * config-changed, that was about a tenth of the hook's CPU time for its ten calls. A shell is a
 * few hundred KB: forking it costs next to nothing, so the hook forks Node once and the shell
 * forks every tool.
 *
 * Protocol: the shell reads commands from its stdin. Each call is one command line: the tool with
 * its arguments single-quoted (so the shell expands nothing), its stdin from /dev/null or a
 * here-document, then an end marker on stdout (`\n<token> <exit status>\n`) and one on stderr
 * (`\n<token>\n`). The token is 128 random bits chosen per call, so no output can contain it by
 * accident and a tool cannot forge it. Calls run one at a time, in the order asked; a tool's
 * output is exact, byte for byte. A here-document ends with a newline, so input that does not
 * gets one (tools read their input as YAML or JSON, where it makes no difference).
 */
import type { ChildProcess } from 'node:child_process';
import type { ToolResult, ToolRunner } from './backend.js';
import { signalName } from './signals.js';
import { urandom } from './urandom.js';

interface Pending {
  tool: string;
  token: string;
  resolve: (r: ToolResult) => void;
}

/**
 * One output stream of the shell for the current call. The call's end marker is the last thing
 * written (the next command is only sent after), so only the last bytes are searched and the
 * chunks are joined once, however long the output.
 */
class Capture {
  private chunks: Buffer[] = [];
  private tail = '';

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.tail = (this.tail + chunk.toString('latin1')).slice(-96);
  }

  /** Whether the stream now ends with the call's marker: `\n<token>`, anything, a newline. */
  ended(token: string): boolean {
    const at = this.tail.lastIndexOf(`\n${token}`);
    return at >= 0 && this.tail.endsWith('\n') && this.tail.length - at > token.length + 1;
  }

  /** The output before the marker, and what follows the token (the exit status on stdout). */
  take(token: string): { output: Buffer; rest: string } {
    const all = Buffer.concat(this.chunks);
    const cut = all.length - (this.tail.length - this.tail.lastIndexOf(`\n${token}`));
    this.chunks = [];
    this.tail = '';
    return { output: all.subarray(0, cut), rest: all.subarray(cut + 1 + token.length).toString('latin1') };
  }
}

export class ShellToolRunner implements ToolRunner {
  private shell: ChildProcess | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Pending | undefined;
  private out = new Capture();
  private err = new Capture();

  constructor(private readonly options: { env?: Record<string, string | undefined>; cwd?: string } = {}) {}

  run(tool: string, args: readonly string[], options: { input?: string } = {}): Promise<ToolResult> {
    const result = this.queue.then(() => this.runNow(tool, args, options.input));
    this.queue = result.catch(() => {});
    return result;
  }

  private async runNow(tool: string, args: readonly string[], input: string | undefined): Promise<ToolResult> {
    if (!/^[a-z][a-z0-9-]*$/.test(tool)) throw new TypeError(`"${tool}" is not a hook tool's name`);
    const shell = this.shell ?? (await this.start());
    const token = `T${urandom(16).toString('hex')}`;
    const stdin = input === undefined ? '</dev/null' : `<<'${token}'\n${input}${input.endsWith('\n') ? '' : '\n'}${token}`;
    const command = `${[tool, ...args].map(quote).join(' ')} ${stdin}\nprintf '\\n%s %d\\n' ${token} $?; printf '\\n%s\\n' ${token} >&2\n`;
    return new Promise<ToolResult>((resolve) => {
      this.pending = { tool, token, resolve };
      setRef(shell, true);
      shell.stdin!.write(command);
    });
  }

  /** The shell, its output read as it comes; it holds no event-loop reference while idle. */
  private async start(): Promise<ChildProcess> {
    const { spawn } = await import('node:child_process');
    const shell = spawn('/bin/sh', ['-s'], { env: this.options.env, cwd: this.options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    shell.stdout!.on('data', (b: Buffer) => {
      this.out.add(b);
      this.settle();
    });
    shell.stderr!.on('data', (b: Buffer) => {
      this.err.add(b);
      this.settle();
    });
    shell.stdin!.on('error', () => {}); // a dead shell is reported by 'close'
    const ended = (why: string) => this.shell === shell && this.fail(why);
    shell.on('error', (e) => ended(`the shell that runs hook tools could not be started (${e.message})`));
    shell.on('close', (code, signal) => ended(`the shell that runs hook tools ended (${signal ?? `exit ${code}`})`));
    this.shell = shell;
    setRef(shell, false);
    return shell;
  }

  /** Resolve the pending call once both end markers are in. */
  private settle(): void {
    const p = this.pending;
    if (!p) return;
    if (!this.out.ended(p.token) || !this.err.ended(p.token)) return;
    const out = this.out.take(p.token);
    const err = this.err.take(p.token);
    this.pending = undefined;
    setRef(this.shell!, false);
    p.resolve(outcome(p.tool, Number(out.rest.trim()), out.output.toString('utf8'), err.output.toString('utf8')));
  }

  private fail(why: string): void {
    this.shell = undefined;
    this.out = new Capture();
    this.err = new Capture();
    const p = this.pending;
    this.pending = undefined;
    p?.resolve({ exitCode: 1, stdout: '', stderr: `hook tool "${p.tool}" did not finish: ${why}\n` });
  }
}

/**
 * The shell's exit status, read as ProcessToolRunner reports a spawn: 127 and 126 with the shell's
 * own message are a tool it could not find or start (POSIX 2.9.1.1), above 128 a signal (2.8.2).
 */
function outcome(tool: string, status: number, stdout: string, stderr: string): ToolResult {
  // What the shell itself says: "/bin/sh: 1: <tool>: not found" (dash), "... command not found" (bash).
  const shellSaid = (status === 126 || status === 127) && stderr.includes(`${tool}: `);
  const reason = shellSaid ? /: ([^:\n]+)\n?$/.exec(stderr)?.[1] : undefined;
  if (reason && /not found/i.test(reason)) {
    return { exitCode: 127, stdout: '', stderr: `hook tool "${tool}" not found on PATH; charms must run under Juju or the simulator, which put the hook tools on PATH` };
  }
  if (reason) return { exitCode: status, stdout: '', stderr: `hook tool "${tool}" could not be started (${reason})` };
  if (status > 128) return { exitCode: 1, stdout, stderr: `${stderr}hook tool "${tool}" was killed by ${signalName(status - 128) ?? `signal ${status - 128}`}\n` };
  return { exitCode: status, stdout, stderr };
}

/** Single quotes: the shell takes everything inside literally, a quote itself is `'\''`. */
function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Keep the event loop alive only while a call is pending; an idle shell must not hold the hook open. */
function setRef(shell: ChildProcess, on: boolean): void {
  for (const s of [shell.stdin, shell.stdout, shell.stderr]) {
    const h = s as unknown as { ref?: () => void; unref?: () => void } | null;
    if (on) h?.ref?.();
    else h?.unref?.();
  }
  if (on) shell.ref();
  else shell.unref();
}
