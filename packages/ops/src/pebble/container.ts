// A workload container as a charm sees it: a name and a Pebble client on that container's
// socket. Methods are thin, awaited wrappers of PebbleClient, named like ops.model.Container.
import path from 'node:path';
import type { MakeDirOptions, PebbleClient, PushOptions, WaitOptions } from './client.js';
import type { ExecOptions, ExecProcess } from './exec.js';
import { PebbleAPIError, PebbleConnectionError, PebbleError } from './errors.js';
import type { CheckInfo, CheckLevel, FileInfo, Layer, NoticeType, PebbleNotice, Plan, ServiceInfo } from './types.js';

/**
 * Environment variable naming the directory that holds `<container>/pebble.socket`.
 *
 * This is OUR framework's convention, not a Juju variable: Juju always mounts the sockets under
 * /charm/containers. The simulator sets it so that a charm run outside Kubernetes finds the
 * Pebble emulators' sockets.
 */
export const CHARM_CONTAINERS_DIR_ENV = 'CHARM_CONTAINERS_DIR';

/** Where Juju mounts each workload container's Pebble socket in the charm container. */
export const DEFAULT_CONTAINERS_DIR = '/charm/containers';

/** The socket path for a container: option > $CHARM_CONTAINERS_DIR > /charm/containers. */
export function pebbleSocketPath(
  containerName: string,
  env: Record<string, string | undefined> = process.env,
): string {
  const dir = env[CHARM_CONTAINERS_DIR_ENV] || DEFAULT_CONTAINERS_DIR;
  return path.join(dir, containerName, 'pebble.socket');
}

export interface ContainerOptions {
  /** Explicit socket path; overrides CHARM_CONTAINERS_DIR and the default. */
  socketPath?: string;
  /** Per-request timeout for the client (default 5000 ms). */
  timeoutMs?: number;
  /** Environment to read CHARM_CONTAINERS_DIR from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Raised by Container.getService / getCheck for a name the plan does not have (ops: ModelError). */
export class PebbleNotFoundError extends PebbleError {}

export class Container {
  readonly name: string;
  readonly socketPath: string;
  private readonly timeoutMs: number | undefined;
  private clientPromise: Promise<PebbleClient> | undefined;

  constructor(name: string, options: ContainerOptions = {}) {
    this.name = name;
    this.socketPath = options.socketPath ?? pebbleSocketPath(name, options.env);
    this.timeoutMs = options.timeoutMs;
  }

  /**
   * The underlying client, for calls this class does not wrap. Its module (HTTP, the API's
   * schemas) is loaded on first use: a hook that never talks to Pebble does not pay for it.
   */
  client(): Promise<PebbleClient> {
    this.clientPromise ??= import('./client.js').then((m) => new m.PebbleClient({ socketPath: this.socketPath, timeoutMs: this.timeoutMs }));
    return this.clientPromise;
  }

  /**
   * True exactly when GET /v1/system-info succeeds; false on a missing socket, a refused
   * connection or an API error (as ops' can_connect). Other errors propagate.
   */
  async canConnect(): Promise<boolean> {
    try {
      await (await this.client()).systemInfo();
      return true;
    } catch (e) {
      if (e instanceof PebbleConnectionError || e instanceof PebbleAPIError) return false;
      throw e;
    }
  }

  async addLayer(label: string, layer: Layer | string, opts: { combine?: boolean } = {}): Promise<void> {
    return (await this.client()).addLayer(label, layer, opts);
  }

  async getPlan(): Promise<Plan> {
    return (await this.client()).getPlan();
  }

  /** Restart changed services and start enabled ones; throws ChangeError if one fails. */
  async replan(opts?: WaitOptions): Promise<void> {
    await (await this.client()).replan(opts);
  }

  async autostart(opts?: WaitOptions): Promise<void> {
    await (await this.client()).autostart(opts);
  }

  async start(...names: string[]): Promise<void> {
    if (names.length === 0) throw new TypeError('start expected at least 1 service name, got 0');
    await (await this.client()).start(names);
  }

  async stop(...names: string[]): Promise<void> {
    if (names.length === 0) throw new TypeError('stop expected at least 1 service name, got 0');
    await (await this.client()).stop(names);
  }

