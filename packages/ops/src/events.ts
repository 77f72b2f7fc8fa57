/**
 * Charm events: one class per Juju hook kind, and `CharmEvents`, the typed `charm.on` object.
 *
 * Static events are properties (`this.on.configChanged`); events that depend on metadata are
 * reached through checked accessors (`this.on.relation('db').changed`, `this.on.container('web')
 * .pebbleReady`, `this.on.action('backup')`), which throw at observe time for a name the charm does
 * not declare, so a typo fails on the first dispatch instead of silently never firing.
 */
import { ModelError } from './errors.js';
import { BoundEvent, EventBase, Handle, LifecycleEvent, type EventClass, type FrameworkObject } from './framework.js';
import type { Application, Relation, Unit } from './model.js';
import { Secret } from './model.js';
import type { Container } from './pebble/container.js';
import { StatusBase, assertSettable } from './status.js';

/** Base of events that come from Juju. */
export abstract class HookEvent<S extends Record<string, unknown> = Record<string, never>> extends EventBase<S> {}

export class InstallEvent extends HookEvent {}
export class StartEvent extends HookEvent {}
/** Juju will not re-run stop, so it cannot be deferred. */
export class StopEvent extends HookEvent {
  protected override readonly deferrable = false;
}
/** Juju will not re-run remove, so it cannot be deferred. */
export class RemoveEvent extends HookEvent {
  protected override readonly deferrable = false;
}
export class ConfigChangedEvent extends HookEvent {}
export class UpdateStatusEvent extends HookEvent {}
export class UpgradeCharmEvent extends HookEvent {}
export class LeaderElectedEvent extends HookEvent {}
/** Deprecated by Juju; still dispatched to non-leaders. */
export class LeaderSettingsChangedEvent extends HookEvent {}
export class PreSeriesUpgradeEvent extends HookEvent {}
export class PostSeriesUpgradeEvent extends HookEvent {}
export class CollectMetricsEvent extends HookEvent {}

export interface RelationSnapshot extends Record<string, unknown> {
  relationName: string;
  relationId: number;
  appName?: string;
  unitName?: string;
  departingUnit?: string;
}

/** Base of relation events: the relation, and the remote app and unit that triggered it. */
export class RelationEvent extends HookEvent<RelationSnapshot> {
  relation!: Relation;
  app: Application | undefined;
  unit: Unit | undefined;

  override async restore(s: RelationSnapshot): Promise<void> {
    const model = this.framework.model;
    this.relation = (await model.getRelation(s.relationName, s.relationId))!;
    this.app = s.appName ? model.getApp(s.appName) : undefined;
    this.unit = s.unitName ? model.getUnit(s.unitName) : undefined;
  }
}
export class RelationCreatedEvent extends RelationEvent {}
export class RelationJoinedEvent extends RelationEvent {}
export class RelationChangedEvent extends RelationEvent {}
export class RelationDepartedEvent extends RelationEvent {
  departingUnit: Unit | undefined;
  override async restore(s: RelationSnapshot): Promise<void> {
    await super.restore(s);
    this.departingUnit = s.departingUnit ? this.framework.model.getUnit(s.departingUnit) : undefined;
  }
}
export class RelationBrokenEvent extends RelationEvent {}

export interface SecretSnapshot extends Record<string, unknown> {
  id: string;
  label?: string;
  revision?: number;
}

/** Base of secret events. `secret` is lazy: no hook tool runs until its content is asked for. */
export class SecretEvent extends HookEvent<SecretSnapshot> {
  secret!: Secret;
  override async restore(s: SecretSnapshot): Promise<void> {
    this.secret = new Secret(this.framework.model, { id: s.id, label: s.label });
  }
}
/** A secret we consume has a new revision. */
export class SecretChangedEvent extends SecretEvent {}
/** A secret we own is due for rotation. Juju re-fires it until rotated, so it cannot be deferred. */
export class SecretRotateEvent extends SecretEvent {
  protected override readonly deferrable = false;
}
/** A revision of a secret we own has expired. Cannot be deferred. */
export class SecretExpiredEvent extends SecretEvent {
  protected override readonly deferrable = false;
  revision!: number;
  override async restore(s: SecretSnapshot): Promise<void> {
    await super.restore(s);
    this.revision = s.revision ?? 0;
  }
}
/** No consumer tracks this revision of a secret we own any more. */
export class SecretRemoveEvent extends SecretEvent {
  revision!: number;
  override async restore(s: SecretSnapshot): Promise<void> {
    await super.restore(s);
    this.revision = s.revision ?? 0;
  }
}

