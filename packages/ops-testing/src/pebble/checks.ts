// Health checks as Pebble's check manager runs them: a "perform-check" change per running check
// that probes every period and fails at the threshold (triggering on-check-failure actions),
// then a "recover-check" change that probes until one success brings the check back up.
// In run mode the probes are real (http, tcp, exec); in fake mode a test sets the outcome.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { execa } from 'execa';
import type { Change, StateEngine, Task } from './changes.js';
import type { Clock, ClockTimer } from './clock.js';
import { formatGoDuration, shlexSplit } from './gotext.js';
import { copyCheck, deepEqual, type CheckConfig, type PlanModel } from './layers.js';

export type CheckStatus = 'up' | 'down' | 'inactive';

export interface CheckInfoWire {
  name: string;
  level?: string;
  startup: 'enabled' | 'disabled';
  status: CheckStatus;
  successes: number;
  failures?: number;
  threshold: number;
  'change-id'?: string;
  'prev-change-id'?: string;
}

export interface CheckEvent {
  name: string;
  status: CheckStatus;
  previous: CheckStatus;
}

/** A probe failure; `details` is appended after "; " like Pebble's detailsError. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly details = '',
  ) {
    super(message);
  }
  get full(): string {
    return this.details ? `${this.message}; ${this.details}` : this.message;
  }
}

export interface CheckManagerOptions {
  engine: StateEngine;
  clock: Clock;
  /** Whether probes really run (run mode) or only tests decide (fake mode). */
  probing: boolean;
  env: Record<string, string>;
  mapPath: (p: string) => string;
  getPlan: () => PlanModel;
  onFailure: (check: string) => void;
  onEvent: (e: CheckEvent) => void;
}

interface CheckData {
  name: string;
  level: string;
  startup: 'enabled' | 'disabled';
  status: CheckStatus;
  successes: number;
  failures: number;
  threshold: number;
  changeId: string;
  prevChangeId: string;
}

/** One running perform-check or recover-check change and its probe loop. */
class CheckRun {
  timer: ClockTimer | null = null;
  inFlight = false;
  finished = false;
  /** Set by finish(); delivered to the task once its handler runs. */
  outcome: { error?: Error } | null = null;
  settle: ((outcome: { error?: Error }) => void) | null = null;
  task!: Task;

  constructor(
    readonly kind: 'perform' | 'recover',
    readonly config: CheckConfig,
    public successes: number,
    public failures: number,
    readonly change: Change,
  ) {}
}

const checkType = (c: CheckConfig) => (c.http ? 'HTTP' : c.tcp ? 'TCP' : c.exec ? 'exec' : '<unknown>');

function goNetError(err: NodeJS.ErrnoException, host: string, port: number | string): string {
  const addr = `${host}:${port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${host}: no such host`;
    case 'ECONNRESET':
      return `read tcp ${addr}: connection reset by peer`;
    default:
      return err.message;
  }
}

export class CheckManager {
  private readonly data = new Map<string, CheckData>();
  private readonly runs = new Map<string, CheckRun>();
  /** Probes in flight, aborted at teardown so no probe process outlives the emulator. */
  private readonly probes = new Set<AbortController>();

  constructor(private readonly o: CheckManagerOptions) {}

