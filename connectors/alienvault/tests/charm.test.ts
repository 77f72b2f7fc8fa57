/**
 * opencti-alienvault-connector in the in-process simulator (@juju-ts/ops-testing):
 * with its config, the opencti-connector relation and OpenCTI's token secret the leader runs the
 * connector with exactly the expected Pebble plan; a unit that is not the leader, or one of
 * several, starts nothing. Made by the scaffolder; grow it with the charm.
 *
 * Ported from canonical/opencti-operator `connectors/alienvault` (commit 35f17942e3d3).
 * The cases are the original's own (its tests/unit/test_connectors.py): the same config,
 * relation data, token secret and proxy settings in, exactly the same Pebble plan out;
 * CONNECTOR_ID is the id the charm published.
 */
import fs from 'node:fs';
import { Context, on, type State, type StateInput } from '@juju-ts/ops-testing';
import Charm from '../src/charm.js';

const NAME = 'opencti-alienvault-connector';
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
    name: 'alienvault',
    config: {
      'connector-scope': 'alienvault',
      'connector-log-level': 'error',
      'connector-duration-period': 'PT30M',
      'alienvault-base-url': 'https://otx.alienvault.com',
      'alienvault-api-key': 'ChangeMe',
      'alienvault-tlp': 'White',
      'alienvault-create-observables': true,
      'alienvault-create-indicators': true,
      'alienvault-pulse-start-timestamp': '2022-05-01T00:00:00',
      'alienvault-report-type': 'threat-report',
      'alienvault-report-status': 'New',
      'alienvault-guess-malware': false,
      'alienvault-guess-cve': false,
      'alienvault-excluded-pulse-indicator-types': 'FileHash-MD5,FileHash-SHA1',
      'alienvault-enable-relationships': true,
      'alienvault-enable-attack-patterns-indicates': false,
      'alienvault-interval-sec': 1800,
      'alienvault-default-x-opencti-score': 50,
      'alienvault-x-opencti-score-ip': '60',
      'alienvault-x-opencti-score-domain': '70',
      'alienvault-x-opencti-score-hostname': '75',
      'alienvault-x-opencti-score-email': '70',
      'alienvault-x-opencti-score-file': '85',
      'alienvault-x-opencti-score-url': '80',
      'alienvault-x-opencti-score-mutex': '60',
      'alienvault-x-opencti-score-cryptocurrency-wallet': '80',
    },
    environment: {
      OPENCTI_URL: 'https://opencti-endpoints.test-opencti-connector.svc/opencti',
      OPENCTI_TOKEN: '00000000-0000-0000-0000-000000000000',
      CONNECTOR_NAME: 'opencti-alienvault-connector',
      CONNECTOR_SCOPE: 'alienvault',
      CONNECTOR_LOG_LEVEL: 'error',
      CONNECTOR_DURATION_PERIOD: 'PT30M',
      CONNECTOR_TYPE: 'EXTERNAL_IMPORT',
      ALIENVAULT_BASE_URL: 'https://otx.alienvault.com',
      ALIENVAULT_API_KEY: 'ChangeMe',
      ALIENVAULT_TLP: 'White',
      ALIENVAULT_CREATE_OBSERVABLES: 'true',
      ALIENVAULT_CREATE_INDICATORS: 'true',
      ALIENVAULT_PULSE_START_TIMESTAMP: '2022-05-01T00:00:00',
      ALIENVAULT_REPORT_TYPE: 'threat-report',
      ALIENVAULT_REPORT_STATUS: 'New',
      ALIENVAULT_GUESS_MALWARE: 'false',
      ALIENVAULT_GUESS_CVE: 'false',
      ALIENVAULT_EXCLUDED_PULSE_INDICATOR_TYPES: 'FileHash-MD5,FileHash-SHA1',
      ALIENVAULT_ENABLE_RELATIONSHIPS: 'true',
      ALIENVAULT_ENABLE_ATTACK_PATTERNS_INDICATES: 'false',
      ALIENVAULT_INTERVAL_SEC: '1800',
      ALIENVAULT_DEFAULT_X_OPENCTI_SCORE: '50',
      ALIENVAULT_X_OPENCTI_SCORE_IP: '60',
      ALIENVAULT_X_OPENCTI_SCORE_DOMAIN: '70',
      ALIENVAULT_X_OPENCTI_SCORE_HOSTNAME: '75',
      ALIENVAULT_X_OPENCTI_SCORE_EMAIL: '70',
      ALIENVAULT_X_OPENCTI_SCORE_FILE: '85',
      ALIENVAULT_X_OPENCTI_SCORE_URL: '80',
      ALIENVAULT_X_OPENCTI_SCORE_MUTEX: '60',
      ALIENVAULT_X_OPENCTI_SCORE_CRYPTOCURRENCY_WALLET: '80',
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
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'missing configurations: alienvault-api-key, alienvault-interval-sec, connector-scope' });
  expect(plan(out)).toEqual({});
});
