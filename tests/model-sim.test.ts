/**
 * Model simulation: two charms related over opencti-connector, driven like `juju deploy`,
 * `juju integrate`, `juju run` and `juju scale-application`, each hook run through the charm's
 * real dispatch. The model's own view (status, relation data, secrets) is the oracle.
 */
import { ModelSim } from '../lib/testing/model.js';

let model: ModelSim;
beforeAll(async () => {
  model = new ModelSim();
  await model.deploy({ charm: 'examples/opencti-lite', config: { url: 'http://opencti.example:8080' } });
  await model.deploy({ charm: 'examples/connector-lite' });
});
afterAll(() => model.destroy());

test('before the relation both wait; after juju integrate the connector is active with the URL', async () => {
  expect(model.status().applications['connector-lite']!.units['connector-lite/0']!.status).toEqual({ name: 'unknown', message: '' });
  const id = await model.integrate('opencti-lite', 'connector-lite');
  const st = model.status();
  expect(st.applications['connector-lite']!.units['connector-lite/0']!.status).toEqual({ name: 'active', message: 'connected to http://opencti.example:8080' });
  expect(st.applications['opencti-lite']!.units['opencti-lite/0']!.status).toEqual({ name: 'active', message: '1 connector(s)' });
  const data = model.relationData(id);
  expect(data.apps['connector-lite']).toEqual({ connector_charm_name: 'connector-lite', connector_type: 'STREAM' });
  expect(data.apps['opencti-lite']!.opencti_url).toBe('http://opencti.example:8080');
  const secret = model.secretInfo(data.apps['opencti-lite']!.opencti_token!);
  expect(secret).toMatchObject({ owner: 'app:opencti-lite', revisions: [1], grants: { [String(id)]: ['connector-lite'] } });
  expect(model.unitState('connector-lite/0').storedStates['ConnectorLiteCharm/StoredStateData[seen]']).toEqual({
    tokenFingerprint: `32:${secret.latest.token!.slice(0, 2)}`,
  });
  // Hooks Juju fires on integrate: created, then joined and changed per remote unit.
  const hooks = model.history.filter((h) => h.unit === 'connector-lite/0').map((h) => h.hook);
  expect(hooks.slice(hooks.indexOf('opencti-connector-relation-created'))).toEqual(
    expect.arrayContaining(['opencti-connector-relation-created', 'opencti-connector-relation-joined', 'opencti-connector-relation-changed']),
  );
});

test('rotating the token gives the consumer secret-changed, and it picks up the new revision', async () => {
  await model.runAction('opencti-lite/0', 'rotate-token');
  const [rel] = model.status().relations;
  const tokenId = model.relationData(rel!.id).apps['opencti-lite']!.opencti_token!;
  const secret = model.secretInfo(tokenId);
  expect(secret.revisions).toEqual([1, 2]);
  const last = model.history.filter((h) => h.unit === 'connector-lite/0').at(-1)!;
  expect(last.hook).toBe('secret-changed');
  expect(model.unitState('connector-lite/0').storedStates['ConnectorLiteCharm/StoredStateData[seen]']).toEqual({ tokenFingerprint: `32:${secret.latest.token!.slice(0, 2)}` });
  expect(model.unitState('connector-lite/0').secrets[0]!.trackedRevision).toBe(2);
});

test('a new unit of the OpenCTI side joins the relation; config changes reach every unit', async () => {
  await model.scale('opencti-lite', 2);
  expect(Object.keys(model.status().applications['opencti-lite']!.units)).toEqual(['opencti-lite/0', 'opencti-lite/1']);
  expect(model.unitState('connector-lite/0').relations[0]!.remoteUnitsData).toHaveProperty('1');
  await model.config('opencti-lite', { url: 'http://other:8080' });
  expect(model.status().applications['connector-lite']!.units['connector-lite/0']!.status.message).toBe('connected to http://other:8080');
  await expect(model.config('opencti-lite', { nope: 'x' })).rejects.toThrow(/application "opencti-lite" has no config option "nope"/);
  await expect(model.integrate('opencti-lite', 'connector-lite')).rejects.toThrow(/limited to 1 relation|already exists/);
});
