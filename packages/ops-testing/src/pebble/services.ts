// Service supervision as Pebble's service manager does it (pebble-charmcraft.md 1.7-1.8): the
// per-service state machine (initial, starting, running, terminating, killing, stopped, backoff,
// exited), the okay-delay, on-success/on-failure/on-check-failure actions, backoff with factor,
// limit and jitter, the backoff reset, SIGTERM then kill-delay then SIGKILL, the start/stop task
// handlers with their "already started" logs, and replan's config-snapshot comparison.
import { constants as osConstants } from 'node:os';
import type { Clock, ClockTimer } from './clock.js';
import type { Task } from './changes.js';
import { formatMs, parseServiceCommand } from './gotext.js';
import { copyService, deepEqual, type PlanModel, type ServiceConfig } from './layers.js';
import { OutputBuffer, type Launcher, type ProcessHandle } from './processes.js';
import { UserDb, isCurrent, normalizeUidGid } from './users.js';

export type ServiceState = 'initial' | 'starting' | 'running' | 'terminating' | 'killing' | 'stopped' | 'backoff' | 'exited';
export type ServiceCurrent = 'active' | 'inactive' | 'backoff' | 'error';

/** State -> the API's `current` (P:servstate/manager.go stateToStatus). */
export function stateToCurrent(state: ServiceState): ServiceCurrent {
  switch (state) {
    case 'starting':
    case 'running':
      return 'active';
    case 'terminating':
    case 'killing':
    case 'stopped':
      return 'inactive';
    case 'backoff':
      return 'backoff';
    default:
      return 'error';
  }
}

/** A value channel like Go's buffered chan: sends queue until received. */
class Chan<T> {
  private readonly queue: T[] = [];
  private readonly waiters: Array<(v: T) => void> = [];

