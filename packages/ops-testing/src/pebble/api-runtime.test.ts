// POST /v1/signals, GET /v1/logs and /v1/notices, raw (P:internals/daemon/api_signals.go,
// api_logs.go, api_notices.go; internals/overlord/state/notices.go).
import { FakeClock } from './clock.js';
import { emulatorFixture, eventually, postJson, rawRequest, type RawReply } from './test-helpers.js';

const pebble = emulatorFixture();
const LAYER = 'services:\n  a:\n    override: replace\n    command: a\n  b:\n    override: replace\n    command: b\n';

async function started(clock = new FakeClock()) {
  const { emu } = await pebble.start({ clock });
  emu.seed({ layers: { l: LAYER }, serviceStatuses: { a: 'active', b: 'active' } });
  const get = (p: string) => rawRequest(emu.socketPath, 'GET', p);
  const post = (p: string, body: unknown) => postJson(emu.socketPath, p, body);
  return { emu, clock, get, post };
}
const result = (r: RawReply) => (r.json as { result: unknown }).result;
const message = (r: RawReply) => (r.json as { result: { message: string } }).result.message;

describe('POST /v1/signals', () => {
  test('signals each named service; errors joined with "; " as a 500', async () => {
    const { emu, post } = await started();
    expect(result(await post('/v1/signals', { signal: 'SIGHUP', services: ['a'] }))).toBe(true);
    expect(emu.receivedSignals('a')).toEqual(['SIGHUP']);
    emu.setServiceStatus('b', 'inactive');
    const r = await post('/v1/signals', { signal: 'SIGHUP', services: ['b', 'zz', 'a'] });
    expect(r.status).toBe(500);
    expect(message(r)).toBe('cannot send signal to "b": service is not running; cannot send signal to "zz": service is not running');
    expect(message(await post('/v1/signals', { signal: 'hup', services: ['a'] }))).toBe('cannot send signal to "a": invalid signal name "hup"');
    expect(message(await post('/v1/signals', { signal: 'SIGHUP', services: [] }))).toBe('must specify one or more services');
  });
});

test('run mode: the signal reaches the real process (its pid, not its group)', async () => {
  const { emu } = await pebble.start({ mode: 'run', okayDelayMs: 50 });
  emu.seed({ layers: { l: `services:\n  t:\n    override: replace\n    command: sh -c 'trap "echo got-hup" HUP; echo ready; while true; do sleep 0.05; done'\n` } });
  emu.setServiceStatus('t', 'active');
  await eventually(() => emu.serviceOutput('t').includes('ready'), 'the trap is set');
  expect((await postJson(emu.socketPath, '/v1/signals', { signal: 'SIGHUP', services: ['t'] })).status).toBe(200);
  await eventually(() => emu.serviceOutput('t').includes('got-hup'), 'the service saw SIGHUP');
});

describe('GET /v1/logs', () => {
  test('JSON Lines merged by time, n per service then overall, services filter, Go time format', async () => {
    const { emu, clock, get } = await started();
    emu.writeServiceOutput('a', 'a1\n');
    await clock.advance(10);
    emu.writeServiceOutput('b', 'b1\nb2\n');
    await clock.advance(10);
    emu.writeServiceOutput('a', 'a2\npartial');
    const r = await get('/v1/logs');
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/x-ndjson');
    const lines = r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { time: string; service: string; message: string });
    expect(lines.map((l) => `${l.service}:${l.message}`)).toEqual(['a:a1', 'b:b1', 'b:b2', 'a:a2', 'a:partial']);
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    expect(r.text.split('\n')[0]).toMatch(/^\{"time":"[^"]+","service":"a","message":"a1"\}$/);
    const names = async (q: string) => (await get(`/v1/logs${q}`)).text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { message: string }).message);
    expect(await names('?n=2')).toEqual(['a2', 'partial']);
    expect(await names('?n=0')).toEqual([]);
    expect(await names('?n=-1&services=b')).toEqual(['b1', 'b2']);
    expect(message(await get('/v1/logs?n=-2'))).toBe('n must be -1, 0, or a positive integer');
    expect(message(await get('/v1/logs?follow=yes'))).toBe('follow parameter must be "true" or "false"');
  });
});

