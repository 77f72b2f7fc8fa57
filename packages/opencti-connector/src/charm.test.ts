/**
 * OpenctiConnectorCharm, through the in-process simulator. The environment cases are the Python
 * original's own (tests/unit/test_connectors.py in canonical/opencti-operator): same config in,
 * same Pebble plan out. The connectors' option declarations (names, types, defaults, `optional`)
 * are reproduced as fixtures; descriptions are left out.
 */
import { stringify } from 'yaml';
import { Context, on, UncaughtCharmError, type State, type StateInput } from '@juju-ts/ops-testing';
import type { ConfigData, Framework } from '@juju-ts/ops';
import { envValue, OpenctiConnectorCharm } from './index.js';
import type { ConnectorType } from './index.js';

type Opt = { type: 'string' | 'int' | 'boolean' | 'float' | 'secret'; default?: string | number | boolean; optional?: boolean };

function meta(name: string, options: Record<string, Opt>): string {
  return stringify({
    name,
    containers: { [name]: { resource: `${name}-image` } },
    resources: { [`${name}-image`]: { type: 'oci-image' } },
    provides: { 'opencti-connector': { interface: 'opencti_connector', limit: 1 } },
    requires: { logging: { interface: 'loki_push_api', optional: true } },
    config: { options },
  });
}

function connectorClass(type: ConnectorType, style: 'json' | 'python' = 'json') {
  return class TestConnectorCharm extends OpenctiConnectorCharm {
    readonly connectorType = type;
    override get booleanStyle() {
      return style;
    }
  };
}

const FIXTURES: Record<string, { type: ConnectorType; style?: 'json' | 'python'; options: Record<string, Opt> }> = {
  'export-file-stix': {
    type: 'INTERNAL_EXPORT_FILE',
    options: {
      'connector-scope': { type: 'string', optional: false },
      'connector-log-level': { type: 'string', default: 'info', optional: false },
      'connector-confidence-level': { type: 'int', optional: true },
    },
  },
  urlhaus: {
    type: 'EXTERNAL_IMPORT',
    options: {
      'connector-confidence-level': { type: 'int', optional: false },
      'urlhaus-interval': { type: 'int', optional: false },
      'connector-log-level': { type: 'string', default: 'info', optional: false },
      'connector-scope': { type: 'string', default: 'urlhaus', optional: false },
      'urlhaus-csv-url': { type: 'string', default: 'https://urlhaus.abuse.ch/downloads/csv_recent/', optional: false },
      'urlhaus-import-offline': { type: 'boolean', default: true, optional: false },
      'urlhaus-threats-from-labels': { type: 'boolean', default: true, optional: false },
    },
  },
  nti: {
    type: 'EXTERNAL_IMPORT',
    options: {
      'nti-api-key': { type: 'string', optional: false },
      'nti-base-url': { type: 'string', optional: false },
      'nti-tlp': { type: 'string', optional: false },
      'connector-duration-period': { type: 'string', default: 'P1D', optional: false },
      'connector-log-level': { type: 'string', default: 'info', optional: false },
      'connector-queue-threshold': { type: 'int', default: 500, optional: true },
      'nti-create-domain': { type: 'boolean', optional: true },
      'nti-create-file': { type: 'boolean', optional: true },
      'nti-create-ioc': { type: 'boolean', optional: true },
      'nti-create-ip': { type: 'boolean', optional: true },
      'nti-create-url': { type: 'boolean', optional: true },
      'nti-package-type': { type: 'string', default: 'updated', optional: true },
    },
  },
  'virustotal-livehunt': {
    type: 'EXTERNAL_IMPORT',
    style: 'python',
    options: {
      'connector-scope': { type: 'string', optional: false },
      'virustotal-livehunt-notifications-api-key': { type: 'string', optional: false },
      'virustotal-livehunt-notifications-create-alert': { type: 'boolean', optional: false },
      'virustotal-livehunt-notifications-create-file': { type: 'boolean', optional: false },
      'virustotal-livehunt-notifications-create-yara-rule': { type: 'boolean', optional: false },
      'virustotal-livehunt-notifications-delete-notification': { type: 'boolean', optional: false },
      'virustotal-livehunt-notifications-filter-with-tag': { type: 'string', optional: false },
      'virustotal-livehunt-notifications-interval-sec': { type: 'int', optional: false },
      'virustotal-livehunt-notifications-max-age-days': { type: 'int', optional: false },
      'virustotal-livehunt-notifications-upload-artifact': { type: 'boolean', optional: false },
      'connector-log-level': { type: 'string', default: 'info', optional: false },
      'virustotal-livehunt-notifications-extensions': { type: 'string', optional: true },
      'virustotal-livehunt-notifications-max-file-size': { type: 'int', optional: true },
      'virustotal-livehunt-notifications-min-file-size': { type: 'int', optional: true },
      'virustotal-livehunt-notifications-min-positives': { type: 'int', optional: true },
    },
  },
  'cyber-campaign': {
    type: 'EXTERNAL_IMPORT',
    options: {
      'connector-log-level': { type: 'string', optional: false },
      'connector-run-and-terminate': { type: 'boolean', optional: false },
      'connector-scope': { type: 'string', optional: false },
      'cyber-monitor-from-year': { type: 'int', optional: false },
      'cyber-monitor-interval': { type: 'int', optional: false },
      'cyber-monitor-github-token': { type: 'string', optional: true },
    },
  },
};

