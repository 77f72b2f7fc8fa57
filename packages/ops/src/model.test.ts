import { z } from 'zod';
import { ActionFailed, Context, on, UncaughtCharmError, type State, type StateInput } from '@juju-ts/ops-testing';
import {
  ActiveStatus,
  BlockedStatus,
  CharmBase,
  ConfigError,
  ModelError,
  RelationDataAccessError,
  RelationDataTypeError,
  SecretNotFoundError,
  type ActionEvent,
  type Framework,
} from './index.js';

const META = `
name: model-charm
requires: { db: { interface: pg } }
peers: { cluster: { interface: c } }
config:
  options:
    name: { type: string, default: world }
    port: { type: int }
    ratio: { type: float, default: 0.5 }
    debug: { type: boolean, default: false }
    password: { type: secret }
actions:
  greet: { params: { who: { type: string } } }
`;

/** A charm whose config-changed runs whatever the test put in `script`. */
type Script = (charm: Scripted) => Promise<void>;
let script: Script = async () => {};
class Scripted extends CharmBase {
  constructor(fw: Framework) {
    super(fw);
    this.observe(this.on.configChanged, this.onConfigChanged);
    this.observe(this.on.action('greet'), this.onGreet);
  }
  async onConfigChanged() {
    await script(this);
  }
  async onGreet(e: ActionEvent) {
    if (e.params.who === 'nobody') return e.fail('no one to greet');
    await e.log('greeting');
    await e.setResults({ greeting: `hello ${e.params.who}`, detail: { count: 1 } });
  }
}

const ctx = new Context(Scripted, { meta: META });
const DB = { id: 7, endpoint: 'db', remoteAppName: 'pg', remoteAppData: { url: 'pg://x' }, remoteUnitsData: { '0': { host: 'a' } } };

async function run(s: Script, state: StateInput = {}, opts: { skipConsistencyChecks?: boolean } = {}): Promise<State> {
  script = s;
  return ctx.run(on.configChanged(), state, opts);
}
async function fails(s: Script, state: StateInput = {}, opts: { skipConsistencyChecks?: boolean } = {}): Promise<unknown> {
  const err = await run(s, state, opts).catch((e) => e);
  expect(err).toBeInstanceOf(UncaughtCharmError);
  return (err as UncaughtCharmError).cause;
}

