// The layer language as Pebble implements it (pebble-charmcraft.md 1.5-1.6): the model of
// layers and plans (mirroring Pebble's Go structs), per-layer validation, CombineLayers with the
// Go Merge rules, plan validation, and service start/stop ordering in lanes. Decoding layer YAML
// lives in layer-yaml.ts, rendering the plan in plan-yaml.ts.
import { parseServiceCommand, shlexSplit } from './gotext.js';
import { UserDb, normalizeUidGid } from './users.js';
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

export function emptyCheck(name: string): CheckConfig {
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

export function emptyLogTarget(name: string): LogTargetConfig {
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
      const { userId, groupId, user, group } = check.exec;
      try {
        normalizeUidGid(new UserDb(), userId, groupId, user, group);
      } catch (e) {
        throw new FormatError(`plan check ${q} has invalid user/group: ${(e as Error).message}`);
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

