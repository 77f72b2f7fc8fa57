/**
 * The model backend: every question the charm asks Juju, as typed methods.
 *
 * There is one implementation of the Juju side, {@link HookToolBackend}, which builds each hook
 * tool's argv exactly as ops does (../shared/reference/juju-hooks.md section 2.2), parses the
 * output and maps failures to typed errors. It talks to Juju through a {@link ToolRunner}:
 * - {@link ShellToolRunner} (shell-runner.ts) runs the real executables on PATH through one
 *   long-lived shell (production, and the out-of-process simulator, whose fake tools are
 *   executables too); {@link ProcessToolRunner} spawns each one from Node;
 * - the in-process simulation passes a runner that hands the same argv to the fake Juju agent
 *   without spawning a process (@juju-ts/ops-testing).
 * So the argv forms, output parsing and error mapping are the same code in every mode.
 *
 * It is also the charm's one redaction point: every secret value it reads (secret-get) joins its
 * Redactor, and every text meant for people (status-set, juju-log, action-log, action-fail)
 * passes through it on the way out, argv included, whoever built the text.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { ModelError, RelationNotFoundError, SecretNotFoundError, type HookToolFailure } from './errors.js';
import { Redactor } from './redact.js';

/** What running one hook tool produced. Runners never throw for a non-zero exit. */
export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ToolRunner {
  run(tool: string, args: readonly string[], options?: { input?: string }): Promise<ToolResult>;
}

/**
 * Runs hook tools as processes found on PATH (Juju's jujuc symlinks, or the simulator's fakes),
 * each spawned by Node itself (a process library would cost more to load, about 40 ms for execa,
 * than the calls). Hooks use ShellToolRunner, which forks Node once instead of once per call.
 */
export class ProcessToolRunner implements ToolRunner {
  constructor(private readonly options: { env?: Record<string, string | undefined>; cwd?: string } = {}) {}

  async run(tool: string, args: readonly string[], options: { input?: string } = {}): Promise<ToolResult> {
    const { env, cwd } = this.options;
    // Loaded on the first call (node:child_process brings net, stream and dgram): a hook that
    // calls no tool does not pay for it.
    const { spawn } = await import('node:child_process');
    return new Promise((resolve) => {
      // Without input the tool reads /dev/null, as it would an empty pipe.
      const child = spawn(tool, args, { env, cwd, stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e: NodeJS.ErrnoException) => {
        // The tool could not be started at all (ENOENT, EACCES): not a Juju answer.
        const why = e.code === 'ENOENT' ? 'not found on PATH' : `could not be started (${e.code ?? e.message})`;
        resolve({ exitCode: 127, stdout: '', stderr: `hook tool "${tool}" ${why}; charms must run under Juju or the simulator, which put the hook tools on PATH` });
      });
      child.on('close', (code, signal) => {
        const stderr = Buffer.concat(err).toString('utf8');
        resolve({ exitCode: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: signal ? `${stderr}hook tool "${tool}" was killed by ${signal}\n` : stderr });
      });
      if (options.input) {
        // A tool that exits without reading its input closes the pipe: its exit status tells.
        child.stdin!.on('error', () => {});
        child.stdin!.end(options.input);
      }
    });
  }
}

export interface StatusInfo {
  status: string;
  message: string;
}

export interface GoalState {
  units: Record<string, { status: string; since: string }>;
  relations: Record<string, Record<string, { status: string; since: string }>>;
}

export interface SecretInfo {
  id: string;
  label?: string;
  revision: number;
  description?: string;
  expiry?: string;
  rotation?: string;
  rotates?: string;
}

export interface SecretOptions {
  label?: string;
  description?: string;
  /** RFC 3339 timestamp. */
  expire?: string;
  rotate?: 'never' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'yearly';
}

export type PortProtocol = 'tcp' | 'udp' | 'icmp';
export interface Port {
  protocol: PortProtocol;
  port?: number;
}

export interface NetworkInfo {
  'bind-addresses': {
    'mac-address'?: string;
    'interface-name'?: string;
    addresses: { hostname?: string; value: string; cidr?: string }[];
  }[];
  'egress-subnets'?: string[];
  'ingress-addresses'?: string[];
}

