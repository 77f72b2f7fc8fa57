// The layer language as Pebble implements it (pebble-charmcraft.md 1.5-1.6): strict decoding of
// layer YAML with Pebble's error texts, per-layer validation, CombineLayers with the Go Merge
// rules, plan validation, the plan's YAML rendering, and service start/stop ordering in lanes.
//
// Layer YAML is decoded by walking the YAML syntax tree rather than through zod, because Pebble's
// decoder (yaml.v3 with KnownFields) has rules a schema library does not express: any scalar
// decodes into a string field using its source text, type errors are collected with line
// numbers, and durations must be scalars that parse as Go durations.
import { LineCounter, parseDocument, stringify, isMap, isSeq, isScalar, isAlias, type Node, type Pair } from 'yaml';
import { formatGoDuration, parseGoDuration, parseServiceCommand, shlexSplit } from './gotext.js';

// ---------------------------------------------------------------------------------------------
// Internal model (mirrors the Go structs, including "set or not" for optional values)

export interface OptDuration {
  set: boolean;
  /** Nanoseconds (the default value when not set, once defaults are applied). */
  ns: number;
}

export interface OptFloat {
  set: boolean;
  value: number;
}

export interface ServiceConfig {
  name: string;
  summary: string;
  description: string;
  startup: string;
  override: string;
  command: string;
  after: string[];
  before: string[];
  requires: string[];
  workload: string;
  environment: Record<string, string> | null;
  userId: number | null;
  user: string;
  groupId: number | null;
  group: string;
  workingDir: string;
  onSuccess: string;
  onFailure: string;
  onCheckFailure: Record<string, string> | null;
  backoffDelay: OptDuration;
  backoffFactor: OptFloat;
  backoffLimit: OptDuration;
  killDelay: OptDuration;
}

export interface HttpCheckConfig {
  url: string;
  headers: Record<string, string> | null;
}
export interface TcpCheckConfig {
  port: number;
  host: string;
}
export interface ExecCheckConfig {
  command: string;
  serviceContext: string;
  environment: Record<string, string> | null;
  userId: number | null;
  user: string;
  groupId: number | null;
  group: string;
  workingDir: string;
}

export interface CheckConfig {
  name: string;
  override: string;
  level: string;
  startup: string;
  period: OptDuration;
  timeout: OptDuration;
  threshold: number;
  http: HttpCheckConfig | null;
  tcp: TcpCheckConfig | null;
  exec: ExecCheckConfig | null;
}

export interface LogTargetConfig {
  name: string;
  type: string;
  location: string;
  services: string[];
  override: string;
  labels: Record<string, string> | null;
}

export interface LayerModel {
  label: string;
  order: number;
  summary: string;
  description: string;
  /** In document order. A null entry is a `name:` with no object (rejected by validation). */
  services: Map<string, ServiceConfig | null>;
  checks: Map<string, CheckConfig | null>;
  logTargets: Map<string, LogTargetConfig | null>;
}

/** The result of combining layers: a layer without null entries. */
export interface CombinedLayer extends LayerModel {
  services: Map<string, ServiceConfig>;
  checks: Map<string, CheckConfig>;
  logTargets: Map<string, LogTargetConfig>;
}

export interface PlanModel {
  layers: LayerModel[];
  services: Map<string, ServiceConfig>;
  checks: Map<string, CheckConfig>;
  logTargets: Map<string, LogTargetConfig>;
}

/** Pebble's FormatError: the API answers 400 with its message. */
export class FormatError extends Error {}

export const DEFAULT_BACKOFF_DELAY_NS = 500e6;
export const DEFAULT_BACKOFF_FACTOR = 2.0;
export const DEFAULT_BACKOFF_LIMIT_NS = 30e9;
export const DEFAULT_CHECK_PERIOD_NS = 10e9;
export const DEFAULT_CHECK_TIMEOUT_NS = 3e9;
export const DEFAULT_CHECK_THRESHOLD = 3;

const unsetDuration = (): OptDuration => ({ set: false, ns: 0 });

export function emptyService(name: string): ServiceConfig {
  return {
    name,
    summary: '',
    description: '',
    startup: '',
    override: '',
    command: '',
    after: [],
    before: [],
    requires: [],
    workload: '',
    environment: null,
    userId: null,
    user: '',
    groupId: null,
    group: '',
    workingDir: '',
    onSuccess: '',
    onFailure: '',
    onCheckFailure: null,
    backoffDelay: unsetDuration(),
    backoffFactor: { set: false, value: 0 },
    backoffLimit: unsetDuration(),
    killDelay: unsetDuration(),
  };
}

function emptyCheck(name: string): CheckConfig {
  return {
    name,
    override: '',
    level: '',
    startup: '',
    period: unsetDuration(),
    timeout: unsetDuration(),
    threshold: 0,
    http: null,
    tcp: null,
    exec: null,
  };
}

function emptyLogTarget(name: string): LogTargetConfig {
  return { name, type: '', location: '', services: [], override: '', labels: null };
}

const cloneMap = <T>(m: Record<string, T> | null): Record<string, T> | null => (m === null ? null : { ...m });

