/**
 * Events for the simulator: each is a Juju hook (or action) plus the environment Juju sets for it
 * (juju-hooks.md 1.3 and 7A). Build them with the `on` constructors:
 *
 *   on.configChanged()
 *   on.relationChanged(rel, { remoteUnit: 0 })
 *   on.secretChanged(secret)
 *   on.pebbleReady('opencti-synchronizer-connector')
 *   on.action('backup', { params: { target: 's3' } })
 */
import type { RelationState, SecretState } from './state.js';

export interface SimEvent {
  /** `hooks/<name>` or `actions/<name>`. */
  dispatchPath: string;
  /** Juju's hook or action name. */
  name: string;
  /** Event-specific JUJU_* variables (the simulator adds the common ones). */
  env: Record<string, string>;
  /** For actions. */
  action?: { name: string; params: Record<string, unknown>; id: string };
  /** The relation whose data the event concerns (for relation hooks: the default -r). */
  relationId?: number;
  remoteUnit?: string;
  remoteApp?: string;
}

const hook = (name: string, env: Record<string, string> = {}): SimEvent => ({ dispatchPath: `hooks/${name}`, name, env });

type RelationRef = Pick<RelationState, 'id' | 'endpoint' | 'remoteAppName'>;
type SecretRef = Pick<SecretState, 'id' | 'label'>;

function relationEvent(
  kind: 'created' | 'joined' | 'changed' | 'departed' | 'broken',
  rel: RelationRef,
  opts: { remoteUnit?: number | string | null; departingUnit?: number | string } = {},
): SimEvent {
  const name = `${rel.endpoint}-relation-${kind}`;
  const unitName = (u: number | string | undefined) => (u === undefined ? undefined : typeof u === 'number' ? `${rel.remoteAppName}/${u}` : u);
  const env: Record<string, string> = {
    JUJU_RELATION: rel.endpoint,
    JUJU_RELATION_ID: `${rel.endpoint}:${rel.id}`,
    JUJU_REMOTE_APP: rel.remoteAppName,
  };
  // Juju names the remote unit for joined, changed and departed (Scenario defaults it to unit 0);
  // `remoteUnit: null` is relation-changed for a change of the remote application's databag.
  const remote =
    (kind === 'joined' || kind === 'changed' || kind === 'departed') && opts.remoteUnit !== null ? unitName(opts.remoteUnit ?? 0) : undefined;
  if (remote) env.JUJU_REMOTE_UNIT = remote;
  if (kind === 'departed') env.JUJU_DEPARTING_UNIT = unitName(opts.departingUnit ?? opts.remoteUnit ?? 0)!;
  return { ...hook(name, env), relationId: rel.id, remoteUnit: remote, remoteApp: rel.remoteAppName };
}

function secretEvent(name: string, secret: SecretRef, revision?: number): SimEvent {
  // Juju always sets JUJU_SECRET_LABEL for a secret hook, empty when the secret has no label.
  const env: Record<string, string> = { JUJU_SECRET_ID: secret.id, JUJU_SECRET_LABEL: secret.label ?? '' };
  if (revision !== undefined) env.JUJU_SECRET_REVISION = String(revision);
  return hook(name, env);
}

let actionCounter = 0;

