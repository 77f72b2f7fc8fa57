/**
 * A fake Juju unit agent: it answers every hook tool of one dispatch from a simulated {@link State},
 * with Juju's argument parsing, output formats, error texts and exit codes, and Juju's commit
 * semantics: relation data, secrets, ports and controller state change only if the hook succeeds;
 * status, logs, the workload version and a consumer's secret tracking take effect at once.
 *
 * The in-process simulation calls {@link UnitAgent.run} directly (through {@link agentRunner}); the
 * out-of-process simulator puts executables on PATH that forward argv and stdin to the same method.
 * Sources: juju-hooks.md sections 2 and 7, and Juju's jujuc commands (read, not copied). What was
 * verified, assumed or deliberately changed is listed per tool in docs/hook-tools.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ToolResult, ToolRunner } from '@juju-ts/ops';
import type { CharmMeta } from '@juju-ts/ops';
import { checkEmpty, HelpRequested, parseArgs, ToolError, usage, type FlagSpec, type ParsedArgs } from './flags.js';
import {
  formatOutput,
  goAtoi,
  goParseDuration,
  goParseTime,
  goQuote,
  goQuoteList,
  GoStrings,
  GoYamlError,
  goTimeJson,
  goYamlSettings,
  newXid,
  struct,
  type Format,
} from './go.js';
import type { RelationState, SecretState, State } from '../state.js';

export interface HookContext {
  /** This unit, `<app>/<n>`. */
  unitName: string;
  meta: CharmMeta;
  /** The hook being run (`db-relation-departed`, ...): relation-list's membership depends on it. */
  hook?: string;
  /** The relation of a relation hook: the default for `-r`. */
  relationId?: number;
  remoteUnit?: string;
  remoteApp?: string;
  /** Set when the dispatch is an action. */
  action?: { name: string; params: Record<string, unknown> };
  now?: () => Date;
  /** The hook's working directory, for relative paths in arguments (default: this process's cwd). */
  charmDir?: string;
}

export interface JujuLogRecord {
  level: string;
  message: string;
}

export interface ToolCall {
  tool: string;
  args: string[];
}

/** A tool's answer: stdout, or stdout and stderr (Juju writes deprecation warnings on success). */
type ToolOutput = string | void | { stdout: string; stderr: string };

