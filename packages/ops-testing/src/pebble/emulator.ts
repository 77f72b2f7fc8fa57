// PebbleEmulator: one emulated Pebble per workload container, serving Pebble's HTTP API on a
// real unix socket so that the framework's production client runs unchanged against it.
// See docs/pebble.md for the modes, the options and what is exact versus simplified.
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import {
  ChangeSchema,
  CheckInfoSchema,
  LayerSchema,
  PlanSchema,
  ServiceInfoSchema,
  type Change as ChangeInfo,
  type CheckInfo,
  type Layer,
  type Plan,
  type ServiceInfo,
} from '@juju-ts/ops';
import { ApiError, createApi, type ApiBackend } from './api.js';
import { ExecRegistry, createUpgradeHandler } from './api-exec.js';
import { UserDb } from './users.js';
import { StateEngine, type Change, type Task } from './changes.js';
import { CheckManager, type CheckEvent } from './checks.js';
import { RealClock, type Clock } from './clock.js';
import { ContainerFiles } from './files.js';
import {
  FormatError,
  buildPlan,
  combineLayers,
  emptyPlan,
  startOrder,
  stopOrder,
  type LayerModel,
  type PlanModel,
} from './layers.js';
import { parseLayer } from './layer-yaml.js';
import { renderLayerObject, renderPlanObject, renderPlanYaml } from './plan-yaml.js';
import { NoticeStore } from './notices.js';
import { ExecaLauncher, FakeLauncher, FakeProcess, type Launcher, type OutputBuffer } from './processes.js';
import { ServiceManager, stateToCurrent, type ServiceCurrent, type ServiceEvent, type ServiceState, type ShutdownKind } from './services.js';

export type EmulatorMode = 'fake' | 'run';

export interface PebbleEmulatorOptions {
  /** Where to serve the API, e.g. <dir>/<container>/pebble.socket (at most 107 bytes). */
  socketPath: string;
  /**
   * `fake` (default): services never really run; a start succeeds at once; tests set statuses
   * and check results. `run`: each service's command really runs under supervision.
   */
  mode?: EmulatorMode;
  /** Serve at once (default). With false there is no socket until setReady(true). */
  ready?: boolean;
  /** Host directory standing for the container's `/` (files API). Default: a new temp dir. */
  rootDir?: string;
  /**
   * Simulation convenience for run mode: container path prefix -> host path, applied to every
   * command word, working-dir and environment value that starts with the prefix (e.g.
   * {"/opt/sync": "/repo/dist/sync"}). A relative host path is inside the container's rootDir.
   */
  pathMap?: Record<string, string>;
  /** Clock for supervision and check timers (default: real time). */
  clock?: Clock;
  /** How long a started process must live to count as started (default 1000 run, 0 fake). */
  okayDelayMs?: number;
  /** Kill-delay for services that set none (Pebble: 5 s). */
  killDelayMs?: number;
  /** Time after SIGKILL before a stop fails (Pebble: 5 s). */
  failDelayMs?: number;
  /** Backoff jitter: true = Pebble's 0-10 % (default), false = none, or a fraction source. */
  jitter?: boolean | (() => number);
  /** The emulated Pebble's own environment, which service environments are added to. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Reported by /v1/system-info (default v1.29.0, the Pebble this emulator was compared with). */
  version?: string;
  /** Bound of each service's output buffer in bytes (Pebble: 100 KiB). */
  outputBufferBytes?: number;
  /** At stop(), real milliseconds between SIGTERM and SIGKILL of leftover processes. */
  stopGraceMs?: number;
}

export interface ShutdownEvent {
  /** What asked for it: a service's exit action or a check failure. */
  kind: ShutdownKind;
  service: string;
  /** The exit code the real daemon would exit with: 0, 10 (service failure) or 11 (check failure). */
  exitCode: number;
}

