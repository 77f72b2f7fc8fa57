/** The synchronizer charm in the in-process simulator: given a State, when a hook runs, then... */
import fs from 'node:fs';
import { Context, on, type State, type StateInput } from '@juju-ts/ops-testing';
import SynchronizerCharm, { HEALTH_HOST, HEALTH_PORT, STATUS_FILE } from './charm.js';
import { parseConfig } from './sync/config.js';

const NAME = 'opencti-synchronizer-connector';
const ctx = new Context(SynchronizerCharm, { meta: fs.readFileSync(new URL('../charmcraft.yaml', import.meta.url), 'utf8') });
const LOCAL_TOKEN = 'secret:0123456789abcdefghij';
const REMOTE_TOKEN = 'secret:abcdefghij0123456789';

function state(config: Record<string, string | number | boolean>, extra: Partial<StateInput> = {}): StateInput {
  return {
    leader: true,
    containers: [{ name: NAME, canConnect: true }],
    relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: 'http://opencti:8080', opencti_token: LOCAL_TOKEN } }],
    secrets: [
      { id: LOCAL_TOKEN, content: { token: 'local-token-value' } },
      { id: REMOTE_TOKEN, content: { token: 'remote-token-value' } },
    ],
    config,
    ...extra,
  };
}
const GOOD = { 'remote-opencti-url': 'https://remote.example.com', 'connector-confidence-level': 80, 'remote-opencti-token': REMOTE_TOKEN };
const plan = (s: State) => s.containers[0]!.plan as { services: Record<string, { command: string; environment: Record<string, string> }>; checks: Record<string, unknown> };

test('the workload gets the seed README environment, the remote token itself, and a health check', async () => {
  const out = await ctx.run(on.configChanged(), state(GOOD));
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const svc = plan(out).services.connector!;
  expect(svc.command).toBe('node /opt/opencti-synchronizer/sync.mjs');
  expect(svc.environment).toMatchObject({
    OPENCTI_URL: 'http://opencti:8080',
    OPENCTI_TOKEN: 'local-token-value',
    CONNECTOR_TYPE: 'STREAM',
    CONNECTOR_NAME: NAME,
    CONNECTOR_SCOPE: 'synchronizer',
    CONNECTOR_CONFIDENCE_LEVEL: '80',
    CONNECTOR_LOG_LEVEL: 'info',
    REMOTE_OPENCTI_URL: 'https://remote.example.com',
    REMOTE_OPENCTI_LIVE_STREAM_ID: 'live',
    REMOTE_OPENCTI_SSL_VERIFY: 'true',
    REMOTE_OPENCTI_TOKEN: 'remote-token-value',
    SYNC_HTTP_HOST: '127.0.0.1',
    SYNC_HTTP_PORT: String(HEALTH_PORT),
    SYNC_STATUS_FILE: STATUS_FILE,
  });
  expect(svc.environment.CONNECTOR_ID).toMatch(/^[0-9a-f-]{36}$/);
  expect(svc.environment).not.toHaveProperty('REMOTE_OPENCTI_START_TIMESTAMP');
  // The check and the listener agree on the loopback address: nothing outside the pod reaches /healthz.
  expect(HEALTH_HOST).toBe('127.0.0.1');
  expect(plan(out).checks['sync-healthy']).toMatchObject({ level: 'alive', http: { url: `http://127.0.0.1:${HEALTH_PORT}/healthz` } });
});

