/**
 * Conformance of the local platform emulator with opencti-ingestion.md: each test names the section
 * (§) and the platform code the behaviour was read from. The emulator is the synchronizer's test
 * oracle, so these tests pin down that it is at least as strict as the platform.
 */
import { jest } from '@jest/globals';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { LocalPlatform, MAX_WORK_ERRORS, type ProfileName } from './index.js';

jest.setTimeout(30_000);

const AMQP = process.env.OPENCTI_TEST_AMQP_URL as string;
const CONNECTOR = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';
const FAST = { missingReferenceAttempts: 4, minPauseMs: 20, maxPauseMs: 40, maxAttempts: 100 };

let platform: LocalPlatform | undefined;
let conn: ChannelModel | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  conn = undefined;
  await platform?.stop();
  platform = undefined;
});

async function gql(p: LocalPlatform, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}, token = p.connectorToken) {
  const res = await fetch(`${p.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string; name?: string }[] };
}

const REGISTER = `mutation R($input: RegisterConnectorInput) { registerConnector(input: $input) { id connector_user_id config { connection { host port vhost use_ssl user pass } push push_routing push_exchange listen listen_routing listen_exchange } } }`;
const WORK_ADD = `mutation W($c: String!) { workAdd(connectorId: $c, friendlyName: "test") { id status } }`;
const EXPECT = `mutation E($id: ID!, $n: Int) { workEdit(id: $id) { addExpectations(expectations: $n) } }`;
const WORK = `query Q($id: ID!) { work(id: $id) { status completed_number tracking { import_expected_number import_processed_number } errors { message source } } }`;

interface Config {
  connection: { host: string; port: number; vhost: string; user: string; pass: string };
  push_exchange: string;
  push_routing: string;
  push: string;
}

async function start(profile: ProfileName, opts: { latencyMs?: number; connectorManagerMs?: number; retries?: typeof FAST } = {}): Promise<{ p: LocalPlatform; config: Config; ch: ConfirmChannel; publish(msg: Record<string, unknown>): Promise<void> }> {
  const p = await new LocalPlatform({ amqpUrl: AMQP, profile, latencyMs: opts.latencyMs ?? 2, retries: opts.retries ?? FAST, connectorManagerMs: opts.connectorManagerMs ?? 0 }).start();
  platform = p;
  const r = await gql(p, REGISTER, { input: { id: CONNECTOR, name: 'sync', type: 'STREAM', scope: ['sync'] } });
  const config = (r.data?.registerConnector as { config: Config }).config;
  const c = config.connection;
  conn = await amqp.connect(`amqp://${encodeURIComponent(c.user)}:${encodeURIComponent(c.pass)}@${c.host}:${c.port}/${c.vhost === '/' ? '' : encodeURIComponent(c.vhost)}`);
  const ch = await conn.createConfirmChannel();
  const publish = (msg: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) => ch.publish(config.push_exchange, config.push_routing, Buffer.from(JSON.stringify(msg)), { deliveryMode: 2 }, (e) => (e ? reject(e) : resolve())));
  return { p, config, ch, publish };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
const malware = (name: string, extra: Record<string, unknown> = {}) => ({ id: `malware--${name}`, type: 'malware', name, ...extra });
const event = (type: string, data: unknown, extra: Record<string, unknown> = {}, context?: unknown) => ({ type: 'event', update: true, content: b64({ id: '1-0', type, data, ...(context ? { context } : {}) }), ...extra });
const bundle = (objects: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'bundle', update: true, content: b64({ type: 'bundle', id: 'bundle--1', objects }), ...extra });

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function newWork(p: LocalPlatform, n: number): Promise<string> {
  const id = ((await gql(p, WORK_ADD, { c: CONNECTOR })).data?.workAdd as { id: string }).id;
  if (n > 0) await gql(p, EXPECT, { id, n });
  return id;
}
type WorkView = { status: string; completed_number: number; tracking: { import_expected_number: number | null; import_processed_number: number | null }; errors: { message: string; source: string }[] };
const work = async (p: LocalPlatform, id: string) => (await gql(p, WORK, { id })).data?.work as WorkView;

describe('§5 registerConnector', () => {
  test('creates the connector\'s push and listen queues on the broker and hands out the real connection and routing', async () => {
    const { p, config, ch } = await start('7.x');
    expect(config.connection).toMatchObject({ host: '127.0.0.1', port: Number(new URL(AMQP).port), user: new URL(AMQP).username });
    expect(config.push_exchange).toBe(`${p.queues.prefix}amqp.worker.exchange`);
    expect(config.push_routing).toBe(`${p.queues.prefix}push_routing_${CONNECTOR}`);
    expect((await ch.checkQueue(config.push)).queue).toBe(`${p.queues.prefix}push_${CONNECTOR}`);
  });
});

