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
    /** The revision this unit reads without --refresh (consumers); defaults to the first. */
    trackedRevision: z.number().int().positive().optional(),
    /** Relation id → application or unit names the secret is granted to (owners only). */
    grants: z.record(z.string(), z.array(z.string())).default({}),
  })
  .strict();
export type SecretState = z.infer<typeof secretSchema>;

/** `content` / `latestContent` shorthands become revisions 1 and 2. */
const secretInputSchema = z.preprocess((v) => {
  if (v && typeof v === 'object' && !('revisions' in v) && 'content' in v) {
    const { content, latestContent, ...rest } = v as Record<string, unknown>;
    const revisions = [{ revision: 1, content }];
    if (latestContent) revisions.push({ revision: 2, content: latestContent });
    return { ...rest, revisions };
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
