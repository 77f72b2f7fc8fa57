/**
 * The simulated world of one unit, Scenario-style: what Juju knows (config, relations and their
 * databags, secrets, leadership, planned units, statuses, ports), what the charm left behind
 * (deferred events, stored state) and the workload containers.
 *
 * The same shape is used in three places: `Context.run(event, state)` in tests, the state files
 * (YAML or JSON) of `npm run sim`, and the fake Juju agent that answers the hook tools. Input is
 * validated with zod, so a state file with a typo gets an error naming the field.
 */
import { z } from 'zod';
import type { CharmMeta, ConfigType } from '@juju-ts/ops';
import type { SimEvent } from './events.js';
import { newXid } from './juju/go.js';

const stringMap = z.record(z.string(), z.string());

/** Juju fills every unit databag with these (Scenario's defaults). */
export const DEFAULT_UNIT_DATA = Object.freeze({
  'egress-subnets': '192.0.2.0/24',
  'ingress-address': '192.0.2.0',
  'private-address': '192.0.2.0',
});

export const relationSchema = z
  .object({
    id: z.number().int().nonnegative(),
    endpoint: z.string().min(1),
    interface: z.string().optional(),
    /** For peer relations, our own application. */
    remoteAppName: z.string().default('remote'),
    localAppData: stringMap.default({}),
    localUnitData: stringMap.default({ ...DEFAULT_UNIT_DATA }),
    remoteAppData: stringMap.default({}),
    /** Remote unit number → its databag. For peers: the other units of our app. */
    remoteUnitsData: z.record(z.string().regex(/^\d+$/, 'unit numbers'), stringMap).default({ '0': { ...DEFAULT_UNIT_DATA } }),
  })
  .strict();
export type RelationState = z.infer<typeof relationSchema>;

const secretRevisionSchema = z.object({ revision: z.number().int().positive(), content: stringMap }).strict();