export interface PebbleEmulatorEvents {
  /** A service changed state (every transition of the supervision state machine). */
  service: [ServiceEvent];
  /** A check changed status (up, down, inactive). */
  check: [CheckEvent];
  /** A check went from up to down: the moment Juju fires <container>-pebble-check-failed. */
  'check-failed': [{ check: string }];
  /** A check went from down to up: <container>-pebble-check-recovered. */
  'check-recovered': [{ check: string }];
  /** A shutdown action fired: the emulated Pebble went away (socket removed). */
  shutdown: [ShutdownEvent];
  /** The socket appeared (true) or went away (false). */
  ready: [boolean];
}

export interface SeedOptions {
  /** Layers to add in order (label -> layer object or YAML text). */
  layers?: Record<string, Layer | string> | Array<[string, Layer | string]> | Map<string, Layer | string>;
  /** Service statuses to set once the layers are in (see setServiceStatus). */
  serviceStatuses?: Record<string, ServiceCurrent>;
  /** Check statuses to force (fake mode). */
  checkStatuses?: Record<string, 'up' | 'down'>;
}

const SHUTDOWN_EXIT: Record<ShutdownKind, number> = { success: 0, failure: 10, 'check-failure': 11 };

function stringEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function title(action: string): string {
  return action.charAt(0).toUpperCase() + action.slice(1);
}

export class PebbleEmulator extends EventEmitter<PebbleEmulatorEvents> implements ApiBackend {
  readonly socketPath: string;
  readonly mode: EmulatorMode;
  readonly rootDir: string;
  readonly clock: Clock;
  readonly version: string;
  bootId = randomUUID();

  engine!: StateEngine;
  serviceManager!: ServiceManager;
  checkManager!: CheckManager;
  /** Notices (POST/GET /v1/notices); a fresh Pebble has none. */
  notices!: NoticeStore;
  /** Exec processes in progress (POST /v1/exec). */
  execs!: ExecRegistry;
  readonly files: ContainerFiles;

  private planModel: PlanModel = emptyPlan();
  private launcher!: Launcher;
  private server: http.Server | null = null;
  private readonly connections = new Set<Socket>();
  private readonly ownsRootDir: boolean;
  private readonly pathMap: Array<[string, string]>;
  private readonly env: Record<string, string>;
  private readonly opts: PebbleEmulatorOptions;
  private isShutDown = false;
  private isStopped = false;

  private constructor(opts: PebbleEmulatorOptions) {
    super();
    this.opts = opts;
    this.socketPath = opts.socketPath;
    if (Buffer.byteLength(this.socketPath) > 107) {
      throw new Error(
        `Pebble emulator: socket path is ${Buffer.byteLength(this.socketPath)} bytes, over the 107-byte limit of unix sockets: ${this.socketPath} (use a shorter CHARM_CONTAINERS_DIR)`,
      );
    }
    this.mode = opts.mode ?? 'fake';
    this.clock = opts.clock ?? new RealClock();
    this.version = opts.version ?? 'v1.29.0';
    this.ownsRootDir = opts.rootDir === undefined;
    this.rootDir = opts.rootDir ?? mkdtempSync(path.join(os.tmpdir(), 'pebble-root-'));
    this.files = new ContainerFiles(this.rootDir);
    this.env = stringEnv(opts.env ?? process.env);
    // A relative host path lies inside this container's root directory (files the process writes
    // there are then visible through the files API, as in a real container).
    this.pathMap = Object.entries(opts.pathMap ?? {})
      .map(([prefix, host]): [string, string] => [prefix.replace(/\/+$/, '') || '/', path.isAbsolute(host) ? host : path.join(this.rootDir, host)])
      .sort((a, b) => b[0].length - a[0].length);
    for (const [, host] of this.pathMap) if (host.startsWith(this.rootDir + path.sep)) mkdirSync(host, { recursive: true });
    this.resetState();
  }