test('the synchronizer options reach the workload as the variables it reads, and it accepts them', async () => {
  const applicant = '7c3e9a6b-1d2f-4e5a-9b8c-0d1e2f3a4b5c';
  const options = { 'remote-opencti-recover': 'off', 'remote-opencti-listen-delete': false, 'remote-opencti-no-dependencies': true, 'remote-opencti-synchronized': false, 'remote-opencti-applicant-id': applicant };
  const out = await ctx.run(on.configChanged(), state({ ...GOOD, ...options }));
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const env = plan(out).services.connector!.environment;
  const parsed = parseConfig(env);
  expect(parsed.ok).toBe(true);
  if (!parsed.ok) return;
  expect(parsed.config.remote).toMatchObject({ recover: { kind: 'off' }, listenDelete: false, noDependencies: true });
  expect(parsed.config.local).toMatchObject({ synchronizedUpsert: false, applicantId: applicant });
  // By default: the initial copy, deletions, dependencies, perfect synchronization, the connector's user.
  const defaults = parseConfig(plan(await ctx.run(on.configChanged(), state(GOOD))).services.connector!.environment);
  expect(defaults.ok && [defaults.config.remote.recover, defaults.config.remote.listenDelete, defaults.config.remote.noDependencies, defaults.config.local.synchronizedUpsert, defaults.config.local.applicantId]).toEqual([{ kind: 'now' }, true, false, true, undefined]);
});

test('sync-http-port moves /healthz: the listener and the Pebble check agree on the port', async () => {
  const out = await ctx.run(on.configChanged(), state({ ...GOOD, 'sync-http-port': 18080 }));
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  expect(plan(out).services.connector!.environment.SYNC_HTTP_PORT).toBe('18080');
  expect(plan(out).checks['sync-healthy']).toMatchObject({ http: { url: 'http://127.0.0.1:18080/healthz' } });
});

describe('config is validated with the workload\'s own rules before anything starts', () => {
  test.each([
    [{ 'remote-opencti-url': 'remote.example.com' }, 'option "remote-opencti-url" must be an http(s) URL, e.g. https://opencti.example.com'],
    [{ 'remote-opencti-start-timestamp': 'yesterday' }, 'option "remote-opencti-start-timestamp" must be an ISO date (2024-06-15T10:00:00Z), epoch milliseconds/seconds, or a stream id <ms>-<seq> (got "yesterday")'],
    [{ 'connector-confidence-level': 150 }, 'option "connector-confidence-level" must be at most 100'],
    [{ 'remote-opencti-recover': 'yesterday' }, 'option "remote-opencti-recover" must be `now`, an ISO date (2024-06-15T10:00:00Z) or `off` (got "yesterday")'],
    [{ 'remote-opencti-applicant-id': 'bob' }, 'option "remote-opencti-applicant-id" must be the UUID of a user of the local platform (Settings > Security > Users)'],
    [{ 'connector-log-level': 'loud' }, 'option "connector-log-level" must be one of debug, info, warn, error'],
    [{ 'sync-http-port': 0 }, 'option "sync-http-port" must be a port from 1 to 65535: the Pebble check needs to know it (got 0)'],
    [{ 'remote-opencti-start-timestamp': '5138-01-01' }, 'option "remote-opencti-start-timestamp" is 5138-01-01T00:00:00.000Z, more than 5 minutes in the future: the remote stream holds no events after now, so nothing would ever sync; use a past date, or leave it unset to copy the whole retained stream'],
  ])('%j blocks, naming the option; no layer is added', async (bad, message) => {
    const out = await ctx.run(on.configChanged(), state({ ...GOOD, ...bad }));
    expect(out.unitStatus).toEqual({ name: 'blocked', message: `Invalid config: ${message}` });
    expect(out.containers[0]!.layers).toEqual({});
  });

  test('every problem is listed at once', async () => {
    const out = await ctx.run(on.configChanged(), state({ ...GOOD, 'remote-opencti-url': 'nope', 'connector-log-level': 'loud' }));
    expect(out.unitStatus.message).toMatch(/^Invalid config: option "connector-log-level" .*; option "remote-opencti-url" /);
  });

  test('a token secret the application cannot read blocks with the grant command; a secret without "token" too', async () => {
    const noGrant = await ctx.run(on.configChanged(), state(GOOD, { secrets: [{ id: LOCAL_TOKEN, content: { token: 'x' } }] }));
    expect(noGrant.unitStatus).toEqual({
      name: 'blocked',
      message: `Invalid config: option "remote-opencti-token" names a secret this application cannot read; grant it with: juju grant-secret ${REMOTE_TOKEN} ${NAME}`,
    });
    const noKey = await ctx.run(on.configChanged(), state(GOOD, { secrets: [{ id: LOCAL_TOKEN, content: { token: 'x' } }, { id: REMOTE_TOKEN, content: { password: 'x' } }] }));
    expect(noKey.unitStatus.message).toBe('Invalid config: option "remote-opencti-token" names a secret without a "token" key (it has: password)');
  });

  test('unset required options wait (the base class lists them), they do not block', async () => {
    const out = await ctx.run(on.configChanged(), state({ 'connector-confidence-level': 80 }));
    expect(out.unitStatus).toEqual({ name: 'waiting', message: 'missing configurations: remote-opencti-url, remote-opencti-token' });
  });

  test('no token value ever reaches a status or a log', async () => {
    await ctx.run(on.configChanged(), state({ ...GOOD, 'remote-opencti-url': 'nope' }));
    const everything = JSON.stringify([ctx.last!.logs, ctx.last!.unitStatusHistory, ctx.last!.toolCalls]);
    expect(everything).not.toMatch(/remote-token-value|local-token-value/);
  });
});

