/**
 * Model simulation: several applications, their units, relations between them, config, secrets,
 * leadership and scale, with the hook sequences Juju fires (juju-hooks.md 1.4 and 7D) run on every
 * unit through the charm's real `dispatch` (see dispatch.ts).
 *
 * The model holds the truth: relation databags, secrets (revisions, grants, what each consumer
 * tracks), config, leadership. Before a hook, the unit gets its view of the model as a State; after
 * a successful hook, what changed in that State is applied to the model and turned into the hooks
 * Juju would fire elsewhere (relation-changed on the other side, secret-changed on consumers...).
 * A failed hook leaves the unit in error until `resolve()` retries it, as `juju resolve` does.
 * Hooks run one at a time from a single queue, so runs are deterministic.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCharm } from '@juju-ts/charm-tools';
import { extractZip } from '@juju-ts/charm-tools';
import { CharmMeta } from '@juju-ts/ops';
import { ContainerSet } from './containers.js';
import { prepareUnitDir, runCharm, type RunCharmResult } from './dispatch.js';
import { on, type SimEvent } from './events.js';
import { bareSecretId, DEFAULT_UNIT_DATA, newSecretId, parseState, type RelationState, type SecretState, type State, type StatusState } from './state.js';

type ConfigValue = string | number | boolean;

export interface DeployOptions {
  /** A built or unpacked charm directory (with dispatch), or a charm project (charmcraft.yaml) to build. */
  charm: string;
  /** Application name (default: the charm name). */
  app?: string;
  units?: number;
  config?: Record<string, ConfigValue>;
  /** Pebble: `fake` (default) or `run` (services really run; see PebbleEmulator). */
  containers?: { mode?: 'fake' | 'run'; pathMap?: Record<string, string>; env?: Record<string, string | undefined> };
}

export interface HookRecord {
  unit: string;
  hook: string;
  exitCode: number;
  durationMs: number;
  status: StatusState;
  logs: { level: string; message: string }[];
  stderr: string;
}

export interface ModelOptions {
  name?: string;
  uuid?: string;
  /** Working directory for unit dirs and Pebble sockets (default: a new temp dir; keep it short). */
  dir?: string;
  jujuVersion?: string;
  proxy?: State['proxy'];
  /** Called after every hook (progress display, logs). */
  onHook?: (record: HookRecord) => void;
  /** Stop settling after this many hooks (guards against charms that ping-pong forever). */
  maxHooksPerSettle?: number;
}

export class HookFailedError extends Error {
  constructor(readonly failures: HookRecord[]) {
    super(
      `hook failed: ${failures.map((f) => `${f.unit} ${f.hook} (exit ${f.exitCode})${f.stderr ? `:\n${indent(f.stderr.trim())}` : ''}`).join('\n')}`,
    );
  }
}

interface SimApp {
  name: string;
  charmDir: string;
  meta: CharmMeta;
  config: Record<string, ConfigValue>;
  units: SimUnit[];
  nextUnit: number;
  leader?: string;
  status: StatusState;
  containers: NonNullable<DeployOptions['containers']>;
}

interface SimUnit {
  name: string;
  id: number;
  app: SimApp;
  dir: string;
  containers: ContainerSet;
  /** What the unit keeps between hooks (its own statuses, stored state, ports...). */
  state: State;
  error?: { event: SimEvent; record: HookRecord };
  dying: boolean;
}

interface SimRelation {
  id: number;
  sides: [{ app: string; endpoint: string }, { app: string; endpoint: string }];
  peer: boolean;
  appData: Map<string, Record<string, string>>;
  unitData: Map<string, Record<string, string>>;
  /** unit → remote units it has seen join (relation-list shows those). */
  joined: Map<string, Set<string>>;
}

interface SimSecret {
  id: string;
  owner: { kind: 'app' | 'unit' | 'model'; name: string };
  label?: string;
  description?: string;
  expire?: string;
  rotate?: SecretState['rotate'];
  revisions: { revision: number; content: Record<string, string> }[];
  /** relation id ('' for `juju grant-secret`) → granted app or unit names. */
  grants: Map<string, Set<string>>;
  consumers: Map<string, { tracked: number; label?: string }>;
}

