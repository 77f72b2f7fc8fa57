/**
 * opencti-woap-connector in the in-process simulator (@juju-ts/ops-testing). The Python original
 * (canonical/opencti-operator connectors/woap, commit 35f17942e3d3) has no unit test of its own:
 * these check its behaviour as its charm.py defines it, and the fixes README.md lists. Written by
 * hand (connectors.json lists this file as custom).
 */
import fs from 'node:fs';
import { Context, on, type State, type StateInput } from '@juju-ts/ops-testing';
import Charm, { isIsoDuration } from '../src/charm.js';

const NAME = 'opencti-woap-connector';
const ctx = new Context(Charm, { meta: fs.readFileSync(new URL('../charmcraft.yaml', import.meta.url), 'utf8') });

const OPENCTI_URL = 'https://opencti-endpoints.test-opencti-connector.svc/opencti';
const TOKEN_SECRET = 'secret:0123456789abcdefghij';
const USER_SECRET = 'secret:opensearchuser012345';

const OPENCTI = { id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: OPENCTI_URL, opencti_token: TOKEN_SECRET } };
const OPENSEARCH = { id: 2, endpoint: 'opensearch-client', remoteAppName: 'wazuh-indexer', remoteAppData: { endpoints: '10.1.0.7:9201,10.1.0.8:9201', 'secret-user': USER_SECRET } };

function state(more: Partial<StateInput> = {}): StateInput {
  return {
    leader: true,
    config: {},
    containers: [{ name: NAME, canConnect: true }],
    relations: [OPENCTI, OPENSEARCH],
    secrets: [
      { id: TOKEN_SECRET, content: { token: '00000000-0000-0000-0000-000000000000' } },
      { id: USER_SECRET, content: { username: 'woap', password: 'opensearch-password' } },
    ],
    ...more,
  };
}

function plan(out: State): Record<string, unknown> {
  return Object.fromEntries(Object.entries(out.containers[0]!.plan ?? {}).filter(([, v]) => Object.keys(v as object).length > 0));
}

test('both relations and OpenSearch credentials: the connector runs with exactly this plan', async () => {
  const out = await ctx.run(on.configChanged(), state());
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const opencti = out.relations.find((r) => r.endpoint === 'opencti-connector')!.localAppData;
  expect(out.relations.find((r) => r.endpoint === 'opensearch-client')!.localAppData).toEqual({ index: 'woap-connector', 'extra-user-roles': 'admin' });
  expect(plan(out)).toEqual({
    services: {
      connector: {
        override: 'replace',
        startup: 'enabled',
        'on-failure': 'restart',
        command: 'bash /entrypoint.sh',
        environment: {
          OPENCTI_URL,
          OPENCTI_TOKEN: '00000000-0000-0000-0000-000000000000',
          CONNECTOR_ID: opencti.connector_id,
          CONNECTOR_NAME: NAME,
          CONNECTOR_TYPE: 'EXTERNAL_IMPORT',
          CONNECTOR_SCOPE: 'woap',
          CONNECTOR_LOG_LEVEL: 'info',
          CONNECTOR_DURATION_PERIOD: 'PT5M',
          OPENSEARCH_INDEX: 'wazuh-alerts-*',
          OPENSEARCH_SSL_VERIFY: 'true',
          WAZUH_MIN_SEVERITY: '13',
          OPENSEARCH_HOST: '10.1.0.7,10.1.0.8',
          OPENSEARCH_PORT: '9201',
          OPENSEARCH_USER: 'woap',
          OPENSEARCH_PASSWORD: 'opensearch-password',
        },
      },
    },
  });
});

test('without either relation it waits naming both, and starts nothing', async () => {
  const out = await ctx.run(on.configChanged(), state({ relations: [] }));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'Waiting for: OpenCTI relation, OpenSearch relation' });
  expect(plan(out)).toEqual({});
});

test('OpenSearch related but silent: it waits for the credentials and stops a running connector', async () => {
  const running = {
    name: NAME,
    canConnect: true,
    layers: { connector: { services: { connector: { override: 'replace', command: 'bash /entrypoint.sh', startup: 'enabled' } } } },
    serviceStatuses: { connector: 'active' as const },
  };
  const silent = { ...OPENSEARCH, remoteAppData: {} };
  const out = await ctx.run(on.relationChanged(silent), state({ containers: [running], relations: [OPENCTI, silent] }));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'Waiting for: OpenSearch credentials' });
  expect(out.containers[0]!.serviceStatuses).toEqual({ connector: 'inactive' });
  // The leader has asked for its index meanwhile, and registered with OpenCTI.
  expect(out.relations.find((r) => r.id === 2)!.localAppData).toEqual({ index: 'woap-connector', 'extra-user-roles': 'admin' });
  expect(out.relations.find((r) => r.id === 1)!.localAppData).toMatchObject({ connector_charm_name: NAME });
});

test('bad config blocks, naming each option and what is wrong', async () => {
  const config = { 'connector-log-level': 'verbose', 'connector-duration-period': '5 minutes', 'wazuh-min-severity': 16 };
  const out = await ctx.run(on.configChanged(), state({ config }));
  expect(out.unitStatus.name).toBe('blocked');
  expect(out.unitStatus.message).toContain('option "connector-log-level" is "verbose"');
  expect(out.unitStatus.message).toContain('option "connector-duration-period" is "5 minutes"');
  expect(out.unitStatus.message).toContain('option "wazuh-min-severity" is 16: use 0 to 15');
});

test('ISO 8601 durations: the forms the original accepts', () => {
  expect(['P1D', 'PT5M', 'PT24H', 'P2W', 'P1DT12H', 'PT30S'].filter((d) => !isIsoDuration(d))).toEqual([]);
  expect(['P', 'PT', 'P1DT', '5M', 'PT5X', 'P1H'].filter(isIsoDuration)).toEqual([]);
});

test('a unit that is not the leader waits and starts nothing; several units block', async () => {
  const follower = await ctx.run(on.configChanged(), state({ leader: false }));
  expect(follower.unitStatus).toEqual({ name: 'waiting', message: 'waiting for leadership: only the leader can read the connector id' });
  expect(plan(follower)).toEqual({});
  const scaled = await ctx.run(on.configChanged(), state({ plannedUnits: 2 }));
  expect(scaled.unitStatus).toEqual({ name: 'blocked', message: 'connector charm cannot have multiple units, scale down using the `juju scale` command' });
  expect(plan(scaled)).toEqual({});
});