export const on = {
  install: () => hook('install'),
  start: () => hook('start'),
  stop: () => hook('stop'),
  remove: () => hook('remove'),
  updateStatus: () => hook('update-status'),
  configChanged: () => hook('config-changed'),
  upgradeCharm: () => hook('upgrade-charm'),
  leaderElected: () => hook('leader-elected'),
  leaderSettingsChanged: () => hook('leader-settings-changed'),
  preSeriesUpgrade: () => hook('pre-series-upgrade'),
  postSeriesUpgrade: () => hook('post-series-upgrade'),
  collectMetrics: () => hook('collect-metrics'),
  relationCreated: (rel: RelationRef) => relationEvent('created', rel),
  relationJoined: (rel: RelationRef, opts?: { remoteUnit?: number | string }) => relationEvent('joined', rel, opts),
  relationChanged: (rel: RelationRef, opts?: { remoteUnit?: number | string | null }) => relationEvent('changed', rel, opts),
  relationDeparted: (rel: RelationRef, opts?: { remoteUnit?: number | string; departingUnit?: number | string }) =>
    relationEvent('departed', rel, opts),
  relationBroken: (rel: RelationRef) => relationEvent('broken', rel),
  secretChanged: (secret: SecretRef) => secretEvent('secret-changed', secret),
  secretRotate: (secret: SecretRef) => secretEvent('secret-rotate', secret),
  secretExpired: (secret: SecretRef, revision: number) => secretEvent('secret-expired', secret, revision),
  secretRemove: (secret: SecretRef, revision: number) => secretEvent('secret-remove', secret, revision),
  pebbleReady: (container: string) => hook(`${container}-pebble-ready`, { JUJU_WORKLOAD_NAME: container }),
  pebbleCustomNotice: (container: string, notice: { id: string; type?: string; key: string }) =>
    hook(`${container}-pebble-custom-notice`, {
      JUJU_WORKLOAD_NAME: container,
      JUJU_NOTICE_ID: notice.id,
      JUJU_NOTICE_TYPE: notice.type ?? 'custom',
      JUJU_NOTICE_KEY: notice.key,
    }),
  pebbleCheckFailed: (container: string, check: string) =>
    hook(`${container}-pebble-check-failed`, { JUJU_WORKLOAD_NAME: container, JUJU_PEBBLE_CHECK_NAME: check }),
  pebbleCheckRecovered: (container: string, check: string) =>
    hook(`${container}-pebble-check-recovered`, { JUJU_WORKLOAD_NAME: container, JUJU_PEBBLE_CHECK_NAME: check }),
  storageAttached: (storage: string, index = 0) => hook(`${storage}-storage-attached`, { JUJU_STORAGE_ID: `${storage}/${index}` }),
  storageDetaching: (storage: string, index = 0) => hook(`${storage}-storage-detaching`, { JUJU_STORAGE_ID: `${storage}/${index}` }),
  action: (name: string, opts: { params?: Record<string, unknown>; id?: string } = {}): SimEvent => {
    const id = opts.id ?? String(++actionCounter);
    return {
      dispatchPath: `actions/${name}`,
      name,
      env: { JUJU_ACTION_NAME: name, JUJU_ACTION_UUID: id },
      action: { name, params: opts.params ?? {}, id },
    };
  },
  /** Any hook by its Juju name, with extra environment (for events the charm does not declare). */
  hook: (name: string, env: Record<string, string> = {}) => hook(name, env),
};

/** The JUJU_* environment of one dispatch (juju-hooks.md 7A). Never includes OPERATOR_DISPATCH. */
export function hookEnvironment(
  event: SimEvent,
  opts: {
    unitName: string;
    modelName: string;
    modelUuid: string;
    charmDir: string;
    jujuVersion: string;
    proxy?: { http?: string; https?: string; no?: string };
  },
): Record<string, string> {
  const env: Record<string, string> = {
    JUJU_DISPATCH_PATH: event.dispatchPath,
    JUJU_HOOK_NAME: event.action ? '' : event.name,
    JUJU_UNIT_NAME: opts.unitName,
    JUJU_MODEL_NAME: opts.modelName,
    JUJU_MODEL_UUID: opts.modelUuid,
    JUJU_VERSION: opts.jujuVersion,
    JUJU_CHARM_DIR: opts.charmDir,
    ...event.env,
  };
  if (opts.proxy?.http) env.JUJU_CHARM_HTTP_PROXY = opts.proxy.http;
  if (opts.proxy?.https) env.JUJU_CHARM_HTTPS_PROXY = opts.proxy.https;
  if (opts.proxy?.no) env.JUJU_CHARM_NO_PROXY = opts.proxy.no;
  return env;
}
