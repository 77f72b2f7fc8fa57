/**
 * The `logging` integration in the model simulator: a connector on OpenctiConnectorCharm related
 * to a Loki stand-in (examples/loki-lite, which publishes a push URL per unit) gets a Pebble log
 * target per Loki unit, in its workload's plan, and loses them (disabled: Pebble cannot delete a
 * target) when Loki units or the relation go. The Pebble plan the model holds is the oracle.
 */
import { ModelSim } from '@juju-ts/ops-testing';

let model: ModelSim;
beforeAll(async () => {
  model = new ModelSim();
  await model.deploy({ charm: 'examples/opencti-lite', config: { url: 'http://opencti.example:8080' } });
  await model.deploy({ charm: 'examples/connector-lite' });
  await model.deploy({ charm: 'examples/loki-lite' });
  await model.integrate('opencti-lite', 'connector-lite');
});
afterAll(() => model.destroy());

type Target = { type: string; location: string; services: string[]; labels?: Record<string, string> };
const logTargets = () => ((model.containers('connector-lite/0').snapshot()[0]!.plan as { 'log-targets'?: Record<string, Target> })['log-targets'] ?? {});
const url = (unit: string) => `http://${unit.replace('/', '-')}.loki-lite-endpoints:3100/loki/api/v1/push`;

let relation: number;

test('related to Loki: a log target per Loki unit, forwarding every service with the Juju topology', async () => {
  expect(logTargets()).toEqual({});
  relation = await model.integrate('connector-lite', 'loki-lite');
  const targets = logTargets();
  expect(Object.keys(targets)).toEqual(['loki-lite/0']);
  expect(targets['loki-lite/0']).toMatchObject({ type: 'loki', location: url('loki-lite/0'), services: ['all'] });
  expect(targets['loki-lite/0']!.labels).toMatchObject({ product: 'Juju', charm: 'connector-lite', juju_application: 'connector-lite', juju_unit: 'connector-lite/0' });
  // The connector itself still runs as before.
  expect(model.status().applications['connector-lite']!.units['connector-lite/0']!.status).toEqual({ name: 'active', message: '' });
});

test('a second Loki unit adds a target; scaling Loki down disables the departed one', async () => {
  await model.scale('loki-lite', 2);
  expect(logTargets()['loki-lite/1']).toMatchObject({ location: url('loki-lite/1'), services: ['all'] });
  await model.scale('loki-lite', 1);
  expect(logTargets()['loki-lite/1']!.services).toEqual(['-all']);
  expect(logTargets()['loki-lite/0']!.services).toEqual(['all']);
});

test('removing the relation disables every target (the original kept forwarding to the last one)', async () => {
  await model.removeRelation(relation);
  const targets = logTargets();
  expect(Object.values(targets).map((t) => t.services)).toEqual([['-all'], ['-all']]);
  expect(model.status().applications['connector-lite']!.units['connector-lite/0']!.status).toEqual({ name: 'active', message: '' });
});
