/**
 * The event machinery: handles, framework objects, observation, emission, deferral and stored
 * state. It follows ops' algorithm (juju-hooks.md section 3.3) step for step:
 *
 * - emit saves the event's snapshot and one notice per observer (skipping an observer that already
 *   has a notice for an equal event in the queue), then delivers it;
 * - a handler that calls `event.defer()` keeps its notice; the next dispatch re-emits every kept
 *   notice first, oldest first, each only to the observer that deferred it;
 * - everything is committed to storage only when the whole dispatch succeeded.
 */
import type { ModelBackend } from './backend.js';
import type { Logger } from './log.js';
import type { CharmMeta } from './meta.js';
import type { Model } from './model.js';
import type { Notice, Storage, StoredData } from './storage.js';

/** A hierarchical name such as `MyCharm/on/config_changed[7]`. */
export class Handle {
  readonly path: string;
  constructor(
    readonly parent: Handle | null,
    readonly kind: string,
    readonly key: string | null = null,
  ) {
    const own = key === null ? kind : `${kind}[${key}]`;
    this.path = parent ? `${parent.path}/${own}` : own;
  }

  static fromPath(path: string): Handle {
    let h: Handle | null = null;
    for (const part of path.split('/')) {
      const m = /^([^[]+)(?:\[(.*)\])?$/.exec(part);
      if (!m) throw new Error(`invalid handle path segment "${part}" in "${path}"`);
      h = new Handle(h, m[1]!, m[2] ?? null);
    }
    if (!h) throw new Error('empty handle path');
    return h;
  }
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type EventSnapshot = Record<string, unknown>;

/**
 * Base of every event. An event is rebuilt from its snapshot each time it is delivered (`restore`),
 * so a deferred event sees the world as it is in the dispatch that re-emits it.
 */
export abstract class EventBase<S extends EventSnapshot = EventSnapshot> {
  deferred = false;
  /** Whether `defer()` is allowed (false for actions, stop, remove, secret-rotate/expired, lifecycle). */
  protected readonly deferrable: boolean = true;

  constructor(
    readonly handle: Handle,
    readonly framework: Framework,
  ) {}

  /** Ask to be delivered again at the start of the next dispatch. The handler keeps running. */
  defer(): void {
    if (!this.deferrable) {
      throw new Error(`${this.handle.kind} cannot be deferred: Juju will not run it again, so a deferred copy would be lost`);
    }
    this.deferred = true;
  }

  /** Fill the event's fields from its snapshot; may ask the model (hook tools) for details. */
  async restore(_snapshot: S): Promise<void> {}

  toString(): string {
    return `<${this.constructor.name} via ${this.handle.path}>`;
  }
}

/** A plain event carrying its snapshot as `data` (for custom events). */
export class DataEvent<S extends EventSnapshot = EventSnapshot> extends EventBase<S> {
  data!: S;
  override async restore(snapshot: S): Promise<void> {
    this.data = snapshot;
  }
}

/** Events emitted by the framework itself; they cannot be deferred. */
export abstract class LifecycleEvent extends EventBase<Record<string, never>> {
  protected override readonly deferrable = false;
}
export class PreCommitEvent extends LifecycleEvent {}
export class CommitEvent extends LifecycleEvent {}

export type EventClass<E extends EventBase<any> = EventBase<any>> = new (handle: Handle, framework: Framework) => E;
export type SnapshotOf<E> = E extends EventBase<infer S> ? S : never;
type EmitArgs<E> = Record<string, never> extends SnapshotOf<E> ? [data?: SnapshotOf<E>] : [data: SnapshotOf<E>];

/** An event kind on a particular emitter: what handlers observe and code emits. */
export class BoundEvent<E extends EventBase<any> = EventBase<any>> {
  constructor(
    readonly emitter: Handle,
    readonly kind: string,
    readonly eventType: EventClass<E>,
    private readonly framework: Framework,
  ) {}

  /** Emit now: every observer runs before this resolves (nested, like ops custom events). */
  emit(...args: EmitArgs<E>): Promise<void> {
    return this.framework.emit(this, (args[0] ?? {}) as EventSnapshot);
  }

  toString(): string {
    return `${this.emitter.path}/${this.kind}`;
  }
}

export type EventsOf<T extends Record<string, EventClass>> = { readonly [K in keyof T]: BoundEvent<InstanceType<T[K]>> };

type Handler<E> = (event: E) => unknown;

interface Observer {
  observerPath: string;
  methodName: string;
  emitterPath: string;
  kind: string;
}

/**
 * Anything that observes events or owns stored state: charms, and library objects inside charms
 * (ops' `Object`). Its handle path, `<parent>/<ClassName>[key]`, must be stable between dispatches
 * because deferred notices and stored state are filed under it.
 */
export class FrameworkObject {
  /** Overrides the handle kind (defaults to the class name; bundles keep names with keepNames). */
  static handleKind?: string;
  readonly framework: Framework;
  readonly handle: Handle;

  constructor(parent: FrameworkObject | Framework, key: string | null = null) {
    const ctor = this.constructor as typeof FrameworkObject;
    const kind = Object.prototype.hasOwnProperty.call(ctor, 'handleKind') && ctor.handleKind ? ctor.handleKind : ctor.name;
    if (!kind || !/^[A-Za-z_$][\w$]*$/.test(kind)) {
      throw new TypeError(
        `a ${parent instanceof Framework ? 'charm' : 'framework object'} class needs a name (got ${JSON.stringify(kind)}): ` +
          'its name is the handle under which deferred events and stored state are kept; name the class or set `static handleKind`',
      );
    }
    if (parent instanceof Framework) {
      this.framework = parent;
      this.handle = new Handle(null, kind, key);
    } else {
      this.framework = parent.framework;
      this.handle = new Handle(parent.handle, kind, key);
    }
    this.framework.registerObject(this);
  }

  get model(): Model {
    return this.framework.model;
  }

  /**
   * Call `handler` (a method of this object, e.g. `this.onConfigChanged`) whenever `event` is
   * emitted. The method's name is how a deferred event finds its handler again next dispatch.
   */
  observe<E extends EventBase<any>>(event: BoundEvent<E>, handler: Handler<E>): void {
    this.framework.observe(event, handler, this);
  }

  /** Declare custom events on this object: `readonly on = this.defineEvents({ ready: ReadyEvent })`. */
  defineEvents<T extends Record<string, EventClass>>(defs: T): EventsOf<T> {
    const emitter = new Handle(this.handle, 'on');
    const out: Record<string, BoundEvent> = {};
    for (const [kind, type] of Object.entries(defs)) {
      out[kind] = this.framework.registerEvent(new BoundEvent(emitter, kind, type, this.framework));
    }
    return out as EventsOf<T>;
  }

  /**
   * A plain object that survives between dispatches, committed when the dispatch succeeds.
   * Values must be JSON (null, booleans, numbers, strings, arrays, plain objects).
   */
  storedState<T extends Record<string, JsonValue>>(name: string, defaults: T): T {
    return this.framework.storedState(`${this.handle.path}/StoredStateData[${name}]`, defaults);
  }
}

export interface FrameworkOptions {
  storage: Storage;
  meta: CharmMeta;
  backend: ModelBackend;
  log: Logger;
  /** Name of the Juju event being dispatched (for messages). */
  eventName?: string;
  /** Skip an observer that already has an equal event queued (ops' production default). */
  skipDuplicateEvents?: boolean;
}

export class Framework {
  readonly storage: Storage;
  readonly meta: CharmMeta;
  readonly backend: ModelBackend;
  readonly log: Logger;
  readonly skipDuplicateEvents: boolean;
  /** Set by the entry point once the model exists. */
  model!: Model;
  readonly on: EventsOf<{ preCommit: typeof PreCommitEvent; commit: typeof CommitEvent }>;

  private data: StoredData;
  private readonly loaded: StoredData;
  private readonly objects = new Map<string, FrameworkObject>();
  private readonly observers: Observer[] = [];
  private readonly events = new Map<string, BoundEvent>();
  private readonly stored = new Map<string, { value: Record<string, JsonValue>; loadedJson: string | undefined }>();
  private persistedCountChanged = false;

  private constructor(options: FrameworkOptions, data: StoredData) {
    this.storage = options.storage;
    this.meta = options.meta;
    this.backend = options.backend;
    this.log = options.log;
    this.skipDuplicateEvents = options.skipDuplicateEvents ?? true;
    this.loaded = data;
    this.data = structuredClone(data);
    const emitter = new Handle(new Handle(null, 'framework'), 'on');
    this.on = {
      preCommit: this.registerEvent(new BoundEvent(emitter, 'pre_commit', PreCommitEvent, this)),
      commit: this.registerEvent(new BoundEvent(emitter, 'commit', CommitEvent, this)),
    };
  }

  /** Load stored data and build the framework. */
  static async create(options: FrameworkOptions): Promise<Framework> {
    return new Framework(options, await options.storage.load());
  }

  registerObject(obj: FrameworkObject): void {
    const p = obj.handle.path;
    if (this.objects.has(p)) {
      throw new Error(`two objects claim the handle path "${p}"; give the second one a different key`);
    }
    this.objects.set(p, obj);
  }

  registerEvent<E extends EventBase<any>>(bound: BoundEvent<E>): BoundEvent<E> {
    this.events.set(`${bound.emitter.path}/${bound.kind}`, bound as BoundEvent);
    return bound;
  }

  /** The bound event for an emitter path and kind, if it exists in this charm. */
  boundEvent(emitterPath: string, kind: string): BoundEvent | undefined {
    return this.events.get(`${emitterPath}/${kind}`);
  }

  observe<E extends EventBase<any>>(event: BoundEvent<E>, handler: Handler<E>, observer: FrameworkObject): void {
    if (typeof handler !== 'function') throw new TypeError(`observe(${event}): the handler is not a function`);
    const name = handler.name;
    if (!name || name.startsWith('bound ')) {
      throw new TypeError(
        `observe(${event}): pass a named method of the observer (e.g. this.onStart), not an anonymous or bound function; ` +
          'its name is how a deferred event finds its handler in the next dispatch',
      );
    }
    if ((observer as unknown as Record<string, unknown>)[name] !== handler) {
      throw new TypeError(`observe(${event}): "${name}" is not a method of ${observer.handle.path}; observe with this.${name}`);
    }
    if (this.boundEvent(event.emitter.path, event.kind) !== (event as BoundEvent)) {
      throw new Error(`observe(${event}): this event is not registered with this framework`);
    }
    this.observers.push({ observerPath: observer.handle.path, methodName: name, emitterPath: event.emitter.path, kind: event.kind });
  }

  /** Whether anything observes this event (lets the entry point skip work for unobserved events). */
  isObserved(event: BoundEvent): boolean {
    return this.observers.some((o) => o.emitterPath === event.emitter.path && o.kind === event.kind);
  }

  /** ops' Framework._emit. */
  async emit(bound: BoundEvent, snapshot: EventSnapshot): Promise<void> {
    assertJson(snapshot, `snapshot of ${bound}`);
    this.data.eventCount += 1;
    const eventPath = new Handle(bound.emitter, bound.kind, String(this.data.eventCount)).path;
    let saved = false;
    for (const o of this.observers) {
      if (o.emitterPath !== bound.emitter.path || o.kind !== bound.kind) continue;
      if (this.skipDuplicateEvents && this.alreadyQueued(o, eventPath, snapshot)) {
        this.log.info(`Skipping notice (${eventPath}/${o.observerPath}/${o.methodName}) - already in the queue.`);
        continue;
      }
      if (!saved) {
        this.data.snapshots[eventPath] = structuredClone(snapshot);
        saved = true;
      }
      this.data.notices.push({ eventPath, observerPath: o.observerPath, methodName: o.methodName });
    }
    if (saved) await this.reemitNotices(eventPath);
  }

  /** Re-emit every deferred notice, oldest first, each to the observer that deferred it. */
  reemit(): Promise<void> {
    return this.reemitNotices(null);
  }

  /** How many notices are queued (deferred events waiting). */
  get pendingNotices(): readonly Notice[] {
    return this.data.notices;
  }

  private alreadyQueued(o: Observer, eventPath: string, snapshot: EventSnapshot): boolean {
    const base = eventPath.split('[')[0];
    for (const n of this.data.notices) {
      if (n.observerPath !== o.observerPath || n.methodName !== o.methodName || n.eventPath.split('[')[0] !== base) continue;
      if (jsonEqual(this.data.snapshots[n.eventPath] ?? {}, snapshot)) return true;
    }
    return false;
  }

  /** ops' Framework._reemit, including its snapshot bookkeeping. */
  private async reemitNotices(single: string | null): Promise<void> {
    const notices = this.data.notices.filter((n) => single === null || n.eventPath === single);
    let lastPath: string | null = null;
    let deferred = true;
    for (const [i, n] of notices.entries()) {
      if (lastPath !== n.eventPath) {
        if (!deferred && lastPath !== null) delete this.data.snapshots[lastPath];
        lastPath = n.eventPath;
        deferred = false;
      }
      const event = await this.loadEvent(n.eventPath);
      if (!event) {
        this.dropNotice(n);
        continue;
      }
      const observer = this.objects.get(n.observerPath);
      if (observer) {
        if (single === null) this.log.debug(`Re-emitting deferred event ${event} (${i + 1} of ${notices.length} in queue).`);
        const fn = (observer as unknown as Record<string, unknown>)[n.methodName];
        if (typeof fn === 'function') await fn.call(observer, event);
      } else {
        this.log.warning(`No object at path ${n.observerPath} observes ${n.eventPath} in this version of the charm; dropping it.`);
      }
      if (event.deferred) deferred = true;
      else this.dropNotice(n);
    }
    if (!deferred && lastPath !== null) delete this.data.snapshots[lastPath];
  }

  private dropNotice(n: Notice): void {
    const i = this.data.notices.findIndex(
      (x) => x.eventPath === n.eventPath && x.observerPath === n.observerPath && x.methodName === n.methodName,
    );
    if (i >= 0) this.data.notices.splice(i, 1);
  }

  private async loadEvent(eventPath: string): Promise<EventBase | null> {
    const handle = Handle.fromPath(eventPath);
    const bound = handle.parent ? this.boundEvent(handle.parent.path, handle.kind) : undefined;
    if (!bound) return null; // The event kind no longer exists in this charm (ops: NoTypeError).
    const event = new bound.eventType(handle, this);
    await event.restore((this.data.snapshots[eventPath] ?? {}) as EventSnapshot);
    return event;
  }

  storedState<T extends Record<string, JsonValue>>(path: string, defaults: T): T {
    const existing = this.stored.get(path);
    if (existing) return existing.value as T;
    const raw = this.data.stored[path];
    const value = { ...structuredClone(defaults), ...(raw && typeof raw === 'object' ? structuredClone(raw) : {}) } as T;
    this.stored.set(path, { value, loadedJson: raw === undefined ? undefined : JSON.stringify(raw) });
    return value;
  }

  /** Emit pre-commit and commit, then persist. Only called when the dispatch succeeded. */
  async commit(): Promise<void> {
    await this.on.preCommit.emit();
    await this.on.commit.emit();
    for (const [path, s] of this.stored) {
      assertJson(s.value, `stored state ${path}`);
      const json = JSON.stringify(s.value);
      if (json !== s.loadedJson) this.data.stored[path] = JSON.parse(json);
    }
    // Only the event counter moved: no persisted snapshot refers to the new numbers, so there is
    // nothing worth a write (keeps no-op hooks free of disk I/O).
    const { eventCount: _a, ...now } = this.data;
    const { eventCount: _b, ...before } = this.loaded;
    this.persistedCountChanged = !jsonEqual(now, before);
    if (this.persistedCountChanged) await this.storage.commit(this.data, this.loaded);
  }

  /**
   * Relation id → remote application learnt in earlier dispatches; the Model reads and adds to it,
   * and it is committed with the rest.
   */
  get remoteApps(): Record<string, string> {
    return this.data.remoteApps;
  }

  /** Whether the last commit wrote anything (for tests and benchmarks). */
  get wroteOnCommit(): boolean {
    return this.persistedCountChanged;
  }
}

/**
 * Equality of JSON values (key order ignored). Snapshots and stored state are JSON by contract, so
 * this is the right notion; it also does not care which realm created an object (jest's vm does).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A `{...}` object of any realm (not a class instance, Map, Date...). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Object.prototype.toString.call(v) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Raise with the offending path unless `value` is plain JSON. */
export function assertJson(value: unknown, what: string, at = ''): void {
  const where = () => `${what}${at ? ` at ${at}` : ''}`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${where()}: ${value} is not a JSON number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertJson(v, what, `${at}[${i}]`));
    return;
  }
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value as object)) assertJson(v, what, at ? `${at}.${k}` : k);
    return;
  }
  const kind = value === undefined ? 'undefined' : typeof value === 'object' ? (value as object).constructor?.name ?? 'object' : typeof value;
  throw new TypeError(`${where()}: ${kind} cannot be stored; use null, booleans, numbers, strings, arrays or plain objects`);
}
