/**
 * The Model: the charm's view of Juju (its unit and application, config, relations and their
 * databags, secrets, status, ports). It hides the hook tools behind async methods and enforces the
 * rules ops enforces before asking Juju (juju-hooks.md section 4): only the leader reads or writes
 * its own application databag, a unit writes only its own databag, keys and values are strings,
 * `""` deletes a key.
 */
import * as z from 'zod/mini';
import type { GoalState, ModelBackend, NetworkInfo, Port, PortProtocol, SecretInfo, SecretOptions } from './backend.js';
import {
  ConfigError,
  ModelError,
  RelationDataAccessError,
  RelationDataTypeError,
  RelationNotFoundError,
  TooManyRelatedAppsError,
} from './errors.js';
import type { CharmMeta, ConfigOptionMeta } from './meta.js';
import type { Redactor } from './redact.js';
import { Container } from './pebble/container.js';
import { StatusBase, UnknownStatus, assertSettable } from './status.js';

/** What the Model needs to know about the current dispatch. */
export interface ModelContext {
  unitName: string;
  modelName: string;
  modelUuid: string;
  /** Relation being broken in this dispatch: excluded from `relations()` (ops). */
  brokenRelationId?: number;
  /** The event's relation and remote app/unit, so resolving it does not need extra tool calls. */
  eventRelation?: { endpoint: string; id: number; remoteApp?: string; remoteUnit?: string; departingUnit?: string };
  /** Socket directory for Pebble (see packages/ops/src/pebble); undefined = framework default. */
  containersDir?: string;
  /** The model's proxy settings (JUJU_CHARM_HTTP_PROXY / _HTTPS_PROXY / _NO_PROXY). */
  proxy?: { http?: string; https?: string; no?: string };
  /** The charm directory (JUJU_CHARM_DIR). */
  charmDir?: string;
  /**
   * Relation id → remote application, as this unit learnt them in earlier dispatches (kept in the
   * framework's stored data); the Model adds what it learns. A relation's id is unique in its model
   * and its applications never change (juju/juju state/state.go `AddRelation`: the id comes from
   * the model's "relation" sequence, the endpoints are the relation's key), so a name once learnt
   * stays right and spares a `relation-list` in every later dispatch.
   */
  knownRemoteApps?: Record<string, string>;
}

export class Model {
  readonly name: string;
  readonly uuid: string;
  readonly unit: Unit;
  readonly app: Application;
  private readonly units = new Map<string, Unit>();
  private readonly apps = new Map<string, Application>();
  private readonly relationCache = new Map<string, Promise<Relation[]>>();
  private configCache: Promise<ConfigData> | null = null;
  /** Statuses added by collect-status handlers during this dispatch. */
  readonly collected = { unit: [] as StatusBase[], app: [] as StatusBase[] };

  constructor(
    readonly meta: CharmMeta,
    readonly backend: ModelBackend,
    readonly context: ModelContext,
  ) {
    this.name = context.modelName;
    this.uuid = context.modelUuid;
    this.unit = this.getUnit(context.unitName);
    this.app = this.unit.app;
    // A relation hook names the remote application (JUJU_REMOTE_APP): remember it whether or not
    // the charm looks at the relation. A broken relation's id never comes back: forget it.
    const ev = context.eventRelation;
    if (ev?.remoteApp) this.rememberRemoteApp(ev.endpoint, ev.id, ev.remoteApp);
    if (context.brokenRelationId !== undefined) delete context.knownRemoteApps?.[String(context.brokenRelationId)];
  }

  /** The Unit object for a unit name (ours or a remote one). */
  getUnit(name: string): Unit {
    let u = this.units.get(name);
    if (!u) {
      const appName = name.split('/')[0];
      if (!appName || !name.includes('/')) throw new ModelError(`invalid unit name "${name}" (expected <application>/<number>)`);
      u = new Unit(this, name, this.getApp(appName));
      this.units.set(name, u);
    }
    return u;
  }

  getApp(name: string): Application {
    let a = this.apps.get(name);
    if (!a) {
      a = new Application(this, name);
      this.apps.set(name, a);
    }
    return a;
  }

