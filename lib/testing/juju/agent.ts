/**
 * A fake Juju unit agent: it answers every hook tool of one dispatch from a simulated {@link State},
 * with Juju's argument parsing, output formats, error texts and exit codes, and Juju's commit
 * semantics: relation data, secrets, ports and controller state change only if the hook succeeds;
 * status, logs and the workload version take effect at once.
 *
 * The in-process simulation calls {@link UnitAgent.run} directly (through {@link agentRunner}); the
 * out-of-process simulator puts executables on PATH that forward argv and stdin to the same method.
 * Sources: juju-hooks.md sections 2 and 7, and Juju's jujuc commands (read, not copied). Behaviour
 * the reference marks unverified, or that we had to choose, is listed in docs/simulation.md.
 */
import fs from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { ToolResult, ToolRunner } from '../../framework/backend.js';
import type { CharmMeta } from '../../framework/meta.js';
import { checkEmpty, goQuoteList, parseArgs, ToolError, usage, type FlagSpec } from './flags.js';
import { newSecretId, type RelationState, type SecretState, type State } from '../state.js';

export interface HookContext {
  /** This unit, `<app>/<n>`. */
  unitName: string;
  meta: CharmMeta;
  /** The relation of a relation hook: the default for `-r`. */
  relationId?: number;
  remoteUnit?: string;
  remoteApp?: string;
  /** Set when the dispatch is an action. */
  action?: { name: string; params: Record<string, unknown> };
  now?: () => Date;
}

export interface JujuLogRecord {
  level: string;
  message: string;
}

export interface ToolCall {
  tool: string;
  args: string[];
}

