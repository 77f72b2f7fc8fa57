/**
 * The Juju context of one dispatch: every `JUJU_*` variable Juju sets, read once and validated.
 *
 * Validation is strict in the way ops' `JujuContext.from_environ` is: the variables Juju always
 * sets, plus the ones each event kind needs (a relation event without JUJU_RELATION_ID, a secret
 * event without JUJU_SECRET_ID, ...). Every problem is reported at once, before any charm code runs.
 */
import path from 'node:path';
import { JujuContextError } from './errors.js';

/** A Juju version such as `3.6.14`, `3.6-beta1` or `2.9.44.1`. */
export class JujuVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly tag: string;
  readonly build: number;

  constructor(readonly text: string) {
    const m = /^(\d{1,9})\.(\d{1,9})(?:(?:\.|-([a-z]+))(\d{1,9}))?(?:\.(\d{1,9}))?$/.exec(text);
    if (!m) throw new Error(`"${text}" is not a valid Juju version (expected e.g. 3.6.14)`);
    this.major = Number(m[1]);
    this.minor = Number(m[2]);
    this.tag = m[3] ?? '';
    this.patch = Number(m[4] ?? 0);
    this.build = Number(m[5] ?? 0);
  }

  /** <0, 0 or >0 as this version is older than, equal to or newer than `other`. */
  compare(other: JujuVersion | string): number {
    const o = typeof other === 'string' ? new JujuVersion(other) : other;
    for (const k of ['major', 'minor'] as const) if (this[k] !== o[k]) return this[k] - o[k];
    // A tagged version (3.6-beta1) precedes the release with the same major.minor.
    if (this.tag !== o.tag) {
      if (!this.tag) return 1;
      if (!o.tag) return -1;
      return this.tag < o.tag ? -1 : 1;
    }
    if (this.patch !== o.patch) return this.patch - o.patch;
    return this.build - o.build;
  }

  atLeast(other: string): boolean {
    return this.compare(other) >= 0;
  }

  /** Application databags exist from Juju 2.7.0. */
  get hasAppData(): boolean {
    return this.atLeast('2.7.0');
  }

  /** Before 3.6, `secret-set` replaces the whole content (read-modify-write needed). */
  get secretSetReplacesContent(): boolean {
    return !this.atLeast('3.6.0');
  }

  toString(): string {
    return this.text;
  }
}

/** The family an event belongs to, derived from its Juju name. */
export type EventFamily = 'hook' | 'relation' | 'secret' | 'workload' | 'storage' | 'action';

export interface JujuContext {
  /** `hooks/<name>` or `actions/<name>`. */
  dispatchPath: string;
  /** The Juju hook or action name, e.g. `db-relation-changed` or `do-backup`. */
  eventName: string;
  /** The ops-style event kind: `db_relation_changed`, `do_backup_action`. */
  eventKind: string;
  family: EventFamily;
  hookName: string;
  unitName: string;
  appName: string;
  unitNumber: number;
  modelName: string;
  modelUuid: string;
  charmDir: string;
  version: JujuVersion;
  relationName?: string;
  relationId?: number;
  remoteAppName?: string;
  remoteUnitName?: string;
  departingUnitName?: string;
  secretId?: string;
  secretLabel?: string;
  secretRevision?: number;
  actionName?: string;
  actionUuid?: string;
  workloadName?: string;
  noticeId?: string;
  noticeType?: string;
  noticeKey?: string;
  pebbleCheckName?: string;
  storageName?: string;
  storageIndex?: number;
  /** JUJU_DEBUG is set: also log to stderr. */
  debug: boolean;
  debugAt: string[];
  machineId?: string;
  availabilityZone?: string;
  principalUnit?: string;
  /** Model proxy settings (JUJU_CHARM_*_PROXY); ops does not read them, charms do. */
  proxy: { http?: string; https?: string; no?: string };
}