  /** Create an emulator and, unless `ready: false`, start serving on its socket. */
  static async start(opts: PebbleEmulatorOptions): Promise<PebbleEmulator> {
    const emu = new PebbleEmulator(opts);
    if (opts.ready ?? true) await emu.listen();
    return emu;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /** A fresh Pebble: no layers, no services, no changes (as after a container restart). */
  private resetState(): void {
    this.planModel = emptyPlan();
    this.bootId = randomUUID();
    this.launcher = this.mode === 'run' ? new ExecaLauncher() : new FakeLauncher();
    this.engine = new StateEngine(this.clock);
    this.notices = new NoticeStore(() => this.clock.now());
    // Public notices (no user) keyed by change id, data {kind, ...} (P:state/change.go addNotice).
    this.engine.onChangeNotice = (c) => this.notices.add(null, 'change-update', c.id, { data: { kind: c.kind, ...c.noticeData } });
    this.execs = new ExecRegistry({ env: this.env, userDb: new UserDb(), mapPath: (p) => this.mapPath(p) });
    const jitterOpt = this.opts.jitter ?? true;
    const jitter = typeof jitterOpt === 'function' ? jitterOpt : jitterOpt ? () => Math.random() * 0.1 : () => 0;
    this.serviceManager = new ServiceManager({
      clock: this.clock,
      launcher: this.launcher,
      getPlan: () => this.planModel,
      env: this.env,
      okayDelayMs: this.opts.okayDelayMs ?? (this.mode === 'run' ? 1000 : 0),
      killDelayDefaultMs: this.opts.killDelayMs ?? 5000,
      failDelayMs: this.opts.failDelayMs ?? 5000,
      jitter,
      mapPath: (p) => this.mapPath(p),
      outputBufferBytes: this.opts.outputBufferBytes ?? 100 * 1024,
      onEvent: (e) => this.emit('service', e),
      onShutdown: (kind, service) => void this.shutdown(kind, service),
    });
    this.checkManager = new CheckManager({
      engine: this.engine,
      clock: this.clock,
      probing: this.mode === 'run',
      env: this.env,
      mapPath: (p) => this.mapPath(p),
      getPlan: () => this.planModel,
      onFailure: (check) => this.serviceManager.checkFailed(check),
      onEvent: (e) => {
        this.emit('check', e);
        if (e.previous === 'up' && e.status === 'down') this.emit('check-failed', { check: e.name });
        if (e.previous === 'down' && e.status === 'up') this.emit('check-recovered', { check: e.name });
      },
    });
  }

  /** Tear down the runtime parts of the current state (timers, probes, processes). */
  private async teardownState(): Promise<void> {
    this.engine.stop();
    this.checkManager.stopAll();
    this.serviceManager.dispose();
    this.execs.killAll();
    await this.launcher.killAll(this.opts.stopGraceMs ?? 2000);
  }

  private async listen(): Promise<void> {
    if (this.server) return;
    mkdirSync(path.dirname(this.socketPath), { recursive: true });
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
    const listener = createApi(this);
    const server = http.createServer(listener);
    server.on('upgrade', createUpgradeHandler(this, listener));
    server.on('connection', (sock) => {
      this.connections.add(sock);
      sock.on('close', () => this.connections.delete(sock));
    });
    server.listen(this.socketPath);
    await once(server, 'listening');
    this.server = server;
    this.emit('ready', true);
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const sock of this.connections) sock.destroy();
    this.connections.clear();
    await closed;
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
    this.emit('ready', false);
  }

  /** Whether the socket is being served (what canConnect sees). */
  get ready(): boolean {
    return this.server !== null;
  }

  /** Whether a shutdown action took this Pebble down. */
  get shutDown(): boolean {
    return this.isShutDown;
  }