  /** The remote application of a relation, when known without a hook tool (see Relation.load). */
  knownRemoteApp(endpoint: string, id: number): string | undefined {
    if (this.meta.relation(endpoint).role === 'peer') return this.app.name;
    const ev = this.context.eventRelation;
    if (ev?.endpoint === endpoint && ev.id === id && ev.remoteApp) return ev.remoteApp;
    return this.context.knownRemoteApps?.[String(id)];
  }

  /** Remember a relation's remote application for later dispatches (not a peer's, not a broken one's). */
  rememberRemoteApp(endpoint: string, id: number, app: string): void {
    const known = this.context.knownRemoteApps;
    if (!known || this.meta.relation(endpoint).role === 'peer' || id === this.context.brokenRelationId) return;
    known[String(id)] = app;
  }

  /**
   * What every status, log line and action message passes through before it reaches Juju: secret
   * contents this dispatch read are in it already; add other sensitive values it holds (a password
   * in a URL from config or relation data) with `model.redactor.add(...)` / `.addUrl(...)`.
   */
  get redactor(): Redactor {
    return this.backend.redactor;
  }

  /** Charm config, type-checked against charmcraft.yaml's `config.options` (loaded once per dispatch). */
  config(): Promise<ConfigData> {
    this.configCache ??= this.backend.configGet().then((raw) => new ConfigData(this.meta, raw));
    this.configCache.catch(() => (this.configCache = null));
    return this.configCache;
  }

  /** The active relations on an endpoint (the one being broken in this dispatch excluded). */
  relations(endpoint: string): Promise<Relation[]> {
    this.meta.relation(endpoint);
    let p = this.relationCache.get(endpoint);
    if (!p) {
      p = (async () => {
        const ids = await this.backend.relationIds(endpoint);
        const rels = await Promise.all(
          ids.filter((id) => id !== this.context.brokenRelationId).map((id) => Relation.load(this, endpoint, id, true)),
        );
        return rels;
      })();
      this.relationCache.set(endpoint, p);
      p.catch(() => this.relationCache.delete(endpoint));
    }
    return p;
  }

  /**
   * One relation. With an id: that relation, or an inactive one if Juju no longer lists it (ops).
   * Without: undefined when there is none, the relation when there is one, and
   * TooManyRelatedAppsError when there are more.
   */
  async getRelation(endpoint: string, id?: number): Promise<Relation | undefined> {
    if (id !== undefined) {
      const found = (await this.relations(endpoint)).find((r) => r.id === id);
      return found ?? Relation.load(this, endpoint, id, false);
    }
    const rels = await this.relations(endpoint);
    if (rels.length > 1) throw new TooManyRelatedAppsError(endpoint, rels.length, 1);
    return rels[0];
  }

  /**
   * A secret by id or label. Its content is fetched now (ops does the same), so a missing secret
   * fails here: the tracked revision's, or with `refresh` the latest revision's, which this unit
   * then tracks. `getSecret({ id, refresh: true })` then `getContent()` is one secret-get; ops'
   * `get_secret(id).get_content(refresh=True)` is two (a plain one, then `--refresh`).
   */
  async getSecret(q: { id?: string; label?: string; refresh?: boolean }): Promise<Secret> {
    if (!q.id && q.label === undefined) throw new TypeError('getSecret needs an id or a label');
    const content = await this.backend.secretGet({ id: q.id, label: q.label, ...(q.refresh ? { refresh: true } : {}) });
    return new Secret(this, { id: q.id, label: q.label, content });
  }

  /** The model's proxy settings, as Juju passes them to charms (empty when there are none). */
  get proxy(): { http?: string; https?: string; no?: string } {
    return { ...(this.context.proxy ?? {}) };
  }

  /** Network information for an endpoint binding (network-get). */
  networkGet(binding: string, relation?: Relation): Promise<NetworkInfo> {
    return this.backend.networkGet(binding, relation?.id);
  }

