// The Pebble client: HTTP over the workload container's unix socket, as ops.pebble.Client does it
// (pebble-charmcraft.md section 1). Every reply is a JSON envelope except a file read, which is
// multipart. Service actions POST, then wait for the change with ops' algorithm.
import * as z from 'zod/mini';
import {
  ChangeError,
  PathError,
  PebbleAPIError,
  PebbleConnectionError,
  PebbleError,
  PebbleProtocolError,
  PebbleTimeoutError,
} from './errors.js';
import { ExecProcess, type ExecOptions } from './exec.js';
import { exchange, Http1Error } from './http1.js';
import { WebSocketHandshakeError, type WebSocketConnection } from './websocket.js';
import { encodeMultipart, newBoundary, parseHeaderParams, parseMultipart, MultipartError } from './multipart.js';
import {
  ChangeSchema,
  CheckInfoSchema,
  EnvelopeSchema,
  FileInfoSchema,
  FileResultSchema,
  LogEntrySchema,
  PebbleNoticeSchema,
  PlanSchema,
  ServiceInfoSchema,
  SystemInfoSchema,
  type Change,
  type CheckInfo,
  type CheckLevel,
  type Envelope,
  type FileInfo,
  type Layer,
  type LogEntry,
  type PebbleNotice,
  type NoticeType,
  type Plan,
  type ServiceInfo,
  type SystemInfo,
} from './types.js';

export interface PebbleClientOptions {
  /** Path of Pebble's unix socket, e.g. /charm/containers/<name>/pebble.socket. */
  socketPath: string;
  /** Per-request timeout in milliseconds (ops: 5 s). Waiting for a change loops below it. */
  timeoutMs?: number;
}

/** How long a service action waits for its change. */
export interface WaitOptions {
  /** Overall time limit in ms (default 30 000, as ops). `null` waits forever; 0 does not wait. */
  timeoutMs?: number | null;
  /** Poll interval in ms when the server lacks the wait endpoint (default 100). */
  delayMs?: number;
}

export interface PushOptions {
  /** Create missing parent directories (mode 0755). */
  makeDirs?: boolean;
  /** File mode bits, e.g. 0o600 (Pebble's default is 0o644). */
  permissions?: number;
  userId?: number;
  user?: string;
  groupId?: number;
  group?: string;
}

export interface MakeDirOptions extends Omit<PushOptions, 'makeDirs'> {
  makeParents?: boolean;
}

type Query = Record<string, string | string[] | undefined>;

interface RawResponse {
  status: number;
  statusText: string;
  contentType: string;
  body: Buffer;
}

const ChangeIdSchema = z.string().check(z.minLength(1));
const ExecResultSchema = z.object({ 'task-id': z.string() });
const ChecksChangedSchema = z.object({ changed: z.optional(z.nullable(z.array(z.string()))) });
const HealthSchema = z.object({ healthy: z.boolean() });

function logsQuery(opts: { services?: string[]; n?: number }): Record<string, string | undefined> {
  return { services: opts.services?.length ? opts.services.join(',') : undefined, n: opts.n === undefined ? undefined : String(opts.n) };
}

function checkLogsType(contentType: string): void {
  const { value: ctype } = parseHeaderParams(contentType);
  if (ctype !== 'application/x-ndjson') throw new PebbleProtocolError(`expected Content-Type 'application/x-ndjson', got '${ctype}'`);
}

function parseLogLine(line: string): LogEntry {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new PebbleProtocolError(`unexpected log line from Pebble: ${line}`);
  }
  const parsed = z.safeParse(LogEntrySchema, json);
  if (!parsed.success) throw new PebbleProtocolError(`unexpected log line from Pebble: ${line}`);
  return parsed.data;
}

/** Format a wait timeout the way ops does ("%.3fs"), which Go's ParseDuration accepts. */
function formatTimeout(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(3, '0');
}