export interface WorkloadSnapshot extends Record<string, unknown> {
  containerName: string;
  noticeId?: string;
  noticeType?: string;
  noticeKey?: string;
  checkName?: string;
}

/** Base of Pebble events: the workload container. */
export class WorkloadEvent extends HookEvent<WorkloadSnapshot> {
  workload!: Container;
  override async restore(s: WorkloadSnapshot): Promise<void> {
    this.workload = this.framework.model.unit.getContainer(s.containerName);
  }
}
export class PebbleReadyEvent extends WorkloadEvent {}
export class PebbleCustomNoticeEvent extends WorkloadEvent {
  notice!: { id: string; type: string; key: string };
  override async restore(s: WorkloadSnapshot): Promise<void> {
    await super.restore(s);
    this.notice = { id: s.noticeId ?? '', type: s.noticeType ?? '', key: s.noticeKey ?? '' };
  }
}
export class PebbleCheckEvent extends WorkloadEvent {
  checkName!: string;
  override async restore(s: WorkloadSnapshot): Promise<void> {
    await super.restore(s);
    this.checkName = s.checkName ?? '';
  }
}
export class PebbleCheckFailedEvent extends PebbleCheckEvent {}
export class PebbleCheckRecoveredEvent extends PebbleCheckEvent {}

export interface StorageSnapshot extends Record<string, unknown> {
  storageName: string;
  storageIndex: number;
  storageLocation?: string;
}
export class StorageEvent extends HookEvent<StorageSnapshot> {
  storage!: { name: string; index: number; location?: string };
  override async restore(s: StorageSnapshot): Promise<void> {
    this.storage = { name: s.storageName, index: s.storageIndex, location: s.storageLocation };
  }
}
export class StorageAttachedEvent extends StorageEvent {}
export class StorageDetachingEvent extends StorageEvent {}

/** An action run by `juju run`. Params come from action-get; results go out through action-set. */
export class ActionEvent extends EventBase<{ id: string }> {
  protected override readonly deferrable = false;
  id!: string;
  params: Record<string, unknown> = {};

  override async restore(s: { id: string }): Promise<void> {
    this.id = s.id;
    this.params = await this.framework.backend.actionGet();
  }

  /** Report results; nested objects are flattened to dotted keys, values become strings. */
  async setResults(results: Record<string, unknown>): Promise<void> {
    const flat: Record<string, string> = {};
    const walk = (prefix: string, v: unknown) => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
      } else {
        flat[prefix] = typeof v === 'string' ? v : JSON.stringify(v);
      }
    };
    walk('', results);
    await this.framework.backend.actionSet(flat);
  }

  /** A progress message shown by `juju run` while the action runs. */
  async log(message: string): Promise<void> {
    await this.framework.backend.actionLog(message);
  }

  /** Mark the action failed (the handler should return afterwards). */
  async fail(message = ''): Promise<void> {
    await this.framework.backend.actionFail(message);
  }
}

/**
 * Emitted after every event so charms can report status from one place; the highest-priority
 * status added wins (error > blocked > maintenance > waiting > active; ties: first added).
 */
export class CollectStatusEvent extends LifecycleEvent {
  addStatus(status: StatusBase): void {
    assertSettable(status);
    const bucket = this.handle.kind === 'collect_app_status' ? this.framework.model.collected.app : this.framework.model.collected.unit;
    bucket.push(status);
  }
}

const STATIC_EVENTS = {
  install: ['install', InstallEvent],
  start: ['start', StartEvent],
  stop: ['stop', StopEvent],
  remove: ['remove', RemoveEvent],
  configChanged: ['config_changed', ConfigChangedEvent],
  updateStatus: ['update_status', UpdateStatusEvent],
  upgradeCharm: ['upgrade_charm', UpgradeCharmEvent],
  leaderElected: ['leader_elected', LeaderElectedEvent],
  leaderSettingsChanged: ['leader_settings_changed', LeaderSettingsChangedEvent],
  preSeriesUpgrade: ['pre_series_upgrade', PreSeriesUpgradeEvent],
  postSeriesUpgrade: ['post_series_upgrade', PostSeriesUpgradeEvent],
  collectMetrics: ['collect_metrics', CollectMetricsEvent],
  secretChanged: ['secret_changed', SecretChangedEvent],
  secretRotate: ['secret_rotate', SecretRotateEvent],
  secretExpired: ['secret_expired', SecretExpiredEvent],
  secretRemove: ['secret_remove', SecretRemoveEvent],
  collectAppStatus: ['collect_app_status', CollectStatusEvent],
  collectUnitStatus: ['collect_unit_status', CollectStatusEvent],
} as const;

type StaticEvents = { readonly [K in keyof typeof STATIC_EVENTS]: BoundEvent<InstanceType<(typeof STATIC_EVENTS)[K][1]>> };