export class ModelSim {
  readonly name: string;
  readonly uuid: string;
  readonly dir: string;
  readonly history: HookRecord[] = [];
  private readonly apps = new Map<string, SimApp>();
  private readonly relations: SimRelation[] = [];
  private readonly secrets = new Map<string, SimSecret>();
  private readonly queue: { unit: SimUnit; event: SimEvent }[] = [];
  private nextRelationId = 0;
  private readonly ownsDir: boolean;
  private readonly pendingFailures: HookRecord[] = [];

  constructor(readonly options: ModelOptions = {}) {
    this.name = options.name ?? 'sim';
    this.uuid = options.uuid ?? '00000000-0000-4000-8000-000000000001';
    this.ownsDir = !options.dir;
    this.dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'model-'));
    fs.mkdirSync(this.dir, { recursive: true });
  }

  // --- operations (what `juju ...` commands do) -------------------------------------------------

  /** `juju deploy`: add the application and its units; runs install → ... → pebble-ready. */
  async deploy(opts: DeployOptions): Promise<void> {
    const charmDir = await this.resolveCharm(opts.charm);
    const meta = await CharmMeta.load(charmDir);
    const name = opts.app ?? meta.name;
    if (this.apps.has(name)) throw new Error(`application "${name}" already exists`);
    const app: SimApp = { name, charmDir, meta, config: { ...opts.config }, units: [], nextUnit: 0, status: { name: 'unknown', message: '' }, containers: opts.containers ?? {} };
    this.checkConfig(app, app.config);
    this.apps.set(name, app);
    // A peer relation exists as soon as the application does.
    for (const [ep, r] of meta.relations) if (r.role === 'peer') this.addRelation([{ app: name, endpoint: ep }, { app: name, endpoint: ep }], true);
    for (let i = 0; i < (opts.units ?? 1); i++) await this.addUnit(app);
    await this.settle();
  }

  /** `juju integrate a[:endpoint] b[:endpoint]`: returns the relation id. */
  async integrate(a: string, b: string): Promise<number> {
    const [sa, sb] = this.matchEndpoints(a, b);
    const rel = this.addRelation([sa, sb], false);
    for (const side of rel.sides) for (const u of this.live(side.app)) this.enqueue(u, on.relationCreated(this.relationRef(rel, u)));
    for (const side of rel.sides) for (const u of this.live(side.app)) this.joinAll(rel, u);
    await this.settle();
    return rel.id;
  }

  /** `juju remove-relation`: departed for every remote unit, then broken, on both sides. */
  async removeRelation(id: number): Promise<void> {
    const rel = this.relation(id);
    for (const side of rel.sides) {
      for (const u of this.live(side.app)) {
        for (const remote of [...(rel.joined.get(u.name) ?? [])]) {
          this.enqueue(u, on.relationDeparted(this.relationRef(rel, u), { remoteUnit: remote, departingUnit: remote }));
        }
        this.enqueue(u, on.relationBroken(this.relationRef(rel, u)));
      }
    }
    await this.settle();
    this.relations.splice(this.relations.indexOf(rel), 1);
  }

  /** `juju config app k=v ...` (null unsets). */
  async config(appName: string, values: Record<string, ConfigValue | null>): Promise<void> {
    const app = this.app(appName);
    const next = { ...app.config };
    for (const [k, v] of Object.entries(values)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    this.checkConfig(app, next);
    app.config = next;
    for (const u of this.live(appName)) this.enqueue(u, on.configChanged());
    await this.settle();
  }

  /** `juju add-secret`: a user secret owned by the model; returns its id. */
  addSecret(content: Record<string, string>, opts: { label?: string; description?: string } = {}): string {
    const id = newSecretId();
    this.secrets.set(id, {
      id,
      owner: { kind: 'model', name: this.name },
      label: opts.label,
      description: opts.description,
      revisions: [{ revision: 1, content: { ...content } }],
      grants: new Map(),
      consumers: new Map(),
    });
    return id;
  }

  /** `juju grant-secret <id> <app>`. */
  async grantSecret(id: string, appName: string): Promise<void> {
    this.app(appName);
    const s = this.secret(id);
    const set = s.grants.get('') ?? new Set<string>();
    set.add(appName);
    s.grants.set('', set);
    await this.settle();
  }

  /** `juju update-secret <id> k=v`: a new revision; consumers tracking an older one get secret-changed. */
  async updateSecret(id: string, content: Record<string, string>): Promise<void> {
    const s = this.secret(id);
    s.revisions.push({ revision: s.revisions.at(-1)!.revision + 1, content: { ...content } });
    this.notifyConsumers(s);
    await this.settle();
  }

  /** Make a unit the leader: leader-elected there, leader-settings-changed on the others. */
  async setLeader(unitName: string): Promise<void> {
    const u = this.unit(unitName);
    u.app.leader = u.name;
    for (const other of this.live(u.app.name)) this.enqueue(other, other === u ? on.leaderElected() : on.leaderSettingsChanged());
    await this.settle();
  }

  /** `juju scale-application` (Kubernetes): add or remove units, highest numbers removed first. */
  async scale(appName: string, units: number): Promise<void> {
    const app = this.app(appName);
    while (this.live(appName).length < units) await this.addUnit(app);
    const live = this.live(appName);
    for (const u of live.slice(units).reverse()) this.removeUnit(u);
    await this.settle();
    for (const u of [...app.units]) if (u.dying) await this.dropUnit(u);
    if (app.leader && !this.live(appName).some((u) => u.name === app.leader) && this.live(appName)[0]) {
      await this.setLeader(this.live(appName)[0]!.name);
    }
  }

  /** `juju remove-application`. */
  async removeApplication(appName: string): Promise<void> {
    for (const rel of [...this.relations]) if (!rel.peer && rel.sides.some((s) => s.app === appName)) await this.removeRelation(rel.id);
    await this.scale(appName, 0);
    this.apps.delete(appName);
  }

  /** The periodic update-status hook. */
  async updateStatus(appName?: string): Promise<void> {
    for (const app of appName ? [this.app(appName)] : this.apps.values()) for (const u of this.live(app.name)) this.enqueue(u, on.updateStatus());
    await this.settle();
  }

  /** `juju refresh --path`: upgrade-charm → config-changed → pebble-ready (order unverified in the reference). */
  async upgradeCharm(appName: string, charm: string): Promise<void> {
    const app = this.app(appName);
    app.charmDir = await this.resolveCharm(charm);
    app.meta = await CharmMeta.load(app.charmDir);
    for (const u of this.live(appName)) {
      for (const entry of fs.readdirSync(u.dir)) if (entry !== '.unit-state.json') fs.rmSync(path.join(u.dir, entry), { recursive: true, force: true });
      prepareUnitDir(app.charmDir, u.dir);
      this.enqueue(u, on.upgradeCharm());
      this.enqueue(u, on.configChanged());
      for (const c of app.meta.containers) this.enqueue(u, on.pebbleReady(c));
    }
    await this.settle();
  }

  /** `juju run <unit> <action>`: resolves to the action's results; rejects if it failed. */
  async runAction(unitName: string, action: string, params: Record<string, unknown> = {}): Promise<Record<string, string>> {
    const u = this.unit(unitName);
    const r = await this.runHook(u, on.action(action, { params }));
    if (r.exitCode !== 0) throw new HookFailedError([this.history.at(-1)!]);
    if (r.actionFailure !== undefined) throw new Error(`action ${action} on ${unitName} failed: ${r.actionFailure}`);
    await this.settle();
    return r.actionResults;
  }

  /** `juju resolve`: retry the failed hook of a unit in error, then carry on. */
  async resolve(unitName: string): Promise<void> {
    const u = this.unit(unitName);
    const failed = u.error;
    if (!failed) return;
    u.error = undefined;
    this.queue.unshift({ unit: u, event: failed.event });
    await this.settle();
  }

  /** Run queued hooks until none is left (Pebble check events included). */
  async settle(): Promise<void> {
    const max = this.options.maxHooksPerSettle ?? 500;
    let n = 0;
    while (this.queue.length) {
      const i = this.queue.findIndex((q) => !q.unit.error);
      if (i < 0) break;
      const [{ unit, event }] = this.queue.splice(i, 1) as [{ unit: SimUnit; event: SimEvent }];
      if (++n > max) throw new Error(`model did not settle after ${max} hooks; a charm may be re-triggering itself (last: ${unit.name} ${event.name})`);
      await this.runHook(unit, event);
    }
    if (this.pendingFailures.length) {
      const f = this.pendingFailures.splice(0);
      throw new HookFailedError(f);
    }
  }

  /** Stop every workload and remove the model's files. */
  async destroy(): Promise<void> {
    for (const app of this.apps.values()) for (const u of app.units) await u.containers.stop();
    if (this.ownsDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // --- inspection ------------------------------------------------------------------------------

  /** What `juju status` would show. */
  status(): { applications: Record<string, { status: StatusState; units: Record<string, { status: StatusState; leader: boolean; workloadVersion: string }> }>; relations: { id: number; endpoints: string[] }[] } {
    const applications: ReturnType<ModelSim['status']>['applications'] = {};
    for (const app of this.apps.values()) {
      const units: Record<string, { status: StatusState; leader: boolean; workloadVersion: string }> = {};
      for (const u of this.live(app.name)) {
        const status = u.error ? { name: 'error' as const, message: `hook failed: "${u.error.event.name}"` } : u.state.unitStatus;
        units[u.name] = { status, leader: app.leader === u.name, workloadVersion: u.state.workloadVersion };
      }
      applications[app.name] = { status: app.status, units };
    }
    return {
      applications,
      relations: this.relations.filter((r) => !r.peer).map((r) => ({ id: r.id, endpoints: r.sides.map((s) => `${s.app}:${s.endpoint}`) })),
    };
  }

  /** A unit's current view of the model (what its next hook would see). */
  unitState(unitName: string): State {
    return this.project(this.unit(unitName));
  }

  /** A unit's Pebble emulators (for workload inspection). */
  containers(unitName: string): ContainerSet {
    return this.unit(unitName).containers;
  }

  /** Relation data as the model holds it. */
  relationData(id: number): { apps: Record<string, Record<string, string>>; units: Record<string, Record<string, string>> } {
    const rel = this.relation(id);
    return { apps: Object.fromEntries(rel.appData), units: Object.fromEntries(rel.unitData) };
  }

  /** A secret's revisions and grants, as the model holds them. */
  secretInfo(id: string): { owner: string; revisions: number[]; latest: Record<string, string>; grants: Record<string, string[]> } {
    const s = this.secret(id);
    return {
      owner: `${s.owner.kind}:${s.owner.name}`,
      revisions: s.revisions.map((r) => r.revision),
      latest: { ...s.revisions.at(-1)!.content },
      grants: Object.fromEntries([...s.grants].map(([k, v]) => [k, [...v].sort()])),
    };
  }

  /** Secrets owned by an application (or one of its units), by label. */
  secretsOwnedBy(appName: string): { id: string; label?: string }[] {
    return [...this.secrets.values()].filter((s) => s.owner.kind !== 'model' && s.owner.name.split('/')[0] === appName).map((s) => ({ id: s.id, label: s.label }));
  }

  // --- internals -------------------------------------------------------------------------------

  private resolveCharm(charm: string): Promise<string> {
    return charmDirectory(charm, fs.mkdtempSync(path.join(this.dir, 'charm-')));
  }

  private checkConfig(app: SimApp, values: Record<string, ConfigValue>): void {
    for (const k of Object.keys(values)) {
      if (!app.meta.config.has(k)) throw new Error(`application "${app.name}" has no config option "${k}"`);
    }
  }

  private async addUnit(app: SimApp): Promise<void> {
    const id = app.nextUnit++;
    const name = `${app.name}/${id}`;
    const dir = path.join(this.dir, `${app.name}-${id}`);
    prepareUnitDir(app.charmDir, dir);
    // Workload containers start without Pebble; it comes up before pebble-ready.
    const containers = await ContainerSet.start(
      app.meta.containers.map((c) => ({ name: c, canConnect: false, layers: {}, serviceStatuses: {}, checkStatuses: {}, files: {} })),
      { dir: path.join(dir, 'c'), mode: app.containers.mode, pathMap: app.containers.pathMap, env: app.containers.env },
    );
    const unit: SimUnit = { name, id, app, dir, containers, state: parseState({ model: { name: this.name, uuid: this.uuid } }), dying: false };
    for (const [ctr, emu] of containers.emulators) {
      emu.on('check-failed', (e) => this.enqueue(unit, on.pebbleCheckFailed(ctr, e.check)));
      emu.on('check-recovered', (e) => this.enqueue(unit, on.pebbleCheckRecovered(ctr, e.check)));
    }
    app.units.push(unit);
    app.leader ??= name;
    this.enqueue(unit, on.install());
    for (const rel of this.relationsOf(app.name)) this.enqueue(unit, on.relationCreated(this.relationRef(rel, unit)));
    this.enqueue(unit, app.leader === name ? on.leaderElected() : on.leaderSettingsChanged());
    this.enqueue(unit, on.configChanged());
    this.enqueue(unit, on.start());
    for (const c of app.meta.containers) this.enqueue(unit, { ...on.pebbleReady(c), makeReady: c } as SimEvent);
    for (const rel of this.relationsOf(app.name)) this.joinAll(rel, unit);
    // The other units of existing relations see this unit join.
    for (const rel of this.relationsOf(app.name)) {
      for (const other of this.otherSideUnits(rel, unit)) {
        this.enqueue(other, on.relationJoined(this.relationRef(rel, other), { remoteUnit: name }));
        this.enqueue(other, on.relationChanged(this.relationRef(rel, other), { remoteUnit: name }));
      }
    }
  }

  private removeUnit(u: SimUnit): void {
    u.dying = true;
    for (const rel of this.relationsOf(u.app.name)) {
      for (const other of this.otherSideUnits(rel, u)) {
        if (rel.joined.get(other.name)?.has(u.name)) {
          this.enqueue(other, on.relationDeparted(this.relationRef(rel, other), { remoteUnit: u.name, departingUnit: u.name }));
        }
      }
      for (const remote of [...(rel.joined.get(u.name) ?? [])]) {
        this.enqueue(u, on.relationDeparted(this.relationRef(rel, u), { remoteUnit: remote, departingUnit: u.name }));
      }
      this.enqueue(u, on.relationBroken(this.relationRef(rel, u)));
    }
    this.enqueue(u, on.stop());
    this.enqueue(u, on.remove());
  }

  private async dropUnit(u: SimUnit): Promise<void> {
    await u.containers.stop();
    u.app.units.splice(u.app.units.indexOf(u), 1);
    for (const rel of this.relations) {
      rel.unitData.delete(u.name);
      rel.joined.delete(u.name);
      for (const set of rel.joined.values()) set.delete(u.name);
    }
  }

  private addRelation(sides: SimRelation['sides'], peer: boolean): SimRelation {
    const rel: SimRelation = { id: this.nextRelationId++, sides, peer, appData: new Map(), unitData: new Map(), joined: new Map() };
    this.relations.push(rel);
    return rel;
  }

  private matchEndpoints(a: string, b: string): [{ app: string; endpoint: string }, { app: string; endpoint: string }] {
    const [appA, epA] = a.split(':') as [string, string | undefined];
    const [appB, epB] = b.split(':') as [string, string | undefined];
    const ma = this.app(appA).meta;
    const mb = this.app(appB).meta;
    const candidates: [string, string][] = [];
    for (const [na, ra] of ma.relations) {
      for (const [nb, rb] of mb.relations) {
        if (epA && na !== epA) continue;
        if (epB && nb !== epB) continue;
        const complementary = (ra.role === 'provides' && rb.role === 'requires') || (ra.role === 'requires' && rb.role === 'provides');
        if (complementary && ra.interfaceName === rb.interfaceName) candidates.push([na, nb]);
      }
    }
    if (candidates.length === 0) throw new Error(`no matching endpoints between ${a} and ${b} (a provides/requires pair with the same interface)`);
    if (candidates.length > 1) throw new Error(`ambiguous relation between ${a} and ${b}: ${candidates.map(([x, y]) => `${appA}:${x} ${appB}:${y}`).join(', ')}; name the endpoints`);
    const [ea, eb] = candidates[0]!;
    for (const [app, ep] of [[appA, ea], [appB, eb]] as const) {
      const limit = this.app(app).meta.relation(ep).limit;
      const count = this.relations.filter((r) => !r.peer && r.sides.some((s) => s.app === app && s.endpoint === ep)).length;
      if (limit !== undefined && count >= limit) throw new Error(`cannot integrate: endpoint ${app}:${ep} is limited to ${limit} relation(s)`);
    }
    if (this.relations.some((r) => r.sides.some((s) => s.app === appA && s.endpoint === ea) && r.sides.some((s) => s.app === appB && s.endpoint === eb))) {
      throw new Error(`relation ${appA}:${ea} ${appB}:${eb} already exists`);
    }
    return [{ app: appA, endpoint: ea }, { app: appB, endpoint: eb }];
  }

  /** Queue relation-joined and -changed for every unit on the other side, as seen from `u`. */
  private joinAll(rel: SimRelation, u: SimUnit): void {
    for (const remote of this.otherSideUnits(rel, u)) {
      this.enqueue(u, on.relationJoined(this.relationRef(rel, u), { remoteUnit: remote.name }));
      this.enqueue(u, on.relationChanged(this.relationRef(rel, u), { remoteUnit: remote.name }));
    }
  }

  private otherSideUnits(rel: SimRelation, u: SimUnit): SimUnit[] {
    if (rel.peer) return this.live(u.app.name).filter((x) => x !== u);
    const other = rel.sides[0].app === u.app.name ? rel.sides[1].app : rel.sides[0].app;
    return this.live(other);
  }

  private side(rel: SimRelation, u: SimUnit): { local: { app: string; endpoint: string }; remote: { app: string; endpoint: string } } {
    const [a, b] = rel.sides;
    return a.app === u.app.name ? { local: a, remote: b } : { local: b, remote: a };
  }

  private relationRef(rel: SimRelation, u: SimUnit): { id: number; endpoint: string; remoteAppName: string } {
    const { local, remote } = this.side(rel, u);
    return { id: rel.id, endpoint: local.endpoint, remoteAppName: remote.app };
  }

  private relationsOf(appName: string): SimRelation[] {
    return this.relations.filter((r) => r.sides.some((s) => s.app === appName));
  }

  private enqueue(unit: SimUnit, event: SimEvent): void {
    this.queue.push({ unit, event });
  }

  /** The unit's view of the model, as a State. */
  private project(u: SimUnit): State {
    const app = u.app;
    const relations: RelationState[] = this.relationsOf(app.name).map((rel) => {
      const { local, remote } = this.side(rel, u);
      const seen = [...(rel.joined.get(u.name) ?? [])];
      return {
        id: rel.id,
        endpoint: local.endpoint,
        remoteAppName: remote.app,
        localAppData: { ...(rel.appData.get(app.name) ?? {}) },
        localUnitData: { ...(rel.unitData.get(u.name) ?? DEFAULT_UNIT_DATA) },
        remoteAppData: rel.peer ? {} : { ...(rel.appData.get(remote.app) ?? {}) },
        remoteUnitsData: Object.fromEntries(seen.map((n) => [n.split('/')[1]!, { ...(rel.unitData.get(n) ?? DEFAULT_UNIT_DATA) }])),
      };
    });
    const secrets: SecretState[] = [];
    for (const s of this.secrets.values()) {
      const owned = (s.owner.kind === 'app' && s.owner.name === app.name) || (s.owner.kind === 'unit' && s.owner.name === u.name);
      const granted = [...s.grants].some(([relId, who]) => (who.has(app.name) || who.has(u.name)) && (relId === '' || this.relations.some((r) => String(r.id) === relId)));
      if (!owned && !granted) continue;
      const c = s.consumers.get(u.name);
      secrets.push({
        id: s.id,
        owner: owned ? (s.owner.kind === 'app' ? 'app' : 'unit') : null,
        label: owned ? s.label : c?.label,
        description: owned ? s.description : undefined,
        expire: owned ? s.expire : undefined,
        rotate: owned ? s.rotate : undefined,
        revisions: s.revisions.map((r) => ({ revision: r.revision, content: { ...r.content } })),
        // A unit that never read the secret has no consumer record: the agent's first read then
        // gets the latest revision and starts tracking it, as Juju's does.
        trackedRevision: c?.tracked,
        grants: owned ? Object.fromEntries([...s.grants].filter(([k]) => k !== '').map(([k, v]) => [k, [...v].sort()])) : {},
      });
      for (const k of Object.keys(secrets.at(-1)!) as (keyof SecretState)[]) if (secrets.at(-1)![k] === undefined) delete secrets.at(-1)![k];
    }
    return {
      ...u.state,
      model: { name: this.name, uuid: this.uuid, type: 'kubernetes' },
      leader: app.leader === u.name,
      config: { ...app.config },
      relations,
      secrets,
      containers: [],
      plannedUnits: this.live(app.name).length,
      appStatus: app.status,
      proxy: this.options.proxy ?? {},
    };
  }

  private async runHook(u: SimUnit, event: SimEvent): Promise<RunCharmResult> {
    const makeReady = (event as SimEvent & { makeReady?: string }).makeReady;
    if (makeReady) await u.containers.emulators.get(makeReady)?.setReady(true);
    if (event.relationId !== undefined && event.name.endsWith('-relation-joined') && event.remoteUnit) {
      const rel = this.relation(event.relationId);
      const set = rel.joined.get(u.name) ?? new Set<string>();
      set.add(event.remoteUnit);
      rel.joined.set(u.name, set);
    }
    const before = this.project(u);
    const r = await runCharm({
      charmDir: u.app.charmDir,
      unitDir: u.dir,
      event,
      state: before,
      appName: u.app.name,
      unitId: u.id,
      jujuVersion: this.options.jujuVersion,
      containers: { containersDir: u.containers.dir },
    });
    const record: HookRecord = {
      unit: u.name,
      hook: event.name,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      status: r.state.unitStatus,
      logs: r.logs,
      stderr: r.stderr,
    };
    this.history.push(record);
    if (r.exitCode !== 0) {
      u.error = { event, record };
      // Status set during the failed hook still stands (Juju applies it at once).
      u.state = { ...u.state, unitStatus: r.state.unitStatus, workloadVersion: r.state.workloadVersion };
      this.pendingFailures.push(record);
    } else {
      this.apply(u, before, r.state, r.toolCalls);
      if (event.name.endsWith('-relation-departed') && event.remoteUnit) {
        this.relation(event.relationId!).joined.get(u.name)?.delete(event.remoteUnit);
      }
    }
    this.options.onHook?.(record);
    return r;
  }

  /** Apply what a successful hook changed to the model, and queue what Juju would fire next. */
  private apply(u: SimUnit, before: State, after: State, calls: RunCharmResult['toolCalls']): void {
    const app = u.app;
    u.state = {
      ...u.state,
      unitStatus: after.unitStatus,
      workloadVersion: after.workloadVersion,
      openedPorts: after.openedPorts,
      deferred: after.deferred,
      storedStates: after.storedStates,
      controllerState: after.controllerState,
    };
    if (app.leader === u.name) app.status = after.appStatus;

    for (const r of after.relations) {
      const rel = this.relations.find((x) => x.id === r.id);
      const prev = before.relations.find((x) => x.id === r.id);
      if (!rel || !prev) continue;
      if (!sameMap(prev.localAppData, r.localAppData)) {
        rel.appData.set(app.name, { ...r.localAppData });
        // The other side (or, for peers, the other units) sees the app databag change.
        for (const other of this.otherSideUnits(rel, u)) this.enqueue(other, on.relationChanged(this.relationRef(rel, other), { remoteUnit: null }));
      }
      if (!sameMap(prev.localUnitData, r.localUnitData)) {
        rel.unitData.set(u.name, { ...r.localUnitData });
        for (const other of this.otherSideUnits(rel, u)) {
          if (rel.joined.get(other.name)?.has(u.name)) this.enqueue(other, on.relationChanged(this.relationRef(rel, other), { remoteUnit: u.name }));
        }
      }
    }

    for (const s of after.secrets) {
      const prev = before.secrets.find((x) => x.id === s.id);
      let model = this.secrets.get(s.id);
      if (!model && s.owner) {
        model = {
          id: s.id,
          owner: s.owner === 'app' ? { kind: 'app', name: app.name } : { kind: 'unit', name: u.name },
          revisions: [],
          grants: new Map(),
          consumers: new Map(),
        };
        this.secrets.set(s.id, model);
      }
      if (!model) continue;
      if (s.owner) {
        const newRevision = s.revisions.at(-1)!.revision > (model.revisions.at(-1)?.revision ?? 0);
        model.revisions = s.revisions.map((r) => ({ revision: r.revision, content: { ...r.content } }));
        model.label = s.label;
        model.description = s.description;
        model.expire = s.expire;
        model.rotate = s.rotate;
        for (const k of [...model.grants.keys()]) if (k !== '') model.grants.delete(k);
        for (const [k, v] of Object.entries(s.grants)) model.grants.set(k, new Set(v));
        if (newRevision && prev) this.notifyConsumers(model);
      } else if (readSecret(calls, s) || prev?.trackedRevision !== s.trackedRevision || prev?.label !== s.label) {
        // Reading a secret makes the unit a consumer (Juju then tells it about new revisions).
        model.consumers.set(u.name, { tracked: s.trackedRevision ?? model.revisions.at(-1)!.revision, label: s.label });
      }
    }
    for (const s of before.secrets) {
      if (s.owner && !after.secrets.some((x) => x.id === s.id)) this.secrets.delete(s.id);
    }
  }

  /** secret-changed for every consumer unit tracking an older revision than the latest. */
  private notifyConsumers(s: SimSecret): void {
    const latest = s.revisions.at(-1)!.revision;
    for (const [unitName, c] of s.consumers) {
      const u = this.findUnit(unitName);
      if (u && c.tracked < latest) this.enqueue(u, on.secretChanged({ id: s.id, label: c.label }));
    }
  }

  private live(appName: string): SimUnit[] {
    return (this.apps.get(appName)?.units ?? []).filter((u) => !u.dying);
  }

  private app(name: string): SimApp {
    const a = this.apps.get(name);
    if (!a) throw new Error(`no application "${name}" in the model (have: ${[...this.apps.keys()].join(', ') || 'none'})`);
    return a;
  }

  private findUnit(name: string): SimUnit | undefined {
    return this.apps.get(name.split('/')[0]!)?.units.find((u) => u.name === name);
  }

  private unit(name: string): SimUnit {
    const u = this.findUnit(name);
    if (!u) throw new Error(`no unit "${name}" in the model`);
    return u;
  }

  private relation(id: number): SimRelation {
    const r = this.relations.find((x) => x.id === id);
    if (!r) throw new Error(`no relation ${id} in the model`);
    return r;
  }

  private secret(id: string): SimSecret {
    const s = this.secrets.get(id) ?? [...this.secrets.values()].find((x) => bareSecretId(x.id) === bareSecretId(id));
    if (!s) throw new Error(`no secret ${id} in the model`);
    return s;
  }
}

/** Whether the hook ran secret-get for this secret (by any id form, or by its label). */
function readSecret(calls: RunCharmResult['toolCalls'], s: SecretState): boolean {
  const key = bareSecretId(s.id);
  return calls.some(
    (c) => c.tool === 'secret-get' && c.args.some((a, i) => bareSecretId(a) === key || (s.label !== undefined && a === s.label && c.args[i - 1] === '--label')),
  );
}

/**
 * The directory Juju would run for `charm`: a built or unpacked charm directory (with dispatch) as
 * it is, a `.charm` file unpacked into `workDir`, or a charm project (charmcraft.yaml) built there.
 */
export async function charmDirectory(charm: string, workDir: string): Promise<string> {
  const p = path.resolve(charm);
  if (!fs.existsSync(p)) throw new Error(`${charm} does not exist`);
  if (fs.statSync(p).isFile()) {
    if (!p.endsWith('.charm')) throw new Error(`${charm} is a file but not a .charm archive`);
    extractZip(p, workDir);
    if (!fs.existsSync(path.join(workDir, 'dispatch'))) throw new Error(`${charm} has no dispatch at its root: not a charm Juju could run`);
    return workDir;
  }
  if (fs.existsSync(path.join(p, 'dispatch'))) return p;
  if (fs.existsSync(path.join(p, 'charmcraft.yaml'))) {
    await buildCharm({ projectDir: p, outDir: workDir });
    return workDir;
  }
  throw new Error(`${charm} is neither a charm (a .charm file, or a directory with dispatch) nor a charm project (with charmcraft.yaml)`);
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