/** The questions a Model asks. Each maps to exactly one hook tool call. */
export interface ModelBackend {
  relationIds(endpoint: string): Promise<number[]>;
  relationList(endpoint: string, relationId: number): Promise<string[]>;
  relationRemoteApp(endpoint: string, relationId: number): Promise<string | null>;
  relationGet(endpoint: string, relationId: number, member: string, isApp: boolean): Promise<Record<string, string>>;
  relationSet(endpoint: string, relationId: number, data: Record<string, string>, isApp: boolean): Promise<void>;
  configGet(): Promise<Record<string, unknown>>;
  isLeader(): Promise<boolean>;
  statusGet(isApp: boolean): Promise<StatusInfo>;
  statusSet(status: string, message: string, isApp: boolean): Promise<void>;
  applicationVersionSet(version: string): Promise<void>;
  goalState(): Promise<GoalState>;
  jujuLog(level: string, message: string): Promise<void>;
  secretGet(q: { id?: string; label?: string; refresh?: boolean; peek?: boolean }): Promise<Record<string, string>>;
  secretInfoGet(q: { id?: string; label?: string }): Promise<SecretInfo>;
  secretAdd(content: Record<string, string>, options: SecretOptions & { owner: 'application' | 'unit' }): Promise<string>;
  secretSet(id: string, update: SecretOptions & { content?: Record<string, string> }): Promise<void>;
  secretGrant(id: string, relationId: number, unit?: string): Promise<void>;
  secretRevoke(id: string, relationId: number, unit?: string): Promise<void>;
  secretRemove(id: string, revision?: number): Promise<void>;
  secretIds(): Promise<string[]>;
  openPort(port: Port): Promise<void>;
  closePort(port: Port): Promise<void>;
  openedPorts(): Promise<Port[]>;
  actionGet(): Promise<Record<string, unknown>>;
  actionSet(results: Record<string, string>): Promise<void>;
  actionLog(message: string): Promise<void>;
  actionFail(message: string): Promise<void>;
  stateGet(): Promise<Record<string, string>>;
  stateSet(values: Record<string, string>): Promise<void>;
  stateDelete(key: string): Promise<void>;
  networkGet(binding: string, relationId?: number): Promise<NetworkInfo>;
  resourceGet(name: string): Promise<string>;
  /** How many hook tools this backend has run (for benchmarks and tests). */
  readonly callCount: number;
  /**
   * Applied to every status message, log line and action message before it leaves the charm.
   * Secret contents read through secretGet are added automatically; a charm adds other values
   * (a password in a URL it was given, say) with `model.redactor.add()`.
   */
  readonly redactor: Redactor;
}

const MAX_LOG_LINE = 131071;
const ACTION_KEY_RE = /^[a-z0-9](?:[a-z0-9\-.]*[a-z0-9])?$/;
const SECURITY_MARKERS = ['access denied', 'permission denied', 'not the leader', 'cannot write relation settings'];

const stringMap = z.record(z.string(), z.string());
const statusInfoSchema = z.looseObject({ status: z.string(), message: z._default(z.string(), '') });
const goalStateEntry = z.looseObject({ status: z.string(), since: z.string() });
const goalStateSchema = z.object({
  units: z._default(z.nullable(z.record(z.string(), goalStateEntry)), {}),
  relations: z._default(z.nullable(z.record(z.string(), z.record(z.string(), goalStateEntry))), {}),
});

export interface HookToolBackendOptions {
  /** Used to canonicalise bare secret ids (`secret://<uuid>/<id>`). */
  modelUuid: string;
  /** How long is-leader answers are reused (ops: 30 s). */
  leaderCacheMs?: number;
}

export class HookToolBackend implements ModelBackend {
  readonly redactor = new Redactor();
  private calls = 0;
  private configCache: Promise<Record<string, unknown>> | null = null;
  private leaderCache: { value: Promise<boolean>; at: number } | null = null;

  constructor(
    private readonly runner: ToolRunner,
    private readonly options: HookToolBackendOptions,
  ) {}

  get callCount(): number {
    return this.calls;
  }

  /** Run a tool; map a non-zero exit to RelationNotFoundError, SecretNotFoundError or ModelError. */
  async run(tool: string, args: string[], options: { input?: string; redact?: (args: string[]) => string[] } = {}): Promise<string> {
    this.calls++;
    const r = await this.runner.run(tool, args, { input: options.input });
    if (r.exitCode === 0) return r.stdout;
    const argv = (options.redact ?? redactArgs)(args);
    const failure: HookToolFailure = { tool, argv, exitCode: r.exitCode, stderr: r.stderr };
    const stderr = r.stderr.trim();
    const lower = stderr.toLowerCase();
    const message = `${stderr || `${tool} failed`} [${[tool, ...argv].join(' ')}: exit ${r.exitCode}]`;
    if (tool !== 'juju-log' && SECURITY_MARKERS.some((m) => lower.includes(m))) await this.securityEvent(tool, stderr);
    if ((tool.startsWith('relation-') || tool.startsWith('network-')) && lower.includes('relation not found')) {
      throw new RelationNotFoundError(message, failure);
    }
    if (tool.startsWith('secret-') && lower.includes('not found')) throw new SecretNotFoundError(message, failure);
    throw new ModelError(message, failure);
  }