  /** Path of a resource file (resource-get). */
  fetchResource(name: string): Promise<string> {
    if (!this.meta.resources.includes(name)) {
      throw new ModelError(`charm "${this.meta.name}" declares no resource "${name}" (declared: ${this.meta.resources.join(', ') || 'none'})`);
    }
    return this.backend.resourceGet(name);
  }
}

export class Application {
  private statusCache: StatusBase | null = null;
  constructor(
    private readonly model: Model,
    readonly name: string,
  ) {}

  get isOurs(): boolean {
    return this.name === this.model.context.unitName.split('/')[0];
  }

  /** The app status. Only the leader may read it; other apps read as unknown. */
  async getStatus(): Promise<StatusBase> {
    if (!this.isOurs) return new UnknownStatus();
    if (this.statusCache) return this.statusCache;
    if (!(await this.model.backend.isLeader())) {
      throw new ModelError(`${this.model.unit.name} is not leader and cannot read the application status`);
    }
    const s = await this.model.backend.statusGet(true);
    this.statusCache = StatusBase.fromName(s.status, s.message);
    return this.statusCache;
  }

  /** Set the app status (leader only). */
  async setStatus(status: StatusBase): Promise<void> {
    assertSettable(status);
    if (!this.isOurs) throw new ModelError(`cannot set the status of remote application ${this.name}`);
    if (!(await this.model.backend.isLeader())) {
      throw new ModelError(`${this.model.unit.name} is not leader and cannot set the application status`);
    }
    await this.model.backend.statusSet(status.name, status.message, true);
    this.statusCache = status;
  }

  /** Number of units Juju plans for this application (goal-state, dying units excluded). */
  async plannedUnits(): Promise<number> {
    if (!this.isOurs) throw new ModelError(`cannot get planned units of remote application ${this.name}`);
    const g: GoalState = await this.model.backend.goalState();
    return Object.values(g.units).filter((u) => u.status !== 'dying').length;
  }

  /** Create an application-owned secret (leader only, enforced by Juju). */
  async addSecret(content: Record<string, string>, options: SecretOptions = {}): Promise<Secret> {
    validateSecretContent(content);
    const id = await this.model.backend.secretAdd(content, { ...options, owner: 'application' });
    return new Secret(this.model, { id, label: options.label, content, owned: true });
  }

  toString(): string {
    return this.name;
  }
}

export class Unit {
  private statusCache: StatusBase | null = null;
  private readonly containerCache = new Map<string, Container>();
  constructor(
    private readonly model: Model,
    readonly name: string,
    readonly app: Application,
  ) {}

  get isOurs(): boolean {
    return this.name === this.model.context.unitName;
  }

  /** Whether this unit is the leader (is-leader, cached like ops for 30 s). */
  async isLeader(): Promise<boolean> {
    if (!this.isOurs) throw new ModelError(`leadership of other units (${this.name}) is not visible to this unit`);
    return this.model.backend.isLeader();
  }

  async getStatus(): Promise<StatusBase> {
    if (!this.isOurs) return new UnknownStatus();
    if (this.statusCache) return this.statusCache;
    const s = await this.model.backend.statusGet(false);
    this.statusCache = StatusBase.fromName(s.status, s.message);
    return this.statusCache;
  }

  async setStatus(status: StatusBase): Promise<void> {
    assertSettable(status);
    if (!this.isOurs) throw new ModelError(`cannot set the status of another unit (${this.name})`);
    await this.model.backend.statusSet(status.name, status.message, false);
    this.statusCache = status;
  }

  async setWorkloadVersion(version: string): Promise<void> {
    await this.model.backend.applicationVersionSet(version);
  }

  async openPort(protocol: PortProtocol, port?: number): Promise<void> {
    await this.model.backend.openPort({ protocol: protocol.toLowerCase() as PortProtocol, port });
  }

  async closePort(protocol: PortProtocol, port?: number): Promise<void> {
    await this.model.backend.closePort({ protocol: protocol.toLowerCase() as PortProtocol, port });
  }

  openedPorts(): Promise<Port[]> {
    return this.model.backend.openedPorts();
  }