const SECRET_KEY_RE = /^([a-z](?:-?[a-z0-9]){2,})$/;
const ACTION_KEY_RE = /^[a-z0-9](?:[a-z0-9\-.]*[a-z0-9])?$/;
const UNIT_RE = /^[a-z][a-z0-9-]*\/\d+$/;
const APP_RE = /^[a-z][a-z0-9-]*$/;
const STATUSES = ['maintenance', 'blocked', 'waiting', 'active'];
const ROTATE = ['never', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly'];
const FORMATS = ['json', 'yaml', 'smart'];

export class UnitAgent {
  /** Input state plus the effects Juju applies immediately (status, logs, version). */
  private committed: State;
  /** Everything the hook did; becomes the output if the hook succeeds. */
  private working: State;
  readonly logs: JujuLogRecord[] = [];
  readonly calls: ToolCall[] = [];
  readonly statusHistory: { unit: State['unitStatus'][]; app: State['appStatus'][] } = { unit: [], app: [] };
  readonly action = { results: {} as Record<string, string>, logs: [] as string[], failure: undefined as string | undefined };
  readonly removedSecretRevisions: { id: string; revision: number | 'all' }[] = [];
  readonly appName: string;

  constructor(
    state: State,
    readonly ctx: HookContext,
  ) {
    this.committed = structuredClone(state);
    this.working = structuredClone(state);
    this.appName = ctx.unitName.split('/')[0]!;
  }

  /** The state after the hook: everything if it succeeded, only immediate effects if not. */
  finish(success: boolean): State {
    return structuredClone(success ? this.working : this.committed);
  }

  /** Peek at the working state (what the hook has done so far). */
  get current(): Readonly<State> {
    return this.working;
  }

  /** Run one hook tool. Never throws: failures are Juju's `ERROR ...` on stderr and an exit code. */
  run(tool: string, args: readonly string[], input = ''): ToolResult {
    this.calls.push({ tool, args: [...args] });
    try {
      const impl = this.tools[tool];
      if (!impl) throw new ToolError(`${tool}: not implemented by the simulator`, 1);
      const stdout = impl.call(this, [...args], input);
      return { exitCode: 0, stdout: stdout ?? '', stderr: '' };
    } catch (e) {
      if (e instanceof ToolError) return { exitCode: e.exitCode, stdout: '', stderr: `ERROR ${e.message}\n` };
      return { exitCode: 1, stdout: '', stderr: `ERROR ${(e as Error).message}\n` };
    }
  }

  // --- helpers ----------------------------------------------------------------------------------

  private both(fn: (s: State) => void): void {
    fn(this.working);
    fn(this.committed);
  }

  private isLeader(): boolean {
    return this.working.leader;
  }

  private out(value: unknown, format: string | boolean | undefined, fallback = 'smart'): string {
    const f = typeof format === 'string' ? format : fallback;
    if (f === 'json') return `${JSON.stringify(value ?? null)}\n`;
    if (value === null || value === undefined) return '';
    if (typeof value === 'string') return `${value}\n`;
    if (typeof value === 'boolean' || typeof value === 'number') return `${String(value)}\n`;
    return toYaml(value);
  }

  private formatFlag(): FlagSpec {
    return {
      kind: 'string',
      check: (v) => {
        if (!FORMATS.includes(v)) throw new Error(`unknown format ${JSON.stringify(v)}`);
      },
    };
  }

  private findRelation(ref: string): RelationState {
    const idText = ref.includes(':') ? ref.slice(ref.lastIndexOf(':') + 1) : ref;
    const endpoint = ref.includes(':') ? ref.slice(0, ref.lastIndexOf(':')) : undefined;
    if (!/^\d+$/.test(idText)) throw new Error('invalid relation id');
    const rel = this.working.relations.find((r) => r.id === Number(idText));
    // Juju itself only looks at the number; the reference asks a simulator to also refuse a
    // mismatched endpoint, which catches charm bugs earlier.
    if (!rel || (endpoint !== undefined && endpoint !== rel.endpoint)) throw new Error('relation not found');
    return rel;
  }

  private relationFlag(): FlagSpec {
    return { kind: 'string', check: (v) => void this.findRelation(v) };
  }

  /** The relation named by -r, or the hook's relation. */
  private relationFrom(flags: Map<string, string | boolean>): RelationState {
    const r = flags.get('r');
    if (typeof r === 'string') return this.findRelation(r);
    if (this.ctx.relationId === undefined) throw usage('no relation id specified');
    return this.findRelation(String(this.ctx.relationId));
  }

  private isPeer(rel: RelationState): boolean {
    return this.ctx.meta.relations.get(rel.endpoint)?.role === 'peer';
  }

  private remoteUnits(rel: RelationState): string[] {
    const app = this.isPeer(rel) ? this.appName : rel.remoteAppName;
    return Object.keys(rel.remoteUnitsData)
      .map((n) => `${app}/${n}`)
      .filter((u) => u !== this.ctx.unitName)
      .sort((a, b) => Number(a.split('/')[1]) - Number(b.split('/')[1]));
  }

  private secretKey(id: string): string {
    // secret:X, secret://<uuid>/X and bare X all name the same secret.
    return id.replace(/^secret:(\/\/[^/]*\/)?/, '');
  }

  private findSecret(id: string | undefined, label: string | undefined): SecretState {
    const s = id
      ? this.working.secrets.find((x) => this.secretKey(x.id) === this.secretKey(id))
      : this.working.secrets.find((x) => x.label === label);
    if (!s) {
      throw new ToolError(id ? `secret ${JSON.stringify(id)} not found` : `secret with label ${JSON.stringify(label)} not found`, 1);
    }
    return s;
  }

  private requireOwner(s: SecretState, id: string): void {
    if (s.owner === null) throw new ToolError(`secret ${JSON.stringify(id)} not found`, 1);
    if (s.owner === 'app' && !this.isLeader()) throw new ToolError('permission denied', 1);
  }

  private readContentArgs(args: string[]): Record<string, string> {
    const content: Record<string, string> = {};
    for (const a of args) {
      const eq = a.indexOf('=');
      if (eq <= 0) throw usage(`expected "key=value", got ${JSON.stringify(a)}`);
      let key = a.slice(0, eq);
      let value = a.slice(eq + 1);
      if (key.endsWith('#file')) {
        key = key.slice(0, -5);
        try {
          // ops deletes the file right after the call, so it must be read now.
          value = fs.readFileSync(value, 'utf8');
        } catch (e) {
          throw usage(`cannot read secret value file ${JSON.stringify(value)}: ${(e as Error).message}`);
        }
      } else if (key.endsWith('#base64')) {
        key = key.slice(0, -7);
        value = Buffer.from(value, 'base64').toString('utf8');
      }
      if (!SECRET_KEY_RE.test(key)) throw usage(`secret key ${JSON.stringify(key)} not valid`);
      content[key] = value;
    }
    return content;
  }

  private expireCheck(): FlagSpec {
    return {
      kind: 'string',
      check: (v) => {
        if (Number.isNaN(Date.parse(v)) && !/^\d+(ns|us|ms|s|m|h)+$/.test(v)) throw new Error(`expire time or duration ${JSON.stringify(v)} not valid`);
      },
    };
  }

  // --- the tools --------------------------------------------------------------------------------

  private readonly tools: Record<string, (args: string[], input: string) => string | void> = {
    'relation-ids': (args) => {
      const p = parseArgs(args, { format: this.formatFlag() });
      const [name, ...rest] = p.positional;
      checkEmpty(rest);
      const endpoint = name ?? this.working.relations.find((r) => r.id === this.ctx.relationId)?.endpoint;
      if (!endpoint) throw usage('no endpoint name specified');
      const ids = this.working.relations.filter((r) => r.endpoint === endpoint).map((r) => `${r.endpoint}:${r.id}`);
      return this.out(ids, p.flags.get('format'));
    },

    'relation-list': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), r: this.relationFlag(), relation: this.relationFlag(), app: { kind: 'bool' } }, { relation: 'r' });
      checkEmpty(p.positional);
      const rel = this.relationFrom(p.flags);
      if (p.flags.get('app')) return this.out(this.isPeer(rel) ? this.appName : rel.remoteAppName, p.flags.get('format'));
      return this.out(this.remoteUnits(rel), p.flags.get('format'));
    },

    'relation-get': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), r: this.relationFlag(), relation: this.relationFlag(), app: { kind: 'bool' } }, { relation: 'r' });
      const rel = this.relationFrom(p.flags);
      const pos = [...p.positional];
      let key = pos.shift() ?? '';
      if (key === '-') key = '';
      let isApp = p.flags.get('app') === true;
      let name = pos.shift();
      checkEmpty(pos);
      if (name !== undefined) {
        if (isApp) {
          if (UNIT_RE.test(name)) name = name.split('/')[0]!;
          else if (!APP_RE.test(name)) throw usage(`invalid application name ${JSON.stringify(name)}`);
        } else if (!UNIT_RE.test(name)) {
          throw usage(APP_RE.test(name) ? `expected unit name, got application name ${JSON.stringify(name)}` : `invalid unit name ${JSON.stringify(name)}`);
        }
      } else if (isApp) {
        name = this.ctx.remoteApp;
        if (!name) throw usage('no unit or application specified');
      } else if (this.ctx.remoteUnit) {
        name = this.ctx.remoteUnit;
      } else if (this.ctx.remoteApp) {
        name = this.ctx.remoteApp;
        isApp = true;
      } else {
        throw usage('no unit or application specified');
      }
      const data = this.databag(rel, name, isApp);
      const value = key ? (data[key] ?? null) : data;
      return this.out(value, p.flags.get('format'));
    },

    'relation-set': (args, input) => {
      const p = parseArgs(
        args,
        { r: this.relationFlag(), relation: this.relationFlag(), file: { kind: 'string' }, app: { kind: 'bool' }, format: { kind: 'string' } },
        { relation: 'r' },
      );
      const rel = this.relationFrom(p.flags);
      const settings: Record<string, string> = {};
      const file = p.flags.get('file');
      if (typeof file === 'string') {
        const text = file === '-' ? input : fs.readFileSync(file, 'utf8');
        let doc: unknown;
        try {
          doc = text.trim() ? parseYaml(text) : {};
        } catch (e) {
          throw new ToolError(`cannot parse settings: ${(e as Error).message}`, 1);
        }
        if (doc === null) doc = {};
        if (typeof doc !== 'object' || Array.isArray(doc)) throw new ToolError('settings file must contain a YAML map', 1);
        for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
          if (v !== null && typeof v === 'object') throw new ToolError(`cannot unmarshal value of key ${JSON.stringify(k)} into string`, 1);
          settings[k] = v === null ? '' : String(v);
        }
      }
      for (const a of p.positional) {
        const eq = a.indexOf('=');
        if (eq <= 0) throw usage(`expected "key=value", got ${JSON.stringify(a)}`);
        settings[a.slice(0, eq)] = a.slice(eq + 1);
      }
      const isApp = p.flags.get('app') === true;
      if (isApp && !this.isLeader()) throw new ToolError('cannot write relation settings', 1);
      const bag = isApp ? rel.localAppData : rel.localUnitData;
      for (const [k, v] of Object.entries(settings)) {
        if (v === '') delete bag[k];
        else bag[k] = v;
      }
    },

    'config-get': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), all: { kind: 'bool' }, a: { kind: 'bool' } }, { a: 'all' });
      const [key, ...rest] = p.positional;
      checkEmpty(rest);
      const values: Record<string, unknown> = {};
      for (const [name, o] of this.ctx.meta.config) {
        const v = this.working.config[name] ?? o.default ?? null;
        if (v !== null || p.flags.get('all')) values[name] = v;
      }
      // Options set in the state but not declared are not charm config: Juju would refuse them.
      if (key !== undefined) return this.out(values[key] ?? null, p.flags.get('format'));
      return this.out(values, p.flags.get('format'));
    },

    'is-leader': (args) => {
      const p = parseArgs(args, { format: this.formatFlag() });
      checkEmpty(p.positional);
      return this.out(this.isLeader(), p.flags.get('format'));
    },

    'goal-state': (args) => {
      const p = parseArgs(args, { format: this.formatFlag() });
      checkEmpty(p.positional);
      const since = (this.ctx.now?.() ?? new Date()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
      const units: Record<string, { status: string; since: string }> = {};
      for (let i = 0; i < this.working.plannedUnits; i++) units[`${this.appName}/${i}`] = { status: 'active', since };
      const relations: Record<string, Record<string, { status: string; since: string }>> = {};
      for (const r of this.working.relations) {
        const entries = (relations[r.endpoint] ??= {});
        if (!this.isPeer(r)) entries[r.remoteAppName] = { status: 'joined', since };
        for (const u of this.remoteUnits(r)) entries[u] = { status: 'active', since };
      }
      return this.out({ units, relations }, p.flags.get('format'));
    },

    'status-get': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), 'include-data': { kind: 'bool' }, application: { kind: 'bool' } });
      checkEmpty(p.positional);
      const detail = (s: State['unitStatus']) => ({ status: s.name, message: s.message, 'status-data': {} });
      if (p.flags.get('application')) {
        if (!this.isLeader()) throw new ToolError('finding application status: this unit is not the leader', 1);
        return this.out(
          { 'application-status': detail(this.working.appStatus), units: { [this.ctx.unitName]: detail(this.working.unitStatus) } },
          p.flags.get('format'),
        );
      }
      return this.out(detail(this.working.unitStatus), p.flags.get('format'));
    },

    'status-set': (args) => {
      const p = parseArgs(args, { application: { kind: 'bool' } });
      const [status, message = '', ...rest] = p.positional;
      if (status === undefined) throw usage('invalid args, require <status> [message]');
      if (!STATUSES.includes(status)) throw usage(`invalid status ${JSON.stringify(status)}, expected one of [${STATUSES.join(' ')}]`);
      checkEmpty(rest);
      const s = { name: status as State['unitStatus']['name'], message };
      if (p.flags.get('application')) {
        if (!this.isLeader()) throw new ToolError('this unit is not the leader', 1);
        this.statusHistory.app.push(this.working.appStatus);
        this.both((st) => (st.appStatus = { ...s }));
      } else {
        this.statusHistory.unit.push(this.working.unitStatus);
        this.both((st) => (st.unitStatus = { ...s }));
      }
    },

    'application-version-set': (args) => {
      const p = parseArgs(args, {});
      const [version, ...rest] = p.positional;
      if (version === undefined) throw usage('no version specified');
      checkEmpty(rest);
      this.both((st) => (st.workloadVersion = version));
    },

    'juju-log': (args) => {
      const p = parseArgs(args, { debug: { kind: 'bool' }, l: { kind: 'string' }, 'log-level': { kind: 'string' }, format: { kind: 'string' } }, { l: 'log-level' });
      if (p.positional.length === 0) throw usage('no message specified');
      const level = p.flags.get('debug') ? 'DEBUG' : String(p.flags.get('log-level') ?? 'INFO');
      this.logs.push({ level, message: p.positional.join(' ') });
    },

    'secret-get': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), label: { kind: 'string' }, peek: { kind: 'bool' }, refresh: { kind: 'bool' } });
      const pos = [...p.positional];
      const id = pos.shift();
      if (id !== undefined && !/^(secret:(\/\/[^/]+\/)?)?[0-9a-z]{20}$/.test(id)) throw usage(`secret URI ${JSON.stringify(id)} not valid`);
      const label = p.flags.get('label') as string | undefined;
      if (id === undefined && !label) throw usage('require either a secret URI or label');
      if (p.flags.get('peek') && p.flags.get('refresh')) throw usage('specify one of --peek or --refresh but not both');
      const key = pos.shift();
      checkEmpty(pos);
      const s = this.findSecret(id, id === undefined ? label : undefined);
      // An id and a label together: Juju records the label for this secret.
      if (id !== undefined && label) s.label = label;
      const latest = s.revisions.at(-1)!;
      let rev;
      if (s.owner !== null || p.flags.get('peek')) rev = latest;
      else if (p.flags.get('refresh')) {
        s.trackedRevision = latest.revision;
        rev = latest;
      } else {
        const tracked = s.trackedRevision ?? s.revisions[0]!.revision;
        s.trackedRevision = tracked;
        rev = s.revisions.find((r) => r.revision === tracked) ?? latest;
      }
      if (key !== undefined) {
        if (!(key in rev.content)) throw new ToolError(`secret key ${JSON.stringify(key)} not found`, 1);
        return this.out(rev.content[key], p.flags.get('format'), 'yaml');
      }
      return this.out(rev.content, p.flags.get('format'), 'yaml');
    },

    'secret-info-get': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), label: { kind: 'string' } });
      const [id, ...rest] = p.positional;
      checkEmpty(rest);
      const label = p.flags.get('label') as string | undefined;
      if (id === undefined && !label) throw usage('require either a secret URI or label');
      if (id !== undefined && label) throw usage('specify either a secret URI or label but not both');
      const s = this.findSecret(id, label);
      this.requireOwner(s, id ?? label ?? '');
      const info: Record<string, unknown> = { revision: s.revisions.at(-1)!.revision };
      if (s.label !== undefined) info.label = s.label;
      if (s.description !== undefined) info.description = s.description;
      if (s.expire !== undefined) info.expiry = s.expire;
      if (s.rotate !== undefined) info.rotation = s.rotate;
      return this.out({ [s.id]: info }, p.flags.get('format'), 'yaml');
    },

    'secret-ids': (args) => {
      const p = parseArgs(args, { format: this.formatFlag() });
      checkEmpty(p.positional);
      return this.out(this.working.secrets.filter((s) => s.owner !== null).map((s) => s.id), p.flags.get('format'), 'yaml');
    },

    'secret-add': (args) => {
      const p = parseArgs(args, {
        label: { kind: 'string' },
        description: { kind: 'string' },
        expire: this.expireCheck(),
        rotate: { kind: 'string', check: (v) => { if (!ROTATE.includes(v)) throw new Error(`rotate policy ${JSON.stringify(v)} not valid`); } },
        owner: { kind: 'string', check: (v) => { if (v !== 'application' && v !== 'unit') throw new Error(`secret owner ${JSON.stringify(v)} not valid`); } },
        file: { kind: 'string' },
      });
      if (p.positional.length === 0) throw usage('missing secret value or filename');
      const content = this.readContentArgs(p.positional);
      const owner = (p.flags.get('owner') ?? 'application') === 'unit' ? 'unit' : 'app';
      if (owner === 'app' && !this.isLeader()) throw new ToolError('permission denied', 1);
      const label = p.flags.get('label') as string | undefined;
      if (label && this.working.secrets.some((s) => s.label === label && s.owner !== null)) {
        throw new ToolError(`secret with label ${JSON.stringify(label)} already exists`, 1);
      }
      const secret: SecretState = {
        id: newSecretId(),
        owner,
        label,
        description: p.flags.get('description') as string | undefined,
        expire: p.flags.get('expire') as string | undefined,
        rotate: p.flags.get('rotate') as SecretState['rotate'],
        revisions: [{ revision: 1, content }],
        grants: {},
      };
      for (const k of Object.keys(secret) as (keyof SecretState)[]) if (secret[k] === undefined) delete secret[k];
      this.working.secrets.push(secret);
      return `${secret.id}\n`;
    },

    'secret-set': (args) => {
      const p = parseArgs(args, {
        label: { kind: 'string' },
        description: { kind: 'string' },
        expire: this.expireCheck(),
        rotate: { kind: 'string', check: (v) => { if (!ROTATE.includes(v)) throw new Error(`rotate policy ${JSON.stringify(v)} not valid`); } },
        owner: { kind: 'string', check: (v) => { if (v !== 'application' && v !== 'unit') throw new Error(`secret owner ${JSON.stringify(v)} not valid`); } },
        file: { kind: 'string' },
      });
      const [id, ...contentArgs] = p.positional;
      if (id === undefined) throw usage('missing secret URI');
      const content = contentArgs.length ? this.readContentArgs(contentArgs) : null;
      const s = this.findSecret(id, undefined);
      this.requireOwner(s, id);
      if (content) s.revisions.push({ revision: s.revisions.at(-1)!.revision + 1, content });
      for (const k of ['label', 'description', 'expire', 'rotate'] as const) {
        const v = p.flags.get(k);
        if (typeof v === 'string') (s as Record<string, unknown>)[k] = v;
      }
    },

    'secret-grant': (args) => this.grantOrRevoke(args, true),
    'secret-revoke': (args) => this.grantOrRevoke(args, false),

    'secret-remove': (args) => {
      const p = parseArgs(args, { revision: { kind: 'string', check: (v) => { if (!/^\d+$/.test(v)) throw new Error('invalid revision'); } } });
      const [id, ...rest] = p.positional;
      if (id === undefined) throw usage('missing secret URI');
      checkEmpty(rest);
      const s = this.findSecret(id, undefined);
      this.requireOwner(s, id);
      const rev = p.flags.get('revision');
      if (typeof rev === 'string') {
        const n = Number(rev);
        if (!s.revisions.some((r) => r.revision === n)) throw new ToolError(`secret revision ${n} not found`, 1);
        s.revisions = s.revisions.filter((r) => r.revision !== n);
        this.removedSecretRevisions.push({ id: s.id, revision: n });
        if (s.revisions.length === 0) this.working.secrets = this.working.secrets.filter((x) => x !== s);
      } else {
        this.working.secrets = this.working.secrets.filter((x) => x !== s);
        this.removedSecretRevisions.push({ id: s.id, revision: 'all' });
      }
    },

    'state-get': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), strict: { kind: 'bool' } });
      const [key, ...rest] = p.positional;
      checkEmpty(rest);
      const store = this.working.controllerState;
      const format = p.flags.get('format');
      if (key === undefined) return format === undefined ? toYaml(store) : this.out(store, format);
      if (!(key in store)) {
        if (p.flags.get('strict')) throw new ToolError(`key ${JSON.stringify(key)} not found`, 1);
        return format === undefined ? '' : this.out(null, format);
      }
      return format === undefined ? `${store[key]}\n` : this.out(store[key], format);
    },

    'state-set': (args, input) => {
      const p = parseArgs(args, { file: { kind: 'string' } });
      const values: Record<string, string> = {};
      const file = p.flags.get('file');
      if (typeof file === 'string') {
        const doc = parseYaml(file === '-' ? input : fs.readFileSync(file, 'utf8')) ?? {};
        if (typeof doc !== 'object' || Array.isArray(doc)) throw new ToolError('state file must contain a YAML map', 1);
        for (const [k, v] of Object.entries(doc as Record<string, unknown>)) values[k] = typeof v === 'string' ? v : JSON.stringify(v);
      }
      for (const a of p.positional) {
        const eq = a.indexOf('=');
        if (eq <= 0) throw usage(`expected "key=value", got ${JSON.stringify(a)}`);
        values[a.slice(0, eq)] = a.slice(eq + 1);
      }
      for (const [k, v] of Object.entries(values)) {
        if (v === '') delete this.working.controllerState[k];
        else this.working.controllerState[k] = v;
      }
    },

    'state-delete': (args) => {
      const p = parseArgs(args, {});
      const [key, ...rest] = p.positional;
      if (key === undefined) throw usage('no key specified');
      checkEmpty(rest);
      delete this.working.controllerState[key];
    },

    'action-get': (args) => {
      const p = parseArgs(args, { format: this.formatFlag() });
      if (!this.ctx.action) throw new ToolError('not running an action', 1);
      let value: unknown = this.ctx.action.params;
      for (const k of p.positional.flatMap((x) => x.split('.'))) value = (value as Record<string, unknown> | undefined)?.[k];
      return this.out(value ?? null, p.flags.get('format'), 'yaml');
    },

    'action-set': (args) => {
      if (!this.ctx.action) throw new ToolError('not running an action', 1);
      const p = parseArgs(args, {});
      for (const a of p.positional) {
        const eq = a.indexOf('=');
        if (eq <= 0) throw usage(`argument ${JSON.stringify(a)} must be of the form key...=value`);
        const key = a.slice(0, eq);
        for (const part of key.split('.')) {
          if (!ACTION_KEY_RE.test(part)) {
            throw usage(`key ${JSON.stringify(part)} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods`);
          }
        }
        this.action.results[key] = a.slice(eq + 1);
      }
    },

    'action-log': (args) => {
      if (!this.ctx.action) throw new ToolError('not running an action', 1);
      const p = parseArgs(args, {});
      if (p.positional.length === 0) throw usage('no message specified');
      this.action.logs.push(p.positional.join(' '));
    },

    'action-fail': (args) => {
      if (!this.ctx.action) throw new ToolError('not running an action', 1);
      const p = parseArgs(args, {});
      this.action.failure = p.positional.join(' ') || 'action failed without reason given, check action for errors';
    },

    'open-port': (args) => this.port(args, true),
    'close-port': (args) => this.port(args, false),

    'opened-ports': (args) => {
      const p = parseArgs(args, { format: this.formatFlag(), endpoints: { kind: 'bool' } });
      checkEmpty(p.positional);
      return this.out(this.working.openedPorts.map((x) => (x.protocol === 'icmp' ? 'icmp' : `${x.port}/${x.protocol}`)), p.flags.get('format'), 'smart');
    },

    'network-get': (args) => {
      const p = parseArgs(args, {
        format: this.formatFlag(),
        r: { kind: 'string' },
        relation: { kind: 'string' },
        'bind-address': { kind: 'bool' },
        'ingress-address': { kind: 'bool' },
        'egress-subnets': { kind: 'bool' },
        'primary-address': { kind: 'bool' },
      }, { relation: 'r' });
      const [binding, ...rest] = p.positional;
      if (binding === undefined) throw usage('no arguments specified');
      checkEmpty(rest);
      const known = this.ctx.meta.relations.has(binding);
      const net = this.working.networks[binding];
      if (!net && !known) throw new ToolError(`no network config found for binding ${JSON.stringify(binding)}`, 1);
      const value = net ?? {
        'bind-addresses': [{ 'mac-address': '', 'interface-name': 'eth0', addresses: [{ hostname: '', value: '192.0.2.0', cidr: '192.0.2.0/24' }] }],
        'egress-subnets': ['192.0.2.0/24'],
        'ingress-addresses': ['192.0.2.0'],
      };
      return this.out(value, p.flags.get('format'), 'smart');
    },

    'resource-get': (args) => {
      const p = parseArgs(args, {});
      const [name, ...rest] = p.positional;
      if (name === undefined) throw usage('missing required resource name');
      checkEmpty(rest);
      const path = this.working.resources[name];
      if (!path) throw new ToolError(`could not download resource: resource ${JSON.stringify(name)} not found`, 1);
      return `${path}\n`;
    },
  };

  private databag(rel: RelationState, name: string, isApp: boolean): Record<string, string> {
    if (isApp) {
      if (name === this.appName) {
        // A peer relation's app databag is shared by all units of the app.
        if (this.isPeer(rel) || this.isLeader()) return rel.localAppData;
        // A non-leader's own-app read goes to the controller, which refuses it (assumed; ops never asks).
        throw new ToolError('permission denied', 1);
      }
      if (name !== rel.remoteAppName || this.isPeer(rel)) {
        throw new ToolError(`application ${JSON.stringify(name)} is not in relation ${rel.endpoint}:${rel.id}`, 1);
      }
      return rel.remoteAppData;
    }
    if (name === this.ctx.unitName) return rel.localUnitData;
    const app = this.isPeer(rel) ? this.appName : rel.remoteAppName;
    const [uApp, n] = name.split('/');
    const bag = uApp === app ? rel.remoteUnitsData[n!] : undefined;
    if (!bag) throw new ToolError(`cannot read settings for unit ${JSON.stringify(name)} in relation ${JSON.stringify(`${rel.endpoint}:${rel.id}`)}: settings not found`, 1);
    return bag;
  }

  private grantOrRevoke(args: string[], grant: boolean): void {
    const p = parseArgs(args, { relation: { kind: 'string' }, r: { kind: 'string' }, unit: { kind: 'string' }, app: { kind: 'string' } }, { r: 'relation' });
    const [id, ...rest] = p.positional;
    if (id === undefined) throw usage('missing secret URI');
    checkEmpty(rest);
    const relRef = p.flags.get('relation');
    if (typeof relRef !== 'string') throw usage('missing relation or application');
    let rel: RelationState;
    try {
      rel = this.findRelation(relRef);
    } catch {
      throw usage(`invalid value ${JSON.stringify(relRef)} for option --relation: relation not found`);
    }
    const s = this.findSecret(id, undefined);
    this.requireOwner(s, id);
    const who = (p.flags.get('unit') as string | undefined) ?? rel.remoteAppName;
    const list = new Set(s.grants[String(rel.id)] ?? []);
    if (grant) list.add(who);
    else list.delete(who);
    if (list.size) s.grants[String(rel.id)] = [...list].sort();
    else delete s.grants[String(rel.id)];
  }

  private port(args: string[], open: boolean): void {
    const p = parseArgs(args, { endpoints: { kind: 'string' }, format: { kind: 'string' } });
    const [spec, ...rest] = p.positional;
    if (spec === undefined) throw usage('no port or range specified');
    checkEmpty(rest);
    let port: { protocol: 'tcp' | 'udp' | 'icmp'; port?: number };
    if (spec.toLowerCase() === 'icmp') port = { protocol: 'icmp' };
    else {
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/i.exec(spec);
      if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw usage(`invalid port or range ${JSON.stringify(spec)}`);
      port = { protocol: (m[3]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp', port: Number(m[1]) };
    }
    const same = (x: { protocol: string; port?: number }) => x.protocol === port.protocol && x.port === port.port;
    const ports = this.working.openedPorts.filter((x) => !same(x));
    if (open) ports.push(port);
    this.working.openedPorts = ports;
  }
}

/** Hand hook-tool calls straight to an agent (in-process simulation). */
export function agentRunner(agent: UnitAgent): ToolRunner {
  return {
    async run(tool, args, options) {
      return agent.run(tool, args, options?.input ?? '');
    },
  };
}

export { goQuoteList };
