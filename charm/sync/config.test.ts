import { parseConfig, parseRecover, startTimestampToStreamId, formatConfigProblems } from './config.js';
import { readConnectorState, recovering, writeConnectorState } from './position.js';

const valid = {
  OPENCTI_URL: 'http://opencti:8080/',
  OPENCTI_TOKEN: 'local-secret-token',
  CONNECTOR_ID: '5a7c3d1e-2b4f-4a6c-8d9e-0f1a2b3c4d5e',
  CONNECTOR_TYPE: 'STREAM',
  CONNECTOR_NAME: 'Remote OpenCTI',
  CONNECTOR_SCOPE: 'synchronizer',
  CONNECTOR_CONFIDENCE_LEVEL: '80',
  CONNECTOR_LOG_LEVEL: 'info',
  REMOTE_OPENCTI_URL: 'https://remote.example',
  REMOTE_OPENCTI_SSL_VERIFY: 'True',
  REMOTE_OPENCTI_TOKEN: 'remote-secret-token',
};

describe('parseConfig', () => {
  test('given the seed README variables, it yields a config with defaults for the optional ones', () => {
    const r = parseConfig(valid);
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.local.url).toBe('http://opencti:8080');
    expect(r.config.remote.streamId).toBe('live');
    expect(r.config.remote.sslVerify).toBe(true);
    expect(r.config.remote.startFrom).toBeUndefined();
    expect(r.config.http.port).toBe(8080);
    expect(r.config.connector.scope).toEqual(['synchronizer']);
    expect(r.config.apply.mode).toBe('batch');
  });

  test.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
  ])('REMOTE_OPENCTI_SSL_VERIFY=%s is %s', (v, expected) => {
    const r = parseConfig({ ...valid, REMOTE_OPENCTI_SSL_VERIFY: v });
    expect(r.ok && r.config.remote.sslVerify).toBe(expected);
  });

  test('an empty environment lists every required variable in one result, without echoing values', () => {
    const r = parseConfig({});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const required = ['OPENCTI_URL', 'OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_TYPE', 'CONNECTOR_NAME', 'CONNECTOR_SCOPE', 'CONNECTOR_CONFIDENCE_LEVEL', 'CONNECTOR_LOG_LEVEL', 'REMOTE_OPENCTI_URL', 'REMOTE_OPENCTI_SSL_VERIFY', 'REMOTE_OPENCTI_TOKEN'];
    for (const name of required) expect(r.problems.some((p) => p.startsWith(`${name}: is required`))).toBe(true);
    expect(r.problems).toHaveLength(required.length);
    expect(formatConfigProblems(r.problems)).toContain(`${required.length} problems`);
  });

  test('invalid values are each named with what to fix', () => {
    const r = parseConfig({ ...valid, CONNECTOR_TYPE: 'EXTERNAL_IMPORT', CONNECTOR_ID: 'nope', CONNECTOR_LOG_LEVEL: 'verbose', REMOTE_OPENCTI_SSL_VERIFY: 'maybe', OPENCTI_URL: 'opencti', REMOTE_OPENCTI_START_TIMESTAMP: 'yesterday', SYNC_HTTP_PORT: '70000' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    expect(text).toMatch(/CONNECTOR_TYPE: must be STREAM/);
    expect(text).toMatch(/CONNECTOR_ID: must be a UUID/);
    expect(text).toMatch(/CONNECTOR_LOG_LEVEL: must be one of debug, info, warn, error/);
    expect(text).toMatch(/REMOTE_OPENCTI_SSL_VERIFY: must be true or false/);
    expect(text).toMatch(/OPENCTI_URL: must be an http\(s\) URL/);
    expect(text).toMatch(/REMOTE_OPENCTI_START_TIMESTAMP: must be an ISO date/);
    expect(text).toMatch(/SYNC_HTTP_PORT: must be at most 65535/);
    expect(r.problems).toHaveLength(7);
  });

  test('the write path: amqp by default (api on request); Works of at most SYNC_MAX_QUEUED_MESSAGES; per-event mode one message at a time', () => {
    const batch = parseConfig(valid);
    expect(batch.ok && batch.config.local.protocol).toBe('amqp');
    expect(batch.ok && batch.config.apply).toMatchObject({ batchMaxEvents: 500, maxQueuedMessages: 2000, queueMaxEvents: 2000, ordering: 'per-id', pollMs: 20 });
    expect(batch.ok && batch.config.unhealthyAfterMs).toBe(300_000);
    const api = parseConfig({ ...valid, CONNECTOR_QUEUE_PROTOCOL: ' API ' });
    expect(api.ok && api.config.local.protocol).toBe('api');
    const small = parseConfig({ ...valid, SYNC_MAX_QUEUED_MESSAGES: '100' });
    expect(small.ok && small.config.apply).toMatchObject({ batchMaxEvents: 100, maxQueuedMessages: 100 });
    const perEvent = parseConfig({ ...valid, SYNC_APPLY_MODE: 'per-event' });
    expect(perEvent.ok && perEvent.config.apply).toMatchObject({ batchMaxEvents: 1, maxQueuedMessages: 1, batchMaxWaitMs: 0 });
    const bad = parseConfig({ ...valid, CONNECTOR_QUEUE_PROTOCOL: 'http', SYNC_MAX_QUEUED_MESSAGES: '0', SYNC_ORDERING: 'random' });
    expect(bad.ok ? [] : bad.problems).toEqual([
      'CONNECTOR_QUEUE_PROTOCOL: must be amqp or api',
      'SYNC_ORDERING: must be per-id (or none, for demonstrations only)',
      'SYNC_MAX_QUEUED_MESSAGES: must be at least 1',
    ]);
  });

  test('cross-field checks are reported with every other problem in the first report', () => {
    const r = parseConfig({ ...valid, CONNECTOR_ID: 'nope', SYNC_RECONNECT_BASE_MS: '5000', SYNC_RECONNECT_MAX_MS: '1000', SYNC_LOCAL_RETRY_BASE_MS: '9000', SYNC_LOCAL_RETRY_MAX_MS: '100' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      'CONNECTOR_ID: must be a UUID (e.g. from `uuidgen`)',
      'SYNC_RECONNECT_MAX_MS: must be >= SYNC_RECONNECT_BASE_MS (1000 < 5000)',
      'SYNC_LOCAL_RETRY_MAX_MS: must be >= SYNC_LOCAL_RETRY_BASE_MS (100 < 9000)',
    ]);
    // Against a default: a base above the default maximum is named too.
    const base = parseConfig({ ...valid, SYNC_RECONNECT_BASE_MS: '120000' });
    expect(!base.ok && base.problems).toEqual(['SYNC_RECONNECT_MAX_MS: must be >= SYNC_RECONNECT_BASE_MS (60000 < 120000)']);
    // A maximum that is invalid on its own is reported as such, once.
    const bad = parseConfig({ ...valid, SYNC_RECONNECT_BASE_MS: '5000', SYNC_RECONNECT_MAX_MS: 'soon' });
    expect(!bad.ok && bad.problems).toEqual(['SYNC_RECONNECT_MAX_MS: must be an integer between 1 and 3600000']);
  });

  test('a start timestamp more than 5 minutes in the future is refused, naming the variable and why', () => {
    const now = Date.parse('2025-03-01T12:00:00Z');
    const future = parseConfig({ ...valid, CONNECTOR_LOG_LEVEL: 'loud', REMOTE_OPENCTI_START_TIMESTAMP: '5138-01-01' }, now);
    expect(future.ok).toBe(false);
    if (future.ok) return;
    expect(future.problems).toHaveLength(2);
    expect(future.problems[1]).toBe(
      'REMOTE_OPENCTI_START_TIMESTAMP: is 5138-01-01T00:00:00.000Z, more than 5 minutes in the future: the remote stream holds no events after now, so nothing would ever sync; use a past date, or leave it unset to copy the whole retained stream',
    );
    const asStreamId = parseConfig({ ...valid, REMOTE_OPENCTI_START_TIMESTAMP: `${now + 6 * 60_000}-0` }, now);
    expect(!asStreamId.ok && asStreamId.problems[0]).toMatch(/^REMOTE_OPENCTI_START_TIMESTAMP: is 2025-03-01T12:06:00.000Z, more than 5 minutes in the future/);
    const absurd = parseConfig({ ...valid, REMOTE_OPENCTI_START_TIMESTAMP: '99999999999999999-0' }, now);
    expect(!absurd.ok && absurd.problems[0]).toMatch(/^REMOTE_OPENCTI_START_TIMESTAMP: is stream id 99999999999999999-0, more than 5 minutes/);
    // Clock skew is tolerated.
    const skewed = parseConfig({ ...valid, REMOTE_OPENCTI_START_TIMESTAMP: String(now + 4 * 60_000) }, now);
    expect(skewed.ok && skewed.config.remote.startFrom).toBe(`${now + 4 * 60_000}-0`);
  });

  test('SYNC_MAX_EVENT_BYTES: 64 MiB by default, at least 1 MiB', () => {
    const r = parseConfig(valid);
    expect(r.ok && r.config.remote.maxEventBytes).toBe(64 * 1024 * 1024);
    const set = parseConfig({ ...valid, SYNC_MAX_EVENT_BYTES: String(1024 * 1024) });
    expect(set.ok && set.config.remote.maxEventBytes).toBe(1024 * 1024);
    const small = parseConfig({ ...valid, SYNC_MAX_EVENT_BYTES: '65536' });
    expect(!small.ok && small.problems).toEqual(['SYNC_MAX_EVENT_BYTES: must be at least 1048576']);
  });

  test('/healthz and /metrics listen on the loopback interface unless SYNC_HTTP_HOST says otherwise', () => {
    const r = parseConfig(valid);
    expect(r.ok && r.config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    const all = parseConfig({ ...valid, SYNC_HTTP_HOST: '0.0.0.0' });
    expect(all.ok && all.config.http.host).toBe('0.0.0.0');
  });

  test('token values never appear in problems', () => {
    const r = parseConfig({ ...valid, OPENCTI_TOKEN: '', REMOTE_OPENCTI_SSL_VERIFY: 'x' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join(' ')).not.toContain('remote-secret-token');
  });
});

describe('REMOTE_OPENCTI_START_TIMESTAMP', () => {
  test.each([
    ['2024-06-15T10:00:00Z', '1718445600000-0'],
    ['1718445600000', '1718445600000-0'],
    ['1718445600', '1718445600000-0'],
    ['1718445600000-3', '1718445600000-3'],
  ])('%s becomes %s', (input, id) => expect(startTimestampToStreamId(input)).toBe(id));
  test('an ISO date never gets "-0" appended to its text (pitfall 10)', () => {
    expect(startTimestampToStreamId('2024-06-15')).toBe(`${Date.parse('2024-06-15')}-0`);
    expect(startTimestampToStreamId('not a date')).toBeUndefined();
  });
});

describe('connector state', () => {
  test('reads pycti start_from and the legacy connectorLastEventId; empty or reset state is empty', () => {
    expect(readConnectorState(writeConnectorState('12-3', undefined))).toEqual({ kind: 'position', position: '12-3', source: 'start_from', recoverUntil: undefined });
    expect(readConnectorState('{"connectorLastEventId":"99-0"}')).toEqual({ kind: 'position', position: '99-0', source: 'connectorLastEventId', recoverUntil: undefined });
    expect(readConnectorState('').kind).toBe('empty');
    expect(readConnectorState(null).kind).toBe('empty');
    expect(readConnectorState('{"start_from":"2024-06-15"}').kind).toBe('unusable');
    expect(readConnectorState('[1]').kind).toBe('unusable');
  });
  test('recover_until as pycti writes it: a date, false or its "no" words; connectorStartTime is the legacy name', () => {
    expect(JSON.parse(writeConnectorState('0-0', '2026-12-03T08:00:00.000Z'))).toEqual({ start_from: '0-0', recover_until: '2026-12-03T08:00:00.000Z' });
    expect(readConnectorState(writeConnectorState('0-0', '2026-12-03T08:00:00.000Z'))).toMatchObject({ recoverUntil: '2026-12-03T08:00:00.000Z' });
    expect(readConnectorState('{"start_from":"5-0","recover_until":"2026-12-03T08:00:00Z"}')).toMatchObject({ position: '5-0', recoverUntil: '2026-12-03T08:00:00.000Z' });
    for (const none of ['false', '"no"', '"None"', '"False"', 'null']) expect(readConnectorState(`{"start_from":"5-0","recover_until":${none}}`)).toMatchObject({ kind: 'position', recoverUntil: undefined });
    expect(readConnectorState('{"connectorLastEventId":"5-0","connectorStartTime":"2026-12-03T08:00:00Z"}')).toMatchObject({ recoverUntil: '2026-12-03T08:00:00.000Z' });
    expect(readConnectorState('{"start_from":"5-0","recover_until":"soon"}')).toEqual({ kind: 'unusable', reason: 'connector state recover_until is not a date' });
  });
  test('a connection recovers only while the position is before recover_until (the platform recovers only when recover is after from)', () => {
    const until = '2026-12-03T08:00:00.000Z';
    const ms = Date.parse(until);
    expect(recovering('0-0', until)).toBe(true);
    expect(recovering(`${ms - 1}-7`, until)).toBe(true);
    expect(recovering(`${ms}-0`, until)).toBe(false);
    expect(recovering('0-0', undefined)).toBe(false);
  });
});

describe('REMOTE_OPENCTI_RECOVER', () => {
  test.each([
    ['now', { kind: 'now' }],
    ['NOW', { kind: 'now' }],
    ['off', { kind: 'off' }],
    ['False', { kind: 'off' }],
    ['none', { kind: 'off' }],
    ['2024-06-15T10:00:00Z', { kind: 'date', iso: '2024-06-15T10:00:00.000Z' }],
    ['2024-06-15', { kind: 'date', iso: '2024-06-15T00:00:00.000Z' }],
  ])('%s', (input, setting) => expect(parseRecover(input)).toEqual(setting));
  test('defaults to now; a bad value names the variable and the accepted values', () => {
    const base = { OPENCTI_URL: 'http://l', OPENCTI_TOKEN: 't', CONNECTOR_ID: '5a7c3d1e-2b4f-4a6c-8d9e-0f1a2b3c4d5e', CONNECTOR_TYPE: 'STREAM', CONNECTOR_NAME: 'sync', CONNECTOR_SCOPE: 'synchronizer', CONNECTOR_CONFIDENCE_LEVEL: '80', CONNECTOR_LOG_LEVEL: 'info', REMOTE_OPENCTI_URL: 'http://r', REMOTE_OPENCTI_SSL_VERIFY: 'true', REMOTE_OPENCTI_TOKEN: 'rt' };
    const ok = parseConfig(base);
    expect(ok.ok && ok.config.remote.recover).toEqual({ kind: 'now' });
    const bad = parseConfig({ ...base, REMOTE_OPENCTI_RECOVER: 'yesterday' });
    expect(bad).toEqual({ ok: false, problems: ['REMOTE_OPENCTI_RECOVER: must be `now`, an ISO date (2024-06-15T10:00:00Z) or `off` (got "yesterday")'] });
  });
});