describe('§1 stixBundlePush queues; it does not apply', () => {
  test('it answers true with a new Work before anything is applied, and drops the request headers', async () => {
    const { p } = await start('6.9');
    await gql(p, `mutation C($c: String!, $b: String!) { stixBundlePush(connectorId: $c, bundle: $b) }`, { c: CONNECTOR, b: JSON.stringify({ type: 'bundle', objects: [malware('old', { description: 'd' })] }) });
    await until('old applied', () => p.store.get('malware--old'));
    await p.workers.pause();
    const push = await gql(
      p,
      `mutation C($c: String!, $b: String!) { stixBundlePush(connectorId: $c, bundle: $b) }`,
      { c: CONNECTOR, b: JSON.stringify({ type: 'bundle', objects: [malware('new')] }) },
      { 'previous-standard': 'malware--old', 'synchronized-upsert': 'true' },
    );
    expect(push.data?.stixBundlePush).toBe(true);
    expect(p.store.get('malware--new')).toBeUndefined(); // queued, not applied
    expect([...p.works.docs.values()].length).toBe(2);
    expect(await p.queues.depth(p.queues.pushQueue(CONNECTOR))).toBe(1);
    await p.workers.resume();
    await until('new applied', () => p.store.get('malware--new'));
    // previous-standard did not reach the worker: a second object, not an id change.
    expect(p.store.get('malware--old')).toBeDefined();
  });

  test('does not exist on 5.12', async () => {
    const { p } = await start('5.12');
    const r = await gql(p, `mutation C($c: String!, $b: String!) { stixBundlePush(connectorId: $c, bundle: $b) }`, { c: CONNECTOR, b: '{}' });
    expect(r.errors?.[0]?.message).toMatch(/Cannot query field "stixBundlePush"/);
  });
});

describe('§2 workers apply messages concurrently, with headers from message fields only', () => {
  test('three consumers, prefetch 1: messages finish out of the order they were queued', async () => {
    const { p, publish } = await start('7.x', { latencyMs: 30 });
    const ids = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const [i, id] of ids.entries()) await publish(event('create', malware(id), { event_id: `${i + 1}-0` }));
    await until('all applied', () => p.applied.size === 30);
    expect(p.workers.stats.maxBusy).toBe(3);
    const order = [...p.applied].map((x) => x.split(' ')[1]?.replace('malware--', ''));
    expect(order).not.toEqual(ids);
  });

  test('synchronized, previous_standard and event_id travel as message fields', async () => {
    const { p, publish } = await start('6.9');
    await publish(event('create', malware('a', { description: 'x', aliases: ['one'] }), { event_id: '1000-0' }));
    await until('a', () => p.store.get('malware--a'));
    // Without synchronized: values removed remotely stay (pitfall 6).
    await publish(event('update', malware('a', { aliases: ['two'] }), { event_id: '2000-0' }));
    await until('aliases added', () => (p.store.get('malware--a')?.aliases as string[]).length === 2);
    expect(p.store.get('malware--a')?.description).toBe('x');
    // With synchronized: replaced, removed ones removed.
    await publish(event('update', malware('a', { aliases: ['three'] }), { event_id: '3000-0', synchronized: true }));
    await until('replaced', () => JSON.stringify(p.store.get('malware--a')?.aliases) === '["three"]');
    expect(p.store.get('malware--a')).not.toHaveProperty('description');
    // An older event does not overwrite a newer one (opencti-event-id, upsert-utils.js#isOutdatedUpdate).
    await publish(event('update', malware('a', { aliases: ['stale'] }), { event_id: '2500-0', synchronized: true }));
    await until('stale processed', () => p.applied.has('2500-0 malware--a'));
    expect(p.store.get('malware--a')?.aliases).toEqual(['three']);
    // previous_standard: an id change updates the object instead of creating a second one.
    await publish(event('update', malware('b'), { event_id: '4000-0', previous_standard: 'malware--a', synchronized: true }));
    await until('renamed', () => p.store.get('malware--b'));
    expect(p.store.get('malware--a')).toBeUndefined();
  });

  test('5.12 workers read no event_id or previous_standard', async () => {
    const { p, publish } = await start('5.12');
    await publish(bundle([malware('a', { aliases: ['new'] })], { event_id: '3000-0', synchronized: true }));
    await until('a', () => p.store.get('malware--a'));
    await publish(bundle([malware('a', { aliases: ['old'] })], { event_id: '1000-0', synchronized: true }));
    await until('older applied anyway', () => JSON.stringify(p.store.get('malware--a')?.aliases) === '["old"]');
    await publish(bundle([malware('b')], { previous_standard: 'malware--a' }));
    await until('b', () => p.store.get('malware--b'));
    expect(p.store.get('malware--a')).toBeDefined();
  });

  test('a bundle of several objects is split, its pieces requeued behind what is queued, with their expectations', async () => {
    const { p, publish } = await start('7.x');
    const w = await newWork(p, 0);
    const rel = { id: 'relationship--r', type: 'relationship', relationship_type: 'uses', source_ref: 'malware--s', target_ref: 'malware--t' };
    await publish(bundle([rel, malware('s'), malware('t'), { id: 'relationship--broken', type: 'relationship', relationship_type: 'uses' }], { work_id: w }));
    await until('complete', async () => (await work(p, w)).status === 'complete');
    const view = await work(p, w);
    // Three compatible objects: three expectations, three reports; the broken relationship vanished.
    expect(view.tracking).toEqual({ import_expected_number: 3, import_processed_number: 3 });
    expect(p.store.get('relationship--r')).toBeDefined();
    expect(p.store.get('relationship--broken')).toBeUndefined();
    expect(p.workers.stats.delivered).toBe(4);
  });
});