export function copyService(s: ServiceConfig): ServiceConfig {
  return {
    ...s,
    after: [...s.after],
    before: [...s.before],
    requires: [...s.requires],
    environment: cloneMap(s.environment),
    onCheckFailure: cloneMap(s.onCheckFailure),
    backoffDelay: { ...s.backoffDelay },
    backoffFactor: { ...s.backoffFactor },
    backoffLimit: { ...s.backoffLimit },
    killDelay: { ...s.killDelay },
  };
}

export function copyCheck(c: CheckConfig): CheckConfig {
  return {
    ...c,
    period: { ...c.period },
    timeout: { ...c.timeout },
    http: c.http ? { ...c.http, headers: cloneMap(c.http.headers) } : null,
    tcp: c.tcp ? { ...c.tcp } : null,
    exec: c.exec ? { ...c.exec, environment: cloneMap(c.exec.environment) } : null,
  };
}

function copyLogTarget(t: LogTargetConfig): LogTargetConfig {
  return { ...t, services: [...t.services], labels: cloneMap(t.labels) };
}

/** Structural equality, the analogue of Go's reflect.DeepEqual on these plain structures. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

// ---------------------------------------------------------------------------------------------
// Strict YAML decoding

type Kind =
  | { k: 'str'; go: string }
  | { k: 'int' }
  | { k: 'float' }
  | { k: 'dur' }
  | { k: 'list' }
  | { k: 'map'; go: string }
  | { k: 'struct'; spec: StructSpec };

interface StructSpec {
  go: string;
  fields: Record<string, Kind>;
}

const S = (go = 'string'): Kind => ({ k: 'str', go });
const EXEC_SPEC: StructSpec = {
  go: 'plan.ExecCheck',
  fields: {
    command: S(),
    'service-context': S(),
    environment: { k: 'map', go: 'map[string]string' },
    'user-id': { k: 'int' },
    user: S(),
    'group-id': { k: 'int' },
    group: S(),
    'working-dir': S(),
  },
};
const SERVICE_SPEC: StructSpec = {
  go: 'plan.Service',
  fields: {
    summary: S(),
    description: S(),
    startup: S('plan.ServiceStartup'),
    override: S('plan.Override'),
    command: S(),
    after: { k: 'list' },
    before: { k: 'list' },
    requires: { k: 'list' },
    workload: S(),
    environment: { k: 'map', go: 'map[string]string' },
    'user-id': { k: 'int' },
    user: S(),
    'group-id': { k: 'int' },
    group: S(),
    'working-dir': S(),
    'on-success': S('plan.ServiceAction'),
    'on-failure': S('plan.ServiceAction'),
    'on-check-failure': { k: 'map', go: 'map[string]plan.ServiceAction' },
    'backoff-delay': { k: 'dur' },
    'backoff-factor': { k: 'float' },
    'backoff-limit': { k: 'dur' },
    'kill-delay': { k: 'dur' },
  },
};
const CHECK_SPEC: StructSpec = {
  go: 'plan.Check',
  fields: {
    override: S('plan.Override'),
    level: S('plan.CheckLevel'),
    startup: S('plan.CheckStartup'),
    period: { k: 'dur' },
    timeout: { k: 'dur' },
    threshold: { k: 'int' },
    http: { k: 'struct', spec: { go: 'plan.HTTPCheck', fields: { url: S(), headers: { k: 'map', go: 'map[string]string' } } } },
    tcp: { k: 'struct', spec: { go: 'plan.TCPCheck', fields: { port: { k: 'int' }, host: S() } } },
    exec: { k: 'struct', spec: EXEC_SPEC },
  },
};
const LOG_TARGET_SPEC: StructSpec = {
  go: 'plan.LogTarget',
  fields: {
    type: S('plan.LogTargetType'),
    location: S(),
    services: { k: 'list' },
    override: S('plan.Override'),
    labels: { k: 'map', go: 'map[string]string' },
  },
};

/** A custom unmarshaler's error: yaml.v3 returns it at once, without "unmarshal errors". */
class AbortDecode extends Error {}

interface Ctx {
  lc: LineCounter;
  /** Lines are reported relative to the section, as Pebble re-encodes each section first. */
  lineBase: number;
  errors: string[];
}

function lineOf(ctx: Ctx, node: Node | null | undefined): number {
  const offset = node?.range?.[0] ?? 0;
  return ctx.lc.linePos(offset).line - ctx.lineBase + 1;
}

type Decoded = string | number | boolean | null | Decoded[] | { [k: string]: Decoded };

function scalarTag(node: Node): string {
  if (isMap(node)) return '!!map';
  if (isSeq(node)) return '!!seq';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return '!!null';
    if (typeof v === 'boolean') return '!!bool';
    if (typeof v === 'number') return Number.isInteger(v) && !/[.eE]/.test(String(node.source ?? '')) ? '!!int' : '!!float';
    return '!!str';
  }
  return '!!str';
}

/** The text yaml.v3 stores in a string field: a plain scalar's source, else its value. */
function scalarText(node: Node): string {
  if (!isScalar(node)) return '';
  if (node.value === null) return '';
  if (node.type === 'PLAIN' && typeof node.source === 'string') return node.source;
  return String(node.value);
}