describe('update-status reports the workload', () => {
  const started = async (): Promise<State> => ctx.run(on.configChanged(), state(GOOD));
  const withContainer = (s: State, c: Partial<State['containers'][number]>): StateInput => ({ ...s, containers: [{ ...s.containers[0]!, ...c }] });

  test('the process\'s last fatal error, with the remedy', async () => {
    const s = await started();
    const statusFile = JSON.stringify({ state: 'failed', exitCode: 4, lastError: { message: 'remote answered 401 Unauthorized', at: 'now', kind: 'remote-auth' }, counters: { eventsApplied: 0 } });
    const out = await ctx.run(on.updateStatus(), withContainer(s, { files: { [STATUS_FILE]: statusFile } }));
    expect(out.unitStatus).toEqual({
      name: 'blocked',
      message: 'synchronizer stopped: remote answered 401 Unauthorized; the remote OpenCTI refused the stream; check remote-opencti-url, remote-opencti-live-stream-id and the remote-opencti-token secret',
    });
  });

  test('a failing health check, and progress once streaming', async () => {
    const s = await started();
    const down = await ctx.run(on.updateStatus(), withContainer(s, { checkStatuses: { 'sync-healthy': 'down' } }));
    expect(down.unitStatus).toEqual({ name: 'waiting', message: 'health check sync-healthy failing; see juju debug-log' });
    const streaming = JSON.stringify({ state: 'streaming', exitCode: null, lastError: null, counters: { eventsApplied: 1234 } });
    const ok = await ctx.run(on.updateStatus(), withContainer(s, { files: { [STATUS_FILE]: streaming } }));
    expect(ok.unitStatus).toEqual({ name: 'active', message: 'streaming, 1234 events applied' });
  });

  test('a workload that has kept retrying past its bound waits, with the error and what to check; the position is held', async () => {
    const s = await started();
    const stuck = JSON.stringify({ state: 'retrying', healthy: false, exitCode: null, lastError: { message: "delete of malware--x: {'name': 'INTERNAL_SERVER_ERROR'}", at: 'now', kind: 'local' }, counters: { eventsApplied: 10 } });
    const out = await ctx.run(on.updateStatus(), withContainer(s, { files: { [STATUS_FILE]: stuck } }));
    expect(out.unitStatus).toEqual({
      name: 'waiting',
      message: "synchronizer retrying for longer than its bound: delete of malware--x: {'name': 'INTERNAL_SERVER_ERROR'}; the position is held until the local OpenCTI applies the event: check its workers and RabbitMQ, and the error above",
    });
    const retryingWithinBound = JSON.stringify({ state: 'retrying', healthy: true, exitCode: null, lastError: null, counters: { eventsApplied: 10 } });
    expect((await ctx.run(on.updateStatus(), withContainer(s, { files: { [STATUS_FILE]: retryingWithinBound } }))).unitStatus).toEqual({ name: 'active', message: 'retrying' });
  });

  test('a last error that quotes both tokens and a URL password is redacted in the status, the logs and the hook tools\' argv', async () => {
    const withPassword = (s: StateInput): StateInput => ({ ...s, config: { ...s.config, 'remote-opencti-url': 'https://sync:url-pa55word@remote.example.com' } });
    const s = await ctx.run(on.configChanged(), withPassword(state(GOOD)));
    const echoed = 'local answered "bad token local-token-value"; remote answered "bad token remote-token-value" at https://sync:url-pa55word@remote.example.com (password url-pa55word)';
    for (const [exitCode, lastError] of [[3, echoed], [null, echoed]] as const) {
      const statusFile = JSON.stringify({ state: 'backoff', exitCode, lastError: { message: lastError, at: 'now', kind: 'local' }, counters: { eventsApplied: 0 } });
      const out = await ctx.run(on.updateStatus(), withContainer(s, { files: { [STATUS_FILE]: statusFile }, checkStatuses: { 'sync-healthy': 'down' } }));
      const shown = 'local answered "bad token [redacted]"; remote answered "bad token [redacted]" at https://[redacted]@remote.example.com (password [redacted])';
      expect(out.unitStatus.message).toContain(shown);
      const setStatus = ctx.last!.toolCalls.filter((c) => c.tool === 'status-set');
      expect(setStatus.map((c) => c.args.at(-1))).toEqual([out.unitStatus.message]);
      const everything = JSON.stringify([ctx.last!.logs, ctx.last!.unitStatusHistory, ctx.last!.toolCalls]);
      expect(everything).not.toMatch(/remote-token-value|local-token-value|url-pa55word/);
    }
  });

  test('a new revision of the remote token secret is rendered on secret-changed', async () => {
    const s = await started();
    const rotated: StateInput = { ...s, secrets: s.secrets.map((x) => (x.id === REMOTE_TOKEN ? { ...x, revisions: [...x.revisions, { revision: 2, content: { token: 'rotated-remote' } }] } : x)) };
    const out = await ctx.run(on.secretChanged({ id: REMOTE_TOKEN }), rotated);
    expect(plan(out).services.connector!.environment.REMOTE_OPENCTI_TOKEN).toBe('rotated-remote');
  });
});

test('logging: a related Loki unit gets a Pebble log target for the workload; its departure disables it', async () => {
  const loki = { id: 9, endpoint: 'logging', remoteAppName: 'loki', remoteUnitsData: { '0': { endpoint: JSON.stringify({ url: 'http://loki-0.loki-endpoints:3100/loki/api/v1/push' }) } } };
  const joined = await ctx.run(on.relationChanged(loki, { remoteUnit: 0 }), state(GOOD, { relations: [...(state(GOOD).relations ?? []), loki] }));
  const targets = (s: State) => (s.containers[0]!.plan as { 'log-targets': Record<string, { type: string; location: string; services: string[] }> })['log-targets'];
  expect(targets(joined)).toEqual({
    'loki/0': expect.objectContaining({ type: 'loki', location: 'http://loki-0.loki-endpoints:3100/loki/api/v1/push', services: ['all'] }),
  });
  const gone = { ...loki, remoteUnitsData: {} };
  const departed = await ctx.run(on.relationDeparted(gone, { remoteUnit: 0, departingUnit: 'loki/0' }), { ...joined, relations: [...joined.relations.filter((r) => r.id !== 9), gone] } as StateInput);
  expect(targets(departed)['loki/0']!.services).toEqual(['-all']);
});
