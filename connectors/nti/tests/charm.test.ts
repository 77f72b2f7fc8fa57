/**
 * opencti-nti-connector in the in-process simulator (@juju-ts/ops-testing):
 * with its config, the opencti-connector relation and OpenCTI's token secret the leader runs the
 * connector with exactly the expected Pebble plan; a unit that is not the leader, or one of
 * several, starts nothing. Made by the scaffolder; grow it with the charm.
 *
 * Ported from canonical/opencti-operator `connectors/nti` (commit 35f17942e3d3).
 * The cases are the original's own (its tests/unit/test_connectors.py): the same config,
 * relation data, token secret and proxy settings in, exactly the same Pebble plan out;
 * CONNECTOR_ID is the id the charm published.
 */
import fs from 'node:fs';
import { Context, on, type State, type StateInput } from '@juju-ts/ops-testing';
import Charm from '../src/charm.js';

const NAME = 'opencti-nti-connector';
const TYPE = 'EXTERNAL_IMPORT';
const ctx = new Context(Charm, { meta: fs.readFileSync(new URL('../charmcraft.yaml', import.meta.url), 'utf8') });

const OPENCTI_URL = 'https://opencti-endpoints.test-opencti-connector.svc/opencti';
const TOKEN_SECRET = 'secret:0123456789abcdefghij';

interface Case {
  name: string;
  config: NonNullable<StateInput['config']>;
  proxy?: StateInput['proxy'];
  /** Every variable but CONNECTOR_ID. */
  environment: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: 'nti',
    config: {
      'connector-log-level': 'info',
      'connector-duration-period': 'P1D',
      'nti-base-url': 'https://nti.nsfocusglobal.com/api/v2/',
      'nti-api-key': 'ChangeMe',
      'nti-tlp': 'white',
      'nti-create-ioc': true,
      'nti-create-ip': true,
      'nti-create-domain': true,
      'nti-create-file': true,
      'nti-create-url': true,
    },
    environment: {
      OPENCTI_TOKEN: '00000000-0000-0000-0000-000000000000',
      OPENCTI_URL: 'https://opencti-endpoints.test-opencti-connector.svc/opencti',
      CONNECTOR_NAME: 'opencti-nti-connector',
      CONNECTOR_TYPE: 'EXTERNAL_IMPORT',
      CONNECTOR_LOG_LEVEL: 'info',
      CONNECTOR_QUEUE_THRESHOLD: '500',
      CONNECTOR_SCOPE: 'nti',
      CONNECTOR_DURATION_PERIOD: 'P1D',
      NTI_BASE_URL: 'https://nti.nsfocusglobal.com/api/v2/',
      NTI_API_KEY: 'ChangeMe',
      NTI_TLP: 'white',
      NTI_CREATE_IOC: 'true',
      NTI_CREATE_IP: 'true',
      NTI_CREATE_DOMAIN: 'true',
      NTI_CREATE_FILE: 'true',
      NTI_CREATE_URL: 'true',
      NTI_PACKAGE_TYPE: 'updated',
    },
  },
];

/** The unit, its workload container up, related to OpenCTI, the token secret granted. */
function related(config: StateInput['config'], more: Partial<StateInput> = {}): StateInput {
  return {
    leader: true,
    config,
    containers: [{ name: NAME, canConnect: true }],
    relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: OPENCTI_URL, opencti_token: TOKEN_SECRET } }],
    secrets: [{ id: TOKEN_SECRET, content: { token: '00000000-0000-0000-0000-000000000000' } }],
    ...more,
  };
}

/** The container's Pebble plan without its empty sections, as Python's `Plan.to_dict()` gives it. */
function plan(state: State): Record<string, unknown> {
  const sections = Object.entries(state.containers.find((c) => c.name === NAME)!.plan ?? {});
  return Object.fromEntries(sections.filter(([, v]) => Object.keys(v as object).length > 0));
}

test.each(CASES)('$name: config in, exactly the Pebble plan out', async ({ config, proxy, environment }) => {
  const out = await ctx.run(on.configChanged(), related(config, proxy ? { proxy } : {}));
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const published = out.relations[0]!.localAppData;
  expect(published).toMatchObject({ connector_charm_name: NAME, connector_type: TYPE });
  expect(plan(out)).toEqual({
    services: {
      connector: {
        override: 'replace',
        startup: 'enabled',
        'on-failure': 'restart',
        command: 'bash /entrypoint.sh',
        environment: { ...environment, CONNECTOR_ID: published.connector_id },
      },
    },
  });
});

test('a unit that is not the leader waits: it publishes nothing and starts nothing', async () => {
  const out = await ctx.run(on.configChanged(), related(CASES[0]!.config, { leader: false }));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'waiting for leadership: only the leader can read the connector id' });
  expect(out.relations[0]!.localAppData).toEqual({});
  expect(plan(out)).toEqual({});
});

test('with more than one unit planned the connector blocks with the remedy and starts nothing', async () => {
  const out = await ctx.run(on.configChanged(), related(CASES[0]!.config, { plannedUnits: 2 }));
  expect(out.unitStatus).toEqual({ name: 'blocked', message: 'connector charm cannot have multiple units, scale down using the `juju scale` command' });
  expect(plan(out)).toEqual({});
});

test('without its mandatory options the connector waits, naming them', async () => {
  const out = await ctx.run(on.configChanged(), related({}));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'missing configurations: nti-api-key, nti-base-url, nti-tlp' });
  expect(plan(out)).toEqual({});
});