  private async runJson<S extends z.ZodMiniType>(tool: string, args: string[], schema: S): Promise<z.infer<S>> {
    const out = await this.run(tool, args);
    let value: unknown;
    try {
      value = out.trim() === '' ? null : JSON.parse(out);
    } catch {
      throw new ModelError(`${tool} printed output that is not JSON: ${out.slice(0, 200)}`);
    }
    const parsed = z.safeParse(schema, value);
    if (!parsed.success) {
      throw new ModelError(`${tool} printed unexpected JSON (${parsed.error.issues[0]?.message}): ${out.slice(0, 200)}`);
    }
    return parsed.data;
  }

  /** ops logs refusals that smell of a permission problem as a TRACE security event. */
  private async securityEvent(tool: string, stderr: string): Promise<void> {
    const event = { type: 'security', datetime: new Date().toISOString(), level: 'WARN', description: `${tool}: ${stderr}` };
    try {
      await this.jujuLog('TRACE', JSON.stringify(event));
    } catch {
      // Logging a security event must never hide the original failure.
    }
  }

  private canonicalSecretId(id: string): string {
    if (id.startsWith('secret:')) return id;
    return `secret://${this.options.modelUuid}/${id}`;
  }

  private rel(endpoint: string, relationId: number): string {
    return `${endpoint}:${relationId}`;
  }

  async relationIds(endpoint: string): Promise<number[]> {
    const ids = await this.runJson('relation-ids', [endpoint, '--format=json'], z.nullable(z.array(z.string())));
    return (ids ?? []).map((s) => Number(s.split(':').at(-1)));
  }

  async relationList(endpoint: string, relationId: number): Promise<string[]> {
    const units = await this.runJson('relation-list', ['--format=json', '-r', this.rel(endpoint, relationId)], z.nullable(z.array(z.string())));
    return units ?? [];
  }

  async relationRemoteApp(endpoint: string, relationId: number): Promise<string | null> {
    try {
      const app = await this.runJson('relation-list', ['--format=json', '--app', '-r', this.rel(endpoint, relationId)], z.nullable(z.string()));
      return app || null;
    } catch (e) {
      if (e instanceof RelationNotFoundError) return null;
      throw e;
    }
  }

  async relationGet(endpoint: string, relationId: number, member: string, isApp: boolean): Promise<Record<string, string>> {
    const args = ['--format=json', '-r', this.rel(endpoint, relationId)];
    if (isApp) args.push('--app');
    args.push('-', member);
    return (await this.runJson('relation-get', args, z.nullable(stringMap))) ?? {};
  }

  async relationSet(endpoint: string, relationId: number, data: Record<string, string>, isApp: boolean): Promise<void> {
    const args = ['-r', this.rel(endpoint, relationId)];
    if (isApp) args.push('--app');
    args.push('--file', '-');
    await this.run('relation-set', args, { input: JSON.stringify(data) });
  }

  configGet(): Promise<Record<string, unknown>> {
    // Loaded once per dispatch, like ops' ConfigData.
    this.configCache ??= this.runJson('config-get', ['--format=json'], z.nullable(z.record(z.string(), z.unknown()))).then((c) => c ?? {});
    this.configCache.catch(() => (this.configCache = null));
    return this.configCache;
  }

  isLeader(): Promise<boolean> {
    const ttl = this.options.leaderCacheMs ?? 30_000;
    if (this.leaderCache && Date.now() - this.leaderCache.at < ttl) return this.leaderCache.value;
    // The answer is shared while it is on its way too: concurrent askers make one call.
    const value = this.runJson('is-leader', ['--format=json'], z.boolean());
    const entry = { value, at: Date.now() };
    this.leaderCache = entry;
    value.then(
      () => (entry.at = Date.now()),
      () => {
        if (this.leaderCache === entry) this.leaderCache = null;
      },
    );
    return value;
  }

  async statusGet(isApp: boolean): Promise<StatusInfo> {
    const args = ['--include-data', '--format=json', `--application=${isApp ? 'true' : 'false'}`];
    if (!isApp) return this.runJson('status-get', args, statusInfoSchema);
    const app = await this.runJson('status-get', args, z.looseObject({ 'application-status': statusInfoSchema }));
    return app['application-status'];
  }

