// The guide's charm in the in-process simulator: given a State, when an event runs, then the
// output State shows what the charm did.
import { ActiveStatus, BlockedStatus } from '@juju-ts/ops';
import { Context, type StateInput } from '@juju-ts/ops-testing';
import Charm from '../src/charm.js';

const ctx = new Context(Charm, { charmRoot: new URL('..', import.meta.url) });
const SECRET = 'secret:0123456789abcdefghij';
const DB = { id: 1, endpoint: 'db', remoteAppName: 'postgresql', remoteAppData: { host: 'db.internal', 'password-secret': SECRET } };

/** The leader, its container up, related to a database that published its host and password secret. */
function related(overrides: Partial<StateInput> = {}): StateInput {
  return {
    leader: true,
    containers: [{ name: 'web', canConnect: true }],
    relations: [DB],
    secrets: [{ id: SECRET, content: { password: 's3cret' } }],
    ...overrides,
  };
}

test('the database relation configures the workload, fills both databags and the unit is active', async () => {
  const out = await ctx.run(ctx.on.relationChanged(DB), related());
  expect(out.unitStatus).toEqual(new ActiveStatus());
  const web = out.getContainer('web');
  expect(web.files['/etc/webapp/db.conf']).toBe('host=db.internal\npassword=s3cret\n');
  expect(web.plan).toMatchObject({ services: { web: { command: 'webapp --port 8080 --db-config /etc/webapp/db.conf' } } });
  expect(out.getRelation('db').localUnitData).toMatchObject({ ready: 'true' });
  expect(out.getRelation('db').localAppData).toEqual({ database: 'webapp' });
  expect(out.getStoredState('stats')).toEqual({ configured: 1 });
});

test('a unit that is not the leader leaves the application databag alone', async () => {
  const out = await ctx.run(ctx.on.relationChanged(DB), related({ leader: false }));
  expect(out.getRelation('db').localAppData).toEqual({});
  expect(out.getRelation('db').localUnitData).toMatchObject({ ready: 'true' });
});

test('before Pebble is up the event is deferred, and runs again on the next hook', async () => {
  const early = await ctx.run(ctx.on.relationChanged(DB), related({ containers: [{ name: 'web', canConnect: false }] }));
  expect(early.deferred).toHaveLength(1);
  const later = await ctx.run(ctx.on.updateStatus(), { ...early, containers: [{ name: 'web', canConnect: true }] });
  expect(later.deferred).toEqual([]);
  expect(later.getRelation('db').localUnitData).toMatchObject({ ready: 'true' });
});

test('without the relation the unit is blocked, naming the remedy', async () => {
  const out = await ctx.run(ctx.on.configChanged(), { containers: [{ name: 'web', canConnect: true }] });
  expect(out.unitStatus).toEqual(new BlockedStatus('needs a database: juju integrate webapp <database>'));
});

test('the action reports from stored state', async () => {
  const out = await ctx.run(ctx.on.relationChanged(DB), related());
  await ctx.run(ctx.on.action('show-config'), out);
  expect(ctx.last?.actionResults).toEqual({ configured: '1' });
});