export interface RelationEvents {
  readonly created: BoundEvent<RelationCreatedEvent>;
  readonly joined: BoundEvent<RelationJoinedEvent>;
  readonly changed: BoundEvent<RelationChangedEvent>;
  readonly departed: BoundEvent<RelationDepartedEvent>;
  readonly broken: BoundEvent<RelationBrokenEvent>;
}
export interface ContainerEvents {
  readonly pebbleReady: BoundEvent<PebbleReadyEvent>;
  readonly pebbleCustomNotice: BoundEvent<PebbleCustomNoticeEvent>;
  readonly pebbleCheckFailed: BoundEvent<PebbleCheckFailedEvent>;
  readonly pebbleCheckRecovered: BoundEvent<PebbleCheckRecoveredEvent>;
}
export interface StorageEvents {
  readonly attached: BoundEvent<StorageAttachedEvent>;
  readonly detaching: BoundEvent<StorageDetachingEvent>;
}

const snake = (s: string) => s.replace(/-/g, '_');

export interface CharmEvents extends StaticEvents {}

/** `charm.on`: the charm's events, built from its metadata. */
export class CharmEvents {
  private readonly relationEvents = new Map<string, RelationEvents>();
  private readonly containerEvents = new Map<string, ContainerEvents>();
  private readonly storageEvents = new Map<string, StorageEvents>();
  private readonly actionEvents = new Map<string, BoundEvent<ActionEvent>>();
  readonly handle: Handle;

  constructor(private readonly owner: FrameworkObject) {
    const fw = owner.framework;
    this.handle = new Handle(owner.handle, 'on');
    const bind = <E extends EventBase<any>>(kind: string, type: EventClass<E>) => fw.registerEvent(new BoundEvent(this.handle, kind, type, fw));
    for (const [prop, [kind, type]] of Object.entries(STATIC_EVENTS)) {
      Object.defineProperty(this, prop, { value: bind(kind, type as EventClass), enumerable: true });
    }
    const meta = fw.meta;
    for (const name of meta.relations.keys()) {
      const k = snake(name);
      this.relationEvents.set(name, {
        created: bind(`${k}_relation_created`, RelationCreatedEvent),
        joined: bind(`${k}_relation_joined`, RelationJoinedEvent),
        changed: bind(`${k}_relation_changed`, RelationChangedEvent),
        departed: bind(`${k}_relation_departed`, RelationDepartedEvent),
        broken: bind(`${k}_relation_broken`, RelationBrokenEvent),
      });
    }
    for (const name of meta.containers) {
      const k = snake(name);
      this.containerEvents.set(name, {
        pebbleReady: bind(`${k}_pebble_ready`, PebbleReadyEvent),
        pebbleCustomNotice: bind(`${k}_pebble_custom_notice`, PebbleCustomNoticeEvent),
        pebbleCheckFailed: bind(`${k}_pebble_check_failed`, PebbleCheckFailedEvent),
        pebbleCheckRecovered: bind(`${k}_pebble_check_recovered`, PebbleCheckRecoveredEvent),
      });
    }
    for (const name of meta.storages) {
      const k = snake(name);
      this.storageEvents.set(name, {
        attached: bind(`${k}_storage_attached`, StorageAttachedEvent),
        detaching: bind(`${k}_storage_detaching`, StorageDetachingEvent),
      });
    }
    for (const name of meta.actions.keys()) this.actionEvents.set(name, bind(`${snake(name)}_action`, ActionEvent));
  }

  private pick<T>(map: Map<string, T>, name: string, what: string): T {
    const v = map.get(name);
    if (!v) {
      const known = [...map.keys()].join(', ') || 'none';
      throw new ModelError(`charm "${this.owner.framework.meta.name}" declares no ${what} "${name}" (declared: ${known})`);
    }
    return v;
  }

  /** Events of a relation endpoint declared in requires/provides/peers. */
  relation(endpoint: string): RelationEvents {
    return this.pick(this.relationEvents, endpoint, 'relation endpoint');
  }

  /** Pebble events of a workload container. */
  container(name: string): ContainerEvents {
    return this.pick(this.containerEvents, name, 'container');
  }

  storage(name: string): StorageEvents {
    return this.pick(this.storageEvents, name, 'storage');
  }

  action(name: string): BoundEvent<ActionEvent> {
    return this.pick(this.actionEvents, name, 'action');
  }

  /** The bound event for an ops-style kind (`db_relation_changed`), if the charm has it. */
  byKind(kind: string): BoundEvent | undefined {
    return this.owner.framework.boundEvent(this.handle.path, kind);
  }
}
