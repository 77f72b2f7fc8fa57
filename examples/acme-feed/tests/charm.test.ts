/**
 * opencti-acme-feed-connector in the in-process simulator (@juju-ts/ops-testing):
 * with its config, the opencti-connector relation and OpenCTI's token secret the charm is active
 * and runs the connector with the expected environment. Made by the scaffolder; grow it with the
 * charm.
 */
import fs from 'node:fs';
import { Context, on, type State, type StateInput } from '@juju-ts/ops-testing';
import Charm from '../src/charm.js';

const NAME = 'opencti-acme-feed-connector';
const ctx = new Context(Charm, { meta: fs.readFileSync(new URL('../charmcraft.yaml', import.meta.url), 'utf8') });

const OPENCTI_URL = 'http://opencti:8080';
const TOKEN_SECRET = 'secret:0123456789abcdefghij';

/** A value for every option without a default; the others keep their defaults. */
const CONFIG = {
  'acme-feed-api-key': 'acme-feed-api-key-value',
  'acme-feed-labels': 'acme-feed-labels-value',
};

/** The leader unit, its workload container up, related to OpenCTI, the token secret granted. */
function related(config: StateInput['config'] = CONFIG): StateInput {
  return {
    leader: true,
    config,
    containers: [{ name: NAME, canConnect: true }],
    relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: OPENCTI_URL, opencti_token: TOKEN_SECRET } }],
    secrets: [{ id: TOKEN_SECRET, content: { token: 'opencti-token' } }],
  };
}

function environment(state: State): Record<string, string> {
  const plan = state.containers.find((c) => c.name === NAME)!.plan as { services: Record<string, { environment: Record<string, string> }> };
  return plan.services.connector!.environment;
}

test('config, the opencti-connector relation and the token secret: active, with the environment', async () => {
  const out = await ctx.run(on.configChanged(), related());
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const published = out.relations[0]!.localAppData;
  expect(published).toMatchObject({ connector_charm_name: NAME, connector_type: 'EXTERNAL_IMPORT' });
  expect(environment(out)).toEqual({
    OPENCTI_URL,
    OPENCTI_TOKEN: 'opencti-token',
    CONNECTOR_ID: published.connector_id,
    CONNECTOR_NAME: NAME,
    CONNECTOR_TYPE: 'EXTERNAL_IMPORT',
    // Every option, as its CONSTANT_CASE variable: the value above, or the option's default.
    ACME_FEED_API_KEY: 'acme-feed-api-key-value',
    ACME_FEED_API_BASE_URL: 'https://feed.acme.example',
    CONNECTOR_SCOPE: 'acme',
    ACME_FEED_CREATE_INDICATORS: 'true',
    ACME_FEED_ENTRY_FILTER: 'type:ip|domain',
    ACME_FEED_LABELS: 'acme-feed-labels-value',
    ACME_FEED_MIN_SCORE: '40',
    ACME_FEED_TLP_LEVEL: 'amber',
    CONNECTOR_DURATION_PERIOD: 'PT6H',
    CONNECTOR_LOG_LEVEL: 'error',
  });
});

test('without its mandatory options the connector waits, naming them', async () => {
  const out = await ctx.run(on.configChanged(), related({}));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'missing configurations: acme-feed-api-key' });
});