// Juju's names package: application and unit names.
const APP_SNIPPET = '(?:[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*)';
const APP_RE = new RegExp(`^${APP_SNIPPET}$`);
const UNIT_RE = new RegExp(`^${APP_SNIPPET}/(?:0|[1-9][0-9]*)$`);
const SECRET_KEY_RE = /^([a-z](?:-?[a-z0-9]){2,})$/;
const ACTION_KEY_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const RESERVED_ACTION_KEYS = ['stdout', 'stdout-encoding', 'stderr', 'stderr-encoding'];
const STATUSES = ['maintenance', 'blocked', 'waiting', 'active'];
const ROTATE = ['never', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly'];
const LOG_LEVELS: Record<string, string> = { TRACE: 'TRACE', DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARNING', WARNING: 'WARNING', ERROR: 'ERROR', CRITICAL: 'CRITICAL' };
const UUID_RE = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;
const SECRET_ID_RE = new RegExp(`^(?:(${UUID_RE.source.slice(1, -1)})/)?([0-9a-z]{20})$`);
const NOT_LEADER = 'this unit is not the leader';

/** Short usage lines for `--help` (Juju prints its full help text; see docs/hook-tools.md). */
const USAGE: Record<string, string> = {
  'relation-ids': '[options] <name>',
  'relation-list': '[options]',
  'relation-get': '[options] <key> <unit id>',
  'relation-set': '[options] key=value [key=value ...]',
  'config-get': '[options] [<key>]',
  'is-leader': '[options]',
  'goal-state': '[options]',
  'status-get': '[options] [--include-data] [--application]',
  'status-set': '[options] <maintenance | blocked | waiting | active> [message]',
  'application-version-set': '<new-version>',
  'juju-log': '[options] <message>',
  'secret-get': '[options] <ID> [key[#base64]]',
  'secret-info-get': '[options] <ID>',
  'secret-add': '[options] [key[#base64|#file]=value...]',
  'secret-set': '[options] <ID> [key[#base64]=value...]',
  'secret-grant': '[options] <ID>',
  'secret-revoke': '[options] <ID>',
  'secret-remove': '[options] <ID>',
  'secret-ids': '[options]',
  'state-get': '[options] [<key>]',
  'state-set': '[options] key=value [key=value ...]',
  'state-delete': '<key>',
  'action-get': '[options] [<key>[.<key>.<key>...]]',
  'action-set': '<key>=<value> [<key>=<value> ...]',
  'action-log': '<message>',
  'action-fail': '["<failure message>"]',
  'open-port': '[options] <port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp',
  'close-port': '[options] <port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp',
  'opened-ports': '[options]',
  'network-get': '[options] <binding-name> [--ingress-address] [--bind-address] [--egress-subnets]',
  'resource-get': '<resource name>',
};

interface SecretRef {
  /** The bare id (what follows `secret:`). */
  id: string;
}

const bareId = (stateId: string) => stateId.replace(/^secret:/, '');

export class UnitAgent {
  /** Input state plus the effects Juju applies immediately (status, logs, version, secret tracking). */
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
    const impl = Object.hasOwn(this.tools, tool) ? this.tools[tool] : undefined;
    if (!impl) return { exitCode: 1, stdout: '', stderr: `ERROR ${tool}: not implemented by the simulator\n` };
    try {
      const out = impl.call(this, [...args], input);
      if (out && typeof out === 'object') return { exitCode: 0, ...out };
      return { exitCode: 0, stdout: out ?? '', stderr: '' };
    } catch (e) {
      if (e instanceof HelpRequested) return { exitCode: 0, stdout: `Usage: ${tool} ${USAGE[tool] ?? '[options]'}\n`, stderr: '' };
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

  /** `--format` (and `-o`/`--output`) as cmd.Output adds them. */
  private outputFlags(formats: Format[] = ['smart', 'yaml', 'json']): Record<string, FlagSpec> {
    return {
      format: { kind: 'string', check: (v) => void (formats.includes(v as Format) || fail(`unknown format ${goQuote(v)}`)) },
      o: { kind: 'string' },
      output: { kind: 'string' },
    };
  }

  /** cmd.Output.Write: format the value; write it to `--output` if given, else to stdout. */
  private write(p: ParsedArgs, value: unknown, defaultFormat: Format = 'smart'): string {
    const text = formatOutput(value, (p.flags.get('format') as Format | undefined) ?? defaultFormat);
    const target = (p.flags.get('output') ?? p.flags.get('o')) as string | undefined;
    if (target === undefined || target === '') return text;
    fs.writeFileSync(this.absPath(target), text);
    return '';
  }

  private absPath(p: string): string {
    return path.resolve(this.ctx.charmDir ?? process.cwd(), p.replace(/^~(?=\/|$)/, process.env.HOME ?? '~'));
  }

  /** cmd.FileVar.Open: `-` is stdin where the command allows it. */
  private readFile(p: string, input: string, stdinOk: boolean): string {
    if (stdinOk && p === '-') return input;
    return readGoFile(this.absPath(p));
  }

  private hookRelationId(): number {
    const id = this.ctx.relationId;
    return id !== undefined && this.working.relations.some((r) => r.id === id) ? id : -1;
  }

  /**
   * Juju's relationIdValue for `-r`/`--relation`: the number after the last colon names the
   * relation. Deliberately stricter than Juju: an endpoint that does not match is refused too.
   */
  private relationOption(): { spec: Record<string, FlagSpec>; id: () => number } {
    let chosen = this.hookRelationId();
    const spec: FlagSpec = {
      kind: 'string',
      check: (value) => {
        const colon = value.lastIndexOf(':');
        let id: number;
        try {
          id = goAtoi(colon >= 0 ? value.slice(colon + 1) : value);
        } catch {
          throw new Error('invalid relation id');
        }
        const rel = this.working.relations.find((r) => r.id === id);
        if (!rel || (colon >= 0 && value.slice(0, colon) !== rel.endpoint)) throw new Error('relation not found');
        chosen = id;
      },
    };
    return { spec: { r: spec, relation: spec }, id: () => chosen };
  }

  private relation(id: number): RelationState {
    return this.working.relations.find((r) => r.id === id)!;
  }

  private isPeer(rel: RelationState): boolean {
    return this.ctx.meta.relations.get(rel.endpoint)?.role === 'peer';
  }

  private remoteAppOf(rel: RelationState): string {
    return this.isPeer(rel) ? this.appName : rel.remoteAppName;
  }

  private remoteUnits(rel: RelationState): string[] {
    const app = this.remoteAppOf(rel);
    return Object.keys(rel.remoteUnitsData)
      .map((n) => `${app}/${n}`)
      .filter((u) => u !== this.ctx.unitName)
      .sort((a, b) => Number(a.split('/')[1]) - Number(b.split('/')[1]));
  }

  /**
   * relation-list's units: the remote units, less those that have left by this hook. Juju takes
   * the departing unit out of the relation before its -relation-departed hook runs, and by
   * -relation-broken every remote unit has departed (docs: juju-hooks.md "relation-departed";
   * the departing unit's databag stays readable with relation-get, as ops relies on).
   */
  private members(rel: RelationState): string[] {
    const units = this.remoteUnits(rel);
    if (rel.id !== this.ctx.relationId || this.ctx.hook === undefined) return units;
    if (this.ctx.hook.endsWith('-relation-broken')) return [];
    if (this.ctx.hook.endsWith('-relation-departed')) return units.filter((u) => u !== this.ctx.remoteUnit);
    return units;
  }

  /** secret-get / secret-info-get: a secret URI argument, a --label, or both (Juju's checks and texts). */
  private secretRefOrLabel(idText: string | undefined, p: ParsedArgs): { ref: SecretRef | undefined; label: string } {
    let ref: SecretRef | undefined;
    if (idText !== undefined) {
      try {
        ref = this.parseSecretUri(idText);
      } catch {
        throw usage(`secret URI ${goQuote(idText)} not valid`);
      }
    }
    const label = (p.flags.get('label') as string | undefined) ?? '';
    if (!ref && label === '') throw usage('require either a secret URI or label');
    return { ref, label };
  }

  /** secret-set / -grant / -revoke / -remove: the required secret URI argument (Juju's usage texts). */
  private secretUriArg(idText: string | undefined): { ref: SecretRef; text: string } {
    if (idText === undefined) throw usage('missing secret URI');
    try {
      return { ref: this.parseSecretUri(idText), text: idText };
    } catch (e) {
      throw usage((e as Error).message);
    }
  }

  /** core/secrets.ParseURI: `secret:<id>`, `secret://<uuid>/<id>` or a bare `<id>`. */
  private parseSecretUri(text: string): SecretRef {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(text);
    let idText: string;
    if (scheme) {
      if (scheme[1] !== 'secret') throw new Error(`secret URI scheme ${goQuote(scheme[1]!)} not valid`);
      const rest = scheme[2]!;
      if (rest.startsWith('//')) {
        const slash = rest.indexOf('/', 2);
        const host = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
        if (host !== '' && !UUID_RE.test(host)) throw new Error(`host controller UUID ${goQuote(host)} not valid`);
        idText = slash < 0 ? '' : rest.slice(slash).replace(/^\/+/, '');
      } else idText = rest.replace(/^\/+/, '');
    } else idText = text.replace(/^\/+/, '');
    const m = SECRET_ID_RE.exec(idText);
    if (!m) throw new Error(`secret URI ${goQuote(text)} not valid`);
    return { id: m[2]! };
  }

  private secretById(id: string, state: State = this.working): SecretState | undefined {
    return state.secrets.find((s) => bareId(s.id) === id);
  }

  /** The secrets Juju's SecretMetadata shows this unit: its own, and its app's if it leads. */
  private ownedVisible(s: SecretState): boolean {
    return s.owner === 'unit' || (s.owner === 'app' && this.isLeader());
  }

  /** A secret this hook may manage (set, revoke, remove). */
  private managedSecret(ref: SecretRef, text: string): SecretState {
    const s = this.secretById(ref.id);
    // Juju records these changes and fails the hook when it commits them; the fake refuses at once.
    if (!s) throw new ToolError(`secret ${goQuote(text)} not found`);
    if (!this.ownedVisible(s)) throw new ToolError('permission denied');
    return s;
  }

  private contentFromArgs(args: string[]): Record<string, string> {
    const raw: Record<string, string> = {};
    for (const a of args) {
      const idx = a.replace(/=+$/, '').indexOf('=');
      if (idx < 1) throw usage(`key value ${goQuote(a)} not valid`);
      let key = a.slice(0, idx);
      let value = a.slice(idx + 1);
      if (key.endsWith('#file')) {
        key = key.slice(0, -5);
        // ops deletes the file right after the call: it is read now, as Juju reads it.
        try {
          value = readGoFile(this.absPath(value));
        } catch (e) {
          throw usage(`reading content for secret key ${goQuote(key)}: ${(e as Error).message}`);
        }
      }
      raw[key] = value;
    }
    return raw;
  }

  /** secrets.encodeBase64's checks; values are kept decoded in the State. */
  private checkSecretContent(raw: Record<string, string>): Record<string, string> {
    const content: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      const key = k.endsWith('#base64') ? k.slice(0, -7) : k;
      if (!SECRET_KEY_RE.test(key)) throw usage(`key ${goQuote(key)} not valid`);
      content[key] = k.endsWith('#base64') ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    return content;
  }

  private secretFileContent(file: string): Record<string, string> {
    let text: string;
    try {
      text = readGoFile(this.absPath(file));
    } catch (e) {
      throw usage((e as Error).message);
    }
    try {
      const doc: unknown = JSON.parse(text);
      if (doc && typeof doc === 'object' && !Array.isArray(doc) && Object.values(doc).every((v) => typeof v === 'string')) return doc as Record<string, string>;
    } catch {
      // not JSON: YAML below, as Juju does
    }
    try {
      return goYamlSettings(text);
    } catch (e) {
      throw usage((e as Error).message);
    }
  }

  /** The options secret-add and secret-set share, checked as Juju's Init checks them. */
  private upsertFlags(): Record<string, FlagSpec> {
    return {
      expire: { kind: 'string' },
      rotate: { kind: 'string' },
      description: { kind: 'string' },
      label: { kind: 'string' },
      file: { kind: 'string' },
      owner: { kind: 'string' },
    };
  }

  private upsertInit(p: ParsedArgs, contentArgs: string[]): { content: Record<string, string>; expire?: string } {
    const expireSpec = p.flags.get('expire') as string | undefined;
    let expire: string | undefined;
    if (expireSpec) {
      let t = goParseTime(expireSpec) ?? goParseTime(expireSpec, true);
      if (!t) {
        const d = goParseDuration(expireSpec);
        if (d === undefined) throw usage(`expire time or duration ${goQuote(expireSpec)} not valid`);
        if (d <= 0) throw usage(`negative expire duration ${goQuote(expireSpec)} not valid`);
        t = new Date((this.ctx.now?.() ?? new Date()).getTime() + d);
      }
      expire = goTimeJson(t);
    }
    const rotate = p.flags.get('rotate') as string | undefined;
    if (rotate && !ROTATE.includes(rotate)) throw usage(`rotate policy ${goQuote(rotate)} not valid`);
    const owner = (p.flags.get('owner') as string | undefined) ?? 'application';
    if (owner !== 'application' && owner !== 'unit') throw usage(`secret owner ${goQuote(owner)} not valid`);
    const raw = this.contentFromArgs(contentArgs);
    let content = this.checkSecretContent(raw);
    const file = p.flags.get('file') as string | undefined;
    if (file) content = { ...content, ...this.checkSecretContent(this.secretFileContent(file)) };
    return { content, expire };
  }

  private applySecretMeta(s: SecretState, p: ParsedArgs, expire: string | undefined): void {
    for (const k of ['label', 'description', 'rotate'] as const) {
      const v = p.flags.get(k);
      if (typeof v === 'string' && v !== '') (s as Record<string, unknown>)[k] = v;
    }
    if (expire) s.expire = expire;
  }

  // --- the tools --------------------------------------------------------------------------------

  private readonly tools: Record<string, (args: string[], input: string) => ToolOutput> = {
    'relation-ids': (args) => {
      const p = parseArgs(args, this.outputFlags());
      const [name, ...rest] = p.positional;
      const hook = this.hookRelationId();
      const endpoint = name ?? (hook >= 0 ? this.relation(hook).endpoint : undefined);
      if (endpoint === undefined) throw usage('no endpoint name specified');
      checkEmpty(rest);
      const ids = this.working.relations.filter((r) => r.endpoint === endpoint).map((r) => `${r.endpoint}:${r.id}`);
      return this.write(p, new GoStrings(ids.sort()));
    },

    'relation-list': (args) => {
      const rel = this.relationOption();
      const p = parseArgs(args, { ...this.outputFlags(), ...rel.spec, app: { kind: 'bool' } }, { relation: 'r' });
      if (rel.id() === -1) throw usage('no relation id specified');
      checkEmpty(p.positional);
      const r = this.relation(rel.id());
      if (p.flags.get('app')) return this.write(p, this.remoteAppOf(r));
      return this.write(p, new GoStrings(this.members(r)));
    },

    'relation-get': (args) => {
      const rel = this.relationOption();
      const p = parseArgs(args, { ...this.outputFlags(), ...rel.spec, app: { kind: 'bool' } }, { relation: 'r' });
      if (rel.id() === -1) throw usage('no relation id specified');
      const pos = [...p.positional];
      let key = pos.shift() ?? '';
      if (key === '-') key = '';
      let isApp = p.flags.get('app') === true;
      let name = '';
      const supplied = pos.shift();
      if (supplied !== undefined) {
        if (isApp) {
          if (APP_RE.test(supplied)) name = supplied;
          else if (UNIT_RE.test(supplied)) name = supplied.split('/')[0]!;
        } else if (!UNIT_RE.test(supplied)) {
          throw usage(APP_RE.test(supplied) ? `expected unit name, got application name ${goQuote(supplied)}` : `invalid unit name ${goQuote(supplied)}`);
        } else name = supplied;
      } else if (isApp) {
        if (!this.ctx.remoteApp) throw usage('no unit or application specified');
        name = this.ctx.remoteApp;
      } else if (this.ctx.remoteUnit) {
        name = this.ctx.remoteUnit;
      } else if (this.ctx.remoteApp) {
        name = this.ctx.remoteApp;
        isApp = true;
      } else {
        throw usage('no unit or application specified');
      }
      checkEmpty(pos);
      const data = this.databag(this.relation(rel.id()), name, isApp);
      return this.write(p, key ? (data[key] ?? null) : { ...data });
    },

    'relation-set': (args, input) => {
      const rel = this.relationOption();
      const p = parseArgs(args, { ...rel.spec, file: { kind: 'string' }, app: { kind: 'bool' }, format: { kind: 'string' } }, { relation: 'r' });
      if (rel.id() === -1) throw usage('no relation id specified');
      const overrides = keyValues(p.positional);
      const stderr = deprecatedFormat(p, 'relation-set');
      let settings = overrides;
      const file = p.flags.get('file') as string | undefined;
      if (file) settings = { ...readSettings(() => this.readFile(file, input, true)), ...overrides };
      const r = this.relation(rel.id());
      const isApp = p.flags.get('app') === true;
      if (isApp && !this.isLeader()) throw new ToolError('cannot write relation settings');
      const bag = isApp ? r.localAppData : r.localUnitData;
      for (const [k, v] of Object.entries(settings)) {
        if (v === '') delete bag[k];
        else bag[k] = v;
      }
      return { stdout: '', stderr };
    },

    'config-get': (args) => {
      const p = parseArgs(args, { ...this.outputFlags(), a: { kind: 'bool' }, all: { kind: 'bool' } }, { a: 'all' });
      const [key = '', ...rest] = p.positional;
      const all = p.flags.get('all') === true;
      if (key !== '' && all) throw usage(`cannot use argument --all together with key ${goQuote(key)}`);
      checkEmpty(rest);
      const settings: Record<string, unknown> = {};
      // Options set in the state but not declared are not charm config: Juju has no such thing.
      for (const [name, o] of this.ctx.meta.config) settings[name] = this.working.config[name] ?? o.default ?? null;
      if (key !== '') return this.write(p, settings[key] ?? null);
      if (!all) for (const k of Object.keys(settings)) if (settings[k] === null) delete settings[k];
      return this.write(p, settings);
    },

    'is-leader': (args) => {
      const p = parseArgs(args, this.outputFlags());
      checkEmpty(p.positional);
      return this.write(p, this.isLeader());
    },

    'goal-state': (args) => {
      const p = parseArgs(args, this.outputFlags(['yaml', 'json']));
      checkEmpty(p.positional);
      const since = (this.ctx.now?.() ?? new Date()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
      const entry = (status: string) => struct({ status, since });
      const units: Record<string, unknown> = {};
      for (let i = 0; i < this.working.plannedUnits; i++) units[`${this.appName}/${i}`] = entry('active');
      const relations: Record<string, Record<string, unknown>> = {};
      for (const r of this.working.relations) {
        const entries = (relations[r.endpoint] ??= {});
        if (!this.isPeer(r)) entries[r.remoteAppName] = entry('joined');
        for (const u of this.remoteUnits(r)) entries[u] = entry('active');
      }
      return this.write(p, struct({ units, relations }), 'yaml');
    },

    'status-get': (args) => {
      const p = parseArgs(args, { ...this.outputFlags(), 'include-data': { kind: 'bool' }, application: { kind: 'bool' } });
      checkEmpty(p.positional);
      const includeData = p.flags.get('include-data') === true;
      const smart = ((p.flags.get('format') as string | undefined) ?? 'smart') === 'smart';
      const details = (s: State['unitStatus']): Record<string, unknown> =>
        includeData ? { status: s.name, message: s.message, 'status-data': {} } : { status: s.name };
      if (p.flags.get('application')) {
        if (!this.isLeader()) throw new ToolError(`finding application status: ${NOT_LEADER}`);
        if (!includeData && smart) return this.write(p, this.working.appStatus.name);
        const app = { ...details(this.working.appStatus), units: { [this.ctx.unitName]: details(this.working.unitStatus) } };
        return this.write(p, { 'application-status': app });
      }
      if (!includeData && smart) return this.write(p, this.working.unitStatus.name);
      return this.write(p, details(this.working.unitStatus));
    },

    'status-set': (args) => {
      const p = parseArgs(args, { application: { kind: 'bool' } });
      const [status, ...rest] = p.positional;
      if (status === undefined) throw usage('invalid args, require <status> [message]');
      if (!STATUSES.includes(status)) throw usage(`invalid status ${goQuote(status)}, expected one of [${STATUSES.join(' ')}]`);
      const message = rest.shift() ?? '';
      checkEmpty(rest);
      const s = { name: status as State['unitStatus']['name'], message };
      if (p.flags.get('application')) {
        if (!this.isLeader()) throw new ToolError(NOT_LEADER);
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
      const stderr = deprecatedFormat(p, 'juju-log');
      const given = (p.flags.get('log-level') as string | undefined) ?? 'INFO';
      let level = given === '' ? 'INFO' : given;
      if (p.flags.get('debug')) level = 'DEBUG';
      else if (given !== '' && !LOG_LEVELS[given.toUpperCase()]) {
        // loggo does not know the level: Juju warns and logs at INFO.
        this.logs.push({ level: 'WARNING', message: `Specified log level of ${goQuote(given)} is not valid` });
        level = 'INFO';
      }
      this.logs.push({ level, message: p.positional.join(' ') });
      return { stdout: '', stderr };
    },

    'secret-get': (args) => {
      const p = parseArgs(args, { ...this.outputFlags(['yaml', 'json']), label: { kind: 'string' }, peek: { kind: 'bool' }, refresh: { kind: 'bool' } });
      const pos = [...p.positional];
      const idText = pos.shift();
      const { ref, label } = this.secretRefOrLabel(idText, p);
      const peek = p.flags.get('peek') === true;
      const refresh = p.flags.get('refresh') === true;
      if (peek && refresh) throw usage('specify one of --peek or --refresh but not both');
      const key = pos.shift();
      checkEmpty(pos);
      const content = this.secretContent(ref, idText, label, refresh, peek);
      if (key === undefined) return this.write(p, content, 'yaml');
      const base64 = key.endsWith('#base64');
      const k = base64 ? key.slice(0, -7) : key;
      if (!Object.hasOwn(content, k)) throw new ToolError(`secret key value ${goQuote(k)} not found`);
      return this.write(p, base64 ? Buffer.from(content[k]!).toString('base64') : content[k], 'yaml');
    },

    'secret-info-get': (args) => {
      const p = parseArgs(args, { ...this.outputFlags(['yaml', 'json']), label: { kind: 'string' } });
      const [idText, ...rest] = p.positional;
      const { ref, label } = this.secretRefOrLabel(idText, p);
      if (ref && label !== '') throw usage('specify either a secret URI or label but not both');
      checkEmpty(rest);
      const visible = this.working.secrets.filter((s) => this.ownedVisible(s));
      const s = ref ? visible.find((x) => bareId(x.id) === ref.id) : visible.find((x) => x.label === label);
      if (!s) throw new ToolError(`secret ${goQuote(ref ? ref.id : label)} not found`);
      const access: unknown[] = [];
      for (const [relId, names] of Object.entries(s.grants)) {
        for (const n of names) access.push(struct({ target: n.includes('/') ? `unit-${n.replace('/', '-')}` : `application-${n}`, scope: `relation-${relId}`, role: 'view' }));
      }
      const info = struct({
        revision: s.revisions.at(-1)!.revision,
        label: s.label ?? '',
        owner: s.owner === 'app' ? 'application' : 'unit',
        description: s.description || undefined,
        rotation: s.rotate || undefined,
        expiry: s.expire || undefined,
        rotates: undefined,
        access: access.length ? access : undefined,
      });
      return this.write(p, { [bareId(s.id)]: info }, 'yaml');
    },

    'secret-ids': (args) => {
      const p = parseArgs(args, this.outputFlags());
      checkEmpty(p.positional);
      const ids = this.working.secrets.filter((s) => this.ownedVisible(s)).map((s) => bareId(s.id)).sort();
      return this.write(p, new GoStrings(ids, ids.length === 0));
    },

    'secret-add': (args) => {
      const p = parseArgs(args, this.upsertFlags());
      if (p.positional.length < 1 && !p.flags.get('file')) throw usage('missing secret value or filename');
      const { content, expire } = this.upsertInit(p, p.positional);
      if (Object.keys(content).length === 0) throw new ToolError('empty secret value not valid');
      const owner = (p.flags.get('owner') ?? 'application') === 'unit' ? 'unit' : 'app';
      if (owner === 'app' && !this.isLeader()) throw new ToolError(NOT_LEADER);
      const label = p.flags.get('label') as string | undefined;
      // Juju refuses a duplicate label when the hook's changes are committed; the fake at once.
      if (label && this.working.secrets.some((s) => s.label === label && s.owner !== null)) {
        throw new ToolError(`secret with label ${goQuote(label)} already exists`);
      }
      const secret: SecretState = { id: `secret:${newXid()}`, owner, revisions: [{ revision: 1, content }], grants: {} };
      this.applySecretMeta(secret, p, expire);
      this.working.secrets.push(secret);
      return `${secret.id}\n`;
    },

    'secret-set': (args) => {
      const p = parseArgs(args, this.upsertFlags());
      const [idText, ...contentArgs] = p.positional;
      const { ref, text } = this.secretUriArg(idText);
      const { content, expire } = this.upsertInit(p, contentArgs);
      const s = this.managedSecret(ref, text);
      if (Object.keys(content).length) s.revisions.push({ revision: s.revisions.at(-1)!.revision + 1, content });
      this.applySecretMeta(s, p, expire);
    },

    'secret-grant': (args) => {
      const rel = this.relationOption();
      const p = parseArgs(args, { unit: { kind: 'string' }, ...rel.spec }, { relation: 'r' });
      const [idText, ...rest] = p.positional;
      const { ref } = this.secretUriArg(idText);
      if (rel.id() === -1) throw usage('no relation id specified');
      const r = this.relation(rel.id());
      const app = this.remoteAppOf(r);
      const unit = (p.flags.get('unit') as string | undefined) ?? '';
      if (unit !== '') {
        if (!UNIT_RE.test(unit)) throw usage(`unit ${goQuote(unit)} not valid`);
        if (unit.split('/')[0] !== app) throw usage(`cannot specify unit ${goQuote(unit)} in relation to application ${goQuote(app)}`);
      }
      checkEmpty(rest);
      const s = this.secretById(ref.id);
      if (!s || !this.ownedVisible(s)) throw new ToolError(`secret ${goQuote(ref.id)} not found`);
      const subject = unit || app;
      const existing = s.grants[String(r.id)] ?? [];
      for (const g of existing) {
        if (g === subject || !g.includes('/')) return; // already granted, or granted to the whole app
        if (!subject.includes('/')) throw new ToolError('any unit level grants need to be revoked before granting access to the corresponding application');
      }
      s.grants[String(r.id)] = [...existing, subject].sort();
    },

    'secret-revoke': (args) => {
      const rel = this.relationOption();
      const p = parseArgs(args, { app: { kind: 'string' }, application: { kind: 'string' }, unit: { kind: 'string' }, ...rel.spec }, { relation: 'r', application: 'app' });
      const [idText, ...rest] = p.positional;
      const { ref, text } = this.secretUriArg(idText);
      let app = (p.flags.get('app') as string | undefined) ?? '';
      const unit = (p.flags.get('unit') as string | undefined) ?? '';
      if (app !== '' && !APP_RE.test(app)) throw usage(`application ${goQuote(app)} not valid`);
      if (unit !== '' && !UNIT_RE.test(unit)) throw usage(`unit ${goQuote(unit)} not valid`);
      if (app !== '' && unit !== '') throw usage('specify only one of application or unit');
      let relId: number | undefined;
      if (rel.id() >= 0) {
        if (app !== '') throw usage('do not specify both relation and app');
        relId = rel.id();
        app = this.remoteAppOf(this.relation(relId));
      }
      if (app === '' && unit === '') throw usage('missing relation or application or unit');
      checkEmpty(rest);
      const s = this.managedSecret(ref, text);
      const subject = unit || app;
      for (const [id, names] of Object.entries(s.grants)) {
        if (relId !== undefined && id !== String(relId)) continue;
        const left = names.filter((n) => n !== subject);
        if (left.length) s.grants[id] = left;
        else delete s.grants[id];
      }
    },

    'secret-remove': (args) => {
      const p = parseArgs(args, { revision: { kind: 'int' } });
      const [idText, ...rest] = p.positional;
      const { ref, text } = this.secretUriArg(idText);
      checkEmpty(rest);
      const s = this.managedSecret(ref, text);
      const rev = (p.flags.get('revision') as number | undefined) ?? 0;
      if (rev > 0) {
        if (!s.revisions.some((r) => r.revision === rev)) throw new ToolError(`secret revision ${rev} not found`);
        s.revisions = s.revisions.filter((r) => r.revision !== rev);
        this.removedSecretRevisions.push({ id: s.id, revision: rev });
        if (s.revisions.length === 0) this.working.secrets = this.working.secrets.filter((x) => x !== s);
      } else {
        this.working.secrets = this.working.secrets.filter((x) => x !== s);
        this.removedSecretRevisions.push({ id: s.id, revision: 'all' });
      }
    },

    'state-get': (args) => {
      const p = parseArgs(args, { ...this.outputFlags(), strict: { kind: 'bool' } });
      const [first, ...rest] = p.positional;
      const key = first === '-' ? '' : (first ?? '');
      checkEmpty(rest);
      const store = this.working.controllerState;
      if (key === '') return this.write(p, Object.keys(store).length ? { ...store } : null);
      if (!Object.hasOwn(store, key)) {
        if (p.flags.get('strict')) throw new ToolError(`${goQuote(key)} not found`);
        return this.write(p, '');
      }
      return this.write(p, store[key]);
    },

    'state-set': (args, input) => {
      const p = parseArgs(args, { file: { kind: 'string' } });
      const overrides = keyValues(p.positional);
      let values = overrides;
      const file = p.flags.get('file') as string | undefined;
      if (file) values = { ...readSettings(() => this.readFile(file, input, true)), ...overrides };
      Object.assign(this.working.controllerState, values);
    },

    'state-delete': (args) => {
      const p = parseArgs(args, {});
      const [key = '', ...rest] = p.positional;
      checkEmpty(rest);
      if (key !== '') delete this.working.controllerState[key];
    },

    'action-get': (args) => {
      const p = parseArgs(args, this.outputFlags());
      const [first, ...rest] = p.positional;
      checkEmpty(first === undefined ? [] : rest);
      if (!this.ctx.action) throw new ToolError('not running an action');
      if (first === undefined) return this.write(p, this.ctx.action.params ?? {});
      let value: unknown = this.ctx.action.params;
      for (const k of first.split('.')) {
        value = value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, k) ? (value as Record<string, unknown>)[k] : undefined;
      }
      return this.write(p, value ?? null);
    },

    'action-set': (args) => {
      const p = parseArgs(args, {});
      const pairs: [string, string][] = [];
      for (const a of p.positional) {
        const eq = a.indexOf('=');
        if (eq < 0) throw usage(`argument ${goQuote(a)} must be of the form key...=value`);
        const key = a.slice(0, eq);
        for (const part of key.split('.')) {
          if (!ACTION_KEY_RE.test(part)) {
            throw usage(`key ${goQuote(part)} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods`);
          }
          if (RESERVED_ACTION_KEYS.includes(part)) throw usage(`cannot set reserved action key "${part}"`);
        }
        pairs.push([key, a.slice(eq + 1)]);
      }
      for (const [k, v] of pairs) {
        if (!this.ctx.action) throw new ToolError('not running an action');
        this.action.results[k] = v;
      }
    },

    'action-log': (args) => {
      const p = parseArgs(args, {});
      if (p.positional.length === 0) throw usage('no message specified');
      if (!this.ctx.action) throw new ToolError('not running an action');
      this.action.logs.push(p.positional.join(' '));
    },

    'action-fail': (args) => {
      const p = parseArgs(args, {});
      const [message = 'action failed without reason given, check action for errors', ...rest] = p.positional;
      checkEmpty(rest);
      if (!this.ctx.action) throw new ToolError('not running an action');
      this.action.failure = message;
    },

    'open-port': (args) => this.port(args, 'open-port'),
    'close-port': (args) => this.port(args, 'close-port'),

    'opened-ports': (args) => {
      const p = parseArgs(args, { ...this.outputFlags(), endpoints: { kind: 'bool' } });
      checkEmpty(p.positional);
      const sorted = [...this.working.openedPorts].sort((a, b) => (a.protocol !== b.protocol ? (a.protocol < b.protocol ? -1 : 1) : (a.port ?? -1) - (b.port ?? -1)));
      const suffix = p.flags.get('endpoints') ? ' (*)' : '';
      return this.write(p, new GoStrings(sorted.map((x) => (x.protocol === 'icmp' ? 'icmp' : `${x.port}/${x.protocol}`) + suffix)));
    },

    'network-get': (args) => {
      const rel = this.relationOption();
      const p = parseArgs(
        args,
        {
          ...this.outputFlags(),
          'primary-address': { kind: 'bool' },
          'bind-address': { kind: 'bool' },
          'ingress-address': { kind: 'bool' },
          'egress-subnets': { kind: 'bool' },
          ...rel.spec,
        },
        { relation: 'r' },
      );
      const [binding, ...rest] = p.positional;
      if (binding === undefined) throw usage('no arguments specified');
      if (binding === '') throw usage('no binding name specified');
      const keys = (['bind-address', 'ingress-address', 'egress-subnets'] as const).filter((k) => p.flags.get(k));
      checkEmpty(rest);
      const info = this.networkInfo(binding);
      if (!info) throw new ToolError(`no network config found for binding ${goQuote(binding)}`);
      const first = info.bind[0]?.addresses[0]?.value;
      if (p.flags.get('primary-address')) {
        if (keys.length) throw new ToolError('--primary-address must be the only flag specified');
        if (first === undefined) throw new ToolError(`no addresses attached to space for binding ${goQuote(binding)}`);
        return this.write(p, first);
      }
      if (keys.length === 0) return this.write(p, this.networkDisplay(info, (p.flags.get('format') ?? 'smart') !== 'json'));
      const values: Record<string, unknown> = {};
      if (p.flags.get('egress-subnets')) values['egress-subnets'] = info.egress;
      if (p.flags.get('ingress-address')) {
        const ingress = info.ingress[0] ?? first;
        if (ingress === undefined) throw new ToolError(`no addresses attached to space for binding ${goQuote(binding)}`);
        values['ingress-address'] = ingress;
      }
      if (p.flags.get('bind-address')) values['bind-address'] = first;
      return this.write(p, keys.length === 1 ? values[keys[0]!] : values);
    },

    'resource-get': (args) => {
      const p = parseArgs(args, {});
      const [name, ...rest] = p.positional;
      if (name === undefined) throw usage('missing required resource name');
      checkEmpty(rest);
      const file = this.working.resources[name];
      if (!file) throw new ToolError(`could not download resource: resource ${goQuote(name)} not found`);
      // Juju prints the path with no newline.
      return file;
    },
  };

  /**
   * What secret-get returns (HookContext.GetSecret, then the controller): this hook's new secrets
   * and (with --refresh/--peek) pending updates first; owners read the latest committed revision;
   * consumers their tracked one, which --refresh moves and the controller saves at once.
   */
  private secretContent(ref: SecretRef | undefined, idText: string | undefined, label: string, refresh: boolean, peek: boolean): Record<string, string> {
    const pendingCreate = (s: SecretState) => s.owner !== null && !this.secretById(bareId(s.id), this.committed);
    let s = ref ? this.secretById(ref.id) : undefined;
    if (!s && !ref) {
      // Every unit of the owning app may read an app secret's content, by its owner label too.
      s = this.working.secrets.find((x) => x.label === label && x.owner !== null);
      if (!s) {
        s = this.working.secrets.find((x) => x.label === label && x.owner === null);
        if (!s) throw new ToolError(`consumer label ${goQuote(label)} not found`);
      }
    }
    if (!s) throw new ToolError(`secret ${goQuote(idText ?? label)} not found`);
    if (s.owner !== null) {
      if (ref && label !== '') s.label = label;
      if (pendingCreate(s) || refresh || peek) return { ...s.revisions.at(-1)!.content };
      const committed = this.secretById(bareId(s.id), this.committed)!;
      return { ...committed.revisions.at(-1)!.content };
    }
    const latest = s.revisions.at(-1)!;
    // --peek reads the latest and saves no tracking (the consumer record of a never-read secret too).
    if (peek) return { ...latest.content };
    const id = s.id;
    // The controller saves a consumer's tracking and label during the call: hook failure or not. A
    // unit that never read the secret has no consumer record; Juju then creates one as --refresh
    // would, on the latest revision (apiserver/facades/agent/secretsmanager, getSecretContent).
    this.both((st) => {
      const c = st.secrets.find((x) => x.id === id);
      if (!c) return;
      if (refresh || c.trackedRevision === undefined) c.trackedRevision = latest.revision;
      if (ref && label !== '') c.label = label;
    });
    const tracked = s.trackedRevision!;
    return { ...(s.revisions.find((r) => r.revision === tracked) ?? latest).content };
  }

  private databag(rel: RelationState, name: string, isApp: boolean): Record<string, string> {
    // Juju reads our own unit's bag, and our app's bag if we lead, from the hook context (with this
    // hook's writes); everything else comes from the controller (committed data).
    if (!isApp && name === this.ctx.unitName) return rel.localUnitData;
    if (isApp && name === this.appName && this.isLeader()) return rel.localAppData;
    const committed = this.committed.relations.find((r) => r.id === rel.id) ?? rel;
    if (isApp) {
      if (name === this.appName) {
        if (this.isPeer(rel)) return committed.localAppData;
        // The controller refuses a non-leader its own app's bag (assumed; ops never asks).
        throw new ToolError('permission denied');
      }
      if (name !== rel.remoteAppName || this.isPeer(rel)) {
        throw new ToolError(`application ${goQuote(name)} is not in relation ${rel.endpoint}:${rel.id}`);
      }
      return committed.remoteAppData;
    }
    const [uApp, n] = name.split('/');
    const bag = uApp === this.remoteAppOf(rel) ? committed.remoteUnitsData[n!] : undefined;
    if (!bag) throw new ToolError(`cannot read settings for unit ${goQuote(name)} in relation ${goQuote(`${rel.endpoint}:${rel.id}`)}: settings not found`);
    return bag;
  }

  private networkInfo(binding: string): { bind: { mac: string; iface: string; addresses: { hostname: string; value: string; cidr: string }[] }[]; egress: string[]; ingress: string[] } | undefined {
    const net = this.working.networks[binding] as
      | { 'bind-addresses'?: { 'mac-address'?: string; 'interface-name'?: string; addresses?: { hostname?: string; value?: string; cidr?: string }[] }[]; 'egress-subnets'?: string[]; 'ingress-addresses'?: string[] }
      | undefined;
    if (!net) {
      if (!this.ctx.meta.relations.has(binding)) return undefined;
      return {
        bind: [{ mac: '', iface: 'eth0', addresses: [{ hostname: '', value: '192.0.2.0', cidr: '192.0.2.0/24' }] }],
        egress: ['192.0.2.0/24'],
        ingress: ['192.0.2.0'],
      };
    }
    const bind = (net['bind-addresses'] ?? []).map((b) => ({
      mac: b['mac-address'] ?? '',
      iface: b['interface-name'] ?? '',
      addresses: (b.addresses ?? []).map((a) => ({ hostname: a.hostname ?? '', value: a.value ?? '', cidr: a.cidr ?? '' })),
    }));
    if (bind.length === 0) return undefined;
    return { bind, egress: net['egress-subnets'] ?? [], ingress: net['ingress-addresses'] ?? [] };
  }

  /** network-get's display struct; YAML also carries the legacy copies Juju keeps for old agents. */
  private networkDisplay(info: NonNullable<ReturnType<UnitAgent['networkInfo']>>, yaml: boolean): unknown {
    return struct({
      'bind-addresses': info.bind.length
        ? info.bind.map((b) =>
            struct({
              'mac-address': b.mac,
              'interface-name': b.iface,
              addresses: b.addresses.map((a) => struct({ hostname: a.hostname, value: a.value, cidr: a.cidr, address: yaml ? a.value : undefined })),
              macaddress: yaml ? b.mac : undefined,
              interfacename: yaml ? b.iface : undefined,
            }),
          )
        : undefined,
      'egress-subnets': info.egress.length ? info.egress : undefined,
      'ingress-addresses': info.ingress.length ? info.ingress : undefined,
    });
  }

  private port(args: string[], tool: 'open-port' | 'close-port'): ToolOutput {
    const p = parseArgs(args, { format: { kind: 'string' }, endpoints: { kind: 'string' } });
    const [spec, ...rest] = p.positional;
    if (spec === undefined) throw usage('no port or range specified');
    const range = parsePortRange(spec.toLowerCase());
    checkEmpty(rest);
    const stderr = deprecatedFormat(p, tool);
    if (range.protocol !== 'icmp' && range.from !== range.to) {
      if (this.working.model.type === 'kubernetes') {
        throw new ToolError('port ranges are not supported for k8s applications, please specify a single port');
      }
      throw new ToolError(`port range ${range.text}: the simulator's State holds single ports only`);
    }
    if (range.protocol !== 'icmp' && range.from === 0) throw new ToolError(`port ${range.text}: the simulator's State holds ports 1 to 65535 only`);
    const port = range.protocol === 'icmp' ? { protocol: 'icmp' as const } : { protocol: range.protocol, port: range.from };
    const same = (x: { protocol: string; port?: number }) => x.protocol === port.protocol && x.port === port.port;
    const present = this.working.openedPorts.some(same);
    if (tool === 'open-port' && !present) this.working.openedPorts.push(port);
    if (tool === 'close-port' && present) this.working.openedPorts = this.working.openedPorts.filter((x) => !same(x));
    return { stdout: '', stderr };
  }
}

function fail(message: string): never {
  throw new Error(message);
}

/** The deprecation warning Juju writes (without a newline) when --format is given to a setter. */
function deprecatedFormat(p: ParsedArgs, tool: string): string {
  return p.flags.get('format') ? `--format flag deprecated for command ${goQuote(tool)}` : '';
}

/** juju/utils keyvalues.Parse(args, allowEmptyValues=true). */
function keyValues(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of args) {
    const eq = kv.indexOf('=');
    if (eq < 0) throw usage(`expected "key=value", got ${goQuote(kv)}`);
    const key = kv.slice(0, eq).trim();
    const value = kv.slice(eq + 1).trim();
    if (key === '') throw usage(`expected "key=value", got "${key}=${value}"`);
    if (Object.hasOwn(out, key)) throw usage(`key ${goQuote(key)} specified more than once`);
    out[key] = value;
  }
  return out;
}

/** Juju's readSettings: a YAML (or JSON) map of strings. Failures happen while running: exit 1. */
function readSettings(read: () => string): Record<string, string> {
  try {
    return goYamlSettings(read());
  } catch (e) {
    if (e instanceof GoYamlError) throw new ToolError(e.message);
    throw new ToolError((e as Error).message);
  }
}

/** os.ReadFile with Go's error texts. */
function readGoFile(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new Error(`${code === 'EISDIR' ? 'read' : 'open'} ${p}: ${why}`);
  }
}

/** core/network.ParsePortRange and PortRange.Validate, with their error texts. */
function parsePortRange(text: string): { protocol: 'tcp' | 'udp' | 'icmp'; from: number; to: number; text: string } {
  let protocol = 'tcp';
  let ports = text;
  const slash = text.indexOf('/');
  if (slash >= 0) [ports, protocol] = [text.slice(0, slash), text.slice(slash + 1)];
  const parts = ports.split('-');
  if (parts.length > 2) throw usage(`invalid port range ${goQuote(ports)}`);
  let from: number;
  let to: number;
  const atoi = (s: string, quoted: string) => {
    try {
      return goAtoi(s);
    } catch (e) {
      throw usage(`invalid port ${goQuote(quoted)}: ${(e as Error).message}`);
    }
  };
  if (parts.length === 1) {
    if (parts[0] === 'icmp') [from, to] = [-1, -1];
    else from = to = atoi(parts[0]!, ports);
  } else {
    from = atoi(parts[0]!, parts[0]!);
    to = atoi(parts[1]!, parts[1]!);
  }
  if (from === -1) protocol = 'icmp';
  const show = protocol === 'icmp' ? 'icmp' : from === to ? `${from}/${protocol}` : `${from}-${to}/${protocol}`;
  if (!['tcp', 'udp', 'icmp'].includes(protocol)) throw usage(`invalid protocol ${goQuote(protocol)}, expected "tcp", "udp", or "icmp"`);
  if (protocol === 'icmp' && !(from === -1 && to === -1)) throw usage(`protocol "icmp" doesn't support any ports; got "${from}"`);
  if (protocol !== 'icmp') {
    if (from > to) throw usage(`invalid port range ${show}`);
    if (from < 0 || from > 65535 || to < 0 || to > 65535) throw usage(`port range bounds must be between 0 and 65535, got ${from}-${to}`);
  }
  return { protocol: protocol as 'tcp' | 'udp' | 'icmp', from, to, text: show };
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