describe('relation data access rules', () => {
  test('the leader writes its app databag; only changed keys are sent; "" deletes', async () => {
    const out = await run(
      async (c) => {
        const rel = (await c.model.getRelation('db'))!;
        await rel.data.localApp.update({ a: '1', b: '2' });
        await rel.data.localApp.update({ a: '1', b: '' });
        expect(await rel.data.localApp.read()).toEqual({ a: '1' });
      },
      { leader: true, relations: [DB] },
    );
    expect(out.relations[0]!.localAppData).toEqual({ a: '1' });
    const sets = ctx.last!.toolCalls.filter((c) => c.tool === 'relation-set');
    expect(sets.map((c) => c.args)).toEqual([
      ['-r', 'db:7', '--app', '--file', '-'],
      ['-r', 'db:7', '--app', '--file', '-'],
    ]);
  });

  test('a non-leader may neither read nor write its own app databag (ops refuses before Juju)', async () => {
    const read = await fails(async (c) => void (await (await c.model.getRelation('db'))!.data.localApp.read()), { relations: [DB] });
    expect(read).toBeInstanceOf(RelationDataAccessError);
    expect(String(read)).toMatch(/model-charm\/0 is not leader and cannot read its own application databag/);
    const write = await fails(async (c) => (await c.model.getRelation('db'))!.data.localApp.set('k', 'v'), { relations: [DB] });
    expect(String(write)).toMatch(/is not leader and cannot write application data/);
  });

  test('Juju itself refuses a non-leader app write: ModelError with the tool, argv and stderr', async () => {
    const err = await fails(async (c) => void (await c.framework.backend.relationSet('db', 7, { k: 'v' }, true)), { relations: [DB] });
    expect(err).toBeInstanceOf(ModelError);
    const m = err as ModelError;
    expect(m.details).toEqual({ tool: 'relation-set', argv: ['-r', 'db:7', '--app', '--file', '-'], exitCode: 1, stderr: 'ERROR cannot write relation settings\n' });
  });

  test('remote databags are read-only; keys and values must be strings', async () => {
    const remote = await fails(async (c) => (await c.model.getRelation('db'))!.data.remoteApp!.set('k', 'v'), { leader: true, relations: [DB] });
    expect(String(remote)).toMatch(/model-charm cannot write the data of remote application pg/);
    const unit = await fails(async (c) => {
      const rel = (await c.model.getRelation('db'))!;
      await rel.data.get(c.model.getUnit('pg/0')).set('k', 'v');
    }, { relations: [DB] });
    expect(String(unit)).toMatch(/cannot write databag of pg\/0: not the same unit/);
    const typed = await fails(async (c) => (await c.model.getRelation('db'))!.data.localUnit.set('k', 3 as unknown as string), { relations: [DB] });
    expect(typed).toBeInstanceOf(RelationDataTypeError);
  });

  test('remote app and unit databags are readable; unit lists come from relation-list', async () => {
    let seen: unknown;
    await run(async (c) => {
      const rel = (await c.model.getRelation('db'))!;
      seen = { app: rel.app?.name, units: [...(await rel.units())].map((u) => u.name), appData: await rel.data.remoteApp!.read(), unit0: await rel.data.get(c.model.getUnit('pg/0')).read() };
    }, { relations: [DB] });
    expect(seen).toEqual({ app: 'pg', units: ['pg/0'], appData: { url: 'pg://x' }, unit0: { host: 'a' } });
  });

  test('a relation hook teaches the unit the remote application: later dispatches read its databag without relation-list', async () => {
    // Fresh unit: the remote app and units come from relation-list (ops does the same).
    const fresh = await run(async (c) => {
      expect(await (await c.model.getRelation('db'))!.data.remoteApp!.read()).toEqual({ url: 'pg://x' });
    }, { relations: [DB] });
    expect(ctx.last!.toolCalls.map((t) => t.tool)).toEqual(['relation-ids', 'relation-list', 'relation-get']);
    expect(fresh.remoteApps).toEqual({ '7': 'pg' });
    // relation-created names the app in JUJU_REMOTE_APP: a unit that ran it knows, charm handler or not.
    const created = await ctx.run(on.relationCreated(DB), { relations: [DB] });
    expect(ctx.last!.toolCalls).toEqual([]);
    expect(created.remoteApps).toEqual({ '7': 'pg' });
    let units: string[] = [];
    await run(async (c) => {
      const rel = (await c.model.getRelation('db'))!;
      expect(rel.app?.name).toBe('pg');
      expect(await rel.data.remoteApp!.read()).toEqual({ url: 'pg://x' });
      units = [...(await rel.units())].map((u) => u.name);
    }, created);
    // The units were read when asked for, after the databag.
    expect(ctx.last!.toolCalls.map((t) => t.tool)).toEqual(['relation-ids', 'relation-get', 'relation-list']);
    expect(units).toEqual(['pg/0']);
    // Broken: the id is forgotten.
    const broken = await ctx.run(on.relationBroken(DB), created);
    expect(broken.remoteApps).toEqual({});
  });

  test('a remote unit outside the relation has no databag, checked when it is read', async () => {
    const err = await fails(async (c) => {
      const bag = (await c.model.getRelation('db'))!.data.get(c.model.getUnit('pg/5'));
      await bag.read();
    }, { relations: [DB], remoteApps: { '7': 'pg' } });
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toBe('pg/5 has no databag in relation db:7');
    const other = await fails(async (c) => {
      (await c.model.getRelation('db'))!.data.get(c.model.getUnit('redis/0'));
    }, { relations: [DB] });
    expect((other as Error).message).toBe('redis/0 has no databag in relation db:7');
  });

  test('peer app data is readable by every unit; writes only by the leader', async () => {
    const peer = { id: 2, endpoint: 'cluster', remoteAppName: 'model-charm', localAppData: { shared: 'yes' }, remoteUnitsData: { '1': {} } };
    let seen: unknown;
    await run(async (c) => {
      const rel = (await c.model.getRelation('cluster'))!;
      seen = { data: await rel.data.localApp.read(), units: [...(await rel.units())].map((u) => u.name) };
    }, { relations: [peer] });
    expect(seen).toEqual({ data: { shared: 'yes' }, units: ['model-charm/1'] });
  });

  test('getRelation without id: undefined for none, TooManyRelatedAppsError for several', async () => {
    const none = await run(async (c) => expect(await c.model.getRelation('db')).toBeUndefined(), {});
    expect(none.unitStatus.name).toBe('unknown');
    const err = await fails(async (c) => void (await c.model.getRelation('db')), { relations: [DB, { ...DB, id: 8 }] });
    expect(String(err)).toMatch(/Too many remote applications on db \(2 > 1\)/);
  });
});