const URL = 'https://opencti-endpoints.test-opencti-connector.svc/opencti';
const TOKEN = '00000000-0000-0000-0000-000000000000';
const SECRET_ID = 'secret:0123456789abcdefghij';

/** The original's ConnectorStateBuilder: leader, a reachable container, the relation with URL and token. */
function state(name: string, config: Record<string, string | number | boolean>, extra: Partial<StateInput> = {}): StateInput {
  return {
    model: { name: 'test-opencti-connector' },
    leader: true,
    containers: [{ name, canConnect: true }],
    relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_token: SECRET_ID, opencti_url: URL } }],
    secrets: [{ id: SECRET_ID, content: { token: TOKEN } }],
    config,
    ...extra,
  };
}

function contextFor(connector: string) {
  const f = FIXTURES[connector]!;
  const name = `opencti-${connector}-connector`;
  return { name, ctx: new Context(connectorClass(f.type, f.style), { meta: meta(name, f.options) }) };
}

const service = (s: State, name: string) => (s.containers.find((c) => c.name === name)!.plan as { services: Record<string, Record<string, unknown>> }).services.connector!;
const env = (s: State, name: string) => {
  const e = { ...(service(s, name).environment as Record<string, string>) };
  delete e.CONNECTOR_ID;
  return e;
};

const BASE_ENV = { OPENCTI_URL: URL, OPENCTI_TOKEN: TOKEN };

