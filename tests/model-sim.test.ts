/**
 * Model simulation: the OpenCTI stand-in (requirer helper) and a connector on OpenctiConnectorCharm,
 * related over opencti-connector and driven like `juju deploy`, `juju integrate`, `juju run` and
 * `juju scale-application`; each hook runs through the charm's real dispatch. The model's own view
 * (status, relation data, secrets, the connector's Pebble plan) is the oracle.
 */
import { ModelSim } from '@juju-ts/ops-testing';

let model: ModelSim;
beforeAll(async () => {
  model = new ModelSim();
  await model.deploy({ charm: 'examples/opencti-lite', config: { url: 'http://opencti.example:8080' } });
  await model.deploy({ charm: 'examples/connector-lite' });
});
afterAll(() => model.destroy());

const connectorEnv = () => (model.containers('connector-lite/0').snapshot()[0]!.plan as { services: Record<string, { environment: Record<string, string> }> }).services.connector!.environment;
const unitStatus = (unit: string) => model.status().applications[unit.split('/')[0]!]!.units[unit]!.status;

test('before the relation the connector waits; after juju integrate it runs with the URL and token', async () => {
  expect(unitStatus('connector-lite/0')).toEqual({ name: 'waiting', message: 'missing opencti-connector integration' });
  const id = await model.integrate('opencti-lite', 'connector-lite');
  expect(unitStatus('connector-lite/0')).toEqual({ name: 'active', message: '' });
  expect(unitStatus('opencti-lite/0')).toEqual({ name: 'active', message: '1 connector(s)' });
  const data = model.relationData(id);
  expect(data.apps['connector-lite']).toMatchObject({ connector_charm_name: 'connector-lite', connector_type: 'STREAM' });
  expect(data.apps['opencti-lite']!.opencti_url).toBe('http://opencti.example:8080');
  const secret = model.secretInfo(data.apps['opencti-lite']!.opencti_token!);
  expect(secret).toMatchObject({ owner: 'app:opencti-lite', revisions: [1], grants: { [String(id)]: ['connector-lite'] } });
  expect(connectorEnv()).toMatchObject({
    OPENCTI_URL: 'http://opencti.example:8080',
    OPENCTI_TOKEN: secret.latest.token,
    CONNECTOR_ID: data.apps['connector-lite']!.connector_id,
    CONNECTOR_TYPE: 'STREAM',
    CONNECTOR_SCOPE: 'example',
  });
  // Juju's order on integrate: created, then joined and changed per remote unit.
  const hooks = model.history.filter((h) => h.unit === 'connector-lite/0').map((h) => h.hook);
  const from = hooks.indexOf('opencti-connector-relation-created');
  expect(hooks.slice(from, from + 3)).toEqual(['opencti-connector-relation-created', 'opencti-connector-relation-joined', 'opencti-connector-relation-changed']);
});

test('rotating the token: the connector gets secret-changed and its service the new token', async () => {
  await model.runAction('opencti-lite/0', 'rotate-token');
  const [rel] = model.status().relations;
  const secret = model.secretInfo(model.relationData(rel!.id).apps['opencti-lite']!.opencti_token!);
  expect(secret.revisions).toEqual([1, 2]);
  expect(model.history.filter((h) => h.unit === 'connector-lite/0').at(-1)!.hook).toBe('secret-changed');
  expect(connectorEnv().OPENCTI_TOKEN).toBe(secret.latest.token);
});

test('scale: a new OpenCTI unit joins; two connector units block with the remedy', async () => {
  await model.scale('opencti-lite', 2);
  expect(model.unitState('connector-lite/0').relations[0]!.remoteUnitsData).toHaveProperty('1');
  await model.scale('connector-lite', 2);
  expect(unitStatus('connector-lite/1')).toEqual({ name: 'blocked', message: 'connector charm cannot have multiple units, scale down using the `juju scale` command' });
  await model.scale('connector-lite', 1);
  await model.updateStatus('connector-lite');
  expect(unitStatus('connector-lite/0')).toEqual({ name: 'active', message: '' });
});

test('config changes reach every unit; the model refuses what Juju refuses', async () => {
  await model.config('opencti-lite', { url: 'http://other:8080' });
  expect(connectorEnv().OPENCTI_URL).toBe('http://other:8080');
  await expect(model.config('opencti-lite', { nope: 'x' })).rejects.toThrow(/application "opencti-lite" has no config option "nope"/);
  await expect(model.integrate('opencti-lite', 'connector-lite')).rejects.toThrow(/limited to 1 relation|already exists/);
});

test('removing the relation: the connector waits, OpenCTI drops the token secret', async () => {
  const [rel] = model.status().relations;
  const tokenId = model.relationData(rel!.id).apps['opencti-lite']!.opencti_token!;
  await model.removeRelation(rel!.id);
  expect(unitStatus('connector-lite/0')).toEqual({ name: 'waiting', message: 'missing opencti-connector integration' });
  expect(() => model.secretInfo(tokenId)).toThrow(/no secret/);
});