export const secretSchema = z
  .object({
    id: z.string().regex(/^secret:[0-9a-z]{20}$/, 'must be secret: followed by 20 characters [0-9a-z]'),
    /** null: someone else's secret granted to us; 'app' or 'unit': ours. */
    owner: z.enum(['app', 'unit']).nullable().default(null),
    label: z.string().optional(),
    description: z.string().optional(),
    expire: z.string().optional(),
    rotate: z.enum(['never', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly']).optional(),
    revisions: z.array(secretRevisionSchema).min(1),
    /**
     * Consumers: the revision this unit reads without --refresh. Omitted: the unit never read the
     * secret, so its first read gets (and starts tracking) the latest revision, as in Juju.
     */
    trackedRevision: z.number().int().positive().optional(),
    /** Relation id → application or unit names the secret is granted to (owners only). */
    grants: z.record(z.string(), z.array(z.string())).default({}),
  })
  .strict();
export type SecretState = z.infer<typeof secretSchema>;

/**
 * `content` / `latestContent` shorthands become revisions 1 and 2; with `latestContent` the unit
 * tracks revision 1 (Scenario's tracked_content) unless `trackedRevision` says otherwise.
 */
const secretInputSchema = z.preprocess((v) => {
  if (v && typeof v === 'object' && !('revisions' in v) && 'content' in v) {
    const { content, latestContent, ...rest } = v as Record<string, unknown>;
    const revisions = [{ revision: 1, content }];
    if (latestContent) revisions.push({ revision: 2, content: latestContent });
    return { ...(latestContent && rest.owner == null ? { trackedRevision: 1 } : {}), ...rest, revisions };
  }
  return v;
}, secretSchema);

export const statusSchema = z
  .object({ name: z.enum(['active', 'blocked', 'maintenance', 'waiting', 'error', 'unknown']), message: z.string().default('') })
  .strict();
export type StatusState = z.infer<typeof statusSchema>;

export const portSchema = z.object({ protocol: z.enum(['tcp', 'udp', 'icmp']), port: z.number().int().min(1).max(65535).optional() }).strict();

export const containerSchema = z
  .object({
    name: z.string().min(1),
    /** False: Pebble is not reachable (no socket). Scenario defaults this to false. */
    canConnect: z.boolean().default(false),
    /** Layers by label, in order (Pebble layer objects). */
    layers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Service name → current status as Pebble reports it. */
    serviceStatuses: z.record(z.string(), z.enum(['active', 'inactive', 'backoff', 'error'])).default({}),
    /** Check name → status (up or down). */
    checkStatuses: z.record(z.string(), z.enum(['up', 'down'])).default({}),
    /** Container path → file content, pushed before the run / read back after it. */
    files: z.record(z.string(), z.string()).default({}),
    /** Output only: the combined plan of the layers (ignored on input). */
    plan: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type ContainerState = z.infer<typeof containerSchema>;

export const deferredSchema = z
  .object({ eventPath: z.string(), observerPath: z.string(), methodName: z.string(), snapshot: z.record(z.string(), z.unknown()).default({}) })
  .strict();
export type DeferredState = z.infer<typeof deferredSchema>;

export const stateSchema = z
  .object({
    model: z
      .object({
        name: z.string().default('sim'),
        uuid: z.string().default('00000000-0000-4000-8000-000000000000'),
        type: z.enum(['kubernetes', 'lxd']).default('kubernetes'),
      })
      .strict()
      .default({ name: 'sim', uuid: '00000000-0000-4000-8000-000000000000', type: 'kubernetes' }),
    leader: z.boolean().default(false),
    /** Options set by the operator (defaults from charmcraft.yaml are added by config-get). */
    config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    relations: z.array(relationSchema).default([]),
    secrets: z.array(secretInputSchema).default([]),
    containers: z.array(containerSchema).default([]),
    plannedUnits: z.number().int().nonnegative().default(1),
    unitStatus: statusSchema.default({ name: 'unknown', message: '' }),
    appStatus: statusSchema.default({ name: 'unknown', message: '' }),
    workloadVersion: z.string().default(''),
    openedPorts: z.array(portSchema).default([]),
    /** Deferred events, oldest first. */
    deferred: z.array(deferredSchema).default([]),
    /** Stored-state path (e.g. `MyCharm/StoredStateData[state]`) → content. */
    storedStates: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /**
     * Relation id → remote application this unit learnt in earlier dispatches (the framework keeps
     * it with its stored data). A fresh unit knows none; a relation hook teaches it its relation's
     * application, as relation-created does in Juju before any other hook sees the relation.
     */
    remoteApps: z.record(z.string().regex(/^\d+$/, 'a relation id'), z.string()).default({}),
    /** Controller-side charm state (state-get / state-set). */
    controllerState: z.record(z.string(), z.string()).default({}),
    /** Model proxy settings, passed to the charm as JUJU_CHARM_*_PROXY. */
    proxy: z.object({ http: z.string().optional(), https: z.string().optional(), no: z.string().optional() }).strict().default({}),
    /** Binding name → network-get answer. */
    networks: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Resource name → path on disk. */
    resources: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type State = z.infer<typeof stateSchema>;
export type StateInput = z.input<typeof stateSchema>;

/** Validate (and fill defaults of) a state; errors name the offending fields. */
export function parseState(input: unknown, source = 'state'): State {
  const r = stateSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(top level)'}: ${i.message}`);
  throw new Error(`${source} is invalid:\n${lines.join('\n')}`);
}

/** The id without its `secret:` or `secret://<model-uuid>/` prefix: every form names one secret. */
export function bareSecretId(id: string): string {
  return id.replace(/^secret:(\/\/[^/]*\/)?/, '');
}

/** A fresh secret id in Juju's format (`secret:` and an xid, as Juju makes them). */
export function newSecretId(): string {
  return `secret:${newXid()}`;
}

/** A state (and event) Juju could never produce for this charm; `problems` says why, one per line. */
export class InconsistentStateError extends Error {
  override name = 'InconsistentStateError';
  constructor(readonly problems: string[]) {
    super(`inconsistent scenario:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type EventRef = Pick<SimEvent, 'name' | 'env' | 'relationId' | 'action'>;

/**
 * Refuse what Juju could never produce, before it runs (Scenario's consistency checks): the one
 * check shared by the in-process Context, runCharm and `sim run`. `containersElsewhere`: the
 * caller runs the Pebble emulators itself (ModelSim), so the State lists no containers.
 */
export function assertConsistent(meta: CharmMeta, state: State, event?: EventRef, opts: { containersElsewhere?: boolean } = {}): void {
  const problems = [...stateProblems(meta, state), ...(event ? [...eventMetaProblems(meta, event), ...eventStateProblems(event, state, opts)] : [])];
  if (problems.length) throw new InconsistentStateError(problems);
}

/** What the event needs the charm to declare: its endpoint, container, storage or action. */
export function eventMetaProblems(meta: CharmMeta, event: { name: string; env: Record<string, string>; action?: { name: string } }): string[] {
  const undeclared = (what: string, name: string, declared: readonly string[]) => {
    if (declared.includes(name)) return [];
    const near = nearestNames(name, declared);
    return [
      `event ${event.name}: the charm declares no ${what} "${name}"${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}; declared: ${declared.join(', ') || 'none'}`,
    ];
  };
  if (event.action) return undeclared('action', event.action.name, [...meta.actions.keys()]);
  const rel = RELATION_EVENT.exec(event.name);
  if (rel) return undeclared('endpoint', event.env.JUJU_RELATION ?? rel[1]!, [...meta.relations.keys()]);
  const workload = WORKLOAD_EVENT.exec(event.name);
  if (workload) return undeclared('container', event.env.JUJU_WORKLOAD_NAME ?? workload[1]!, meta.containers);
  const storage = STORAGE_EVENT.exec(event.name);
  if (storage) return undeclared('storage', storage[1]!, meta.storages);
  return [];
}

const RELATION_EVENT = /^(.+)-relation-(?:created|joined|changed|departed|broken)$/;
const WORKLOAD_EVENT = /^(.+)-pebble-(?:ready|custom-notice|check-failed|check-recovered)$/;
const STORAGE_EVENT = /^(.+)-storage-(?:attached|detaching)$/;

function stateProblems(meta: CharmMeta, state: State): string[] {
  const problems: string[] = [];
  const ids = new Set<number>();
  for (const r of state.relations) {
    if (ids.has(r.id)) problems.push(`relation id ${r.id} is used twice`);
    ids.add(r.id);
    if (!meta.relations.has(r.endpoint)) problems.push(`relation ${r.id}: charm declares no endpoint "${r.endpoint}"`);
  }
  for (const c of state.containers) {
    if (!meta.containers.includes(c.name)) problems.push(`container "${c.name}" is not declared by the charm`);
  }
  for (const [k, v] of Object.entries(state.config)) {
    const option = meta.config.get(k);
    if (!option) problems.push(`config option "${k}" is not declared by the charm`);
    else if (!configValueFits(option.type, v)) problems.push(`config option "${k}" is of type ${option.type}, but its value is ${JSON.stringify(v)}`);
  }
  return problems;
}

/** Juju refuses a config value its type cannot hold (`juju config` and the controller's schema). */
function configValueFits(type: ConfigType, v: string | number | boolean): boolean {
  switch (type) {
    case 'int':
      return Number.isInteger(v);
    case 'float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'secret':
      return typeof v === 'string' && /^secret:(\/\/[^/]+\/)?[0-9a-z]{20}$/.test(v);
    default:
      return typeof v === 'string';
  }
}

/** What the event needs in the state: its relation, container or secret, with the right owner. */
function eventStateProblems(event: EventRef, state: State, opts: { containersElsewhere?: boolean }): string[] {
  const problems: string[] = [];
  if (event.relationId !== undefined) {
    const r = state.relations.find((x) => x.id === event.relationId);
    const endpoint = RELATION_EVENT.exec(event.name)?.[1];
    if (!r) problems.push(`event ${event.name} is for relation ${event.relationId}, which is not in the state`);
    else if (endpoint !== undefined && r.endpoint !== endpoint) problems.push(`event ${event.name} is for relation ${r.id}, which is on endpoint "${r.endpoint}"`);
  }
  const container = event.env.JUJU_WORKLOAD_NAME;
  if (container !== undefined && !opts.containersElsewhere && !state.containers.some((c) => c.name === container)) {
    problems.push(`event ${event.name} is for container "${container}", which is not in the state`);
  }
  const secretId = event.env.JUJU_SECRET_ID;
  if (secretId !== undefined) {
    const s = state.secrets.find((x) => bareSecretId(x.id) === bareSecretId(secretId));
    // Juju tells consumers of a new revision (secret-changed) and owners the rest.
    const forOwner = event.name !== 'secret-changed';
    if (!s) problems.push(`event ${event.name} is for secret ${secretId}, which is not in the state`);
    else if (forOwner !== (s.owner !== null)) problems.push(`event ${event.name} goes to the secret's ${forOwner ? 'owner' : 'consumers'}, but this unit ${s.owner ? 'owns' : 'does not own'} ${secretId}`);
  }
  return problems;
}

/** The (at most two) candidates close enough to `name` to be what was meant, nearest first. */
export function nearestNames(name: string, candidates: readonly string[]): string[] {
  return candidates
    .map((c) => [c, editDistance(name, c)] as const)
    .filter(([, d]) => d <= Math.max(2, Math.floor(name.length / 3)))
    .sort((a, b) => a[1] - b[1])
    .slice(0, 2)
    .map(([c]) => c);
}

/** Levenshtein distance, for suggestions. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length] as number;
}