describe('config', () => {
  test('typed values from config-get, with charmcraft.yaml defaults', async () => {
    let values: unknown;
    await run(async (c) => void (values = (await c.model.config()).values), { config: { port: 8080 } });
    expect(values).toEqual({ name: 'world', port: 8080, ratio: 0.5, debug: false });
  });

  test('a value of the wrong type names the option', async () => {
    // Juju refuses such values at `juju config`; the simulator does too, unless told to let them
    // through to test the framework's own defence.
    const err = await fails(async (c) => void (await c.model.config()), { config: { port: 'eighty' as unknown as number, debug: 'yes' as unknown as boolean } }, { skipConsistencyChecks: true });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      { option: 'port', problem: 'must be an integer (got "eighty")' },
      { option: 'debug', problem: 'must be true or false (got "yes")' },
    ]);
  });

  test('loadConfig(schema, { errors: "blocked" }) blocks naming the option and exits cleanly', async () => {
    const schema = z.object({ port: z.number().int().min(1024, 'must be at least 1024') });
    const out = await run(async (c) => {
      await c.loadConfig(schema, { errors: 'blocked' });
      await c.unit.setStatus(new ActiveStatus());
    }, { config: { port: 80 } });
    expect(out.unitStatus).toEqual({ name: 'blocked', message: 'Invalid config: option "port" must be at least 1024 (got 80)' });
  });
});