describe('/v1/notices', () => {
  test('custom notices: add, occurrences, repeat-after, filters, get by id, errors', async () => {
    const { clock, get, post } = await started();
    const add = (key: string, extra: Record<string, unknown> = {}) => post('/v1/notices', { action: 'add', type: 'custom', key, ...extra });
    expect(result(await add('example.com/a', { data: { x: '1' } }))).toEqual({ id: '1' });
    await clock.advance(1000);
    expect(result(await add('example.com/b'))).toEqual({ id: '2' });
    await clock.advance(1000);
    expect(result(await add('example.com/a', { 'repeat-after': '1h' }))).toEqual({ id: '1' });
    const list = result(await get('/v1/notices')) as Array<Record<string, unknown>>;
    // Ordered by last-repeated: "a" was not repeated (within its repeat-after), so it stays first.
    expect(list.map((n) => [n['key'], n['occurrences']])).toEqual([
      ['example.com/a', 2],
      ['example.com/b', 1],
    ]);
    const a = list[0]!;
    expect(Object.keys(a)).toEqual(['id', 'user-id', 'type', 'key', 'first-occurred', 'last-occurred', 'last-repeated', 'occurrences', 'repeat-after', 'expire-after']);
    expect([a['user-id'], a['type'], a['repeat-after'], a['expire-after']]).toEqual([process.getuid?.(), 'custom', '1h0m0s', '168h0m0s']);
    expect(a['last-repeated']).toBe(a['first-occurred']);
    expect(a['last-occurred']).not.toBe(a['first-occurred']);

    const keys = async (q: string) => (result(await get(`/v1/notices${q}`)) as Array<{ key: string }>).map((n) => n.key);
    expect(await keys('?keys=example.com/b')).toEqual(['example.com/b']);
    expect(await keys('?types=warning')).toEqual([]);
    expect(await keys('?types=bogus')).toEqual([]);
    expect(await keys('?types=bogus,custom')).toEqual(['example.com/a', 'example.com/b']);
    expect(await keys(`?after=${encodeURIComponent(a['last-repeated'] as string)}`)).toEqual(['example.com/b']);
    expect(result(await get('/v1/notices/2'))).toMatchObject({ id: '2', key: 'example.com/b' });
    const missing = await get('/v1/notices/99');
    expect([missing.status, message(missing)]).toEqual([404, 'cannot find notice with ID "99"']);

    expect(message(await post('/v1/notices', { action: 'remove' }))).toBe('invalid action "remove"');
    expect(message(await add('Example.com/a'))).toBe('invalid key "Example.com/a" (must be in "example.com/path" format)');
    expect(message(await post('/v1/notices', { action: 'add', type: 'warning', key: 'a.b/c' }))).toBe('invalid type "warning" (can only add "custom" notices)');
    expect(message(await add('a.b/c', { 'repeat-after': '5' }))).toBe('invalid repeat-after: time: missing unit in duration "5"');
    expect(message(await add('a.b/c', { data: { n: 1 } }))).toBe('cannot decode notice data: json: cannot unmarshal number into Go value of type string');
    expect(message(await get('/v1/notices?after=yesterday'))).toMatch(/^invalid "after" timestamp: parsing time "yesterday"/);
  });

  test('timeout waits for a matching notice', async () => {
    const { get, post } = await started();
    const waiting = get('/v1/notices?keys=a.b/c&timeout=5s');
    await new Promise((r) => setTimeout(r, 50));
    await post('/v1/notices', { action: 'add', type: 'custom', key: 'a.b/c' });
    expect((result(await waiting) as Array<{ key: string }>).map((n) => n.key)).toEqual(['a.b/c']);
    const started2 = Date.now();
    expect(result(await get('/v1/notices?keys=x.y/z&timeout=200ms'))).toEqual([]);
    expect(Date.now() - started2).toBeGreaterThanOrEqual(180);
  });
});