function typeError(ctx: Ctx, node: Node, goType: string): void {
  const tag = scalarTag(node);
  let shown = '';
  if (tag !== '!!map' && tag !== '!!seq') {
    const value = scalarText(node);
    shown = value.length > 10 ? ` \`${value.slice(0, 7)}...\`` : ` \`${value}\``;
  }
  ctx.errors.push(`line ${lineOf(ctx, node)}: cannot unmarshal ${tag}${shown} into ${goType}`);
}

function isNull(node: Node | null | undefined): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function resolve(node: Node | null | undefined): Node | null {
  if (node && isAlias(node)) return null; // aliases are not supported in layers
  return node ?? null;
}

function mapPairs(ctx: Ctx, node: Node): Pair<Node, Node>[] {
  if (!isMap(node)) return [];
  const seen = new Map<string, number>();
  const pairs: Pair<Node, Node>[] = [];
  for (const item of node.items as Pair<Node, Node>[]) {
    const key = item.key ? scalarText(item.key) : '';
    const line = lineOf(ctx, item.key);
    const prev = seen.get(key);
    if (prev !== undefined) {
      ctx.errors.push(`line ${line}: mapping key ${JSON.stringify(key)} already defined at line ${prev}`);
      continue;
    }
    seen.set(key, line);
    pairs.push(item);
  }
  return pairs;
}

function decodeValue(ctx: Ctx, raw: Node | null | undefined, kind: Kind): Decoded | undefined {
  const node = resolve(raw);
  // yaml.v3 leaves a field at its zero value for a null node, without calling unmarshalers.
  if (isNull(node)) return null;
  if (kind.k === 'dur') {
    // OptionalDuration.UnmarshalYAML: any scalar is parsed as a Go duration.
    if (!node || !isScalar(node)) throw new AbortDecode('duration must be a YAML string');
    const text = scalarText(node);
    try {
      return parseGoDuration(text);
    } catch {
      throw new AbortDecode(`invalid duration ${JSON.stringify(text)}`);
    }
  }
  if (kind.k === 'float') {
    if (!node || !isScalar(node)) throw new AbortDecode('value must be a YAML number');
    const text = scalarText(node);
    const n = Number(text);
    if (text.trim() === '' || Number.isNaN(n)) throw new AbortDecode(`invalid floating-point number ${JSON.stringify(text)}`);
    return n;
  }
  const n = node!;
  switch (kind.k) {
    case 'str':
      if (isScalar(n)) return scalarText(n);
      typeError(ctx, n, kind.go);
      return undefined;
    case 'int': {
      if (isScalar(n) && typeof n.value === 'number' && Number.isInteger(n.value)) return n.value;
      typeError(ctx, n, 'int');
      return undefined;
    }
    case 'list': {
      if (!isSeq(n)) {
        typeError(ctx, n, '[]string');
        return undefined;
      }
      const out: string[] = [];
      for (const item of n.items as Node[]) {
        const v = decodeValue(ctx, item, S());
        if (typeof v === 'string') out.push(v);
        else if (v === null) out.push('');
      }
      return out;
    }
    case 'map': {
      if (!isMap(n)) {
        typeError(ctx, n, kind.go);
        return undefined;
      }
      const out: Record<string, string> = {};
      for (const pair of mapPairs(ctx, n)) {
        const v = decodeValue(ctx, pair.value, S(kind.go === 'map[string]string' ? 'string' : 'plan.ServiceAction'));
        if (typeof v === 'string' || v === null) out[scalarText(pair.key)] = v ?? '';
      }
      return out;
    }
    case 'struct':
      return decodeStruct(ctx, n, kind.spec);
  }
}