describe('§2 §8 event operations by version', () => {
  test('7.x: delete and merge event messages are applied', async () => {
    const { p, publish } = await start('7.x');
    for (const n of ['t', 's', 'x']) await publish(event('create', malware(n)));
    await until('created', () => p.store.size === 3);
    await publish(event('merge', malware('t'), {}, { sources: [{ id: 'malware--s' }] }));
    await publish(event('delete', malware('x')));
    await until('applied', () => p.store.size === 1);
    expect(p.store.get('malware--s')?.id).toBe('malware--t');
  });

  test('6.9: they fail in the worker (opencti_operation "event"), reported to the Work, the message acked', async () => {
    const { p, publish } = await start('6.9');
    await publish(event('create', malware('x')));
    await until('x', () => p.store.get('malware--x'));
    const w = await newWork(p, 1);
    await publish(event('delete', malware('x'), { work_id: w }));
    await until('complete', async () => (await work(p, w)).status === 'complete');
    expect((await work(p, w)).errors[0]?.message).toBe("('Not supported opencti_operation', {'operation': 'event'})");
    expect(p.store.get('malware--x')).toBeDefined();
    expect(p.workers.stats.nacked).toBe(0);
  });

  test('6.9: a delete as a bundle operation works', async () => {
    const { p, publish } = await start('6.9');
    await publish(event('create', malware('x')));
    await until('x', () => p.store.get('malware--x'));
    await publish(bundle([{ ...malware('x'), opencti_operation: 'delete' }]));
    await until('deleted', () => p.store.get('malware--x') === undefined);
  });

  test('5.12: an event message is applied by the worker but its success is never reported to the Work', async () => {
    const { p, publish } = await start('5.12');
    const w = await newWork(p, 1);
    await publish(event('create', malware('x'), { work_id: w }));
    await until('x', () => p.store.get('malware--x'));
    await new Promise((r) => setTimeout(r, 100));
    expect((await work(p, w)).tracking.import_processed_number).toBeNull();
  });
});

