import { Context, on, UncaughtCharmError } from '@juju-ts/ops-testing';
import {
  ActiveStatus,
  BlockedStatus,
  CharmBase,
  DataEvent,
  FrameworkObject,
  MaintenanceStatus,
  WaitingStatus,
  type CollectStatusEvent,
  type ConfigChangedEvent,
  type EventBase,
  type Framework,
  type JsonValue,
  type RelationChangedEvent,
} from './index.js';

const META = `
name: test-charm
containers: { workload: { resource: img } }
requires: { db: { interface: pg } }
peers: { cluster: { interface: c } }
config:
  options:
    name: { type: string, default: world }
    ready: { type: boolean, default: false }
`;

/** Records every handler call in stored state, so the output State tells the story. */
class Recorder extends CharmBase {
  rec = this.storedState('rec', { calls: [] as string[] });
  constructor(fw: Framework) {
    super(fw);
    this.observe(this.on.start, this.onStart);
    this.observe(this.on.configChanged, this.onConfigA);
    this.observe(this.on.configChanged, this.onConfigB);
    this.observe(this.on.updateStatus, this.onUpdateStatus);
    this.observe(this.on.relation('db').changed, this.onDbChanged);
  }
  private async ready(): Promise<boolean> {
    return (await this.model.config()).get('ready') === true;
  }
  async onStart(e: EventBase) {
    this.rec.calls.push('start');
    if (!(await this.ready())) e.defer();
  }
  async onConfigA(e: ConfigChangedEvent) {
    this.rec.calls.push('configA');
    if (!(await this.ready())) e.defer();
  }
  async onConfigB() {
    this.rec.calls.push('configB');
  }
  async onUpdateStatus() {
    this.rec.calls.push('update-status');
  }
  async onDbChanged(e: RelationChangedEvent) {
    this.rec.calls.push(`db-changed:${e.unit?.name}`);
    if (!(await this.ready())) e.defer();
  }
}

const calls = (s: { storedStates: Record<string, Record<string, unknown>> }) =>
  (s.storedStates['Recorder/StoredStateData[rec]']?.calls ?? []) as string[];

describe('deferral', () => {
  const ctx = new Context(Recorder, { meta: META });

  test('a deferred event is re-emitted first in the next dispatch, only to the handler that deferred it', async () => {
    const s1 = await ctx.run(on.configChanged(), {});
    expect(calls(s1)).toEqual(['configA', 'configB']);
    expect(s1.deferred).toHaveLength(1);
    expect(s1.deferred[0]).toMatchObject({ observerPath: 'Recorder', methodName: 'onConfigA' });
    expect(s1.deferred[0]!.eventPath).toMatch(/^Recorder\/on\/config_changed\[\d+\]$/);

    const s2 = await ctx.run(on.updateStatus(), { ...s1, config: { ready: true } });
    // configA again (deferred), not configB; then the new event.
    expect(calls(s2)).toEqual(['configA', 'configB', 'configA', 'update-status']);
    expect(s2.deferred).toEqual([]);
  });

  test('deferred events are re-emitted oldest first', async () => {
    let s = await ctx.run(on.start(), {});
    s = await ctx.run(on.configChanged(), s);
    expect(s.deferred.map((d) => d.methodName)).toEqual(['onStart', 'onConfigA']);
    s = await ctx.run(on.updateStatus(), { ...s, storedStates: {}, config: { ready: true } });
    expect(calls(s)).toEqual(['start', 'configA', 'update-status']);
  });

  test('an equal event already queued for a handler is skipped; a different one is queued', async () => {
    const rel = { id: 3, endpoint: 'db', remoteAppName: 'pg', remoteUnitsData: { '0': {}, '1': {} } };
    let s = await ctx.run(on.configChanged(), { relations: [rel] });
    // The deferred config-changed is re-emitted (and deferred again); the new one is a duplicate.
    s = await ctx.run(on.configChanged(), s);
    expect(s.deferred.filter((d) => d.methodName === 'onConfigA')).toHaveLength(1);
    expect(calls(s)).toEqual(['configA', 'configB', 'configA', 'configB']);
    // Relation events with different remote units are different events.
    s = await ctx.run(on.relationChanged(rel, { remoteUnit: 0 }), s);
    s = await ctx.run(on.relationChanged(rel, { remoteUnit: 1 }), s);
    s = await ctx.run(on.relationChanged(rel, { remoteUnit: 1 }), s);
    expect(s.deferred.filter((d) => d.methodName === 'onDbChanged').map((d) => d.snapshot.unitName)).toEqual(['pg/0', 'pg/1']);
  });

  test('stop, remove and actions cannot be deferred', async () => {
    class Deferrer extends CharmBase {
      constructor(fw: Framework) {
        super(fw);
        this.observe(this.on.stop, this.onStop);
      }
      onStop(e: EventBase) {
        e.defer();
      }
    }
    const err = await new Context(Deferrer, { meta: META }).run(on.stop(), {}).catch((e) => e);
    expect(err).toBeInstanceOf(UncaughtCharmError);
    expect(String((err as UncaughtCharmError).cause)).toMatch(/stop cannot be deferred/);
  });
});