const RELATION_RE = /^(.+)-relation-(created|joined|changed|departed|broken)$/;
const STORAGE_RE = /^(.+)-storage-(attached|detaching)$/;
const WORKLOAD_RE = /^(.+)-pebble-(ready|custom-notice|check-failed|check-recovered)$/;
const SECRET_HOOKS = new Set(['secret-changed', 'secret-rotate', 'secret-expired', 'secret-remove']);
const UNIT_NAME_RE = /^([a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*)\/(\d+)$/;

/** Classify a Juju event name (without the `hooks/` or `actions/` prefix). */
export function classifyEvent(name: string, isAction: boolean): { family: EventFamily; kind: string } {
  const snake = name.replace(/-/g, '_');
  if (isAction) return { family: 'action', kind: `${snake}_action` };
  if (RELATION_RE.test(name)) return { family: 'relation', kind: snake };
  if (STORAGE_RE.test(name)) return { family: 'storage', kind: snake };
  if (WORKLOAD_RE.test(name)) return { family: 'workload', kind: snake };
  if (SECRET_HOOKS.has(name)) return { family: 'secret', kind: snake };
  return { family: 'hook', kind: snake };
}

/** Turn `hooks/install`, `./hooks/install` or `/x/charm/actions/run` into its parts. */
export function parseDispatchPath(p: string): { dispatchPath: string; name: string; isAction: boolean } | null {
  const parts = p.split('/').filter((s) => s && s !== '.');
  const name = parts.at(-1);
  const dir = parts.at(-2);
  if (!name || (dir !== 'hooks' && dir !== 'actions')) return null;
  return { dispatchPath: `${dir}/${name}`, name, isAction: dir === 'actions' };
}

type Env = Record<string, string | undefined>;

/**
 * Read and validate the Juju context from the environment.
 *
 * @param argv1 the path this process was started as, used when JUJU_DISPATCH_PATH is absent
 *   (a legacy `hooks/<name>` symlink to the charm entry point).
 */
export function contextFromEnv(env: Env = process.env, argv1: string | undefined = process.argv[1]): JujuContext {
  const problems: string[] = [];
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const need = (k: string, why: string): string => {
    const v = get(k);
    if (v === undefined) problems.push(`${k} is not set (${why})`);
    return v ?? '';
  };

  const charmDir = path.resolve(get('JUJU_CHARM_DIR') ?? process.cwd());
  let rawPath = get('JUJU_DISPATCH_PATH');
  if (rawPath === undefined && argv1) {
    const rel = path.relative(charmDir, path.resolve(argv1));
    if (!rel.startsWith('..')) rawPath = rel;
  }
  const dispatch = rawPath ? parseDispatchPath(rawPath) : null;
  if (!rawPath) problems.push('JUJU_DISPATCH_PATH is not set (Juju sets it to hooks/<hook> or actions/<action>)');
  else if (!dispatch) problems.push(`JUJU_DISPATCH_PATH is "${rawPath}", expected hooks/<hook> or actions/<action>`);

  const name = dispatch?.name ?? '';
  const isAction = dispatch?.isAction ?? false;
  const { family, kind } = classifyEvent(name, isAction);

  const always = 'Juju sets it for every hook';
  const unitName = need('JUJU_UNIT_NAME', always);
  const unitMatch = unitName ? UNIT_NAME_RE.exec(unitName) : null;
  if (unitName && !unitMatch) problems.push(`JUJU_UNIT_NAME is "${unitName}", expected <application>/<number>`);
  const modelName = need('JUJU_MODEL_NAME', always);
  const modelUuid = need('JUJU_MODEL_UUID', always);
  const versionText = need('JUJU_VERSION', always);
  let version = new JujuVersion('0.0.0');
  if (versionText) {
    try {
      version = new JujuVersion(versionText);
    } catch (e) {
      problems.push(`JUJU_VERSION: ${(e as Error).message}`);
    }
  }
  // Juju sets JUJU_HOOK_NAME for hooks (it is empty for actions).
  if (!isAction && env.JUJU_HOOK_NAME === undefined) problems.push(`JUJU_HOOK_NAME is not set (${always})`);

  const ctx: JujuContext = {
    dispatchPath: dispatch?.dispatchPath ?? rawPath ?? '',
    eventName: name,
    eventKind: kind,
    family,
    hookName: env.JUJU_HOOK_NAME ?? '',
    unitName,
    appName: unitMatch?.[1] ?? '',
    unitNumber: unitMatch ? Number(unitMatch[2]) : -1,
    modelName,
    modelUuid,
    charmDir,
    version,
    debug: env.JUJU_DEBUG !== undefined,
    debugAt: (get('JUJU_DEBUG_AT') ?? '').split(',').filter(Boolean),
    machineId: get('JUJU_MACHINE_ID'),
    availabilityZone: get('JUJU_AVAILABILITY_ZONE'),
    principalUnit: get('JUJU_PRINCIPAL_UNIT'),
    proxy: { http: get('JUJU_CHARM_HTTP_PROXY'), https: get('JUJU_CHARM_HTTPS_PROXY'), no: get('JUJU_CHARM_NO_PROXY') },
  };

  const int = (k: string, v: string): number | undefined => {
    if (!/^\d+$/.test(v)) {
      problems.push(`${k} is "${v}", expected a whole number`);
      return undefined;
    }
    return Number(v);
  };

  switch (family) {
    case 'relation': {
      const why = 'Juju sets it for relation events';
      ctx.relationName = need('JUJU_RELATION', why);
      const rid = need('JUJU_RELATION_ID', why);
      if (rid) {
        const m = /^(?:([^:]+):)?(\d+)$/.exec(rid);
        if (!m) problems.push(`JUJU_RELATION_ID is "${rid}", expected <endpoint>:<id>`);
        else ctx.relationId = Number(m[2]);
      }
      ctx.remoteAppName = get('JUJU_REMOTE_APP');
      ctx.remoteUnitName = get('JUJU_REMOTE_UNIT');
      if (!ctx.remoteAppName && ctx.remoteUnitName?.includes('/')) ctx.remoteAppName = ctx.remoteUnitName.split('/')[0];
      if (!ctx.remoteAppName) problems.push(`JUJU_REMOTE_APP is not set (${why})`);
      const suffix = RELATION_RE.exec(name)?.[2];
      // relation-changed raised by a change of the remote *application* databag has no remote unit.
      if (suffix === 'joined' || suffix === 'departed') {
        if (!ctx.remoteUnitName) problems.push(`JUJU_REMOTE_UNIT is not set (Juju sets it for relation-${suffix})`);
      }
      if (suffix === 'departed') ctx.departingUnitName = need('JUJU_DEPARTING_UNIT', 'Juju sets it for relation-departed');
      break;
    }
    case 'secret': {
      ctx.secretId = need('JUJU_SECRET_ID', 'Juju sets it for secret events');
      ctx.secretLabel = get('JUJU_SECRET_LABEL');
      if (name === 'secret-remove' || name === 'secret-expired') {
        const rev = need('JUJU_SECRET_REVISION', `Juju sets it for ${name}`);
        if (rev) ctx.secretRevision = int('JUJU_SECRET_REVISION', rev);
      }
      break;
    }
    case 'action':
      ctx.actionName = need('JUJU_ACTION_NAME', 'Juju sets it for actions');
      ctx.actionUuid = need('JUJU_ACTION_UUID', 'Juju sets it for actions');
      break;
    case 'workload': {
      ctx.workloadName = need('JUJU_WORKLOAD_NAME', 'Juju sets it for Pebble events');
      const suffix = WORKLOAD_RE.exec(name)?.[2];
      if (suffix === 'custom-notice') {
        ctx.noticeId = need('JUJU_NOTICE_ID', 'Juju sets it for pebble-custom-notice');
        ctx.noticeType = need('JUJU_NOTICE_TYPE', 'Juju sets it for pebble-custom-notice');
        ctx.noticeKey = need('JUJU_NOTICE_KEY', 'Juju sets it for pebble-custom-notice');
      }
      if (suffix === 'check-failed' || suffix === 'check-recovered') {
        ctx.pebbleCheckName = need('JUJU_PEBBLE_CHECK_NAME', `Juju sets it for pebble-${suffix}`);
      }
      break;
    }
    case 'storage': {
      const sid = need('JUJU_STORAGE_ID', 'Juju sets it for storage events');
      const m = /^([^/]+)\/(\d+)$/.exec(sid);
      if (sid && !m) problems.push(`JUJU_STORAGE_ID is "${sid}", expected <name>/<index>`);
      if (m) {
        ctx.storageName = m[1];
        ctx.storageIndex = Number(m[2]);
      }
      break;
    }
    case 'hook':
      break;
  }

  if (problems.length) {
    throw new JujuContextError(
      `cannot run ${name ? `"${name}"` : 'the charm'}: the Juju environment is incomplete:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nThe charm is meant to be run by Juju (or the simulator) through its dispatch script.',
      problems,
    );
  }
  return ctx;
}