  async statusSet(status: string, message: string, isApp: boolean): Promise<void> {
    await this.run('status-set', [`--application=${isApp ? 'True' : 'False'}`, status, '--', this.redactor.redact(message)]);
  }

  async applicationVersionSet(version: string): Promise<void> {
    await this.run('application-version-set', ['--', version]);
  }

  async goalState(): Promise<GoalState> {
    const g = await this.runJson('goal-state', ['--format=json'], goalStateSchema);
    return { units: g.units ?? {}, relations: g.relations ?? {} };
  }

  async jujuLog(level: string, text: string): Promise<void> {
    const message = this.redactor.redact(text);
    for (let i = 0; i < Math.max(message.length, 1); i += MAX_LOG_LINE) {
      this.calls++;
      const r = await this.runner.run('juju-log', ['--log-level', level, '--', message.slice(i, i + MAX_LOG_LINE)]);
      // Never log a logging failure (it would recurse); surface it.
      if (r.exitCode !== 0) {
        throw new ModelError(`juju-log failed (exit ${r.exitCode}): ${r.stderr.trim()}`, {
          tool: 'juju-log',
          argv: ['--log-level', level, '--', '<message>'],
          exitCode: r.exitCode,
          stderr: r.stderr,
        });
      }
    }
  }

  async secretGet(q: { id?: string; label?: string; refresh?: boolean; peek?: boolean }): Promise<Record<string, string>> {
    const args = ['--format=json'];
    if (q.id) args.push(this.canonicalSecretId(q.id));
    if (q.label !== undefined) args.push('--label', q.label);
    if (q.refresh) args.push('--refresh');
    if (q.peek) args.push('--peek');
    const content = await this.runJson('secret-get', args, stringMap);
    this.redactor.add(...Object.values(content));
    return content;
  }

  async secretInfoGet(q: { id?: string; label?: string }): Promise<SecretInfo> {
    const args = ['--format=json'];
    if (q.id) args.push(this.canonicalSecretId(q.id));
    else if (q.label !== undefined) args.push('--label', q.label);
    const infoSchema = z.looseObject({
      revision: z.int(),
      label: z.optional(z.string()),
      description: z.optional(z.string()),
      expiry: z.optional(z.string()),
      rotation: z.optional(z.string()),
      rotates: z.optional(z.string()),
    });
    const all = await this.runJson('secret-info-get', args, z.record(z.string(), infoSchema));
    const [id, info] = Object.entries(all)[0] ?? [];
    if (!id || !info) throw new ModelError('secret-info-get printed no secret');
    // Juju prints the bare id; ops canonicalises it (secret://<model-uuid>/<id>), and so do we.
    return { ...info, id: this.canonicalSecretId(id) };
  }

  async secretAdd(content: Record<string, string>, options: SecretOptions & { owner: 'application' | 'unit' }): Promise<string> {
    const args = secretOptionArgs(options);
    args.push('--owner', options.owner);
    const out = await withContentFiles(content, (files) => this.run('secret-add', [...args, ...files]));
    return out.trim();
  }

  async secretSet(id: string, update: SecretOptions & { content?: Record<string, string> }): Promise<void> {
    const args = secretOptionArgs(update);
    // ops always passes `--owner application`, even for unit-owned secrets.
    args.push('--owner', 'application', this.canonicalSecretId(id));
    if (update.content) await withContentFiles(update.content, (files) => this.run('secret-set', [...args, ...files]));
    else await this.run('secret-set', args);
  }

  async secretGrant(id: string, relationId: number, unit?: string): Promise<void> {
    const args = ['--relation', String(relationId)];
    if (unit) args.push('--unit', unit);
    await this.run('secret-grant', [...args, this.canonicalSecretId(id)]);
  }

  async secretRevoke(id: string, relationId: number, unit?: string): Promise<void> {
    const args = ['--relation', String(relationId)];
    if (unit) args.push('--unit', unit);
    await this.run('secret-revoke', [...args, this.canonicalSecretId(id)]);
  }

  async secretRemove(id: string, revision?: number): Promise<void> {
    const args = [this.canonicalSecretId(id)];
    if (revision !== undefined) args.push('--revision', String(revision));
    await this.run('secret-remove', args);
  }

  async secretIds(): Promise<string[]> {
    return (await this.runJson('secret-ids', ['--format=json'], z.nullable(z.array(z.string())))) ?? [];
  }

  async openPort(port: Port): Promise<void> {
    await this.run('open-port', [portArg(port)]);
  }