  send(v: T): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.queue.push(v);
  }

  recv(signal?: AbortSignal): Promise<T | typeof ABORTED> {
    if (this.queue.length) return Promise.resolve(this.queue.shift() as T);
    return new Promise((resolve) => {
      const waiter = (v: T) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(ABORTED);
      };
      if (signal?.aborted) return resolve(ABORTED);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}
const ABORTED = Symbol('aborted');

export interface ServiceEvent {
  name: string;
  state: ServiceState;
  previous: ServiceState;
  current: ServiceCurrent;
  /** The delay before the next restart, when entering backoff. */
  backoffDelayMs?: number;
  /** The exit code, when the state change follows a process exit. */
  exitCode?: number;
}

export type ShutdownKind = 'success' | 'failure' | 'check-failure';

export interface ServiceManagerOptions {
  clock: Clock;
  launcher: Launcher;
  getPlan: () => PlanModel;
  /** The emulated Pebble's own environment; a service's environment is added to it. */
  env: Record<string, string>;
  okayDelayMs: number;
  killDelayDefaultMs: number;
  failDelayMs: number;
  /** Jitter as a fraction of the backoff delay (Pebble: uniform in [0, 0.1)). */
  jitter: () => number;
  /** Maps a command word or working dir from container paths to host paths. */
  mapPath: (p: string) => string;
  outputBufferBytes: number;
  /** Where service users and groups are looked up (default: the host's /etc/passwd and /etc/group). */
  userDb?: UserDb;
  onEvent: (e: ServiceEvent) => void;
  onShutdown: (kind: ShutdownKind, service: string) => void;
}

export class ServiceData {
  state: ServiceState = 'initial';
  proc: ProcessHandle | null = null;
  readonly started = new Chan<Error | null>();
  readonly stopped = new Chan<Error | null>();
  backoffNum = 0;
  /** The current backoff delay in ns (0 = none yet). */
  backoffTimeNs = 0;
  restarting = false;
  currentSince = 0;
  startCount = 0;
  resetTimer: ClockTimer | null = null;
  stateTimer: ClockTimer | null = null;

  constructor(
    public config: ServiceConfig,
    readonly logs: OutputBuffer,
  ) {}

  get name(): string {
    return this.config.name;
  }
}

/** What GET /v1/services reports for one service (wire shape). */
export interface ServiceInfoWire {
  name: string;
  startup: 'enabled' | 'disabled';
  current: ServiceCurrent;
  'current-since'?: string;
}

export class ServiceManager {
  readonly services = new Map<string, ServiceData>();
  /** Set at teardown: exits are no longer acted on, so nothing restarts. */
  private disposed = false;

  private readonly userDb: UserDb;

  constructor(private readonly o: ServiceManagerOptions) {
    this.userDb = o.userDb ?? new UserDb();
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  infos(names: string[] = []): ServiceInfoWire[] {
    const plan = this.o.getPlan();
    const wanted = new Set(names);
    const out: ServiceInfoWire[] = [];
    for (const [name, config] of plan.services) {
      if (wanted.size && !wanted.has(name)) continue;
      const info: ServiceInfoWire = {
        name,
        startup: config.startup === 'enabled' ? 'enabled' : 'disabled',
        current: 'inactive',
      };
      const s = this.services.get(name);
      if (s) {
        info.current = stateToCurrent(s.state);
        if (s.currentSince) info['current-since'] = new Date(s.currentSince).toISOString();
      }
      out.push(info);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // -------------------------------------------------------------------------------------------
  // State machine

  private transition(s: ServiceData, state: ServiceState, extra: Partial<ServiceEvent> = {}, restarting = false): void {
    const previous = s.state;
    if (stateToCurrent(previous) !== stateToCurrent(state) || s.currentSince === 0) s.currentSince = this.o.clock.now();
    if (s.stateTimer && previous !== state && !(previous === 'terminating' && state === 'killing')) {
      this.o.clock.clearTimeout(s.stateTimer);
      s.stateTimer = null;
    }
    s.state = state;
    s.restarting = restarting;
    this.o.onEvent({ name: s.name, state, previous, current: stateToCurrent(state), ...extra });
  }

  private newService(config: ServiceConfig): ServiceData {
    const s = new ServiceData(copyService(config), new OutputBuffer(config.name, () => this.o.clock.now(), this.o.outputBufferBytes));
    this.services.set(config.name, s);
    return s;
  }

  /** Launch the process (P:servstate startInternal). Throws Pebble's "cannot start service" errors. */
  private startInternal(s: ServiceData): void {
    const { base, extra } = parseServiceCommand(s.name, s.config.command);
    const words = [...base, ...extra];
    // Container paths in the service environment are mapped like command words (run mode).
    const serviceEnv = Object.fromEntries(Object.entries(s.config.environment ?? {}).map(([k, v]) => [k, v.startsWith('/') ? this.o.mapPath(v) : v]));
    const env = { ...this.o.env, ...serviceEnv };
    // Pebble resolves the user before starting; these errors are not "cannot start service".
    const ids = normalizeUidGid(this.userDb, s.config.userId, s.config.groupId, s.config.user, s.config.group);
    if (ids) {
      // HOME and USER come from the user's entry unless the service environment sets them.
      const entry = this.userDb.userById(ids.uid);
      if (entry && !serviceEnv['HOME']) env['HOME'] = entry.home;
      if (entry && !serviceEnv['USER']) env['USER'] = entry.name;
    }
    const proc = this.o.launcher.launch(
      {
        name: s.name,
        argv: words.map((w) => this.o.mapPath(w)),
        displayArgv0: words[0] ?? '',
        displayWorkingDir: s.config.workingDir,
        env,
        lookupPath: this.o.env['PATH'] ?? '',
        ...(ids && !isCurrent(ids) ? { credential: ids } : {}),
        cwd: s.config.workingDir ? this.o.mapPath(s.config.workingDir) : '',
      },
      {
        onOutput: (chunk) => s.logs.write(chunk),
        onExit: (code) => {
          if (s.proc === proc) this.exited(s, code);
        },
      },
    );
    s.proc = proc;
    if (s.resetTimer) this.o.clock.clearTimeout(s.resetTimer);
    s.resetTimer = this.o.clock.setTimeout(() => this.backoffResetElapsed(s), s.config.backoffLimit.ns / 1e6);
    s.startCount++;
  }

  /** Start from `initial`: launch, then wait out the okay-delay. */
  private start(s: ServiceData): void {
    if (s.state !== 'initial') throw new Error(`cannot start service while ${s.state}`);
    try {
      this.startInternal(s);
    } catch (e) {
      this.transition(s, 'stopped');
      throw e;
    }
    this.transition(s, 'starting');
    if (this.o.okayDelayMs <= 0) this.okayWaitElapsed(s);
    else s.stateTimer = this.o.clock.setTimeout(() => this.okayWaitElapsed(s), this.o.okayDelayMs);
  }

  private okayWaitElapsed(s: ServiceData): void {
    if (s.state !== 'starting') return;
    s.started.send(null);
    this.transition(s, 'running');
  }

  private action(config: ServiceConfig, success: boolean): { action: string; onType: string } {
    const action = (success ? config.onSuccess : config.onFailure) || 'restart';
    return { action, onType: success ? 'on-success' : 'on-failure' };
  }

  /** The process exited (P:servstate exited). */
  private exited(s: ServiceData, code: number): void {
    if (this.disposed) return;
    if (s.resetTimer) {
      this.o.clock.clearTimeout(s.resetTimer);
      s.resetTimer = null;
    }
    switch (s.state) {
      case 'starting':
      case 'running': {
        const { action } = this.action(s.config, code === 0);
        if (s.state === 'starting') s.started.send(new Error(`exited quickly with code ${code}, will ${action}`));
        switch (action) {
          case 'ignore':
            this.transition(s, code === 0 ? 'stopped' : 'exited', { exitCode: code });
            break;
          case 'shutdown':
            this.transition(s, 'exited', { exitCode: code });
            this.o.onShutdown(code === 0 ? 'success' : 'failure', s.name);
            break;
          case 'success-shutdown':
            this.transition(s, 'exited', { exitCode: code });
            this.o.onShutdown('success', s.name);
            break;
          case 'failure-shutdown':
            this.transition(s, 'exited', { exitCode: code });
            this.o.onShutdown('failure', s.name);
            break;
          default:
            this.doBackoff(s, code);
        }
        break;
      }
      case 'terminating':
      case 'killing':
        if (s.restarting) this.doBackoff(s, code);
        else {
          s.stopped.send(null);
          this.transition(s, 'stopped', { exitCode: code });
        }
        break;
      default:
        // stopped (SIGKILL after an aborted start) or other: nothing to do.
        break;
    }
  }

  private nextBackoffNs(config: ServiceConfig, current: number): number {
    if (current === 0) return config.backoffDelay.ns;
    if (current >= config.backoffLimit.ns) return config.backoffLimit.ns;
    return Math.min(current * config.backoffFactor.value, config.backoffLimit.ns);
  }

  private doBackoff(s: ServiceData, exitCode?: number): void {
    s.backoffNum++;
    s.backoffTimeNs = this.nextBackoffNs(s.config, s.backoffTimeNs);
    const delayMs = (s.backoffTimeNs + s.backoffTimeNs * this.o.jitter()) / 1e6;
    this.transition(s, 'backoff', { backoffDelayMs: delayMs, ...(exitCode === undefined ? {} : { exitCode }) });
    s.stateTimer = this.o.clock.setTimeout(() => this.backoffTimeElapsed(s), delayMs);
  }

  private backoffTimeElapsed(s: ServiceData): void {
    if (s.state !== 'backoff') return;
    s.stateTimer = null;
    try {
      this.startInternal(s);
    } catch (e) {
      // Pebble logs this and leaves the service in backoff.
      s.logs.write(`${(e as Error).message}\n`);
      return;
    }
    this.transition(s, 'running');
  }

  private backoffResetElapsed(s: ServiceData): void {
    s.resetTimer = null;
    if (s.state !== 'running') return;
    s.backoffNum = 0;
    s.backoffTimeNs = 0;
  }

  private killDelayMs(s: ServiceData): number {
    return s.config.killDelay.set ? s.config.killDelay.ns / 1e6 : this.o.killDelayDefaultMs;
  }

  /** SIGTERM the group, then SIGKILL after kill-delay (P:servstate stop). */
  private stop(s: ServiceData): void {
    switch (s.state) {
      case 'starting':
      case 'running':
        if (s.state === 'starting') s.started.send(new Error(`stopped before the ${formatMs(this.o.okayDelayMs)} okay delay`));
        s.proc?.signal('SIGTERM');
        this.transition(s, 'terminating');
        s.stateTimer = this.o.clock.setTimeout(() => this.terminateTimeElapsed(s), this.killDelayMs(s));
        break;
      case 'backoff':
        s.stopped.send(null);
        this.transition(s, 'stopped');
        break;
      default:
        throw new Error(`cannot stop service while ${s.state}`);
    }
  }

  private terminateTimeElapsed(s: ServiceData): void {
    if (s.state !== 'terminating') return;
    s.proc?.signal('SIGKILL');
    this.transition(s, 'killing', {}, s.restarting);
    s.stateTimer = this.o.clock.setTimeout(() => this.killTimeElapsed(s), this.o.failDelayMs);
  }

  private killTimeElapsed(s: ServiceData): void {
    if (s.state !== 'killing') return;
    if (!s.restarting) s.stopped.send(new Error('process still running after SIGTERM and SIGKILL'));
    this.transition(s, 'stopped');
  }

  /** A health check hit its threshold: apply each service's on-check-failure action. */
  checkFailed(checkName: string): void {
    for (const s of this.services.values()) {
      const action = s.config.onCheckFailure?.[checkName];
      if (action === undefined) continue;
      if (!['running', 'backoff', 'exited'].includes(s.state)) continue;
      switch (action) {
        case 'ignore':
          break;
        case 'shutdown':
          this.o.onShutdown('check-failure', s.name);
          break;
        case 'success-shutdown':
          this.o.onShutdown('success', s.name);
          break;
        case 'restart':
        case '':
          if (s.state === 'running') {
            s.proc?.signal('SIGTERM');
            this.transition(s, 'terminating', {}, true);
            s.stateTimer = this.o.clock.setTimeout(() => this.terminateTimeElapsed(s), this.killDelayMs(s));
          } else if (s.state === 'exited') {
            this.doBackoff(s);
          }
          break;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Task handlers

  /** The "start" task (P:servstate doStart). */
  async doStart(task: Task, name: string, signal: AbortSignal): Promise<void> {
    const config = this.o.getPlan().services.get(name);
    if (!config) throw new Error(`cannot find service ${JSON.stringify(name)} in plan`);
    let s = this.services.get(name);
    if (!s) {
      s = this.newService(config);
    } else {
      s.config = copyService(config);
      switch (s.state) {
        case 'initial':
        case 'starting':
        case 'running':
          task.logf('INFO', `Service ${JSON.stringify(name)} already started.`);
          return;
        case 'backoff':
        case 'stopped':
        case 'exited':
          s.backoffNum = 0;
          s.backoffTimeNs = 0;
          this.transition(s, 'initial');
          break;
        default:
          break; // terminating/killing: start() reports it
      }
    }
    this.start(s);
    const result = await s.started.recv(signal);
    if (result === ABORTED) {
      this.transition(s, 'stopped');
      s.proc?.signal('SIGKILL');
      throw new Error('start aborted, sent SIGKILL to process');
    }
    if (result) {
      // Logged even when the service printed nothing: LastLines then gives the bare indent.
      task.logf('INFO', `Most recent service output:\n${s.logs.lastLines(20, '    ')}`);
      throw new Error(`service start attempt: ${result.message}`);
    }
  }

  /** The "stop" task (P:servstate doStop). */
  async doStop(task: Task, name: string): Promise<void> {
    const s = this.services.get(name);
    const q = JSON.stringify(name);
    if (!s) {
      task.logf('INFO', `Service ${q} has never been started.`);
      return;
    }
    switch (s.state) {
      case 'terminating':
      case 'killing':
        task.logf('INFO', `Service ${q} already stopping.`);
        return;
      case 'stopped':
        task.logf('INFO', `Service ${q} already stopped.`);
        return;
      case 'exited':
        this.transition(s, 'stopped');
        task.logf('INFO', `Service ${q} had already exited.`);
        return;
      default:
        break;
    }
    this.stop(s);
    const result = await s.stopped.recv();
    if (result instanceof Error) throw new Error(`cannot stop service: ${result.message}`);
  }

  /**
   * Replan's decision (P:servstate Replan): every service ever started whose stored config
   * differs from the plan's (deep equality) is stopped and restarted; every enabled service is
   * started. Returns the names to stop and to start (unordered).
   */
  replan(plan: PlanModel): { stop: string[]; start: string[] } {
    const needsRestart = new Set<string>();
    const stop: string[] = [];
    for (const [name, s] of this.services) {
      const config = plan.services.get(name);
      if (config) {
        if (deepEqual(config, s.config)) continue;
        s.config = copyService(config);
      }
      needsRestart.add(name);
      stop.push(name);
    }
    const start = [...plan.services.values()]
      .filter((c) => needsRestart.has(c.name) || c.startup === 'enabled')
      .map((c) => c.name);
    return { stop, start };
  }

  /**
   * POST /v1/signals (P:servstate SendSignal, sendSignal): signal each named service's process;
   * the errors of all names joined with "; ", or null.
   */
  sendSignal(names: string[], signal: string): string | null {
    const errors: string[] = [];
    for (const name of names) {
      const s = this.services.get(name);
      const err = !s ? 'service is not running' : this.signalOne(s, signal);
      if (err) errors.push(`cannot send signal to ${JSON.stringify(name)}: ${err}`);
    }
    return errors.length ? errors.join('; ') : null;
  }

  private signalOne(s: ServiceData, signal: string): string | null {
    if (s.state !== 'starting' && s.state !== 'running') {
      return s.state === 'initial' ? `invalid in state ${JSON.stringify(s.state)}` : 'service is not running';
    }
    // unix.SignalNum knows only the upper-case SIG names.
    if (!/^SIG[A-Z0-9]+$/.test(signal) || !(signal in osConstants.signals)) return `invalid signal name ${JSON.stringify(signal)}`;
    s.proc?.kill(signal as NodeJS.Signals);
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // Test controls (fake mode) and teardown

  /** Put a service straight into a status, as a test fixture would (no change is recorded). */
  setStatus(name: string, current: ServiceCurrent): void {
    const config = this.o.getPlan().services.get(name);
    if (!config) throw new Error(`service ${JSON.stringify(name)} is not in the plan`);
    let s = this.services.get(name);
    if (!s) s = this.newService(config);
    else s.config = copyService(config);
    const detach = () => {
      const p = s.proc as (ProcessHandle & { detach?: () => void }) | null;
      p?.detach?.();
      s.proc = null;
    };
    switch (current) {
      case 'active':
        if (s.state === 'running' || s.state === 'starting') return;
        detach();
        this.startInternal(s);
        this.transition(s, 'running');
        return;
      case 'inactive':
        detach();
        this.transition(s, 'stopped');
        return;
      case 'error':
        detach();
        this.transition(s, 'exited');
        return;
      case 'backoff':
        detach();
        s.backoffNum = Math.max(1, s.backoffNum);
        s.backoffTimeNs = s.backoffTimeNs || s.config.backoffDelay.ns;
        this.transition(s, 'backoff');
        return;
    }
  }

  /** Cancel every timer and stop reacting to exits (emulator teardown). */
  dispose(): void {
    this.disposed = true;
    for (const s of this.services.values()) {
      if (s.stateTimer) this.o.clock.clearTimeout(s.stateTimer);
      if (s.resetTimer) this.o.clock.clearTimeout(s.resetTimer);
      s.stateTimer = null;
      s.resetTimer = null;
    }
  }
}