describe('§2 §8 failures: the worker acks everything', () => {
  test('a missing reference is retried (4 attempts) and applied if the endpoint arrives meanwhile', async () => {
    const { p, publish } = await start('7.x', { latencyMs: 0 });
    const rel = { id: 'relationship--r', type: 'relationship', relationship_type: 'uses', source_ref: 'malware--a', target_ref: 'malware--b' };
    await publish(event('create', malware('a')));
    await publish(event('create', rel));
    await new Promise((r) => setTimeout(r, 30));
    await publish(event('create', malware('b')));
    await until('r', () => p.store.get('relationship--r'));
  });

  test('a failed write is reported to the Work with the item as source; without a work_id it leaves no trace', async () => {
    const { p, publish } = await start('7.x', { latencyMs: 0 });
    const rel = { id: 'relationship--r', type: 'relationship', relationship_type: 'uses', source_ref: 'malware--nope', target_ref: 'malware--nope2' };
    await publish(event('create', rel));
    const w = await newWork(p, 1);
    await publish(event('create', rel, { work_id: w }));
    await until('complete', async () => (await work(p, w)).status === 'complete');
    const view = await work(p, w);
    expect(view.errors).toHaveLength(1);
    expect(view.errors[0]?.message).toMatch(/^\{'name': 'MISSING_REFERENCE_ERROR'/);
    expect(JSON.parse(view.errors[0]?.source ?? '{}')).toEqual(rel);
    // The message without a work_id goes through its own retries on another worker, and may
    // finish after the Work completes: wait for its ack rather than assume it came first.
    await until('both messages acked', () => p.workers.stats.acked >= 2);
    expect(p.store.get('relationship--r')).toBeUndefined();
    expect(p.workers.stats).toMatchObject({ acked: 2, nacked: 0 });
  });

  test('only an unreadable message is nacked; the emulator keeps it for tests', async () => {
    const { p, ch, config } = await start('7.x');
    ch.publish(config.push_exchange, config.push_routing, Buffer.from('{not json'));
    ch.publish(config.push_exchange, config.push_routing, Buffer.from(JSON.stringify({ type: 'event' })));
    await ch.waitForConfirms();
    await until('nacked', () => p.workers.stats.nacked === 2);
    expect(p.deadLetters.map((d) => d.body).sort()).toEqual(['{"type":"event"}', '{not json']);
  });
});

describe('Works (domain/work.js)', () => {
  test('complete exactly when processed reaches expected; at most 100 errors kept', async () => {
    // 105 missing references, each tried 4 times: pauses of 1-2 ms (the Work's count and errors
    // are the same whatever they are; FAST's 20-40 ms made this test wait 3 s).
    const { p, publish } = await start('7.x', { latencyMs: 0, retries: { ...FAST, minPauseMs: 1, maxPauseMs: 2 } });
    const w = await newWork(p, MAX_WORK_ERRORS + 5);
    for (let i = 0; i < MAX_WORK_ERRORS + 5; i++) await publish(event('create', { id: `relationship--${i}`, type: 'relationship', source_ref: 'malware--x', target_ref: 'malware--y' }, { work_id: w }));
    await until('complete', async () => (await work(p, w)).status === 'complete', 20_000);
    const view = await work(p, w);
    expect(view.completed_number).toBe(MAX_WORK_ERRORS + 5);
    expect(view.errors).toHaveLength(MAX_WORK_ERRORS);
  });

  test('the connector manager closes older unfinished Works once a newer one reports; their remaining messages are dropped (6.9)', async () => {
    const { p, publish } = await start('6.9', { latencyMs: 0 });
    const older = await newWork(p, 2);
    await new Promise((r) => setTimeout(r, 5));
    const newer = await newWork(p, 1);
    await publish(event('create', malware('n'), { work_id: newer }));
    await until('newer reported', async () => (await work(p, newer)).status === 'complete');
    expect(p.runConnectorManager()).toEqual([older]);
    await publish(event('create', malware('o'), { work_id: older }));
    await until('processed', () => p.workers.stats.acked === 2);
    expect(p.store.get('malware--o')).toBeUndefined();
    expect((await work(p, older)).status).toBe('complete');
  });

  test('two Works created in the same millisecond are one', async () => {
    const { p } = await start('7.x');
    const c = p.connectors.get(CONNECTOR) as { id: string };
    const before = Date.now();
    let a = p.works.create(c.id, 'u', 'a', true);
    let b = p.works.create(c.id, 'u', 'b', true);
    while (Date.now() === before) {
      a = p.works.create(c.id, 'u', 'a', true);
      b = p.works.create(c.id, 'u', 'b', true);
    }
    if (a.timestamp === b.timestamp) expect(a.id).toBe(b.id);
  });
});

describe('§4 direct GraphQL calls', () => {
  test('7.x: synchronized-upsert from a user without BYPASS fails its authentication; 6.9 takes it', async () => {
    const seven = await start('7.x');
    const r7 = await gql(seven.p, 'query { about { version } }', {}, { 'synchronized-upsert': 'true' });
    expect(r7.errors?.[0]?.name).toBe('AUTH_REQUIRED');
    await seven.p.stop();
    await conn?.close();
    platform = undefined;
    const six = await start('6.9');
    const r6 = await gql(six.p, 'query { about { version } }', {}, { 'synchronized-upsert': 'true' });
    expect(r6.data?.about).toEqual({ version: '6.9.28' });
  });

  test('deleteConnector deletes its queues: a message for it is unroutable', async () => {
    const { p, ch, config } = await start('7.x');
    await gql(p, 'mutation D($id: ID!) { deleteConnector(id: $id) }', { id: CONNECTOR });
    const returned = new Promise<boolean>((resolve) => {
      ch.once('return', () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    ch.publish(config.push_exchange, config.push_routing, Buffer.from('{}'), { mandatory: true });
    expect(await returned).toBe(true);
  });
});