  async restart(...names: string[]): Promise<void> {
    if (names.length === 0) throw new TypeError('restart expected at least 1 service name, got 0');
    await (await this.client()).restart(names);
  }

  /** Services by name (all of the plan's when no names are given). */
  async getServices(...names: string[]): Promise<Map<string, ServiceInfo>> {
    const infos = await (await this.client()).getServices(names.length ? names : undefined);
    return new Map(infos.map((s) => [s.name, s]));
  }

  /** One service; throws PebbleNotFoundError when the plan has no service of that name. */
  async getService(name: string): Promise<ServiceInfo> {
    const info = (await this.getServices(name)).get(name);
    if (!info) throw new PebbleNotFoundError(`service '${name}' not found in the Pebble plan of container '${this.name}'`);
    return info;
  }

  async getChecks(opts: { level?: CheckLevel; names?: string[] } = {}): Promise<Map<string, CheckInfo>> {
    const infos = await (await this.client()).getChecks(opts);
    return new Map(infos.map((c) => [c.name, c]));
  }

  /** One check; throws PebbleNotFoundError when the plan has no check of that name. */
  async getCheck(name: string): Promise<CheckInfo> {
    const info = (await this.getChecks({ names: [name] })).get(name);
    if (!info) throw new PebbleNotFoundError(`check '${name}' not found in the Pebble plan of container '${this.name}'`);
    return info;
  }

  async startChecks(...names: string[]): Promise<string[]> {
    return (await this.client()).startChecks(names);
  }

  async stopChecks(...names: string[]): Promise<string[]> {
    return (await this.client()).stopChecks(names);
  }

  async push(path: string, source: string | Uint8Array, opts?: PushOptions): Promise<void> {
    return (await this.client()).push(path, source, opts);
  }

  pull(path: string, opts?: { encoding?: BufferEncoding }): Promise<string>;
  pull(path: string, opts: { encoding: null }): Promise<Buffer>;
  async pull(path: string, opts: { encoding?: BufferEncoding | null } = {}): Promise<string | Buffer> {
    const client = await this.client();
    return opts.encoding === null ? client.pull(path, { encoding: null }) : client.pull(path, { encoding: opts.encoding });
  }

  async listFiles(path: string, opts?: { pattern?: string; itself?: boolean }): Promise<FileInfo[]> {
    return (await this.client()).listFiles(path, opts);
  }

  async makeDir(path: string, opts?: MakeDirOptions): Promise<void> {
    return (await this.client()).makeDir(path, opts);
  }

  async removePath(path: string, opts?: { recursive?: boolean }): Promise<void> {
    return (await this.client()).removePath(path, opts);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.client()).exists(path);
  }

  async isDir(path: string): Promise<boolean> {
    return (await this.client()).isDir(path);
  }

  /** Send a signal ("SIGHUP") to the services' processes (ops: Container.send_signal). */
  /**
   * Run a command in the container (ops: Container.exec). `await (await c.exec(['ls'])).waitOutput()`
   * gives `{ stdout, stderr }`; a non-zero exit raises ExecError. See PebbleClient.exec.
   */
  exec(command: string[], opts?: ExecOptions & { encoding?: BufferEncoding }): Promise<ExecProcess<string>>;
  exec(command: string[], opts: ExecOptions & { encoding: null }): Promise<ExecProcess<Buffer>>;
  async exec(command: string[], opts: ExecOptions = {}): Promise<ExecProcess<string | Buffer>> {
    return (await this.client()).exec(command, opts);
  }

  async sendSignal(signal: string, ...serviceNames: string[]): Promise<void> {
    return (await this.client()).sendSignal(signal, serviceNames);
  }

  /** Notices, ordered by lastRepeated (ops: Container.get_notices). */
  async getNotices(opts?: { users?: 'all'; userId?: number; types?: NoticeType[]; keys?: string[] }): Promise<PebbleNotice[]> {
    return (await this.client()).getNotices(opts);
  }

  /** One notice by id (ops: Container.get_notice). */
  async getNotice(id: string): Promise<PebbleNotice> {
    return (await this.client()).getNotice(id);
  }
}
