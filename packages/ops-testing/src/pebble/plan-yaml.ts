// The plan and layers rendered as Pebble prints them: Go struct field order, omitempty, sorted
// map keys, yaml.v3's 4-space indentation.
import { Document, Scalar, isScalar, visit } from 'yaml';
import { formatGoDuration } from './gotext.js';
import { yamlV3QuotesString } from './yaml-v3-quote.js';
import type { CheckConfig, LayerModel, LogTargetConfig, PlanModel, ServiceConfig } from './layers.js';

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

/**
 * YAML as Pebble's yaml.v3 prints it: 4-space indentation, indented sequences, `{}` when empty;
 * strings yaml.v3 would not leave plain (`yes`, `2024-01-02`, `1_000`) double-quoted, and other
 * strings that cannot be plain single-quoted, as its emitter prefers.
 */
export function toYaml(value: Out): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && yamlV3QuotesString(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return doc.toString({ indent: 4, indentSeq: true, lineWidth: 0, singleQuote: true });
}

export function renderPlanYaml(p: PlanModel): string {
  return toYaml(renderPlanObject(p));
}