function decodeStruct(ctx: Ctx, node: Node, spec: StructSpec): { [k: string]: Decoded } | undefined {
  if (!isMap(node)) {
    typeError(ctx, node, spec.go);
    return undefined;
  }
  const out: { [k: string]: Decoded } = {};
  for (const pair of mapPairs(ctx, node)) {
    const key = scalarText(pair.key);
    const kind = spec.fields[key];
    if (!kind) {
      ctx.errors.push(`line ${lineOf(ctx, pair.key)}: field ${key} not found in type ${spec.go}`);
      continue;
    }
    const v = decodeValue(ctx, pair.value, kind);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

const str = (v: Decoded | undefined): string => (typeof v === 'string' ? v : '');
const int = (v: Decoded | undefined): number | null => (typeof v === 'number' ? v : null);
const list = (v: Decoded | undefined): string[] => (Array.isArray(v) ? (v as string[]) : []);
const smap = (v: Decoded | undefined): Record<string, string> | null =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : null;
const dur = (v: Decoded | undefined): OptDuration => (typeof v === 'number' ? { set: true, ns: v } : unsetDuration());
type Obj = { [k: string]: Decoded };

function toService(name: string, d: Obj): ServiceConfig {
  const s = emptyService(name);
  s.summary = str(d['summary']);
  s.description = str(d['description']);
  s.startup = str(d['startup']);
  s.override = str(d['override']);
  s.command = str(d['command']);
  s.after = list(d['after']);
  s.before = list(d['before']);
  s.requires = list(d['requires']);
  s.workload = str(d['workload']);
  s.environment = smap(d['environment']);
  s.userId = int(d['user-id']);
  s.user = str(d['user']);
  s.groupId = int(d['group-id']);
  s.group = str(d['group']);
  s.workingDir = str(d['working-dir']);
  s.onSuccess = str(d['on-success']);
  s.onFailure = str(d['on-failure']);
  s.onCheckFailure = smap(d['on-check-failure']);
  s.backoffDelay = dur(d['backoff-delay']);
  const f = d['backoff-factor'];
  s.backoffFactor = typeof f === 'number' ? { set: true, value: f } : { set: false, value: 0 };
  s.backoffLimit = dur(d['backoff-limit']);
  s.killDelay = dur(d['kill-delay']);
  return s;
}

function toCheck(name: string, d: Obj): CheckConfig {
  const c = emptyCheck(name);
  c.override = str(d['override']);
  c.level = str(d['level']);
  c.startup = str(d['startup']);
  c.period = dur(d['period']);
  c.timeout = dur(d['timeout']);
  c.threshold = int(d['threshold']) ?? 0;
  const h = d['http'];
  if (h !== undefined && h !== null) {
    const o = h as Obj;
    c.http = { url: str(o['url']), headers: smap(o['headers']) };
  }
  const t = d['tcp'];
  if (t !== undefined && t !== null) {
    const o = t as Obj;
    c.tcp = { port: int(o['port']) ?? 0, host: str(o['host']) };
  }
  const e = d['exec'];
  if (e !== undefined && e !== null) {
    const o = e as Obj;
    c.exec = {
      command: str(o['command']),
      serviceContext: str(o['service-context']),
      environment: smap(o['environment']),
      userId: int(o['user-id']),
      user: str(o['user']),
      groupId: int(o['group-id']),
      group: str(o['group']),
      workingDir: str(o['working-dir']),
    };
  }
  return c;
}

function toLogTarget(name: string, d: Obj): LogTargetConfig {
  const t = emptyLogTarget(name);
  t.type = str(d['type']);
  t.location = str(d['location']);
  t.services = list(d['services']);
  t.override = str(d['override']);
  t.labels = smap(d['labels']);
  return t;
}

const SECTIONS = ['summary', 'description', 'services', 'checks', 'log-targets'] as const;

/**
 * Parse and validate one layer (P:plan.go ParseLayer). Errors are FormatErrors whose text is
 * what Pebble puts after "cannot parse layer YAML: ".
 */
export function parseLayer(label: string, text: string): LayerModel {
  const q = JSON.stringify(label);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line ?? 1;
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new FormatError(`cannot parse layer ${q}: yaml: line ${line}: ${msg}`);
  }
  const layer: LayerModel = {
    label,
    order: 0,
    summary: '',
    description: '',
    services: new Map(),
    checks: new Map(),
    logTargets: new Map(),
  };
  const top = resolve(doc.contents as Node | null);
  if (!isNull(top)) {
    const topCtx: Ctx = { lc, lineBase: 1, errors: [] };
    if (!isMap(top)) {
      typeError(topCtx, top!, 'map[string]yaml.Node');
      throw new FormatError(`cannot parse layer ${q}: yaml: unmarshal errors:\n  ${topCtx.errors.join('\n  ')}`);
    }
    const pairs = mapPairs(topCtx, top);
    if (topCtx.errors.length) {
      throw new FormatError(`cannot parse layer ${q}: yaml: unmarshal errors:\n  ${topCtx.errors.join('\n  ')}`);
    }
    for (const pair of pairs) {
      const field = scalarText(pair.key);
      if (!(SECTIONS as readonly string[]).includes(field)) {
        throw new FormatError(`cannot parse layer ${q}: unknown section ${JSON.stringify(field)}`);
      }
    }
    for (const pair of pairs) {
      const field = scalarText(pair.key) as (typeof SECTIONS)[number];
      const value = resolve(pair.value as Node | null);
      // Pebble re-encodes each section before decoding it, so line numbers start at the
      // section's own first line.
      const lineBase = value && isMap(value) && value.items.length > 0
        ? lc.linePos((value.items[0] as Pair<Node, Node>).key?.range?.[0] ?? 0).line
        : lc.linePos(value?.range?.[0] ?? 0).line;
      const ctx: Ctx = { lc, lineBase, errors: [] };
      const fail = (msg: string) => new FormatError(`cannot parse layer ${q} section ${JSON.stringify(field)}: ${msg}`);
      try {
        if (field === 'summary' || field === 'description') {
          const v = decodeValue(ctx, value, S());
          if (!ctx.errors.length) layer[field] = str(v);
        } else {
          const spec = field === 'services' ? SERVICE_SPEC : field === 'checks' ? CHECK_SPEC : LOG_TARGET_SPEC;
          if (!isNull(value)) {
            if (!isMap(value)) {
              typeError(ctx, value!, `map[string]*${spec.go}`);
            } else {
              for (const entry of mapPairs(ctx, value)) {
                const name = scalarText(entry.key);
                const entryNode = resolve(entry.value as Node | null);
                let decoded: Obj | null = null;
                if (!isNull(entryNode)) decoded = decodeStruct(ctx, entryNode!, spec) ?? {};
                if (field === 'services') layer.services.set(name, decoded ? toService(name, decoded) : null);
                else if (field === 'checks') layer.checks.set(name, decoded ? toCheck(name, decoded) : null);
                else layer.logTargets.set(name, decoded ? toLogTarget(name, decoded) : null);
              }
            }
          }
        }
      } catch (e) {
        if (e instanceof AbortDecode) throw fail(e.message);
        throw e;
      }
      if (ctx.errors.length) throw fail(`yaml: unmarshal errors:\n  ${ctx.errors.join('\n  ')}`);
    }
  }
  validateLayer(layer);
  return layer;
}

const SERVICE_ACTIONS = ['', 'restart', 'shutdown', 'ignore'];

/** Per-layer checks (P:plan.go Layer.Validate). */
export function validateLayer(layer: LayerModel): void {
  if (layer.label.startsWith('pebble-')) throw new FormatError('cannot use reserved label prefix "pebble-"');
  for (const [name, service] of layer.services) {
    const q = JSON.stringify(name);
    if (name === '') throw new FormatError('cannot use empty string as service name');
    if (name === 'pebble') throw new FormatError(`cannot use reserved service name ${q}`);
    if (name.startsWith('-')) throw new FormatError(`cannot use service name ${q}: starting with "-" not allowed`);
    if (service === null) throw new FormatError(`service object cannot be null for service ${q}`);
    try {
      parseServiceCommand(name, service.command);
    } catch (e) {
      throw new FormatError(`plan service ${q} command invalid: ${(e as Error).message}`);
    }
    if (![...SERVICE_ACTIONS, 'failure-shutdown'].includes(service.onSuccess)) {
      throw new FormatError(`plan service ${q} on-success action ${JSON.stringify(service.onSuccess)} invalid`);
    }
    if (![...SERVICE_ACTIONS, 'success-shutdown'].includes(service.onFailure)) {
      throw new FormatError(`plan service ${q} on-failure action ${JSON.stringify(service.onFailure)} invalid`);
    }
    for (const action of Object.values(service.onCheckFailure ?? {})) {
      if (![...SERVICE_ACTIONS, 'success-shutdown'].includes(action)) {
        throw new FormatError(`plan service ${q} on-check-failure action ${JSON.stringify(action)} invalid`);
      }
    }
    if (service.backoffFactor.set && service.backoffFactor.value < 1) {
      throw new FormatError(`plan service ${q} backoff-factor must be 1.0 or greater, not ${service.backoffFactor.value}`);
    }
  }
  for (const [name, check] of layer.checks) {
    const q = JSON.stringify(name);
    if (name === '') throw new FormatError('cannot use empty string as check name');
    if (check === null) throw new FormatError(`check object cannot be null for check ${q}`);
    if (!['', 'alive', 'ready'].includes(check.level)) throw new FormatError(`plan check ${q} level must be "alive" or "ready"`);
    if (!['', 'enabled', 'disabled'].includes(check.startup)) {
      throw new FormatError(`plan check ${q} startup must be "enabled" or "disabled"`);
    }
    if (check.period.set && check.period.ns === 0) throw new FormatError(`plan check ${q} period must not be zero`);
    if (check.timeout.set && check.timeout.ns === 0) throw new FormatError(`plan check ${q} timeout must not be zero`);
    if (check.exec) {
      try {
        shlexSplit(check.exec.command);
      } catch (e) {
        throw new FormatError(`plan check ${q} command invalid: ${(e as Error).message}`);
      }
    }
  }
  for (const [name, target] of layer.logTargets) {
    const q = JSON.stringify(name);
    if (target === null) throw new FormatError(`log target object cannot be null for log target ${q}`);
    for (const labelName of Object.keys(target.labels ?? {})) {
      if (labelName.startsWith('pebble_')) {
        throw new FormatError(`log target ${q}: label ${JSON.stringify(labelName)} uses reserved prefix "pebble_"`);
      }
    }
    if (!['', 'loki', 'opentelemetry', 'syslog'].includes(target.type)) {
      throw new FormatError(
        `log target ${q} has unsupported type ${JSON.stringify(target.type)}, must be "loki", "opentelemetry" or "syslog"`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Combining layers (P:plan.go CombineLayers and the Merge methods)

function mergeMap(into: Record<string, string> | null, from: Record<string, string> | null): Record<string, string> | null {
  if (!from) return into;
  let out = into;
  for (const [k, v] of Object.entries(from)) {
    if (out === null) out = {};
    out[k] = v;
  }
  return out;
}

function mergeService(s: ServiceConfig, o: ServiceConfig): void {
  if (o.summary) s.summary = o.summary;
  if (o.description) s.description = o.description;
  if (o.startup) s.startup = o.startup;
  if (o.command) s.command = o.command;
  if (o.killDelay.set) s.killDelay = { ...o.killDelay };
  if (o.userId !== null) s.userId = o.userId;
  if (o.user) s.user = o.user;
  if (o.groupId !== null) s.groupId = o.groupId;
  if (o.group) s.group = o.group;
  if (o.workingDir) s.workingDir = o.workingDir;
  s.after.push(...o.after);
  s.before.push(...o.before);
  s.requires.push(...o.requires);
  if (o.workload) s.workload = o.workload;
  s.environment = mergeMap(s.environment, o.environment);
  if (o.onSuccess) s.onSuccess = o.onSuccess;
  if (o.onFailure) s.onFailure = o.onFailure;
  s.onCheckFailure = mergeMap(s.onCheckFailure, o.onCheckFailure);
  if (o.backoffDelay.set) s.backoffDelay = { ...o.backoffDelay };
  if (o.backoffFactor.set) s.backoffFactor = { ...o.backoffFactor };
  if (o.backoffLimit.set) s.backoffLimit = { ...o.backoffLimit };
}

function mergeCheck(c: CheckConfig, o: CheckConfig): void {
  if (o.level) c.level = o.level;
  if (o.startup) c.startup = o.startup;
  if (o.period.set) c.period = { ...o.period };
  if (o.timeout.set) c.timeout = { ...o.timeout };
  if (o.threshold !== 0) c.threshold = o.threshold;
  if (o.http) {
    c.http ??= { url: '', headers: null };
    if (o.http.url) c.http.url = o.http.url;
    c.http.headers = mergeMap(c.http.headers, o.http.headers);
  }
  if (o.tcp) {
    c.tcp ??= { port: 0, host: '' };
    if (o.tcp.port !== 0) c.tcp.port = o.tcp.port;
    if (o.tcp.host) c.tcp.host = o.tcp.host;
  }
  if (o.exec) {
    c.exec ??= { command: '', serviceContext: '', environment: null, userId: null, user: '', groupId: null, group: '', workingDir: '' };
    const e = c.exec;
    if (o.exec.command) e.command = o.exec.command;
    if (o.exec.serviceContext) e.serviceContext = o.exec.serviceContext;
    e.environment = mergeMap(e.environment, o.exec.environment);
    if (o.exec.userId !== null) e.userId = o.exec.userId;
    if (o.exec.user) e.user = o.exec.user;
    if (o.exec.groupId !== null) e.groupId = o.exec.groupId;
    if (o.exec.group) e.group = o.exec.group;
    if (o.exec.workingDir) e.workingDir = o.exec.workingDir;
  }
}

function mergeLogTarget(t: LogTargetConfig, o: LogTargetConfig): void {
  if (o.type) t.type = o.type;
  if (o.location) t.location = o.location;
  t.services.push(...o.services);
  t.labels = mergeMap(t.labels, o.labels);
}

function combineSection<T extends { override: string }>(
  layers: LayerModel[],
  pick: (l: LayerModel) => Map<string, T | null>,
  what: string,
  copy: (t: T) => T,
  merge: (into: T, from: T) => void,
): Map<string, T> {
  const out = new Map<string, T>();
  for (const layer of layers) {
    for (const [name, item] of pick(layer)) {
      if (item === null) continue; // rejected earlier by validateLayer
      const at = `layer ${JSON.stringify(layer.label)}`;
      switch (item.override) {
        case 'merge': {
          const old = out.get(name);
          if (old) merge(old, item);
          else out.set(name, copy(item));
          break;
        }
        case 'replace':
          out.set(name, copy(item));
          break;
        case '':
          throw new FormatError(`${at} must define "override" for ${what} ${JSON.stringify(name)}`);
        default:
          throw new FormatError(`${at} has invalid "override" value for ${what} ${JSON.stringify(name)}`);
      }
    }
  }
  return out;
}

/**
 * Combine layers in order. Summary and description come from the last layer. Defaults are set
 * on the result but marked unset, so they never show in the rendered plan (except a check's
 * threshold, an int that Pebble also prints once defaulted).
 */
export function combineLayers(layers: LayerModel[]): CombinedLayer {
  const services = combineSection(layers, (l) => l.services, 'service', copyService, mergeService);
  const checks = combineSection(layers, (l) => l.checks, 'check', copyCheck, mergeCheck);
  const logTargets = combineSection(layers, (l) => l.logTargets, 'log target', copyLogTarget, mergeLogTarget);
  for (const s of services.values()) {
    if (!s.backoffDelay.set) s.backoffDelay.ns = DEFAULT_BACKOFF_DELAY_NS;
    if (!s.backoffFactor.set) s.backoffFactor.value = DEFAULT_BACKOFF_FACTOR;
    if (!s.backoffLimit.set) s.backoffLimit.ns = DEFAULT_BACKOFF_LIMIT_NS;
  }
  for (const c of checks.values()) {
    if (!c.period.set) c.period.ns = DEFAULT_CHECK_PERIOD_NS;
    if (!c.timeout.set) c.timeout.ns = DEFAULT_CHECK_TIMEOUT_NS;
    if (c.timeout.ns > c.period.ns) c.timeout.ns = c.period.ns;
    if (c.threshold === 0) c.threshold = DEFAULT_CHECK_THRESHOLD;
  }
  return {
    label: '',
    order: 0,
    summary: layers.at(-1)?.summary ?? '',
    description: layers.at(-1)?.description ?? '',
    services,
    checks,
    logTargets,
  };
}

/** Combine and validate; the building block of every layer add (all or nothing). */
export function buildPlan(layers: LayerModel[]): PlanModel {
  const combined = combineLayers(layers);
  const plan: PlanModel = {
    layers,
    services: combined.services,
    checks: combined.checks,
    logTargets: combined.logTargets,
  };
  validatePlan(plan);
  return plan;
}

export function emptyPlan(): PlanModel {
  return { layers: [], services: new Map(), checks: new Map(), logTargets: new Map() };
}

/** Whole-plan checks (P:plan.go Plan.Validate). */
export function validatePlan(p: PlanModel): void {
  for (const [name, s] of p.services) {
    if (s.command === '') throw new FormatError(`plan must define "command" for service ${JSON.stringify(name)}`);
  }
  for (const [name, c] of p.checks) {
    const q = JSON.stringify(name);
    let types = 0;
    if (c.http) {
      if (c.http.url === '') throw new FormatError(`plan must set "url" for http check ${q}`);
      types++;
    }
    if (c.tcp) {
      if (c.tcp.port === 0) throw new FormatError(`plan must set "port" for tcp check ${q}`);
      types++;
    }
    if (c.exec) {
      if (c.exec.command === '') throw new FormatError(`plan must set "command" for exec check ${q}`);
      if (c.exec.serviceContext !== '' && !p.services.has(c.exec.serviceContext)) {
        throw new FormatError(`plan check ${q} service context specifies non-existent service ${JSON.stringify(c.exec.serviceContext)}`);
      }
      types++;
    }
    if (types !== 1) throw new FormatError(`plan must specify one of "http", "tcp", or "exec" for check ${q}`);
  }
  for (const [name, t] of p.logTargets) {
    const q = JSON.stringify(name);
    if (t.type === '') {
      throw new FormatError(`plan must define "type" ("loki", "opentelemetry" or "syslog") for log target ${q}`);
    }
    for (let svc of t.services) {
      if (svc.startsWith('-')) svc = svc.slice(1);
      if (svc === 'all' || p.services.has(svc)) continue;
      throw new FormatError(`log target ${q} specifies unknown service ${JSON.stringify(svc)}`);
    }
    if (t.location === '') throw new FormatError(`plan must define "location" for log target ${q}`);
  }
  order(p.services, [...p.services.keys()], false);
}

// ---------------------------------------------------------------------------------------------
// Start/stop ordering (P:plan.go order, createLanes; tarjan.go)

/** Strongly connected components in dependency-first order, roots visited in sorted order. */
function tarjan(successors: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const connect = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of successors.get(v) ?? []) {
      if (!idx.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      out.push(scc.sort());
    }
  };
  for (const v of [...successors.keys()].sort()) if (!idx.has(v)) connect(v);
  return out;
}

/**
 * The services to start (with what they require) or stop (with what requires them), ordered by
 * after/before. Throws FormatError for an unknown service or a before/after loop.
 */
export function order(services: Map<string, ServiceConfig>, names: string[], stop: boolean): string[] {
  const predecessors = new Map<string, string[]>();
  if (stop) {
    for (const [name, s] of [...services].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const req of s.requires) predecessors.set(req, [...(predecessors.get(req) ?? []), name]);
    }
  }
  const successors = new Map<string, string[]>();
  const pending = [...names];
  for (let i = 0; i < pending.length; i++) {
    const name = pending[i]!;
    if (successors.has(name)) continue;
    successors.set(name, []);
    if (stop) pending.push(...(predecessors.get(name) ?? []));
    else {
      const s = services.get(name);
      if (!s) throw new FormatError(`service ${JSON.stringify(name)} does not exist`);
      pending.push(...s.requires);
    }
  }
  for (const name of [...successors.keys()].sort()) {
    const s = services.get(name);
    if (!s) throw new FormatError(`service ${JSON.stringify(name)} does not exist`);
    const after = stop ? s.before : s.after;
    const before = stop ? s.after : s.before;
    const succs = successors.get(name)!;
    for (const a of after) if (successors.has(a)) succs.push(a);
    for (const b of before) {
      const bs = successors.get(b);
      if (bs) bs.push(name);
    }
  }
  const result: string[] = [];
  for (const scc of tarjan(successors)) {
    if (scc.length > 1) throw new FormatError(`services in before/after loop: ${scc.join(', ')}`);
    result.push(scc[0]!);
  }
  return result;
}

/** Group ordered names into lanes: services linked through `requires` share a lane. */
export function createLanes(names: string[], services: Map<string, ServiceConfig>): string[][] {
  const laneOf = new Map<string, number>();
  let lane = -1;
  let maxLane = 0;
  const mapToLane = (s: ServiceConfig, l: number) => {
    laneOf.set(s.name, l);
    for (const dep of s.requires) laneOf.set(dep, l);
  };
  for (const name of names) {
    const s = services.get(name);
    if (!s) throw new FormatError(`service ${JSON.stringify(name)} does not exist`);
    let chosen = laneOf.get(name);
    if (chosen === undefined) {
      for (const dep of s.requires) {
        const l = laneOf.get(dep);
        if (l !== undefined) {
          chosen = l;
          break;
        }
      }
    }
    if (chosen === undefined) chosen = lane + 1;
    mapToLane(s, chosen);
    lane = chosen;
    maxLane = Math.max(maxLane, chosen);
  }
  const lanes: string[][] = Array.from({ length: names.length ? maxLane + 1 : 0 }, () => []);
  for (const name of names) lanes[laneOf.get(name)!]!.push(name);
  return lanes.filter((l) => l.length > 0);
}

export function startOrder(plan: PlanModel, names: string[]): string[][] {
  return createLanes(order(plan.services, names, false), plan.services);
}

export function stopOrder(plan: PlanModel, names: string[]): string[][] {
  return createLanes(order(plan.services, names, true), plan.services);
}

// ---------------------------------------------------------------------------------------------
// Rendering: the plan and layers as Pebble prints them (Go struct field order, omitempty)

type Out = Record<string, unknown>;

function sortedObject<T>(m: Record<string, T> | Map<string, T>, f: (v: T) => unknown = (v) => v): Out {
  const entries = m instanceof Map ? [...m.entries()] : Object.entries(m);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const o: Out = {};
  for (const [k, v] of entries) o[k] = f(v);
  return o;
}

function put(o: Out, key: string, value: unknown): void {
  if (value === '' || value === null || value === undefined) return;
  if (Array.isArray(value) && value.length === 0) return;
  o[key] = value;
}

export function renderService(s: ServiceConfig): Out {
  const o: Out = {};
  put(o, 'summary', s.summary);
  put(o, 'description', s.description);
  put(o, 'startup', s.startup);
  put(o, 'override', s.override);
  put(o, 'command', s.command);
  put(o, 'after', [...s.after]);
  put(o, 'before', [...s.before]);
  put(o, 'requires', [...s.requires]);
  put(o, 'workload', s.workload);
  if (s.environment && Object.keys(s.environment).length) o['environment'] = sortedObject(s.environment);
  if (s.userId !== null) o['user-id'] = s.userId;
  put(o, 'user', s.user);
  if (s.groupId !== null) o['group-id'] = s.groupId;
  put(o, 'group', s.group);
  put(o, 'working-dir', s.workingDir);
  put(o, 'on-success', s.onSuccess);
  put(o, 'on-failure', s.onFailure);
  if (s.onCheckFailure && Object.keys(s.onCheckFailure).length) o['on-check-failure'] = sortedObject(s.onCheckFailure);
  if (s.backoffDelay.set) o['backoff-delay'] = formatGoDuration(s.backoffDelay.ns);
  if (s.backoffFactor.set) o['backoff-factor'] = s.backoffFactor.value;
  if (s.backoffLimit.set) o['backoff-limit'] = formatGoDuration(s.backoffLimit.ns);
  if (s.killDelay.set) o['kill-delay'] = formatGoDuration(s.killDelay.ns);
  return o;
}

export function renderCheck(c: CheckConfig): Out {
  const o: Out = {};
  put(o, 'override', c.override);
  put(o, 'level', c.level);
  put(o, 'startup', c.startup);
  if (c.period.set) o['period'] = formatGoDuration(c.period.ns);
  if (c.timeout.set) o['timeout'] = formatGoDuration(c.timeout.ns);
  if (c.threshold !== 0) o['threshold'] = c.threshold;
  if (c.http) {
    const h: Out = {};
    put(h, 'url', c.http.url);
    if (c.http.headers && Object.keys(c.http.headers).length) h['headers'] = sortedObject(c.http.headers);
    o['http'] = h;
  }
  if (c.tcp) {
    const t: Out = {};
    if (c.tcp.port !== 0) t['port'] = c.tcp.port;
    put(t, 'host', c.tcp.host);
    o['tcp'] = t;
  }
  if (c.exec) {
    const e: Out = {};
    put(e, 'command', c.exec.command);
    put(e, 'service-context', c.exec.serviceContext);
    if (c.exec.environment && Object.keys(c.exec.environment).length) e['environment'] = sortedObject(c.exec.environment);
    if (c.exec.userId !== null) e['user-id'] = c.exec.userId;
    put(e, 'user', c.exec.user);
    if (c.exec.groupId !== null) e['group-id'] = c.exec.groupId;
    put(e, 'group', c.exec.group);
    put(e, 'working-dir', c.exec.workingDir);
    o['exec'] = e;
  }
  return o;
}

export function renderLogTarget(t: LogTargetConfig): Out {
  const o: Out = { type: t.type, location: t.location, services: [...t.services] };
  put(o, 'override', t.override);
  if (t.labels && Object.keys(t.labels).length) o['labels'] = sortedObject(t.labels);
  return o;
}

/** A plan (or a combined layer) as a plain object with Pebble's key order. */
export function renderPlanObject(p: { services: Map<string, ServiceConfig | null>; checks: Map<string, CheckConfig | null>; logTargets: Map<string, LogTargetConfig | null> }): Out {
  const o: Out = {};
  const live = <T>(m: Map<string, T | null>) => new Map([...m].filter((e): e is [string, T] => e[1] !== null));
  if (p.services.size) o['services'] = sortedObject(live(p.services), renderService);
  if (p.checks.size) o['checks'] = sortedObject(live(p.checks), renderCheck);
  if (p.logTargets.size) o['log-targets'] = sortedObject(live(p.logTargets), renderLogTarget);
  return o;
}

/** A layer as an object: summary and description first, as Pebble's Layer struct orders them. */
export function renderLayerObject(layer: LayerModel): Out {
  const o: Out = {};
  put(o, 'summary', layer.summary);
  put(o, 'description', layer.description);
  return { ...o, ...renderPlanObject(layer) };
}

/** YAML as Pebble's yaml.v3 prints it: 4-space indentation, indented sequences, `{}` when empty. */
export function toYaml(value: Out): string {
  return stringify(value, { indent: 4, indentSeq: true, lineWidth: 0 });
}

export function renderPlanYaml(p: PlanModel): string {
  return toYaml(renderPlanObject(p));
}