  infos(): CheckInfoWire[] {
    return [...this.data.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((d) => {
        // Key order and omitted fields as Pebble's checkInfo JSON.
        const info: Record<string, unknown> = { name: d.name };
        if (d.level) info['level'] = d.level;
        info['startup'] = d.startup;
        info['status'] = d.status;
        info['successes'] = d.successes;
        if (d.failures) info['failures'] = d.failures;
        info['threshold'] = d.threshold;
        if (d.changeId) info['change-id'] = d.changeId;
        if (d.prevChangeId) info['prev-change-id'] = d.prevChangeId;
        return info as unknown as CheckInfoWire;
      });
  }

  private update(config: CheckConfig, changeId: string, prevChangeId: string, successes: number, failures: number): void {
    const previous = this.data.get(config.name)?.status ?? 'inactive';
    const status: CheckStatus = changeId === '' ? 'inactive' : failures >= config.threshold ? 'down' : 'up';
    this.data.set(config.name, {
      name: config.name,
      level: config.level,
      startup: config.startup === 'disabled' ? 'disabled' : 'enabled',
      status,
      successes,
      failures,
      threshold: config.threshold,
      changeId,
      prevChangeId,
    });
    if (status !== previous) this.o.onEvent({ name: config.name, status, previous });
  }

  /** A check's config with the service context's environment, user and working dir merged in. */
  private merged(plan: PlanModel, config: CheckConfig): CheckConfig {
    if (!config.exec || config.exec.serviceContext === '') return config;
    const svc = plan.services.get(config.exec.serviceContext);
    if (!svc) return config;
    const c = copyCheck(config);
    const e = c.exec!;
    e.environment = { ...(svc.environment ?? {}), ...(config.exec.environment ?? {}) };
    e.userId = config.exec.userId ?? svc.userId;
    e.user = config.exec.user || svc.user;
    e.groupId = config.exec.groupId ?? svc.groupId;
    e.group = config.exec.group || svc.group;
    e.workingDir = config.exec.workingDir || svc.workingDir;
    return c;
  }

  /** Start a perform-check (or recover-check) change for a check. Returns the change id. */
  private startRun(kind: 'perform' | 'recover', config: CheckConfig, successes: number, failures: number): string {
    const title = kind === 'perform' ? 'Perform' : 'Recover';
    const summary = `${title} ${checkType(config)} check ${JSON.stringify(config.name)}`;
    // Their change-update notices carry the check's name (P:checkstate/request.go).
    const change = this.o.engine.newChange(`${kind}-check`, summary, { 'check-name': config.name });
    const run = new CheckRun(kind, config, successes, failures, change);
    const task = this.o.engine.newTask(`${kind}-check`, summary, (_t, signal) => {
      return new Promise<void>((resolve, reject) => {
        run.settle = (outcome) => (outcome.error ? reject(outcome.error) : resolve());
        if (run.outcome) return run.settle(run.outcome);
        signal.addEventListener('abort', () => this.finish(run), { once: true });
        this.arm(run);
      });
    });
    run.task = task;
    change.addTask(task);
    change.attrs['check-name'] = config.name;
    this.runs.set(change.id, run);
    change.onReady((c) => this.changeReady(run, c));
    this.o.engine.ensure();
    return change.id;
  }

  private arm(run: CheckRun): void {
    if (run.finished || !this.o.probing) return;
    run.timer = this.o.clock.setTimeout(() => void this.tick(run), run.config.period.ns / 1e6);
  }

  private finish(run: CheckRun, err?: Error): void {
    if (run.finished) return;
    run.finished = true;
    if (run.timer) this.o.clock.clearTimeout(run.timer);
    run.timer = null;
    this.runs.delete(run.change.id);
    run.outcome = err ? { error: err } : {};
    run.settle?.(run.outcome);
  }

  private async tick(run: CheckRun): Promise<void> {
    run.timer = null;
    if (run.finished) return;
    this.arm(run); // the next period is timed from this tick, like a ticker
    if (run.inFlight) return;
    run.inFlight = true;
    let error: ProbeError | null = null;
    try {
      await this.probe(run.config);
    } catch (e) {
      error = e instanceof ProbeError ? e : new ProbeError((e as Error).message);
    }
    run.inFlight = false;
    if (!run.finished) this.result(run, error);
  }

  /** Apply one probe outcome to a running check. */
  private result(run: CheckRun, error: ProbeError | null): void {
    const config = run.config;
    const changeId = run.change.id;
    const prev = this.data.get(config.name)?.prevChangeId ?? '';
    if (run.kind === 'perform') {
      if (error) {
        run.failures++;
        if (run.failures >= config.threshold) {
          // The change errors; changeReady opens the recover-check change and marks it down.
          this.o.onFailure(config.name);
          this.finish(run, new Error(error.full));
          return;
        }
        run.task.logf('ERROR', error.full);
        this.update(config, changeId, prev, run.successes, run.failures);
        return;
      }
      run.successes++;
      if (run.failures > 0) {
        const n = run.failures;
        run.failures = 0;
        run.task.logf('INFO', `succeeded after ${n} ${n === 1 ? 'failure' : 'failures'}`);
      }
      this.update(config, changeId, prev, run.successes, run.failures);
      return;
    }
    if (error) {
      run.failures++;
      this.update(config, changeId, prev, run.successes, run.failures);
      run.task.logf('ERROR', error.full);
      return;
    }
    run.successes = 1;
    run.failures = 0;
    this.finish(run);
  }

  private changeReady(run: CheckRun, change: Change): void {
    if (!run.finished) this.finish(run);
    if (this.data.get(run.config.name)?.changeId !== change.id) return; // stopped or replaced
    if (run.kind === 'perform' && change.status === 'Error') {
      const id = this.startRun('recover', run.config, run.successes, run.failures);
      this.update(run.config, id, change.id, run.successes, run.failures);
    } else if (run.kind === 'recover' && change.status === 'Done') {
      const id = this.startRun('perform', run.config, 1, 0);
      this.update(run.config, id, change.id, 1, 0);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Probes

  private probe(config: CheckConfig): Promise<void> {
    const timeoutMs = config.timeout.ns / 1e6;
    return new Promise<void>((resolve, reject) => {
      const ac = new AbortController();
      this.probes.add(ac);
      const timer = this.o.clock.setTimeout(() => {
        this.probes.delete(ac);
        ac.abort();
        reject(new ProbeError(`check timed out after ${formatGoDuration(config.timeout.ns)}`));
      }, timeoutMs);
      const done = (err?: Error) => {
        this.probes.delete(ac);
        this.o.clock.clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      let p: Promise<void>;
      if (config.http) p = this.probeHttp(config.http.url, config.http.headers ?? {}, ac.signal);
      else if (config.tcp) p = this.probeTcp(config.tcp.host || 'localhost', config.tcp.port, ac.signal);
      else if (config.exec) p = this.probeExec(this.merged(this.o.getPlan(), config), ac.signal);
      else p = Promise.reject(new ProbeError('invalid check config'));
      p.then(() => done(), (e: Error) => done(e));
    });
  }

  private probeHttp(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        reject(new ProbeError(`cannot build request: parse ${JSON.stringify(url)}: invalid URL`));
        return;
      }
      const mod = parsed.protocol === 'https:' ? https : http;
      const req = mod.get(parsed, { headers, signal, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 512) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code >= 200 && code <= 299) return resolve();
          let lines = Buffer.concat(chunks).subarray(0, 512).toString('utf8').trim().split('\n');
          if (lines.length > 5) lines = [...lines.slice(0, 5), '(...)'];
          reject(new ProbeError(`non-2xx status code ${code}`, lines.join('\n')));
        });
        res.on('error', (e) => reject(new ProbeError(e.message)));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (signal.aborted) return;
        const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
        reject(new ProbeError(`Get ${JSON.stringify(url)}: ${goNetError(e, parsed.hostname, port)}`));
      });
    });
  }

  private probeTcp(host: string, port: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const onAbort = () => sock.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      sock.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        sock.destroy();
        resolve();
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        signal.removeEventListener('abort', onAbort);
        reject(new ProbeError(goNetError(e, host, port)));
      });
    });
  }

  private async probeExec(config: CheckConfig, signal: AbortSignal): Promise<void> {
    const exec = config.exec!;
    let words: string[];
    try {
      words = shlexSplit(exec.command);
    } catch (e) {
      throw new ProbeError(`cannot parse command: ${(e as Error).message}`);
    }
    const [file, ...args] = words.map((w) => this.o.mapPath(w));
    if (file === undefined) throw new ProbeError('cannot parse command: empty command');
    const child = execa(file, args, {
      env: { ...this.o.env, ...(exec.environment ?? {}) },
      extendEnv: false,
      cwd: exec.workingDir ? this.o.mapPath(exec.workingDir) : undefined,
      all: true,
      reject: false,
      stdin: 'ignore',
      detached: true, // its own process group, killed whole on timeout or teardown
    });
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    signal.addEventListener('abort', killGroup, { once: true });
    const result = await child;
    signal.removeEventListener('abort', killGroup);
    if (signal.aborted) return;
    if (result.failed && result.exitCode === undefined) {
      throw new ProbeError(result.shortMessage ?? 'cannot run command');
    }
    if ((result.exitCode ?? 0) > 0) {
      const out = String(result.all ?? '').trim();
      let lines = out === '' ? [] : out.split('\n');
      if (lines.length > 5) lines = ['(...)', ...lines.slice(-5)];
      throw new ProbeError(`exit status ${result.exitCode}`, lines.join('\n'));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Plan changes and the API

  /** React to a new plan (P:checkstate PlanChanged): restart changed checks, add new ones. */
  planChanged(plan: PlanModel): void {
    const newOrModified = new Set<string>();
    const existing = new Set<string>();
    for (const run of [...this.runs.values()]) {
      const old = run.config;
      existing.add(old.name);
      const next = plan.checks.get(old.name);
      if (next) {
        if (deepEqual(old, this.merged(plan, next))) continue;
        if (next.startup === 'disabled' && (old.startup === 'enabled' || old.startup === '')) continue;
        newOrModified.add(old.name);
      }
      run.change.abort();
      this.finish(run);
      this.data.delete(old.name);
    }
    for (const config of plan.checks.values()) {
      if (existing.has(config.name)) continue;
      if (config.startup !== 'disabled') newOrModified.add(config.name);
      else this.update(config, '', '', 0, 0);
    }
    for (const name of [...this.data.keys()]) if (!plan.checks.has(name)) this.data.delete(name);
    for (const config of plan.checks.values()) {
      if (!newOrModified.has(config.name)) continue;
      const id = this.startRun('perform', this.merged(plan, config), 0, 0);
      this.update(config, id, '', 0, 0);
    }
  }

  /** Replan starts enabled checks that are not running (P:checkstate Replan). */
  replan(plan: PlanModel): void {
    for (const config of plan.checks.values()) {
      const d = this.data.get(config.name);
      if (!d || config.startup === 'disabled' || d.changeId !== '') continue;
      const id = this.startRun('perform', this.merged(plan, config), 0, 0);
      this.update(config, id, '', 0, 0);
    }
  }

  private missing(plan: PlanModel, names: string[]): string[] {
    return names.filter((n) => !plan.checks.has(n)).sort();
  }

  /** POST /v1/checks start. Throws `cannot find checks in plan: ...` for unknown names. */
  start(names: string[]): string[] {
    const plan = this.o.getPlan();
    const missing = this.missing(plan, names);
    if (missing.length) throw new ChecksNotFound(missing);
    const started: string[] = [];
    for (const name of names) {
      const d = this.data.get(name);
      if (!d || d.changeId !== '') continue;
      const config = plan.checks.get(name)!;
      const id = this.startRun('perform', this.merged(plan, config), 0, 0);
      this.update(config, id, '', 0, 0);
      started.push(name);
    }
    return started;
  }

  /** POST /v1/checks stop. */
  stop(names: string[]): string[] {
    const plan = this.o.getPlan();
    const missing = this.missing(plan, names);
    if (missing.length) throw new ChecksNotFound(missing);
    const stopped: string[] = [];
    for (const name of names) {
      const d = this.data.get(name);
      if (!d || d.changeId === '') continue;
      const change = this.o.engine.changes.get(d.changeId);
      if (change) {
        const run = this.runs.get(change.id);
        change.abort();
        if (run) this.finish(run);
        stopped.push(name);
      }
      this.update(plan.checks.get(name)!, '', d.prevChangeId, d.successes, d.failures);
    }
    return stopped;
  }

  /** Fake mode: force a running check up or down, with the same effects as real probes. */
  force(name: string, status: 'up' | 'down', reason: string): void {
    const d = this.data.get(name);
    if (!d) throw new Error(`check ${JSON.stringify(name)} is not in the plan`);
    if (d.changeId === '') throw new Error(`check ${JSON.stringify(name)} is not running (status inactive)`);
    const run = this.runs.get(d.changeId);
    if (!run) throw new Error(`check ${JSON.stringify(name)} has no running change`);
    if (status === 'down') {
      if (run.kind === 'recover') return;
      // Fail the remaining attempts up to the threshold at once.
      while (!run.finished) this.result(run, new ProbeError(reason));
    } else {
      if (run.kind === 'perform') return;
      this.result(run, null);
    }
  }

  /** Stop every probe loop and in-flight probe (emulator teardown). */
  stopAll(): void {
    for (const run of [...this.runs.values()]) this.finish(run);
    for (const ac of this.probes) ac.abort();
    this.probes.clear();
  }
}

export class ChecksNotFound extends Error {
  constructor(readonly names: string[]) {
    super(`cannot find checks in plan: ${names.join(', ')}`);
  }
}