describe('the environment, as the original renders it (its own test cases)', () => {
  const cases: [string, string, Record<string, string | number | boolean>, Record<string, string>][] = [
    ['export-file-stix', 'export-file-stix', { 'connector-scope': 'application/vnd.oasis.stix+json', 'connector-confidence-level': 100, 'connector-log-level': 'error' }, {
      CONNECTOR_NAME: 'opencti-export-file-stix-connector', CONNECTOR_SCOPE: 'application/vnd.oasis.stix+json', CONNECTOR_CONFIDENCE_LEVEL: '100', CONNECTOR_LOG_LEVEL: 'error', CONNECTOR_TYPE: 'INTERNAL_EXPORT_FILE',
    }],
    ['export-file-stix-minimal (defaults; unset options skipped)', 'export-file-stix', { 'connector-scope': 'application/json' }, {
      CONNECTOR_LOG_LEVEL: 'info', CONNECTOR_NAME: 'opencti-export-file-stix-connector', CONNECTOR_SCOPE: 'application/json', CONNECTOR_TYPE: 'INTERNAL_EXPORT_FILE',
    }],
    ['urlhaus (boolean and string defaults)', 'urlhaus', { 'connector-log-level': 'error', 'connector-confidence-level': 40, 'urlhaus-interval': 3 }, {
      CONNECTOR_CONFIDENCE_LEVEL: '40', CONNECTOR_LOG_LEVEL: 'error', CONNECTOR_NAME: 'opencti-urlhaus-connector', CONNECTOR_SCOPE: 'urlhaus', CONNECTOR_TYPE: 'EXTERNAL_IMPORT',
      URLHAUS_CSV_URL: 'https://urlhaus.abuse.ch/downloads/csv_recent/', URLHAUS_IMPORT_OFFLINE: 'true', URLHAUS_INTERVAL: '3', URLHAUS_THREATS_FROM_LABELS: 'true',
    }],
    ['nti (int default)', 'nti', {
      'connector-log-level': 'info', 'connector-duration-period': 'P1D', 'nti-base-url': 'https://nti.nsfocusglobal.com/api/v2/', 'nti-api-key': 'ChangeMe', 'nti-tlp': 'white',
      'nti-create-ioc': true, 'nti-create-ip': true, 'nti-create-domain': true, 'nti-create-file': true, 'nti-create-url': true,
    }, {
      CONNECTOR_NAME: 'opencti-nti-connector', CONNECTOR_TYPE: 'EXTERNAL_IMPORT', CONNECTOR_LOG_LEVEL: 'info', CONNECTOR_QUEUE_THRESHOLD: '500', CONNECTOR_DURATION_PERIOD: 'P1D',
      NTI_BASE_URL: 'https://nti.nsfocusglobal.com/api/v2/', NTI_API_KEY: 'ChangeMe', NTI_TLP: 'white', NTI_CREATE_IOC: 'true', NTI_CREATE_IP: 'true', NTI_CREATE_DOMAIN: 'true',
      NTI_CREATE_FILE: 'true', NTI_CREATE_URL: 'true', NTI_PACKAGE_TYPE: 'updated',
    }],
    ['virustotal-livehunt (python boolean style)', 'virustotal-livehunt', {
      'connector-scope': 'StixFile,Indicator,Incident', 'connector-log-level': 'error', 'virustotal-livehunt-notifications-api-key': 'ChangeMe',
      'virustotal-livehunt-notifications-interval-sec': 300, 'virustotal-livehunt-notifications-create-alert': true, 'virustotal-livehunt-notifications-extensions': "'exe,dll'",
      'virustotal-livehunt-notifications-min-file-size': 1000, 'virustotal-livehunt-notifications-max-file-size': 52428800, 'virustotal-livehunt-notifications-max-age-days': 3,
      'virustotal-livehunt-notifications-min-positives': 5, 'virustotal-livehunt-notifications-create-file': true, 'virustotal-livehunt-notifications-upload-artifact': false,
      'virustotal-livehunt-notifications-create-yara-rule': true, 'virustotal-livehunt-notifications-delete-notification': false, 'virustotal-livehunt-notifications-filter-with-tag': '"mytag"',
    }, {
      CONNECTOR_NAME: 'opencti-virustotal-livehunt-connector', CONNECTOR_SCOPE: 'StixFile,Indicator,Incident', CONNECTOR_LOG_LEVEL: 'error', CONNECTOR_TYPE: 'EXTERNAL_IMPORT',
      VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_API_KEY: 'ChangeMe', VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_INTERVAL_SEC: '300', VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_CREATE_ALERT: 'True',
      VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_EXTENSIONS: "'exe,dll'", VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_MIN_FILE_SIZE: '1000', VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_MAX_FILE_SIZE: '52428800',
      VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_MAX_AGE_DAYS: '3', VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_MIN_POSITIVES: '5', VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_CREATE_FILE: 'True',
      VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_UPLOAD_ARTIFACT: 'False', VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_CREATE_YARA_RULE: 'True', VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_DELETE_NOTIFICATION: 'False',
      VIRUSTOTAL_LIVEHUNT_NOTIFICATIONS_FILTER_WITH_TAG: '"mytag"',
    }],
    ['cyber-campaign (empty strings kept, json false)', 'cyber-campaign', {
      'connector-scope': 'report', 'connector-run-and-terminate': false, 'connector-log-level': 'error', 'cyber-monitor-github-token': '', 'cyber-monitor-from-year': 2018, 'cyber-monitor-interval': 4,
    }, {
      CONNECTOR_NAME: 'opencti-cyber-campaign-connector', CONNECTOR_SCOPE: 'report', CONNECTOR_TYPE: 'EXTERNAL_IMPORT', CONNECTOR_RUN_AND_TERMINATE: 'false', CONNECTOR_LOG_LEVEL: 'error',
      CYBER_MONITOR_GITHUB_TOKEN: '', CYBER_MONITOR_FROM_YEAR: '2018', CYBER_MONITOR_INTERVAL: '4',
    }],
  ];
  test.each(cases)('%s', async (_label, connector, config, expected) => {
    const { name, ctx } = contextFor(connector);
    const out = await ctx.run(on.configChanged(), state(name, config));
    expect(out.unitStatus).toEqual({ name: 'active', message: '' });
    const svc = service(out, name);
    expect({ ...svc, environment: env(out, name) }).toEqual({
      command: 'bash /entrypoint.sh',
      environment: { ...BASE_ENV, ...expected },
      'on-failure': 'restart',
      override: 'replace',
      startup: 'enabled',
    });
  });

  test('proxies: both cases, OpenCTI host appended to NO_PROXY (the original test_proxy_environment)', async () => {
    const { name, ctx } = contextFor('export-file-stix');
    const out = await ctx.run(
      on.configChanged(),
      state(name, { 'connector-scope': 'application/vnd.oasis.stix+json', 'connector-confidence-level': 100 }, {
        proxy: { http: 'http://example.com', https: 'https://example.com', no: 'localhost,127.0.0.1' },
      }),
    );
    expect(env(out, name)).toEqual({
      ...BASE_ENV,
      CONNECTOR_CONFIDENCE_LEVEL: '100', CONNECTOR_LOG_LEVEL: 'info', CONNECTOR_NAME: 'opencti-export-file-stix-connector', CONNECTOR_SCOPE: 'application/vnd.oasis.stix+json',
      CONNECTOR_TYPE: 'INTERNAL_EXPORT_FILE', HTTPS_PROXY: 'https://example.com', HTTP_PROXY: 'http://example.com', https_proxy: 'https://example.com', http_proxy: 'http://example.com',
      NO_PROXY: 'localhost,127.0.0.1,opencti-endpoints.test-opencti-connector.svc', no_proxy: 'localhost,127.0.0.1,opencti-endpoints.test-opencti-connector.svc',
    });
  });

  test('NO_PROXY alone sets nothing (as the original), and numbers render as Python would', async () => {
    const { name, ctx } = contextFor('export-file-stix');
    const out = await ctx.run(on.configChanged(), state(name, { 'connector-scope': 's' }, { proxy: { no: 'localhost' } }));
    expect(Object.keys(env(out, name)).filter((k) => /proxy/i.test(k))).toEqual([]);
    expect([envValue(2, 'json'), envValue(0.5, 'json'), envValue(0.00001, 'json'), envValue(1.5e-7, 'json'), envValue(true, 'python')]).toEqual(['2', '0.5', '1e-05', '1.5e-07', 'True']);
  });
});