  /** Make exactly these ports open: close the others, open the missing ones. */
  async setPorts(ports: Port[]): Promise<void> {
    const key = (p: Port) => `${p.protocol}/${p.port ?? ''}`;
    const want = new Map(ports.map((p) => [key(p), p]));
    const have = await this.openedPorts();
    for (const p of have) if (!want.has(key(p))) await this.model.backend.closePort(p);
    const haveKeys = new Set(have.map(key));
    for (const [k, p] of want) if (!haveKeys.has(k)) await this.model.backend.openPort(p);
  }

  /** A workload container declared in charmcraft.yaml, reached through its Pebble socket. */
  getContainer(name: string): Container {
    if (!this.isOurs) throw new ModelError(`containers of other units (${this.name}) are not reachable`);
    const meta = this.model.meta;
    if (!meta.containers.includes(name)) {
      throw new ModelError(`charm "${meta.name}" declares no container "${name}" (declared: ${meta.containers.join(', ') || 'none'})`);
    }
    let c = this.containerCache.get(name);
    if (!c) {
      c = new Container(name, { env: { CHARM_CONTAINERS_DIR: this.model.context.containersDir } });
      this.containerCache.set(name, c);
    }
    return c;
  }

  /** Every workload container declared in charmcraft.yaml. */
  get containers(): Container[] {
    return this.model.meta.containers.map((n) => this.getContainer(n));
  }

  /** Create a unit-owned secret. */
  async addSecret(content: Record<string, string>, options: SecretOptions = {}): Promise<Secret> {
    validateSecretContent(content);
    const id = await this.model.backend.secretAdd(content, { ...options, owner: 'unit' });
    return new Secret(this.model, { id, label: options.label, content, owned: true });
  }

  toString(): string {
    return this.name;
  }
}

/** A relation: its endpoint, id, the remote application and units, and the databags. */
export class Relation {
  readonly data: RelationData;
  private unitsLoaded: Promise<ReadonlySet<Unit>> | undefined;
  private constructor(
    readonly model: Model,
    readonly name: string,
    readonly id: number,
    readonly app: Application | undefined,
    unitNames: string[] | undefined,
    /** False when Juju no longer lists the relation (e.g. after it was removed). */
    readonly active: boolean,
    departing: Unit | undefined,
  ) {
    this.data = new RelationData(this, departing);
    if (unitNames) this.unitsLoaded = Promise.resolve(new Set(unitNames.map((n) => model.getUnit(n))));
  }

  get isPeer(): boolean {
    return this.model.meta.relation(this.name).role === 'peer';
  }

  /**
   * The remote units in the relation (`relation-list`), read when first asked for: a dispatch that
   * only reads the remote application's databag never needs them.
   */
  units(): Promise<ReadonlySet<Unit>> {
    this.unitsLoaded ??= this.model.backend.relationList(this.name, this.id).then(
      (names) => new Set(names.map((n) => this.model.getUnit(n))),
      (e: unknown) => {
        this.unitsLoaded = undefined;
        throw e;
      },
    );
    return this.unitsLoaded;
  }

  /**
   * `listed`: whether relation-ids named it in this dispatch. A listed relation whose remote
   * application is known (a peer's is ours, a relation hook's comes in JUJU_REMOTE_APP, an earlier
   * dispatch may have learnt it) costs no hook tool; otherwise one relation-list tells whether Juju
   * still knows the relation, its units, and so (ops) the remote application.
   */
  static async load(model: Model, endpoint: string, id: number, listed: boolean): Promise<Relation> {
    const ev = model.context.eventRelation;
    const isEventRelation = ev?.endpoint === endpoint && ev.id === id;
    // In relation-departed/broken the departing unit's databag stays readable (ops).
    const departingName = isEventRelation ? (ev.departingUnit ?? ev.remoteUnit) : undefined;
    let appName = model.knownRemoteApp(endpoint, id);
    let unitNames: string[] | undefined;
    let active = listed;
    if (!listed || !appName) {
      try {
        unitNames = await model.backend.relationList(endpoint, id);
        active = true;
      } catch (e) {
        if (!(e instanceof RelationNotFoundError)) throw e;
        unitNames = [];
        active = false;
      }
      appName ??= unitNames[0]?.split('/')[0] ?? (active ? await model.backend.relationRemoteApp(endpoint, id) : null) ?? undefined;
      if (appName) model.rememberRemoteApp(endpoint, id, appName);
    }
    const departing = departingName && !unitNames?.includes(departingName) ? model.getUnit(departingName) : undefined;
    return new Relation(model, endpoint, id, appName ? model.getApp(appName) : undefined, unitNames, active, departing);
  }