  async closePort(port: Port): Promise<void> {
    await this.run('close-port', [portArg(port)]);
  }

  async openedPorts(): Promise<Port[]> {
    const raw = (await this.runJson('opened-ports', ['--format=json'], z.nullable(z.array(z.string())))) ?? [];
    return raw.map(parsePort);
  }

  async actionGet(): Promise<Record<string, unknown>> {
    return (await this.runJson('action-get', ['--format=json'], z.nullable(z.record(z.string(), z.unknown())))) ?? {};
  }

  async actionSet(results: Record<string, string>): Promise<void> {
    for (const k of Object.keys(results)) {
      for (const part of k.split('.')) {
        if (!ACTION_KEY_RE.test(part)) {
          throw new ModelError(`action result key "${k}" is invalid: each dotted part must be lower-case letters, digits and hyphens, starting and ending with a letter or digit`);
        }
      }
    }
    await this.run(
      'action-set',
      Object.entries(results).map(([k, v]) => `${k}=${v}`),
      { redact: (a) => a.map((s) => s.replace(/=.*/s, '=<redacted>')) },
    );
  }

  async actionLog(message: string): Promise<void> {
    await this.run('action-log', ['--', this.redactor.redact(message)]);
  }

  // action-set is not redacted: returning a secret to the operator who asked is what some actions
  // are for (the results go to that operator only, not to statuses or the debug log).
  async actionFail(message: string): Promise<void> {
    await this.run('action-fail', ['--', this.redactor.redact(message)]);
  }

  async stateGet(): Promise<Record<string, string>> {
    const v = await this.runJson('state-get', ['--format=json'], z.nullable(z.record(z.string(), z.string())));
    return v ?? {};
  }

  async stateSet(values: Record<string, string>): Promise<void> {
    await this.run('state-set', ['--file', '-'], { input: JSON.stringify(values) });
  }

  async stateDelete(key: string): Promise<void> {
    await this.run('state-delete', [key]);
  }

  async networkGet(binding: string, relationId?: number): Promise<NetworkInfo> {
    const args = ['--format=json'];
    if (relationId !== undefined) args.push('-r', String(relationId));
    args.push(binding);
    const schema = z.looseObject({
      'bind-addresses': z._default(z.array(z.looseObject({ addresses: z.array(z.looseObject({ value: z.string() })) })), []),
    });
    try {
      return (await this.runJson('network-get', args, schema)) as NetworkInfo;
    } catch (e) {
      // ops retries without -r when the relation is gone.
      if (e instanceof RelationNotFoundError && relationId !== undefined) return this.networkGet(binding);
      throw e;
    }
  }

  async resourceGet(name: string): Promise<string> {
    return (await this.run('resource-get', [name])).trim();
  }
}

function secretOptionArgs(o: SecretOptions): string[] {
  const args: string[] = [];
  if (o.label !== undefined) args.push('--label', o.label);
  if (o.description !== undefined) args.push('--description', o.description);
  if (o.expire !== undefined) args.push('--expire', o.expire);
  if (o.rotate !== undefined) args.push('--rotate', o.rotate);
  return args;
}

/**
 * Secret content travels in files, never in argv (ops does the same): each value is written to a
 * private temporary file, passed as `key#file=<path>`, and the files are deleted after the call.
 */
async function withContentFiles<T>(content: Record<string, string>, fn: (args: string[]) => Promise<T>): Promise<T> {
  const { tmpdir } = await import('node:os');
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'secret-'));
  try {
    const args = Object.entries(content).map(([k, v]) => {
      const file = path.join(dir, k);
      fs.writeFileSync(file, v, { mode: 0o600 });
      return `${k}#file=${file}`;
    });
    return await fn(args);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Secret values never reach argv, but key=value forms of any caller are redacted in errors. */
function redactArgs(args: string[]): string[] {
  return args.map((a) => (/^[a-z][a-z0-9-]*=/.test(a) && !a.startsWith('--') ? a.replace(/=.*/s, '=<redacted>') : a));
}

function portArg(p: Port): string {
  if (p.protocol === 'icmp') return 'icmp';
  if (p.port === undefined || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
    throw new ModelError(`port must be an integer from 1 to 65535 for ${p.protocol} (got ${p.port})`);
  }
  return `${p.port}/${p.protocol}`;
}

function parsePort(s: string): Port {
  if (s === 'icmp') return { protocol: 'icmp' };
  const [range, proto = 'tcp'] = s.split('/');
  const first = Number((range ?? '').split('-')[0]);
  return { protocol: proto.toLowerCase() as PortProtocol, port: first };
}
