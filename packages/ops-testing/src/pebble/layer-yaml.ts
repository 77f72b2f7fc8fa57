// Strict decoding of layer YAML, as Pebble's ParseLayer does it (yaml.v3 with KnownFields).
//
// Layer YAML is decoded by walking the YAML syntax tree rather than through zod, because Pebble's
// decoder has rules a schema library does not express: any scalar decodes into a string field
// using its source text, type errors are collected with line numbers and Go type names, and
// durations must be scalars that parse as Go durations.
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isAlias, type Node, type Pair } from 'yaml';
import { parseGoDuration } from './gotext.js';
import {
  FormatError,
  emptyCheck,
  emptyLogTarget,
  emptyService,
  validateLayer,
  type CheckConfig,
  type LayerModel,
  type LogTargetConfig,
  type OptDuration,
  type ServiceConfig,
} from './layers.js';

const unsetDuration = (): OptDuration => ({ set: false, ns: 0 });

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