  toString(): string {
    return `${this.name}:${this.id}`;
  }
}

/** The databags of one relation, keyed by unit or application. */
export class RelationData {
  private readonly bags = new Map<Unit | Application, RelationDataContent>();
  constructor(
    private readonly relation: Relation,
    private readonly departing: Unit | undefined,
  ) {}

  /**
   * The databag of `entity`: our unit, our app, the remote app, a departing unit, or a remote unit.
   * That a remote unit is in the relation is checked when its bag is first read, since the units
   * are read only when needed (Relation.units).
   */
  get(entity: Unit | Application): RelationDataContent {
    const m = this.relation.model;
    const known = entity === m.unit || entity === m.app || entity === this.relation.app || entity === this.departing;
    const remoteUnit = !known && entity instanceof Unit && entity.app === this.relation.app;
    if (!known && !remoteUnit) throw new ModelError(`${entity} has no databag in relation ${this.relation}`);
    let bag = this.bags.get(entity);
    if (!bag) {
      bag = new RelationDataContent(this.relation, entity, remoteUnit);
      this.bags.set(entity, bag);
    }
    return bag;
  }

  /** Our application's databag (leader only). */
  get localApp(): RelationDataContent {
    return this.get(this.relation.model.app);
  }
  /** Our unit's databag. */
  get localUnit(): RelationDataContent {
    return this.get(this.relation.model.unit);
  }
  /** The remote application's databag, if the remote application is known. */
  get remoteApp(): RelationDataContent | undefined {
    return this.relation.app ? this.get(this.relation.app) : undefined;
  }
}

export class RelationDataContent {
  private cache: Promise<Record<string, string>> | null = null;
  constructor(
    private readonly relation: Relation,
    readonly entity: Unit | Application,
    /** A remote unit's bag: readable only while the unit is in the relation. */
    private readonly remoteUnit = false,
  ) {}

  private get model(): Model {
    return this.relation.model;
  }

  private get isApp(): boolean {
    return this.entity instanceof Application;
  }

  private async checkRead(): Promise<void> {
    if (this.remoteUnit && !(await this.relation.units()).has(this.entity as Unit)) {
      throw new ModelError(`${this.entity} has no databag in relation ${this.relation}`);
    }
    if (!this.isApp || this.relation.isPeer || this.entity !== this.model.app) return;
    if (await this.model.backend.isLeader()) return;
    throw new RelationDataAccessError(`${this.model.unit.name} is not leader and cannot read its own application databag`);
  }

  private async checkWrite(key: unknown, value: unknown): Promise<void> {
    if (typeof key !== 'string') throw new RelationDataTypeError(`relation data keys must be strings, not ${typeof key}`);
    if (typeof value !== 'string') {
      throw new RelationDataTypeError(`relation data values must be strings, not ${value === null ? 'null' : typeof value} (key "${key}")`);
    }
    if (this.isApp) {
      if (this.entity !== this.model.app) {
        throw new RelationDataAccessError(`${this.model.app.name} cannot write the data of remote application ${this.entity.name}`);
      }
      if (!(await this.model.backend.isLeader())) {
        throw new RelationDataAccessError(`${this.model.unit.name} is not leader and cannot write application data.`);
      }
    } else if (this.entity !== this.model.unit) {
      throw new RelationDataAccessError(`${this.model.unit.name} cannot write databag of ${this.entity.name}: not the same unit.`);
    }
  }