describe('the relation, the layer and the token', () => {
  const { name, ctx } = contextFor('export-file-stix');
  const cfg = { 'connector-scope': 'application/json' };

  test('the leader publishes name, type and a connector id generated once and kept', async () => {
    const first = await ctx.run(on.configChanged(), state(name, cfg));
    const data = first.relations[0]!.localAppData;
    expect(data).toMatchObject({ connector_charm_name: name, connector_type: 'INTERNAL_EXPORT_FILE' });
    expect(data.connector_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect((service(first, name).environment as Record<string, string>).CONNECTOR_ID).toBe(data.connector_id);
    const second = await ctx.run(on.updateStatus(), first);
    expect(second.relations[0]!.localAppData.connector_id).toBe(data.connector_id);
  });

  test('the layer: one service, replace, enabled, restart on failure, running', async () => {
    const out = await ctx.run(on.pebbleReady(name), state(name, cfg));
    const c = out.containers[0]!;
    expect(Object.keys(c.layers)).toEqual(['connector']);
    expect(c.layers.connector).toMatchObject({ summary: name, description: name });
    expect(c.serviceStatuses).toEqual({ connector: 'active' });
  });

  test('secret rotation: secret-changed re-renders the token from the latest revision', async () => {
    const first = await ctx.run(on.configChanged(), state(name, cfg));
    const rotated: StateInput = { ...first, secrets: [{ ...first.secrets[0]!, revisions: [...first.secrets[0]!.revisions, { revision: 2, content: { token: 'rotated' } }] }] };
    const out = await ctx.run(on.secretChanged(first.secrets[0]!), rotated);
    expect((service(out, name).environment as Record<string, string>).OPENCTI_TOKEN).toBe('rotated');
    expect(out.secrets[0]!.trackedRevision).toBe(2);
  });

  test('relation-broken: the unit waits for a new relation', async () => {
    const first = await ctx.run(on.configChanged(), state(name, cfg));
    const out = await ctx.run(on.relationBroken(first.relations[0]!), first);
    expect(out.unitStatus).toEqual({ name: 'waiting', message: 'missing opencti-connector integration' });
  });
});

describe('every status path', () => {
  const { name, ctx } = contextFor('export-file-stix');
  const cfg = { 'connector-scope': 'application/json' };
  const status = async (input: StateInput, event = on.configChanged()) => (await ctx.run(event, input)).unitStatus;

  test('planned units other than 1 → blocked, with the remedy', async () => {
    expect(await status({ ...state(name, cfg), plannedUnits: 2 })).toEqual({ name: 'blocked', message: 'connector charm cannot have multiple units, scale down using the `juju scale` command' });
  });
  test('required options unset → waiting, listing them', async () => {
    expect(await status(state(name, {}))).toEqual({ name: 'waiting', message: 'missing configurations: connector-scope' });
  });
  test('no relation → waiting', async () => {
    expect(await status({ ...state(name, cfg), relations: [] })).toEqual({ name: 'waiting', message: 'missing opencti-connector integration' });
  });
  test('container not reachable → waiting', async () => {
    expect(await status({ ...state(name, cfg), containers: [{ name, canConnect: false }] })).toEqual({ name: 'waiting', message: 'waiting for container ready' });
  });
  test('OpenCTI data not there yet → waiting', async () => {
    const s = state(name, cfg);
    expect(await status({ ...s, relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: URL } }] })).toEqual({ name: 'waiting', message: 'waiting for opencti-connector integration' });
  });
  test('OpenCTI data malformed → blocked, naming the field', async () => {
    const s = state(name, cfg);
    expect(await status({ ...s, relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: 'ftp://x', opencti_token: SECRET_ID } }] })).toEqual({
      name: 'blocked',
      message: 'opencti-connector data from opencti is invalid: opencti_url must be an http(s) URL (got "ftp://x")',
    });
  });
  test('token secret not granted → waiting, not a failed hook', async () => {
    expect(await status({ ...state(name, cfg), secrets: [] })).toEqual({ name: 'waiting', message: 'waiting for access to the opencti-connector token secret' });
  });
  test('a non-leader unit gets a status, not a traceback (the original crashes here)', async () => {
    expect(await status({ ...state(name, cfg), leader: false })).toEqual({ name: 'waiting', message: 'waiting for leadership: only the leader can read the connector id' });
  });
  test('config of the wrong type → blocked, naming the option', async () => {
    // A state Juju refuses at `juju config`: let it through to test the charm's own defence.
    const out = await ctx.run(on.configChanged(), state(name, { ...cfg, 'connector-confidence-level': 'high' as unknown as number }), { skipConsistencyChecks: true });
    expect(out.unitStatus).toEqual({
      name: 'blocked',
      message: 'Invalid config: option "connector-confidence-level" must be an integer (got "high")',
    });
  });
  test('the charm\'s own rules (a declared set) → blocked, naming the option', async () => {
    class Strict extends connectorClass('INTERNAL_EXPORT_FILE') {
      protected override validateConfig(config: ConfigData) {
        const level = config.get('connector-log-level');
        return ['debug', 'info', 'warn', 'error'].includes(String(level)) ? [] : [{ option: 'connector-log-level', problem: `must be one of debug, info, warn, error (got ${JSON.stringify(level)})` }];
      }
    }
    const strict = new Context(Strict, { meta: meta(name, FIXTURES['export-file-stix']!.options) });
    expect((await strict.run(on.configChanged(), state(name, { ...cfg, 'connector-log-level': 'loud' }))).unitStatus).toEqual({
      name: 'blocked',
      message: 'Invalid config: option "connector-log-level" must be one of debug, info, warn, error (got "loud")',
    });
  });
  test('a service that cannot start → blocked "failed to start connector, will retry"', async () => {
    const run = new Context(connectorClass('INTERNAL_EXPORT_FILE'), { meta: meta(name, FIXTURES['export-file-stix']!.options), containers: { mode: 'run' } });
    expect((await run.run(on.configChanged(), state(name, cfg))).unitStatus).toEqual({ name: 'blocked', message: 'failed to start connector, will retry' });
  });
});