function authFields(o: PushOptions | MakeDirOptions): Record<string, string | number> {
  const d: Record<string, string | number> = {};
  if (o.permissions !== undefined) d['permissions'] = octal(o.permissions);
  if (o.userId !== undefined) d['user-id'] = o.userId;
  if (o.user !== undefined) d['user'] = o.user;
  if (o.groupId !== undefined) d['group-id'] = o.groupId;
  if (o.group !== undefined) d['group'] = o.group;
  return d;
}

export class PebbleClient {
  readonly socketPath: string;
  readonly timeoutMs: number;

  constructor(options: PebbleClientOptions) {
    this.socketPath = options.socketPath;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  /** One HTTP exchange over the unix socket. Connection failures become PebbleConnectionError. */
  private async raw(
    method: string,
    path: string,
    opts: { query?: Query; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number } = {},
  ): Promise<RawResponse> {
    let url = path;
    if (opts.query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) {
        if (v === undefined) continue;
        for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
      }
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { ...opts.headers };
    try {
      const res = await exchange({
        socketPath: this.socketPath,
        method,
        target: url,
        headers,
        body: opts.body,
        timeoutMs,
        onTimeout: () => new PebbleTimeoutError(`Pebble request ${method} ${path} timed out after ${timeoutMs / 1000}s (socket ${this.socketPath})`),
      });
      return { status: res.status, statusText: res.statusText, contentType: res.headers['content-type'] ?? '', body: res.body };
    } catch (e) {
      if (e instanceof Http1Error) throw new PebbleProtocolError(`Pebble ${method} ${path}: ${e.message}`);
      throw this.connectionError(e as NodeJS.ErrnoException);
    }
  }

  private connectionError(err: NodeJS.ErrnoException): Error {
    if (err instanceof PebbleError) return err;
    if (err.code === 'ENOENT') {
      return new PebbleConnectionError(
        `Could not connect to Pebble: socket not found at '${this.socketPath}' (container restarted?)`,
        this.socketPath,
        { cause: err },
      );
    }
    if (err.code === 'ECONNREFUSED') {
      return new PebbleConnectionError(
        `Could not connect to Pebble: connection refused at '${this.socketPath}' (Pebble not running? container restarted?)`,
        this.socketPath,
        { cause: err },
      );
    }
    return new PebbleConnectionError(
      `Could not connect to Pebble at '${this.socketPath}': ${err.message}`,
      this.socketPath,
      { cause: err },
    );
  }

  /** Turn a non-2xx reply into PebbleAPIError with Pebble's message and kind. */
  private apiError(res: RawResponse): PebbleAPIError {
    let body: Record<string, unknown> = {};
    let message: string;
    let kind: string | undefined;
    try {
      const parsed: unknown = JSON.parse(res.body.toString('utf8'));
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
      const result = z.parse(z.object({ message: z.string(), kind: z.optional(z.string()) }), body['result']);
      message = result.message;
      kind = result.kind;
    } catch (e) {
      message = `${(e as Error).name} - ${(e as Error).message}`;
    }
    return new PebbleAPIError(res.status, res.statusText, message, kind, body);
  }

  private envelope(res: RawResponse, accept: readonly number[] = []): Envelope {
    const ok = (res.status >= 200 && res.status < 300) || accept.includes(res.status);
    if (!ok) throw this.apiError(res);
    const { value: ctype } = parseHeaderParams(res.contentType);
    if (ctype !== 'application/json') {
      throw new PebbleProtocolError(`expected Content-Type 'application/json', got '${ctype}'`);
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch (e) {
      throw new PebbleProtocolError(`invalid JSON from Pebble: ${(e as Error).message}`);
    }
    const parsed = z.safeParse(EnvelopeSchema, json);
    if (!parsed.success) throw new PebbleProtocolError(`unexpected Pebble response envelope: ${parsed.error.message}`);
    return parsed.data;
  }

  /** A JSON request; returns the decoded envelope of a 2xx reply. */
  private async request(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; timeoutMs?: number; accept?: readonly number[] } = {},
  ): Promise<Envelope> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    let body: Buffer | undefined;
    if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body), 'utf8');
      headers['Content-Type'] = 'application/json';
    }
    const res = await this.raw(method, path, { query: opts.query, headers, body, timeoutMs: opts.timeoutMs });
    return this.envelope(res, opts.accept);
  }

  private result<S extends z.ZodMiniType>(schema: S, env: Envelope, what: string): z.infer<S> {
    const parsed = z.safeParse(schema, env.result);
    if (!parsed.success) throw new PebbleProtocolError(`unexpected ${what} result from Pebble: ${parsed.error.message}`);
    return parsed.data;
  }

  // -------------------------------------------------------------------------------------------
  // System

  /** GET /v1/system-info. Succeeds exactly when Pebble is up (Container.canConnect uses it). */
  async systemInfo(): Promise<SystemInfo> {
    return this.result(SystemInfoSchema, await this.request('GET', '/v1/system-info'), 'system-info');
  }

  /** GET /v1/health: false when a matching check is down (Pebble answers 502 then). */
  async health(opts: { level?: CheckLevel; names?: string[] } = {}): Promise<boolean> {
    const env = await this.request('GET', '/v1/health', {
      query: { level: opts.level, names: opts.names?.length ? opts.names.join(',') : undefined },
      accept: [502],
    });
    return this.result(HealthSchema, env, 'health').healthy;
  }

  // -------------------------------------------------------------------------------------------
  // Layers and plan

  /**
   * POST /v1/layers. A Layer object is sent as JSON, a string as is. With `combine`, an existing
   * layer of that label is merged in place; without it, an existing label is an error (400
   * `layer "L" already exists`).
   */
  async addLayer(label: string, layer: Layer | string, opts: { combine?: boolean } = {}): Promise<void> {
    // JSON is YAML's flow style, which Pebble's decoder (yaml.v3) reads like any other layer
    // (canonical/pebble internals/plan/plan.go, ParseLayer), so a hook that adds a layer does
    // not load a YAML library: about 50 ms of CPU per hook.
    const text = typeof layer === 'string' ? layer : JSON.stringify(layer, null, 1);
    await this.request('POST', '/v1/layers', {
      body: { action: 'add', combine: opts.combine ?? false, label, format: 'yaml', layer: text },
    });
  }

  /** GET /v1/plan?format=yaml, the combined plan as Pebble prints it. */
  async getPlanYaml(): Promise<string> {
    return this.result(z.string(), await this.request('GET', '/v1/plan', { query: { format: 'yaml' } }), 'plan');
  }

  /** The combined plan, parsed into typed sections (each defaults to {}). */
  async getPlan(): Promise<Plan> {
    const text = await this.getPlanYaml();
    let doc: unknown;
    try {
      doc = (await import('yaml')).parse(text);
    } catch (e) {
      throw new PebbleProtocolError(`cannot parse plan YAML from Pebble: ${(e as Error).message}`);
    }
    const parsed = z.safeParse(PlanSchema, doc ?? {});
    if (!parsed.success) throw new PebbleProtocolError(`unexpected plan from Pebble: ${parsed.error.message}`);
    return parsed.data;
  }

  // -------------------------------------------------------------------------------------------
  // Services and changes

  /** GET /v1/services, sorted by name; unknown names are ignored by Pebble. */
  async getServices(names?: string[]): Promise<ServiceInfo[]> {
    const env = await this.request('GET', '/v1/services', {
      query: names ? { names: names.join(',') } : undefined,
    });
    return this.result(z.array(ServiceInfoSchema), env, 'services');
  }

  /** Start the services (and what they require), waiting for the change. Returns its id. */
  start(services: string[], opts?: WaitOptions): Promise<string> {
    return this.servicesAction('start', services, opts);
  }

  /** Stop the services (and what requires them), waiting for the change. */
  stop(services: string[], opts?: WaitOptions): Promise<string> {
    return this.servicesAction('stop', services, opts);
  }

  /** Stop then start the services, waiting for the change. */
  restart(services: string[], opts?: WaitOptions): Promise<string> {
    return this.servicesAction('restart', services, opts);
  }

  /** Restart services whose config changed since they started, and start enabled ones. */
  replan(opts?: WaitOptions): Promise<string> {
    return this.servicesAction('replan', [], opts);
  }

  /** Start every `startup: enabled` service. Pebble answers 400 (no-default-services) if none. */
  autostart(opts?: WaitOptions): Promise<string> {
    return this.servicesAction('autostart', [], opts);
  }

  private async servicesAction(action: string, services: string[], opts: WaitOptions = {}): Promise<string> {
    const env = await this.request('POST', '/v1/services', { body: { action, services } });
    const id = ChangeIdSchema.safeParse(env.change);
    if (!id.success) throw new PebbleProtocolError(`Pebble answered ${action} without a change id`);
    const changeId = id.data;
    if (opts.timeoutMs !== 0) {
      const change = await this.waitChange(changeId, opts);
      if (change.err) throw new ChangeError(change.err, change);
    }
    return changeId;
  }

  /** GET /v1/changes/{id}. */
  async getChange(id: string): Promise<Change> {
    return this.result(ChangeSchema, await this.request('GET', `/v1/changes/${encodeURIComponent(id)}`), 'change');
  }

  /** GET /v1/changes (default: in progress), optionally only those touching one service. */
  async getChanges(opts: { select?: 'all' | 'in-progress' | 'ready'; service?: string } = {}): Promise<Change[]> {
    const env = await this.request('GET', '/v1/changes', { query: { select: opts.select, for: opts.service } });
    return this.result(z.array(ChangeSchema), env, 'changes');
  }

  /** POST /v1/changes/{id} {"action":"abort"}. */
  async abortChange(id: string): Promise<Change> {
    const env = await this.request('POST', `/v1/changes/${encodeURIComponent(id)}`, { body: { action: 'abort' } });
    return this.result(ChangeSchema, env, 'change');
  }

  /**
   * Wait until a change is ready, as ops does: loop on /v1/changes/{id}/wait with a timeout below
   * the request timeout; a 504 means "not yet", so loop again; a 404 means the server has no wait
   * endpoint, so poll GET /v1/changes/{id}. Raises PebbleTimeoutError at the overall deadline.
   */
  async waitChange(id: string, opts: WaitOptions = {}): Promise<Change> {
    const timeoutMs = opts.timeoutMs === undefined ? 30_000 : opts.timeoutMs;
    const delayMs = opts.delayMs ?? 100;
    const deadline = timeoutMs === null ? undefined : Date.now() + timeoutMs;
    for (;;) {
      let thisTimeout = Math.max(this.timeoutMs - 1000, 1000);
      if (deadline !== undefined) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        thisTimeout = Math.min(remaining, thisTimeout);
      }
      try {
        const env = await this.request('GET', `/v1/changes/${encodeURIComponent(id)}/wait`, {
          query: { timeout: formatTimeout(thisTimeout) },
          timeoutMs: Math.max(this.timeoutMs, thisTimeout + 1000),
        });
        return this.result(ChangeSchema, env, 'change');
      } catch (e) {
        if (e instanceof PebbleAPIError && e.code === 504) continue;
        if (e instanceof PebbleAPIError && e.code === 404) return this.pollChange(id, deadline, delayMs, timeoutMs);
        throw e;
      }
    }
    throw new PebbleTimeoutError(`timed out waiting for change ${id} (${timeoutMs === null ? '∞' : timeoutMs / 1000} seconds)`);
  }

  private async pollChange(id: string, deadline: number | undefined, delayMs: number, timeoutMs: number | null): Promise<Change> {
    while (deadline === undefined || Date.now() < deadline) {
      const change = await this.getChange(id);
      if (change.ready) return change;
      await new Promise((r) => setTimeout(r, delayMs));
    }
    throw new PebbleTimeoutError(`timed out waiting for change ${id} (${timeoutMs === null ? '∞' : timeoutMs / 1000} seconds)`);
  }

  // -------------------------------------------------------------------------------------------
  // Checks

  /** GET /v1/checks, sorted by name. */
  async getChecks(opts: { level?: CheckLevel; names?: string[] } = {}): Promise<CheckInfo[]> {
    const env = await this.request('GET', '/v1/checks', { query: { level: opts.level, names: opts.names } });
    return this.result(z.array(CheckInfoSchema), env, 'checks');
  }

  /** POST /v1/checks start; returns the names actually started (sorted). */
  startChecks(names: string[]): Promise<string[]> {
    return this.checksAction('start', names);
  }

  /** POST /v1/checks stop; returns the names actually stopped (sorted). */
  stopChecks(names: string[]): Promise<string[]> {
    return this.checksAction('stop', names);
  }

  private async checksAction(action: string, checks: string[]): Promise<string[]> {
    const env = await this.request('POST', '/v1/checks', { body: { action, checks } });
    return this.result(ChecksChangedSchema, env, 'checks').changed ?? [];
  }

  // -------------------------------------------------------------------------------------------
  // Files

  private raiseOnPathError(result: unknown, path: string): void {
    const items = z.safeParse(z.nullable(z.array(FileResultSchema)), result);
    if (!items.success) throw new PebbleProtocolError(`unexpected files result from Pebble: ${items.error.message}`);
    const item = (items.data ?? []).find((i) => i.path === path);
    if (!item) throw new PebbleProtocolError(`path not found in response metadata: ${path}`);
    if (item.error) throw new PathError(item.error.kind ?? 'generic-file-error', item.error.message);
  }

  /** Write a file in the container (multipart POST /v1/files, action write). */
  async push(path: string, source: string | Uint8Array, opts: PushOptions = {}): Promise<void> {
    const info: Record<string, string | number | boolean> = { path, ...authFields(opts) };
    if (opts.makeDirs) info['make-dirs'] = true;
    const boundary = newBoundary();
    const body = encodeMultipart(boundary, [
      { name: 'request', contentType: 'application/json', body: JSON.stringify({ action: 'write', files: [info] }) },
      {
        name: 'files',
        filename: path,
        contentType: 'application/octet-stream',
        body: typeof source === 'string' ? Buffer.from(source, 'utf8') : Buffer.from(source),
      },
    ]);
    const res = await this.raw('POST', '/v1/files', {
      headers: { Accept: 'application/json', 'Content-Type': `multipart/form-data; boundary="${boundary}"` },
      body,
    });
    this.raiseOnPathError(this.envelope(res).result, path);
  }

  /** Read a file from the container: a string (utf8 by default), or bytes with `encoding: null`. */
  pull(path: string, opts?: { encoding?: BufferEncoding }): Promise<string>;
  pull(path: string, opts: { encoding: null }): Promise<Buffer>;
  async pull(path: string, opts: { encoding?: BufferEncoding | null } = {}): Promise<string | Buffer> {
    const res = await this.raw('GET', '/v1/files', {
      query: { action: 'read', path },
      headers: { Accept: 'multipart/form-data' },
    });
    if (res.status < 200 || res.status >= 300) throw this.apiError(res);
    const { value: ctype, params } = parseHeaderParams(res.contentType);
    if (ctype !== 'multipart/form-data') {
      throw new PebbleProtocolError(`expected Content-Type 'multipart/form-data', got '${ctype}'`);
    }
    const boundary = params['boundary'];
    if (!boundary) throw new PebbleProtocolError(`invalid boundary ''`);
    let parts;
    try {
      parts = parseMultipart(res.body, boundary);
    } catch (e) {
      if (e instanceof MultipartError) throw new PebbleProtocolError(e.message);
      throw e;
    }
    const response = parts.find((p) => p.name === 'response');
    if (!response) throw new PebbleProtocolError('no "response" field in multipart body');
    let meta: unknown;
    try {
      meta = JSON.parse(response.body.toString('utf8'));
    } catch (e) {
      throw new PebbleProtocolError(`invalid JSON in "response" part: ${(e as Error).message}`);
    }
    const env = z.safeParse(EnvelopeSchema, meta);
    if (!env.success) throw new PebbleProtocolError(`unexpected "response" part: ${env.error.message}`);
    this.raiseOnPathError(env.data.result, path);
    const files = parts.filter((p) => p.name === 'files');
    if (files.length === 0) throw new PebbleProtocolError('no file content in multipart response');
    if (files.length > 1) throw new PebbleProtocolError('single file request resulted in a multi-file response');
    const file = files[0]!;
    if (file.filename !== path) throw new PebbleProtocolError(`path not expected: '${file.filename ?? ''}'`);
    const bytes = Buffer.from(file.body);
    const encoding = opts.encoding === undefined ? 'utf8' : opts.encoding;
    return encoding === null ? bytes : bytes.toString(encoding);
  }

  /**
   * List a directory (or, with `itself` or for a file, describe the path itself). A missing path
   * raises PebbleAPIError with code 404 and kind `not-found`, as ops does.
   */
  async listFiles(path: string, opts: { pattern?: string; itself?: boolean } = {}): Promise<FileInfo[]> {
    const env = await this.request('GET', '/v1/files', {
      query: { action: 'list', path, pattern: opts.pattern || undefined, itself: opts.itself ? 'true' : undefined },
    });
    return this.result(z.nullable(z.array(FileInfoSchema)), env, 'list files') ?? [];
  }

  /** Create a directory (POST /v1/files, action make-dirs). */
  async makeDir(path: string, opts: MakeDirOptions = {}): Promise<void> {
    const info: Record<string, string | number | boolean> = { path, ...authFields(opts) };
    if (opts.makeParents) info['make-parents'] = true;
    const env = await this.request('POST', '/v1/files', { body: { action: 'make-dirs', dirs: [info] } });
    this.raiseOnPathError(env.result, path);
  }

  /** Remove a file or directory (POST /v1/files, action remove). */
  async removePath(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const item: Record<string, string | boolean> = { path };
    if (opts.recursive) item['recursive'] = true;
    const env = await this.request('POST', '/v1/files', { body: { action: 'remove', paths: [item] } });
    this.raiseOnPathError(env.result, path);
  }

  /** Whether the path exists in the container (a 404 from list means no). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.listFiles(path, { itself: true });
      return true;
    } catch (e) {
      if (e instanceof PebbleAPIError && e.code === 404) return false;
      throw e;
    }
  }

  /** Whether the path is a directory in the container. */
  async isDir(path: string): Promise<boolean> {
    try {
      const files = await this.listFiles(path, { itself: true });
      return files[0]?.type === 'directory';
    } catch (e) {
      if (e instanceof PebbleAPIError && e.code === 404) return false;
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Exec

  /**
   * Run a command in the container (ops: Client.exec): POST /v1/exec, then the task's
   * websockets. Returns at once; wait with `wait()` or `waitOutput()`. An unknown command, a bad
   * user or service context is a PebbleAPIError; a missing working dir is a 500 from Pebble.
   */
  exec(command: string[], opts?: ExecOptions & { encoding?: BufferEncoding }): Promise<ExecProcess<string>>;
  exec(command: string[], opts: ExecOptions & { encoding: null }): Promise<ExecProcess<Buffer>>;
  exec(command: string[], opts?: ExecOptions): Promise<ExecProcess<string | Buffer>>;
  async exec(command: string[], opts: ExecOptions = {}): Promise<ExecProcess<string | Buffer>> {
    if (!Array.isArray(command) || command.length === 0 || !command.every((w) => typeof w === 'string')) {
      throw new TypeError('exec: command must be a non-empty array of strings');
    }
    if (opts.combineStderr && opts.stderr) throw new TypeError('exec: stderr must not be given with combineStderr');
    if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) throw new RangeError(`exec: timeoutMs must be a positive number, got ${opts.timeoutMs}`);
    const body = {
      command,
      'service-context': opts.serviceContext,
      environment: opts.environment ?? {},
      'working-dir': opts.workingDir,
      timeout: opts.timeoutMs === undefined ? undefined : formatTimeout(opts.timeoutMs),
      'user-id': opts.userId,
      user: opts.user,
      'group-id': opts.groupId,
      group: opts.group,
      'split-stderr': !opts.combineStderr,
    };
    const env = await this.request('POST', '/v1/exec', { body });
    const changeId = ChangeIdSchema.safeParse(env.change);
    if (!changeId.success) throw new PebbleProtocolError('Pebble answered exec without a change id');
    const taskId = this.result(ExecResultSchema, env, 'exec')['task-id'];
    const wanted = opts.combineStderr ? ['control', 'stdio'] : ['control', 'stdio', 'stderr'];
    const sockets: WebSocketConnection[] = [];
    try {
      for (const id of wanted) sockets.push(await this.websocket(taskId, id));
    } catch (e) {
      // Probably the exec already failed: its change says why (ops does the same).
      for (const ws of sockets) ws.destroy();
      const change = await this.waitChange(changeId.data);
      if (change.err) throw new ChangeError(change.err, change);
      if (e instanceof PebbleError) throw e;
      throw new PebbleConnectionError(`unexpected error connecting to websockets: ${(e as Error).message}`, this.socketPath, { cause: e });
    }
    return new ExecProcess(
      {
        client: this,
        command,
        changeId: changeId.data,
        timeoutMs: opts.timeoutMs,
        encoding: opts.encoding === undefined ? 'utf8' : opts.encoding,
        control: sockets[0]!,
        stdio: sockets[1]!,
        stderr: sockets[2] ?? null,
        streams: await import('node:stream'),
      },
      opts,
    );
  }

  /** Open /v1/tasks/{task}/websocket/{id}; a refused handshake is Pebble's API error. */
  private async websocket(taskId: string, id: string): Promise<WebSocketConnection> {
    const { connectWebSocket } = await import('./websocket.js');
    try {
      return await connectWebSocket(this.socketPath, `/v1/tasks/${encodeURIComponent(taskId)}/websocket/${id}`, this.timeoutMs);
    } catch (e) {
      if (e instanceof WebSocketHandshakeError) {
        throw this.apiError({ status: e.statusCode, statusText: e.statusMessage, contentType: e.contentType, body: e.body });
      }
      throw this.connectionError(e as NodeJS.ErrnoException);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Signals, notices, logs

  /** POST /v1/signals: send a signal ("SIGHUP") to each service's process (ops: send_signal). */
  async sendSignal(signal: string, services: string[]): Promise<void> {
    await this.request('POST', '/v1/signals', { body: { signal, services } });
  }

  /**
   * POST /v1/notices: record a custom notice (or one more occurrence of it); returns its id
   * (ops: notify). `repeatAfterMs`: occurrences within it do not move `lastRepeated`.
   */
  async notify(type: NoticeType, key: string, opts: { data?: Record<string, string>; repeatAfterMs?: number } = {}): Promise<string> {
    const body: Record<string, unknown> = { action: 'add', type, key };
    if (opts.data) body['data'] = opts.data;
    if (opts.repeatAfterMs !== undefined) body['repeat-after'] = `${opts.repeatAfterMs / 1000}s`;
    const env = await this.request('POST', '/v1/notices', { body });
    return this.result(z.object({ id: z.string() }), env, 'notify').id;
  }

  /**
   * GET /v1/notices, ordered by lastRepeated (ops: get_notices). `after` is an RFC 3339 time;
   * `timeoutMs` waits for a first match (the request deadline is extended to cover it).
   */
  async getNotices(
    opts: { users?: 'all'; userId?: number; types?: NoticeType[]; keys?: string[]; after?: string; timeoutMs?: number } = {},
  ): Promise<PebbleNotice[]> {
    const env = await this.request('GET', '/v1/notices', {
      query: {
        users: opts.users,
        'user-id': opts.userId === undefined ? undefined : String(opts.userId),
        types: opts.types?.length ? opts.types.join(',') : undefined,
        keys: opts.keys?.length ? opts.keys.join(',') : undefined,
        after: opts.after,
        timeout: opts.timeoutMs ? formatTimeout(opts.timeoutMs) : undefined,
      },
      timeoutMs: opts.timeoutMs ? this.timeoutMs + opts.timeoutMs : undefined,
    });
    return this.result(z.array(PebbleNoticeSchema), env, 'notices');
  }

  /** GET /v1/notices/{id} (ops: get_notice); a missing id is PebbleAPIError 404. */
  async getNotice(id: string): Promise<PebbleNotice> {
    return this.result(PebbleNoticeSchema, await this.request('GET', `/v1/notices/${encodeURIComponent(id)}`), 'notice');
  }

  /**
   * GET /v1/logs without follow: the last `n` lines (default 30, -1 all) of the services (default
   * all), oldest first. Not in ops; Pebble's CLI `pebble logs`.
   */
  async logs(opts: { services?: string[]; n?: number } = {}): Promise<LogEntry[]> {
    const res = await this.raw('GET', '/v1/logs', { query: logsQuery(opts) });
    if (res.status < 200 || res.status >= 300) throw this.apiError(res);
    checkLogsType(res.contentType);
    return res.body
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map(parseLogLine);
  }

  /**
   * GET /v1/logs?follow=true: the last `n` lines (default 0: none), then every new line of the
   * services (default: all those in the plan that have output) as Pebble writes it. Stop with
   * `break` in the `for await` loop or with `signal`; either closes the request.
   */
  async *followLogs(opts: { services?: string[]; n?: number; signal?: AbortSignal } = {}): AsyncGenerator<LogEntry, void, undefined> {
    const http = await import('node:http');
    const query = new URLSearchParams({ follow: 'true' });
    for (const [k, v] of Object.entries(logsQuery(opts))) if (v !== undefined) query.set(k, v);
    const req = http.request({ socketPath: this.socketPath, host: 'localhost', path: `/v1/logs?${query}`, method: 'GET', agent: false });
    const stop = () => req.destroy();
    opts.signal?.addEventListener('abort', stop, { once: true });
    try {
      if (opts.signal?.aborted) return;
      const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
        // The request timeout covers the answer's headers, not the stream that follows.
        req.setTimeout(this.timeoutMs, () => req.destroy(new PebbleTimeoutError(`Pebble request GET /v1/logs timed out after ${this.timeoutMs / 1000}s (socket ${this.socketPath})`)));
        req.on('response', resolve);
        req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectionError(err)));
        req.end();
      }).catch((e: unknown) => {
        if (opts.signal?.aborted) return null;
        throw e;
      });
      if (!res) return;
      req.setTimeout(0);
      if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        throw this.apiError({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', contentType: res.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      }
      checkLogsType(res.headers['content-type'] ?? '');
      let pending = '';
      try {
        for await (const chunk of res) {
          pending += (chunk as Buffer).toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const line of lines) if (line !== '') yield parseLogLine(line);
        }
      } catch (e) {
        if (!opts.signal?.aborted) throw this.connectionError(e as NodeJS.ErrnoException);
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      req.destroy();
    }
  }
}