  /** The bag, read once (one relation-get, shared by concurrent readers) and kept up to date by update(). */
  private load(): Promise<Record<string, string>> {
    this.cache ??= this.model.backend.relationGet(this.relation.name, this.relation.id, this.entity.name, this.isApp).catch((e: unknown) => {
      // ops: a relation that is gone reads as empty.
      if (!(e instanceof RelationNotFoundError)) {
        this.cache = null;
        throw e;
      }
      return {};
    });
    return this.cache;
  }

  /** All keys, as a read-only copy. */
  async read(): Promise<Readonly<Record<string, string>>> {
    await this.checkRead();
    return Object.freeze({ ...(await this.load()) });
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.read())[key];
  }

  /**
   * Write keys (`""` deletes a key). Only changed keys are sent, in one relation-set; nothing is
   * sent when nothing changed, but the permission check always runs (ops).
   */
  async update(changes: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(changes)) await this.checkWrite(k, v);
    if (Object.keys(changes).length === 0) return;
    const current = await this.load();
    const delta: Record<string, string> = {};
    for (const [k, v] of Object.entries(changes)) {
      if (v === '' ? k in current : current[k] !== v) delta[k] = v;
    }
    if (Object.keys(delta).length === 0) return;
    await this.model.backend.relationSet(this.relation.name, this.relation.id, delta, this.isApp);
    for (const [k, v] of Object.entries(delta)) {
      if (v === '') delete current[k];
      else current[k] = v;
    }
  }

  set(key: string, value: string): Promise<void> {
    return this.update({ [key]: value });
  }

  delete(key: string): Promise<void> {
    return this.update({ [key]: '' });
  }
}

const SECRET_KEY_RE = /^([a-z](?:-?[a-z0-9]){2,})$/;

/** ops' content rules, checked before any tool runs. */
export function validateSecretContent(content: Record<string, unknown>): void {
  const keys = Object.keys(content);
  if (keys.length === 0) throw new ModelError('secret content must not be empty');
  for (const k of keys) {
    if (!SECRET_KEY_RE.test(k)) {
      throw new ModelError(`invalid secret key "${k}": keys are at least 3 characters of lower-case letters, digits and single hyphens, starting with a letter`);
    }
    if (typeof content[k] !== 'string') throw new ModelError(`secret value for key "${k}" must be a string, not ${typeof content[k]}`);
  }
}

/** A Juju secret, owned by us or granted to us. */
export class Secret {
  private _id: string | undefined;
  private _label: string | undefined;
  private content: Record<string, string> | null;
  private readonly owned: boolean;

  constructor(
    private readonly model: Model,
    init: { id?: string; label?: string; content?: Record<string, string>; owned?: boolean },
  ) {
    this._id = init.id;
    this._label = init.label;
    this.content = init.content ?? null;
    this.owned = init.owned ?? false;
  }

  get id(): string | undefined {
    return this._id;
  }
  get label(): string | undefined {
    return this._label;
  }

  private q(): { id?: string; label?: string } {
    return this._id ? { id: this._id } : { label: this._label };
  }

  /** The tracked revision's content, or the latest (and start tracking it) with `refresh`. */
  async getContent(options: { refresh?: boolean } = {}): Promise<Record<string, string>> {
    if (!this.content || options.refresh) this.content = await this.model.backend.secretGet({ ...this.q(), refresh: options.refresh });
    return { ...this.content };
  }

  /** The latest revision's content, without moving the tracked revision. */
  async peekContent(): Promise<Record<string, string>> {
    return this.model.backend.secretGet({ ...this.q(), peek: true });
  }

  /** Owner only: revision, label, expiry, rotation. */
  async getInfo(): Promise<SecretInfo> {
    const info = await this.model.backend.secretInfoGet(this.q());
    this._id ??= info.id;
    return info;
  }

  /** Owner only: a new revision with this content. */
  async setContent(content: Record<string, string>): Promise<void> {
    validateSecretContent(content);
    await this.model.backend.secretSet(await this.requireId(), { content });
    this.content = null;
  }

  async setInfo(info: SecretOptions): Promise<void> {
    await this.model.backend.secretSet(await this.requireId(), info);
    if (info.label !== undefined) this._label = info.label;
  }