describe('stored state and rollback', () => {
  class Counter extends CharmBase {
    s = this.storedState('s', { count: 0 });
    constructor(fw: Framework) {
      super(fw);
      this.observe(this.on.configChanged, this.onConfig);
    }
    async onConfig(e: ConfigChangedEvent) {
      this.s.count += 1;
      await this.unit.setStatus(new MaintenanceStatus(`count ${this.s.count}`));
      const rel = await this.model.getRelation('db');
      await rel?.data.localUnit.set('count', String(this.s.count));
      if ((await this.model.config()).get('name') === 'boom') {
        e.defer();
        throw new Error('boom');
      }
    }
  }
  const ctx = new Context(Counter, { meta: META });
  const rel = { id: 1, endpoint: 'db', remoteAppName: 'pg' };

  test('stored state survives between dispatches', async () => {
    const s1 = await ctx.run(on.configChanged(), { relations: [rel] });
    const s2 = await ctx.run(on.configChanged(), s1);
    expect(s2.storedStates['Counter/StoredStateData[s]']).toEqual({ count: 2 });
    expect(s2.relations[0]!.localUnitData.count).toBe('2');
  });

  test('a handler that throws commits nothing but the status Juju applies at once', async () => {
    const before = await ctx.run(on.configChanged(), { relations: [rel] });
    const err = (await ctx.run(on.configChanged(), { ...before, config: { name: 'boom' } }).catch((e) => e)) as UncaughtCharmError;
    expect(err).toBeInstanceOf(UncaughtCharmError);
    expect((err.cause as Error).message).toBe('boom');
    expect(err.state.storedStates).toEqual(before.storedStates);
    expect(err.state.deferred).toEqual([]);
    expect(err.state.relations[0]!.localUnitData.count).toBe('1');
    expect(err.state.unitStatus).toEqual({ name: 'maintenance', message: 'count 2' });
  });
});

describe('collect-status', () => {
  class Statuses extends CharmBase {
    constructor(fw: Framework) {
      super(fw);
      this.observe(this.on.collectUnitStatus, this.onCollectUnit);
      this.observe(this.on.collectAppStatus, this.onCollectApp);
    }
    onCollectUnit(e: CollectStatusEvent) {
      e.addStatus(new ActiveStatus('fine'));
      e.addStatus(new WaitingStatus('first waiting'));
      e.addStatus(new BlockedStatus('blocked wins'));
      e.addStatus(new WaitingStatus('second waiting'));
    }
    onCollectApp(e: CollectStatusEvent) {
      e.addStatus(new WaitingStatus('app first'));
      e.addStatus(new WaitingStatus('app second'));
    }
  }
  const ctx = new Context(Statuses, { meta: META });

  test('the highest-priority status wins, ties go to the first added; app status only on the leader', async () => {
    const leader = await ctx.run(on.updateStatus(), { leader: true });
    expect(leader.unitStatus).toEqual({ name: 'blocked', message: 'blocked wins' });
    expect(leader.appStatus).toEqual({ name: 'waiting', message: 'app first' });
    const follower = await ctx.run(on.updateStatus(), { leader: false });
    expect(follower.appStatus).toEqual({ name: 'unknown', message: '' });
    expect(ctx.last!.toolCalls.map((c) => c.tool)).toEqual(['is-leader', 'status-set']);
  });

  test('an unobserved event costs no hook tool at all', async () => {
    class Quiet extends CharmBase {}
    const q = new Context(Quiet, { meta: META });
    await q.run(on.updateStatus(), {});
    expect(q.last!.toolCalls).toEqual([]);
  });
});

