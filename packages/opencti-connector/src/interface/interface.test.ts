/**
 * The opencti-connector interface: each side's data against its schema, then a provider (a charm
 * on OpenctiConnectorCharm) and a requirer (an OpenCTI stand-in on OpenctiConnectorRequirer)
 * related in the model simulator, exchanging data until the provider is active.
 */
import { ModelSim } from '@juju-ts/ops-testing';
import { checkDatabag, ProviderAppDataSchema, RequirerAppDataSchema } from './index.js';

describe('provider application databag', () => {
  test.each([
    [{ connector_charm_name: 'opencti-synchronizer-connector', connector_type: 'STREAM', connector_id: '0c7e9a43-6d1f-4b9a-9e65-5d0c6b1c2a77' }],
    [{ connector_charm_name: 'connector-charm-name', connector_type: 'EXTERNAL_IMPORT' }],
  ])('valid: %j', (data) => {
    expect(checkDatabag(ProviderAppDataSchema, data)).toMatchObject({ ok: true });
  });
  test.each([
    [{ connector_type: 'STREAM' }, ['connector_charm_name is missing']],
    [{ connector_charm_name: 'x', connector_type: 'stream' }, ['connector_type must be one of EXTERNAL_IMPORT, INTERNAL_ENRICHMENT, INTERNAL_IMPORT_FILE, INTERNAL_EXPORT_FILE, STREAM (got "stream")']],
    [{ connector_charm_name: 'Bad Name', connector_type: 'STREAM' }, ['connector_charm_name must be a charm name (lower-case letters, digits and hyphens) (got "Bad Name")']],
    [{ connector_charm_name: 'x', connector_type: 'STREAM', connector_id: '42' }, ['connector_id must be a UUID (got "42")']],
  ])('invalid: %j', (data, problems) => {
    expect(checkDatabag(ProviderAppDataSchema, data as Record<string, string>)).toEqual({ ok: false, problems });
  });
});

describe('requirer application databag', () => {
  test.each([
    [{ opencti_url: 'http://opencti-endpoints.stg-opencti.svc:8080', opencti_token: 'secret:d0v8h0u5nq3s7a5lf9qg' }],
    [{ opencti_url: 'https://opencti.example.com/opencti', opencti_token: 'secret://00000000-0000-4000-8000-000000000001/d0v8h0u5nq3s7a5lf9qg' }],
  ])('valid: %j', (data) => {
    expect(checkDatabag(RequirerAppDataSchema, data)).toMatchObject({ ok: true });
  });
  test.each([
    [{ opencti_url: 'opencti:8080', opencti_token: 'secret:d0v8h0u5nq3s7a5lf9qg' }, ['opencti_url must be an http(s) URL (got "opencti:8080")']],
    [{ opencti_url: 'http://x', opencti_token: 'my-token-in-clear' }, ['opencti_token must be a Juju secret id (secret:...) (got "my-token-in-clear")']],
    [{ opencti_url: 'http://x' }, ['opencti_token is missing']],
  ])('invalid: %j', (data, problems) => {
    expect(checkDatabag(RequirerAppDataSchema, data as Record<string, string>)).toEqual({ ok: false, problems });
  });
});

test('a provider and a requirer related in the model exchange data until the provider is active', async () => {
  const model = new ModelSim();
  try {
    await model.deploy({ charm: 'examples/opencti-lite', app: 'opencti', config: { url: 'http://opencti:8080' } });
    await model.deploy({ charm: 'examples/connector-lite', app: 'my-connector' });
    const id = await model.integrate('opencti', 'my-connector');
    const data = model.relationData(id);
    expect(checkDatabag(ProviderAppDataSchema, data.apps['my-connector']!)).toMatchObject({ ok: true, value: { connector_charm_name: 'connector-lite', connector_type: 'STREAM' } });
    expect(checkDatabag(RequirerAppDataSchema, data.apps['opencti']!)).toMatchObject({ ok: true, value: { opencti_url: 'http://opencti:8080' } });
    expect(model.status().applications['my-connector']!.units['my-connector/0']!.status).toEqual({ name: 'active', message: '' });
    // The token stays in the secret: nothing in either databag is the token itself.
    const token = model.secretInfo(data.apps['opencti']!.opencti_token!).latest.token!;
    expect(JSON.stringify(data)).not.toContain(token);
  } finally {
    await model.destroy();
  }
});