describe('secrets', () => {
  const granted = { id: 'secret:0123456789abcdefghij', label: 'tok', trackedRevision: 1, revisions: [{ revision: 1, content: { token: 'one' } }, { revision: 2, content: { token: 'two' } }] };

  test('get by id or label; tracked revision until refresh; peek does not move it', async () => {
    let seen: unknown;
    const out = await run(async (c) => {
      const s = await c.model.getSecret({ id: '0123456789abcdefghij' });
      const byLabel = await c.model.getSecret({ label: 'tok' });
      seen = [await s.getContent(), await s.peekContent(), (await byLabel.getContent()).token, await s.getContent({ refresh: true })];
    }, { secrets: [granted] });
    expect(seen).toEqual([{ token: 'one' }, { token: 'two' }, 'one', { token: 'two' }]);
    expect(out.secrets[0]!.trackedRevision).toBe(2);
    // A bare id is canonicalised with the model uuid, as ops does.
    expect(ctx.last!.toolCalls[0]).toEqual({ tool: 'secret-get', args: ['--format=json', 'secret://00000000-0000-4000-8000-000000000000/0123456789abcdefghij'] });
  });

  test('getSecret with refresh reads the latest revision, and tracks it, in one secret-get', async () => {
    let seen: unknown;
    const out = await run(async (c) => {
      const s = await c.model.getSecret({ id: granted.id, refresh: true });
      seen = [await s.getContent(), await s.getContent()];
    }, { secrets: [granted] });
    expect(seen).toEqual([{ token: 'two' }, { token: 'two' }]);
    expect(out.secrets[0]!.trackedRevision).toBe(2);
    expect(ctx.last!.toolCalls).toEqual([{ tool: 'secret-get', args: ['--format=json', granted.id, '--refresh'] }]);
  });

  test('an unknown secret is SecretNotFoundError', async () => {
    const err = await fails(async (c) => void (await c.model.getSecret({ id: 'secret:aaaaaaaaaaaaaaaaaaaa' })));
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect((err as SecretNotFoundError).details?.stderr).toBe('ERROR secret "secret:aaaaaaaaaaaaaaaaaaaa" not found\n');
  });

  test('add, set, grant, revoke and remove; content never in argv', async () => {
    const out = await run(async (c) => {
      const s = await c.app.addSecret({ token: 's3cr3t-value' }, { label: 'mine' });
      const rel = (await c.model.getRelation('db'))!;
      await s.grant(rel);
      await s.setContent({ token: 'rotated-value' });
      const u = await c.unit.addSecret({ other: 'x-value' });
      await u.grant(rel, c.model.getUnit('pg/0'));
      await u.revoke(rel, c.model.getUnit('pg/0'));
      await u.removeAllRevisions();
      expect((await s.getInfo()).revision).toBe(2);
    }, { leader: true, relations: [DB] });
    const mine = out.secrets.find((s) => s.label === 'mine')!;
    expect(mine.owner).toBe('app');
    expect(mine.revisions.map((r) => r.content.token)).toEqual(['s3cr3t-value', 'rotated-value']);
    expect(mine.grants).toEqual({ '7': ['pg'] });
    expect(out.secrets).toHaveLength(1);
    const argv = JSON.stringify(ctx.last!.toolCalls);
    expect(argv).not.toMatch(/s3cr3t-value|rotated-value|x-value/);
    expect(argv).toMatch(/token#file=/);
  });

  test('secrets are written only if the hook succeeds', async () => {
    const err = (await run(async (c) => {
      await c.app.addSecret({ token: 'abc' });
      throw new Error('later failure');
    }, { leader: true }).catch((e) => e)) as UncaughtCharmError;
    expect(err.state.secrets).toEqual([]);
  });

  test('a non-leader cannot manage an app-owned secret (Juju: permission denied)', async () => {
    const own = { id: 'secret:bbbbbbbbbbbbbbbbbbbb', owner: 'app' as const, revisions: [{ revision: 1, content: { k3y: 'v' } }] };
    const err = await fails(async (c) => (await c.model.getSecret({ id: own.id })).setContent({ k3y: 'w' }), { secrets: [own] });
    expect(String(err)).toMatch(/ERROR permission denied/);
  });
});

describe('status, leadership, planned units, ports, version', () => {
  test('unit and app status; app status needs the leader', async () => {
    const out = await run(async (c) => {
      await c.unit.setStatus(new ActiveStatus('ok'));
      await c.app.setStatus(new BlockedStatus('app says no'));
    }, { leader: true });
    expect(out.unitStatus).toEqual({ name: 'active', message: 'ok' });
    expect(out.appStatus).toEqual({ name: 'blocked', message: 'app says no' });
    const err = await fails(async (c) => c.app.setStatus(new ActiveStatus()));
    expect(String(err)).toMatch(/not leader and cannot set the application status/);
  });

  test('planned units come from goal-state', async () => {
    let n = 0;
    await run(async (c) => void (n = await c.app.plannedUnits()), { plannedUnits: 3 });
    expect(n).toBe(3);
  });

  test('ports and workload version', async () => {
    const out = await run(async (c) => {
      await c.unit.setPorts([{ protocol: 'tcp', port: 8080 }, { protocol: 'icmp' }]);
      await c.unit.setWorkloadVersion('6.4.1');
    }, { openedPorts: [{ protocol: 'tcp', port: 22 }] });
    expect(out.openedPorts).toEqual([{ protocol: 'tcp', port: 8080 }, { protocol: 'icmp' }]);
    expect(out.workloadVersion).toBe('6.4.1');
  });
});

describe('actions', () => {
  test('params from action-get; results and logs through action-set and action-log', async () => {
    await ctx.run(on.action('greet', { params: { who: 'world' } }), {});
    expect(ctx.last!.actionResults).toEqual({ greeting: 'hello world', 'detail.count': '1' });
    expect(ctx.last!.actionLogs).toEqual(['greeting']);
  });

  test('event.fail() surfaces as ActionFailed with the message', async () => {
    const err = await ctx.run(on.action('greet', { params: { who: 'nobody' } }), {}).catch((e) => e);
    expect(err).toBeInstanceOf(ActionFailed);
    expect((err as ActionFailed).message).toBe('no one to greet');
  });
});