describe('subclass hooks', () => {
  test('extra environment (a forced scope), another command, and checks', async () => {
    class Custom extends connectorClass('STREAM') {
      override get command() {
        return 'node /opt/app/main.js';
      }
      protected override extraEnvironment() {
        return { CONNECTOR_SCOPE: 'forced' };
      }
      protected override checks() {
        return { up: { level: 'alive' as const, http: { url: 'http://localhost:8080/healthz' } } };
      }
    }
    const name = 'opencti-custom-connector';
    const ctx = new Context(Custom, { meta: meta(name, FIXTURES['export-file-stix']!.options) });
    const out = await ctx.run(on.configChanged(), state(name, { 'connector-scope': 'ignored' }));
    const plan = out.containers[0]!.plan as { services: Record<string, { command: string; environment: Record<string, string> }>; checks: Record<string, unknown> };
    expect(plan.services.connector!.command).toBe('node /opt/app/main.js');
    expect(plan.services.connector!.environment.CONNECTOR_SCOPE).toBe('forced');
    expect(plan.checks.up).toMatchObject({ override: 'replace', level: 'alive', http: { url: 'http://localhost:8080/healthz' } });
  });

  test('a subclass that forgets its connector type fails loudly', async () => {
    class Broken extends OpenctiConnectorCharm {
      readonly connectorType = undefined as unknown as ConnectorType;
      constructor(fw: Framework) {
        super(fw);
      }
    }
    const name = 'opencti-broken-connector';
    const err = await new Context(Broken, { meta: meta(name, FIXTURES['export-file-stix']!.options) }).run(on.configChanged(), state(name, { 'connector-scope': 'x' })).catch((e) => e);
    expect(err).toBeInstanceOf(UncaughtCharmError);
  });

  test('knownLogLevel: a level the connector does not know becomes info, with a warning; a known one is kept', async () => {
    class Checked extends connectorClass('STREAM') {
      protected override extraEnvironment(env: Readonly<Record<string, string>>) {
        return { CONNECTOR_LOG_LEVEL: this.knownLogLevel(env.CONNECTOR_LOG_LEVEL) };
      }
    }
    const name = 'opencti-checked-connector';
    const ctx = new Context(Checked, { meta: meta(name, FIXTURES['export-file-stix']!.options) });
    const verbose = await ctx.run(on.configChanged(), state(name, { 'connector-scope': 's', 'connector-log-level': 'verbose' }));
    expect(env(verbose, name).CONNECTOR_LOG_LEVEL).toBe('info');
    expect(ctx.last!.logs).toContainEqual({ level: 'WARNING', message: 'CONNECTOR_LOG_LEVEL "verbose" is not one of debug, info, warn, error; using info' });
    const warn = await ctx.run(on.configChanged(), state(name, { 'connector-scope': 's', 'connector-log-level': 'warn' }));
    expect(env(warn, name).CONNECTOR_LOG_LEVEL).toBe('warn');
    expect(ctx.last!.logs.filter((l) => l.level === 'WARNING')).toEqual([]);
  });

  test('waitingFor: anything listed stops a running service and waits naming it; the leader still registers', async () => {
    class Needy extends connectorClass('STREAM') {
      protected override waitingFor(related: boolean) {
        return related ? ['the moon'] : ['OpenCTI', 'the moon'];
      }
    }
    const name = 'opencti-needy-connector';
    const ctx = new Context(Needy, { meta: meta(name, FIXTURES['export-file-stix']!.options) });
    const running = { name, canConnect: true, layers: { connector: { services: { connector: { override: 'replace', command: 'x', startup: 'enabled' } } } }, serviceStatuses: { connector: 'active' as const } };
    const out = await ctx.run(on.configChanged(), state(name, { 'connector-scope': 's' }, { containers: [running] }));
    expect(out.unitStatus).toEqual({ name: 'waiting', message: 'Waiting for: the moon' });
    expect(out.containers[0]!.serviceStatuses).toEqual({ connector: 'inactive' });
    expect(out.relations[0]!.localAppData).toMatchObject({ connector_charm_name: name, connector_type: 'STREAM' });
    const alone = await ctx.run(on.configChanged(), state(name, { 'connector-scope': 's' }, { relations: [] }));
    expect(alone.unitStatus).toEqual({ name: 'waiting', message: 'Waiting for: OpenCTI, the moon' });
  });
});