  /**
   * Make Pebble reachable or not. Going not-ready removes the socket but keeps all state (a
   * Pebble that is briefly unreachable). `fresh: true`, or coming back after a shutdown,
   * starts from an empty state, like the new Pebble of a restarted container.
   */
  async setReady(ready: boolean, opts: { fresh?: boolean } = {}): Promise<void> {
    if (this.isStopped) throw new Error('Pebble emulator: stopped');
    if (!ready) return this.closeServer();
    if (opts.fresh || this.isShutDown) {
      await this.teardownState();
      this.resetState();
      this.isShutDown = false;
    }
    await this.listen();
  }

  /** Stop serving and stop every process this emulator started. Idempotent. */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    await this.closeServer();
    await this.teardownState();
    if (this.ownsRootDir) rmSync(this.rootDir, { recursive: true, force: true });
  }

  /** A shutdown action: stop the services, then the emulated Pebble goes away. */
  private async shutdown(kind: ShutdownKind, service: string): Promise<void> {
    if (this.isShutDown || this.isStopped) return;
    this.isShutDown = true;
    this.emit('shutdown', { kind, service, exitCode: SHUTDOWN_EXIT[kind] });
    await this.closeServer();
    await this.teardownState();
  }

  // -------------------------------------------------------------------------------------------
  // Path mapping (run mode)

  /** Map a container path to the host by the longest matching pathMap prefix. */
  mapPath(p: string): string {
    for (const [prefix, host] of this.pathMap) {
      if (prefix === '/') return path.join(host, p);
      if (p === prefix) return host;
      if (p.startsWith(prefix + '/')) return host + p.slice(prefix.length);
    }
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // ApiBackend

  currentPlan(): PlanModel {
    return this.planModel;
  }

  logBuffers(): Map<string, OutputBuffer> {
    return new Map([...this.serviceManager.services].map(([name, s]) => [name, s.logs]));
  }

  /** POST /v1/layers semantics: append, or combine in place; all or nothing. */
  addLayer(label: string, layerYaml: string, combine: boolean): void {
    let layer: LayerModel;
    try {
      layer = parseLayer(label, layerYaml);
    } catch (e) {
      if (e instanceof FormatError) throw new ApiError(400, `cannot parse layer YAML: ${e.message}`);
      throw e;
    }
    const layers = this.planModel.layers;
    const index = layers.findIndex((l) => l.label === label);
    let next: LayerModel[];
    try {
      if (index < 0) next = [...layers, layer];
      else if (!combine) throw new ApiError(400, `layer ${JSON.stringify(label)} already exists`);
      else {
        const combined: LayerModel = { ...combineLayers([layers[index]!, layer]), label, order: layers[index]!.order };
        next = layers.map((l, i) => (i === index ? combined : l));
      }
      this.planModel = buildPlan(next);
    } catch (e) {
      if (e instanceof FormatError) throw new ApiError(400, e.message);
      throw e;
    }
    this.checkManager.planChanged(this.planModel);
  }

  private laneTasks(kind: 'start' | 'stop', lanes: string[][]): Task[] {
    const tasks: Task[] = [];
    for (const lane of lanes) {
      const laneId = this.engine.newLane();
      let prev: Task | undefined;
      for (const name of lane) {
        const summary = `${title(kind)} service ${JSON.stringify(name)}`;
        const task = this.engine.newTask(kind, summary, (t, signal) =>
          kind === 'start' ? this.serviceManager.doStart(t, name, signal) : this.serviceManager.doStop(t, name),
        );
        task.joinLane(laneId);
        if (prev) task.waitFor(prev);
        tasks.push(task);
        prev = task;
      }
    }
    return tasks;
  }

  /** POST /v1/services: validate, resolve dependencies, and create the change. */
  servicesAction(action: string, requested: string[]): Change {
    const plan = this.planModel;
    let names = requested;
    if (action === 'replan' || action === 'autostart') {
      if (names.length) throw new ApiError(400, `${action} accepts no service names`);
      if (action === 'autostart') {
        const enabled = [...plan.services.values()].filter((s) => s.startup === 'enabled').map((s) => s.name);
        try {
          names = startOrder(plan, enabled).flat();
        } catch (e) {
          throw new ApiError(500, (e as Error).message);
        }
        if (names.length === 0) throw new ApiError(400, 'no default services', 'no-default-services');
      }
    } else if (names.length === 0) {
      throw new ApiError(400, `must specify services for ${action} action`);
    }
    let tasks: Task[] = [];
    let lanes: string[][] = [];
    let summaryNames = names;
    try {
      switch (action) {
        case 'start':
        case 'autostart':
          lanes = startOrder(plan, names);
          tasks = this.laneTasks('start', lanes);
          break;
        case 'stop':
          lanes = stopOrder(plan, names);
          tasks = this.laneTasks('stop', lanes);
          break;
        case 'restart': {
          const wanted = new Set(names);
          const stopLanes = stopOrder(plan, names)
            .map((lane) => lane.filter((n) => wanted.has(n)))
            .filter((lane) => lane.length > 0);
          const stopTasks = this.laneTasks('stop', stopLanes);
          lanes = startOrder(plan, names);
          const startTasks = this.laneTasks('start', lanes);
          for (const t of startTasks) for (const s of stopTasks) t.waitFor(s);
          tasks = [...stopTasks, ...startTasks];
          break;
        }
        case 'replan': {
          const { stop, start } = this.serviceManager.replan(plan);
          const stopLanes = stopOrder(plan, stop);
          const startLanes = startOrder(plan, start);
          const stopTasks = this.laneTasks('stop', stopLanes);
          const startTasks = this.laneTasks('start', startLanes);
          for (const t of startTasks) for (const s of stopTasks) t.waitFor(s);
          tasks = [...stopTasks, ...startTasks];
          summaryNames = [...new Set([...stopLanes.flat(), ...startLanes.flat()])].sort();
          this.checkManager.replan(plan);
          break;
        }
        default:
          throw new ApiError(400, `invalid action ${JSON.stringify(action)}`);
      }
    } catch (e) {
      if (e instanceof FormatError) throw new ApiError(400, `cannot ${action} services: ${e.message}`);
      throw e;
    }
    const count = action === 'replan' ? summaryNames.length : lanes.flat().length;
    if (tasks.length === 0) {
      const change = this.engine.newChange(action, `${title(action)} - no services`);
      change.forceStatus('Done');
      return change;
    }
    const first = JSON.stringify(summaryNames[0] ?? '');
    const summary = count === 1 ? `${title(action)} service ${first}` : `${title(action)} service ${first} and ${count - 1} more`;
    const change = this.engine.newChange(action, summary);
    for (const t of tasks) change.addTask(t);
    if (summaryNames.length) change.attrs['service-names'] = [...summaryNames];
    this.engine.ensure();
    return change;
  }

  // -------------------------------------------------------------------------------------------
  // Test and simulator surface

  /** The layers in order, label -> layer as Pebble stores it (combined in place on combine). */
  get layers(): Map<string, Layer> {
    return new Map(this.planModel.layers.map((l) => [l.label, LayerSchema.parse(renderLayerObject(l))]));
  }

  /** The combined plan, as GET /v1/plan shows it. */
  get plan(): Plan {
    return PlanSchema.parse(renderPlanObject(this.planModel));
  }

  /** The combined plan as Pebble's YAML text. */
  get planYaml(): string {
    return renderPlanYaml(this.planModel);
  }

  /** Service statuses, as GET /v1/services reports them. */
  get services(): ServiceInfo[] {
    return this.serviceManager.infos().map((i) => ServiceInfoSchema.parse(i));
  }

  /** One service's supervision state (finer than `current`), or undefined if never started. */
  serviceState(name: string): ServiceState | undefined {
    return this.serviceManager.services.get(name)?.state;
  }

  /** Check statuses, as GET /v1/checks reports them. */
  get checks(): CheckInfo[] {
    return this.checkManager.infos().map((c) => CheckInfoSchema.parse(c));
  }

  /** Every change so far, oldest first. */
  get changes(): ChangeInfo[] {
    return [...this.engine.changes.values()].map((c) => ChangeSchema.parse(c.toJSON()));
  }

  /** Captured stdout+stderr of a service (all runs, bounded), without Pebble's line prefixes. */
  serviceOutput(name: string): string {
    return this.serviceManager.services.get(name)?.logs.text() ?? '';
  }

  /** How many times the service's process was started. */
  startCount(name: string): number {
    return this.serviceManager.services.get(name)?.startCount ?? 0;
  }

  /** How many times the service's process was started again after its first start. */
  restartCount(name: string): number {
    return Math.max(0, this.startCount(name) - 1);
  }

  /**
   * Put a service straight into a status without a change, like a test fixture. `active`
   * starts a fake process (fake mode) or the real command (run mode) with no okay-delay.
   */
  setServiceStatus(name: string, status: ServiceCurrent): void {
    this.serviceManager.setStatus(name, status);
  }

  /** Fake mode: force a running check down (as if it hit its threshold) or back up. */
  setCheckStatus(name: string, status: 'up' | 'down'): void {
    if (this.mode !== 'fake') throw new Error('setCheckStatus is for fake mode; in run mode the probes decide');
    this.checkManager.force(name, status, 'check set down by the test');
  }

  private fakeProcess(name: string): FakeProcess {
    if (this.mode !== 'fake') throw new Error('fake processes exist only in fake mode');
    const proc = this.serviceManager.services.get(name)?.proc;
    if (!(proc instanceof FakeProcess) || proc.exited) throw new Error(`service ${JSON.stringify(name)} has no running process`);
    return proc;
  }

  /** Fake mode: the service's process exits with `code` (supervision reacts as to a real exit). */
  simulateExit(name: string, code: number): void {
    this.fakeProcess(name).exit(code);
  }

  /** Fake mode: the signals POST /v1/signals sent to the service's current process, in order. */
  receivedSignals(name: string): string[] {
    return [...this.fakeProcess(name).received];
  }

  /** Fake mode: the service's process writes output. */
  writeServiceOutput(name: string, text: string): void {
    this.fakeProcess(name).write(text);
  }

  /** Preload layers and statuses, as a test or a simulator state file describes them. */
  seed(seed: SeedOptions): void {
    const layers = seed.layers instanceof Map ? [...seed.layers] : Array.isArray(seed.layers) ? seed.layers : Object.entries(seed.layers ?? {});
    for (const [label, layer] of layers) {
      this.addLayer(label, typeof layer === 'string' ? layer : stringifyYaml(layer), true);
    }
    for (const [name, status] of Object.entries(seed.serviceStatuses ?? {})) this.setServiceStatus(name, status);
    for (const [name, status] of Object.entries(seed.checkStatuses ?? {})) this.setCheckStatus(name, status);
  }

  /** Resolve when a service reaches a state or status (checked now, then on every change). */
  waitForService(name: string, target: ServiceState | ServiceCurrent, timeoutMs = 10_000): Promise<void> {
    const matches = () => {
      const s = this.serviceManager.services.get(name);
      if (s?.state === target) return true;
      return (s ? stateToCurrent(s.state) : 'inactive') === target;
    };
    if (matches()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('service', onEvent);
        reject(new Error(`service ${JSON.stringify(name)} did not reach ${target} within ${timeoutMs} ms (state ${this.serviceState(name) ?? 'never started'})`));
      }, timeoutMs);
      const onEvent = (e: ServiceEvent) => {
        if (e.name !== name || !matches()) return;
        clearTimeout(timer);
        this.off('service', onEvent);
        resolve();
      };
      this.on('service', onEvent);
    });
  }
}