  /** Owner only: let the remote side of `relation` (or one of its units) read this secret. */
  async grant(relation: Relation, unit?: Unit): Promise<void> {
    await this.model.backend.secretGrant(await this.requireId(), relation.id, unit?.name);
  }

  async revoke(relation: Relation, unit?: Unit): Promise<void> {
    await this.model.backend.secretRevoke(await this.requireId(), relation.id, unit?.name);
  }

  async removeRevision(revision: number): Promise<void> {
    await this.model.backend.secretRemove(await this.requireId(), revision);
  }

  async removeAllRevisions(): Promise<void> {
    await this.model.backend.secretRemove(await this.requireId());
  }

  private async requireId(): Promise<string> {
    if (!this._id) {
      if (this._label === undefined) throw new ModelError('secret has neither id nor label');
      this._id = (await this.getInfo()).id;
    }
    return this._id;
  }

  /** Whether this object was created by us in this dispatch (for messages). */
  get isOwnedHere(): boolean {
    return this.owned;
  }
}

/** A config value as Juju hands it over. */
export type ConfigValue = string | number | boolean;

const SECRET_URI_RE = /^secret:(?:\/\/[0-9a-f-]+\/)?[0-9a-z]{20}$/;

/**
 * A zod schema for the config Juju hands over, derived from charmcraft.yaml's `config.options`
 * (zod/mini: the same validator, tree-shaken, so hooks start fast).
 */
export function configSchema(options: Iterable<ConfigOptionMeta>): z.ZodMiniType<Record<string, ConfigValue>> {
  const shape: Record<string, z.ZodMiniType> = {};
  for (const o of options) {
    let t: z.ZodMiniType;
    switch (o.type) {
      case 'string':
        t = z.string({ error: 'must be a string' });
        break;
      case 'int':
        t = z.int({ error: 'must be an integer' });
        break;
      case 'float':
        t = z.number({ error: 'must be a number' });
        break;
      case 'boolean':
        t = z.boolean({ error: 'must be true or false' });
        break;
      case 'secret':
        t = z.string({ error: 'must be a secret URI' }).check(z.regex(SECRET_URI_RE, { error: 'must be a secret URI (secret:<id>), as printed by juju add-secret' }));
        break;
    }
    shape[o.name] = z.optional(t);
  }
  return z.looseObject(shape) as unknown as z.ZodMiniType<Record<string, ConfigValue>>;
}

/** Turn zod issues into "option "x": problem (got ...)" lines. */
export function describeConfigIssues(issues: readonly z.core.$ZodIssue[], raw: Record<string, unknown>): { option: string; problem: string }[] {
  return issues.map((i) => {
    const option = String(i.path[0] ?? '(config)');
    const got = option in raw ? ` (got ${JSON.stringify(raw[option])})` : '';
    return { option, problem: `${i.message}${got}` };
  });
}

/** Charm config for this dispatch: set options plus options with defaults, type-checked. */
export class ConfigData {
  readonly values: Readonly<Record<string, ConfigValue>>;

  constructor(
    private readonly meta: CharmMeta,
    raw: Record<string, unknown>,
  ) {
    const r = z.safeParse(configSchema(meta.config.values()), raw);
    if (!r.success) {
      const problems = describeConfigIssues(r.error.issues, raw);
      throw new ConfigError(`Invalid config: ${problems.map((p) => `option "${p.option}" ${p.problem}`).join('; ')}`, problems);
    }
    this.values = Object.freeze({ ...r.data });
  }

  get(name: string): ConfigValue | undefined {
    return this.values[name];
  }

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  /** Declared options that have no value (unset and no default). */
  unset(): string[] {
    return [...this.meta.config.keys()].filter((k) => this.values[k] === undefined);
  }

  /** Parse with a charm's own schema (zod or zod/mini: ranges, enums...); errors name the options. */
  parse<T>(schema: z.core.$ZodType<T>): T {
    const r = z.safeParse(schema, this.values);
    if (r.success) return r.data;
    const problems = describeConfigIssues(r.error.issues, this.values);
    throw new ConfigError(`Invalid config: ${problems.map((p) => `option "${p.option}" ${p.problem}`).join('; ')}`, problems);
  }
}