describe('events and observation', () => {
  test('custom events run nested, immediately, and can carry data', async () => {
    class Ready extends DataEvent<{ url: string }> {}
    class Lib extends FrameworkObject {
      readonly on = this.defineEvents({ ready: Ready });
    }
    class WithLib extends CharmBase {
      lib = new Lib(this, 'db');
      order = this.storedState('order', { seen: [] as string[] });
      constructor(fw: Framework) {
        super(fw);
        this.observe(this.on.configChanged, this.onConfig);
        this.observe(this.lib.on.ready, this.onReady);
      }
      async onConfig() {
        this.order.seen.push('before');
        await this.lib.on.ready.emit({ url: 'http://x' });
        this.order.seen.push('after');
      }
      onReady(e: Ready) {
        this.order.seen.push(`ready ${e.data.url}`);
      }
    }
    const s = await new Context(WithLib, { meta: META }).run(on.configChanged(), {});
    expect(s.storedStates['WithLib/StoredStateData[order]']).toEqual({ seen: ['before', 'ready http://x', 'after'] });
  });

  test('observe refuses anonymous handlers and unknown endpoints, naming the problem', async () => {
    class Anonymous extends CharmBase {
      constructor(fw: Framework) {
        super(fw);
        this.observe(this.on.start, () => undefined);
      }
    }
    const e1 = (await new Context(Anonymous, { meta: META }).run(on.start(), {}).catch((e) => e)) as UncaughtCharmError;
    expect(String(e1.cause)).toMatch(/named method/);
    class Typo extends CharmBase {
      constructor(fw: Framework) {
        super(fw);
        this.observe(this.on.relation('dbb').changed, this.onX);
      }
      onX() {}
    }
    const e2 = (await new Context(Typo, { meta: META }).run(on.start(), {}).catch((e) => e)) as UncaughtCharmError;
    expect(String(e2.cause)).toMatch(/no relation endpoint "dbb" \(declared: db, cluster\)/);
  });

  test('an anonymous charm class is refused: its name is the handle of its stored state', async () => {
    const Anon = (() => class extends CharmBase {})();
    const err = (await new Context(Anon, { meta: META }).run(on.start(), {}).catch((e) => e)) as UncaughtCharmError;
    expect(String(err.cause)).toMatch(/a charm class needs a name \(got ""\)/);
  });

  test('an event the charm does not know is ignored, like ops', async () => {
    const s = await new Context(Recorder, { meta: META }).run(on.hook('meter-status-changed'), {});
    expect(s.unitStatus.name).toBe('unknown');
  });
});

describe('stored state values', () => {
  test('nested objects survive; values JSON cannot hold are refused with their path', async () => {
    class Nested extends CharmBase {
      s = this.storedState('s', { nested: { list: [1, { deep: 'x' }] } as { [k: string]: JsonValue } });
      constructor(fw: Framework) {
        super(fw);
        this.observe(this.on.configChanged, this.onConfig);
      }
      async onConfig() {
        if ((await this.model.config()).get('name') === 'bad') this.s.nested = { when: new Date(0) as unknown as string };
        else (this.s.nested as { n?: number }).n = 1;
      }
    }
    const ctx = new Context(Nested, { meta: META });
    const s1 = await ctx.run(on.configChanged(), {});
    const s2 = await ctx.run(on.configChanged(), s1);
    expect(s2.storedStates['Nested/StoredStateData[s]']).toEqual({ nested: { list: [1, { deep: 'x' }], n: 1 } });
    const err = (await ctx.run(on.configChanged(), { ...s2, config: { name: 'bad' } }).catch((e) => e)) as UncaughtCharmError;
    expect(String(err.cause)).toMatch(/stored state Nested\/StoredStateData\[s\] at nested\.when: Date cannot be stored/);
  });
});
