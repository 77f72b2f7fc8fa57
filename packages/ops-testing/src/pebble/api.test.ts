// The emulator's raw HTTP answers, checked without our client: envelopes (field order,
// status text, Content-Type), routes and method errors, and the error texts of each endpoint.
import path from 'node:path';
import { FakeClock } from './clock.js';
import { PebbleEmulator } from './emulator.js';
import { postJson, rawRequest, tempDir, type RawReply } from './test-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let emu: PebbleEmulator;
let sock: string;

const LAYER = `summary: web layer
services:
  web:
    override: replace
    command: web --serve
    startup: enabled
  db:
    override: replace
    command: db
`;

beforeEach(async () => {
  tmp = tempDir();
  sock = path.join(tmp.dir, 'web', 'pebble.socket');
  emu = await PebbleEmulator.start({ socketPath: sock, mode: 'fake' });
});

afterEach(async () => {
  await emu.stop();
  tmp.cleanup();
});

const get = (p: string, headers?: Record<string, string>) => rawRequest(sock, 'GET', p, undefined, headers);
const post = (p: string, body: unknown) => postJson(sock, p, body);
const addLayer = (label: string, layer: string, combine = false) =>
  post('/v1/layers', { action: 'add', combine, label, format: 'yaml', layer });

function expectError(r: RawReply, status: number, message: string, kind?: string): void {
  expect(r.contentType).toBe('application/json');
  const result: Record<string, unknown> = { message };
  if (kind) result['kind'] = kind;
  expect(r.json).toEqual({ type: 'error', 'status-code': status, status: r.statusText, result });
  expect(r.status).toBe(status);
}

describe('envelopes', () => {
  test('sync: field order, status text and Content-Type', async () => {
    const r = await get('/v1/system-info');
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/json');
    expect(r.text.startsWith('{"type":"sync","status-code":200,"status":"OK","result":{"boot-id":"')).toBe(true);
    expect((r.json as { result: { version: string } }).result.version).toBe('v1.29.0');
  });

  test('system-info: version v1.29.0 and a random boot-id per Pebble start (Pebble as PID 1)', async () => {
    const info = async () => ((await get('/v1/system-info')).json as { result: { 'boot-id': string } }).result['boot-id'];
    const first = await info();
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await emu.setReady(false);
    await emu.setReady(true);
    expect(await info()).toBe(first);
    await emu.setReady(true, { fresh: true });
    expect(await info()).not.toBe(first);
  });

  test('async: 202 with the change id and "result":null', async () => {
    await addLayer('base', LAYER);
    const r = await post('/v1/services', { action: 'start', services: ['db'] });
    expect(r.status).toBe(202);
    expect(r.text).toMatch(/^\{"type":"async","status-code":202,"status":"Accepted","change":"\d+","result":null\}$/);
  });

  test('error: unknown path is 404 "invalid API endpoint requested"', async () => {
    const r = await get('/v1/nope');
    expect(r.text).toBe('{"type":"error","status-code":404,"status":"Not Found","result":{"message":"invalid API endpoint requested"}}');
    expectError(await get('/v1/services/'), 404, 'invalid API endpoint requested');
  });

  test('error: a known path with a wrong method is 405', async () => {
    expectError(await rawRequest(sock, 'PUT', '/v1/services', '{}'), 405, 'method "PUT" not allowed');
    expectError(await rawRequest(sock, 'DELETE', '/v1/plan'), 405, 'method "DELETE" not allowed');
    expectError(await post('/v1/system-info', {}), 405, 'method "POST" not allowed');
  });
});

describe('POST /v1/layers and GET /v1/plan', () => {
  test('request checks', async () => {
    expectError(await post('/v1/layers', { action: 'remove', label: 'a', format: 'yaml', layer: '' }), 400, 'invalid action "remove"');
    expectError(await post('/v1/layers', { action: 'add', format: 'yaml', layer: '' }), 400, 'label must be set');
    expectError(await post('/v1/layers', { action: 'add', label: 'a', format: 'json', layer: '' }), 400, 'invalid format "json"');
    expectError(await get('/v1/plan'), 400, 'invalid format ""');
  });

  test('bodies are decoded like Go json.Decoder: its error texts after the endpoint prefix', async () => {
    const raw = (p: string, body: string) => rawRequest(sock, 'POST', p, body, { 'Content-Type': 'application/json' });
    expectError(await raw('/v1/layers', ''), 400, 'cannot decode request body: EOF');
    expectError(await raw('/v1/layers', '{"action":'), 400, 'cannot decode request body: unexpected EOF');
    expectError(await raw('/v1/services', '{action}'), 400, "cannot decode data from request body: invalid character 'a' looking for beginning of object key string");
    expectError(
      await raw('/v1/layers', '{"action":"add","combine":"yes"}'),
      400,
      'cannot decode request body: json: cannot unmarshal string into Go struct field .combine of type bool',
    );
    // Trailing data after the first value is never read.
    expect((await raw('/v1/services', '{"action":"replan"} junk')).status).toBe(202);
  });

  test('result true, plan as a YAML string', async () => {
    const r = await addLayer('base', LAYER);
    expect(r.json).toEqual({ type: 'sync', 'status-code': 200, status: 'OK', result: true });
    const plan = (await get('/v1/plan?format=yaml')).json as { result: string };
    expect(typeof plan.result).toBe('string');
    expect(plan.result).toContain('services:\n    db:\n        override: replace\n        command: db\n');
  });

  test('a layer without override is 400 and the plan is unchanged', async () => {
    await addLayer('base', LAYER);
    const before = (await get('/v1/plan?format=yaml')).text;
    const r = await addLayer('extra', 'services:\n  web:\n    command: other\n');
    expectError(r, 400, 'layer "extra" must define "override" for service "web"');
    expect((await get('/v1/plan?format=yaml')).text).toBe(before);
    expect([...emu.layers.keys()]).toEqual(['base']);
  });

  test('a duplicate label without combine is 400 "already exists"; combine merges in place', async () => {
    await addLayer('base', LAYER);
    await addLayer('top', 'summary: top\n');
    expectError(await addLayer('base', LAYER), 400, 'layer "base" already exists');
    const r = await addLayer('base', 'services:\n  web:\n    override: merge\n    requires: [db]\n    environment: {X: "1"}\n', true);
    expect(r.status).toBe(200);
    expect([...emu.layers.keys()]).toEqual(['base', 'top']);
    expect(emu.layers.get('base')!.services!['web']!.requires).toEqual(['db']);
    expect(emu.plan.services['web']!.environment).toEqual({ X: '1' });
  });

  test('a bad combine leaves the layer and plan untouched (atomic)', async () => {
    await addLayer('base', LAYER);
    const r = await addLayer('base', 'services:\n  web:\n    override: merge\n    requires: [ghost]\n', true);
    expectError(r, 400, 'service "ghost" does not exist');
    expect(emu.layers.get('base')!.services!['web']!.requires).toBeUndefined();
  });

  test('strict YAML errors are prefixed "cannot parse layer YAML"', async () => {
    const r = await addLayer('L', 'services:\n  web:\n    override: replace\n    command: x\n    backoff-delay: 5\n');
    expectError(r, 400, 'cannot parse layer YAML: cannot parse layer "L" section "services": invalid duration "5"');
  });

  test('format=json (emulator extension) returns the plan object', async () => {
    await addLayer('base', LAYER);
    const r = (await get('/v1/plan?format=json')).json as { result: { services: Record<string, unknown> } };
    expect(Object.keys(r.result.services)).toEqual(['db', 'web']);
  });
});

describe('/v1/services', () => {
  beforeEach(async () => {
    await addLayer('base', LAYER);
  });

  test('GET: sorted, names comma-joined or repeated, unknown ignored', async () => {
    const all = (await get('/v1/services')).json as { result: Array<{ name: string; startup: string; current: string }> };
    expect(all.result).toEqual([
      { name: 'db', startup: 'disabled', current: 'inactive' },
      { name: 'web', startup: 'enabled', current: 'inactive' },
    ]);
    const some = (await get('/v1/services?names=web,ghost&names=db')).json as { result: Array<{ name: string }> };
    expect(some.result.map((s) => s.name)).toEqual(['db', 'web']);
  });

  test('POST validation messages', async () => {
    expectError(await post('/v1/services', { action: 'start', services: [] }), 400, 'must specify services for start action');
    expectError(await post('/v1/services', { action: 'replan', services: ['web'] }), 400, 'replan accepts no service names');
    expectError(await post('/v1/services', { action: 'dance', services: ['web'] }), 400, 'invalid action "dance"');
    expectError(
      await post('/v1/services', { action: 'start', services: ['ghost'] }),
      400,
      'cannot start services: service "ghost" does not exist',
    );
  });

  test('autostart with no enabled service: kind no-default-services', async () => {
    await addLayer('base', 'services:\n  web:\n    override: merge\n    startup: disabled\n', true);
    expectError(await post('/v1/services', { action: 'autostart' }), 400, 'no default services', 'no-default-services');
  });
});

describe('changes', () => {
  test('unknown id: 404 on GET and on /wait', async () => {
    expectError(await get('/v1/changes/99'), 404, 'cannot find change with id "99"');
    expectError(await get('/v1/changes/99/wait'), 404, 'cannot find change with id "99"');
  });

  test('change JSON: fields, tasks and summaries', async () => {
    await addLayer('base', LAYER);
    const r = (await post('/v1/services', { action: 'start', services: ['web', 'db'] })).json as { change: string };
    const c = (await get(`/v1/changes/${r.change}/wait?timeout=5s`)).json as { result: Record<string, unknown> };
    expect(c.result).toMatchObject({
      id: r.change,
      kind: 'start',
      summary: 'Start service "web" and 1 more',
      status: 'Done',
      ready: true,
    });
    expect(Object.keys(c.result)).toEqual(['id', 'kind', 'summary', 'status', 'tasks', 'ready', 'spawn-time', 'ready-time']);
    const tasks = c.result['tasks'] as Array<Record<string, unknown>>;
    expect(tasks.map((t) => [t['kind'], t['summary'], t['status']])).toEqual([
      ['start', 'Start service "db"', 'Done'],
      ['start', 'Start service "web"', 'Done'],
    ]);
    expect(tasks[0]!['progress']).toEqual({ label: '', done: 1, total: 1 });
  });

  test('an empty replan is a Done change "Replan - no services"', async () => {
    const r = (await post('/v1/services', { action: 'replan' })).json as { change: string };
    const c = (await get(`/v1/changes/${r.change}`)).json as { result: Record<string, unknown> };
    expect(c.result).toMatchObject({ kind: 'replan', summary: 'Replan - no services', status: 'Done', ready: true });
    expect(c.result['tasks']).toBeUndefined();
  });

  test('wait?timeout=1s on a stuck change answers 504 (real time)', async () => {
    const clock = new FakeClock();
    const stuck = await PebbleEmulator.start({
      socketPath: path.join(tmp.dir, 'stuck', 'pebble.socket'),
      mode: 'fake',
      clock,
      okayDelayMs: 1000, // never elapses: the fake clock is not advanced
    });
    try {
      await postJson(stuck.socketPath, '/v1/layers', { action: 'add', label: 'l', format: 'yaml', layer: LAYER });
      const r = (await postJson(stuck.socketPath, '/v1/services', { action: 'start', services: ['web'] })).json as { change: string };
      const started = Date.now();
      const w = await rawRequest(stuck.socketPath, 'GET', `/v1/changes/${r.change}/wait?timeout=1s`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expectError(w, 504, 'timed out waiting for change after 1s');
      const bad = await rawRequest(stuck.socketPath, 'GET', `/v1/changes/${r.change}/wait?timeout=soon`);
      expectError(bad, 400, 'invalid timeout: time: invalid duration "soon"');
      const inProgress = (await rawRequest(stuck.socketPath, 'GET', '/v1/changes')).json as { result: Array<{ id: string; status: string }> };
      expect(inProgress.result.map((c) => [c.id, c.status])).toEqual([[r.change, 'Doing']]);
    } finally {
      await stuck.stop();
    }
  });

  test('POST /v1/changes/{id} abort: a start in progress is killed; a ready change cannot be aborted', async () => {
    const clock = new FakeClock();
    const e2 = await PebbleEmulator.start({ socketPath: path.join(tmp.dir, 'ab', 'pebble.socket'), mode: 'fake', clock, okayDelayMs: 1000 });
    try {
      e2.seed({ layers: { base: LAYER } });
      const r = (await postJson(e2.socketPath, '/v1/services', { action: 'start', services: ['web'] })).json as { change: string };
      await e2.waitForService('web', 'starting');
      expectError(await postJson(e2.socketPath, `/v1/changes/${r.change}`, { action: 'pause' }), 400, 'invalid action "pause"');
      const aborted = await postJson(e2.socketPath, `/v1/changes/${r.change}`, { action: 'abort' });
      expect(aborted.status).toBe(200);
      const done = (await rawRequest(e2.socketPath, 'GET', `/v1/changes/${r.change}/wait`)).json as { result: { status: string; err: string } };
      expect(done.result.status).toBe('Error');
      expect(done.result.err).toBe('cannot perform the following tasks:\n- Start service "web" (start aborted, sent SIGKILL to process)');
      expect(e2.services.find((s) => s.name === 'web')!.current).toBe('inactive');
      expectError(
        await postJson(e2.socketPath, `/v1/changes/${r.change}`, { action: 'abort' }),
        400,
        `cannot abort change ${r.change} with nothing pending`,
      );
    } finally {
      await e2.stop();
    }
  });

  test('GET /v1/changes: select and for', async () => {
    await addLayer('base', LAYER);
    const a = (await post('/v1/services', { action: 'start', services: ['db'] })).json as { change: string };
    await get(`/v1/changes/${a.change}/wait`);
    const b = (await post('/v1/services', { action: 'start', services: ['web'] })).json as { change: string };
    await get(`/v1/changes/${b.change}/wait`);
    // Pebble's order is unspecified (the emulator shuffles): compare as sets.
    const ids = async (q: string) => ((await get(`/v1/changes${q}`)).json as { result: Array<{ id: string }> }).result.map((c) => c.id).sort();
    expect(await ids('?select=all')).toEqual([a.change, b.change].sort());
    expect(await ids('')).toEqual([]);
    expect(await ids('?select=all&for=web')).toEqual([b.change]);
    expectError(await get('/v1/changes?select=some'), 400, 'select should be one of: all,in-progress,ready');
  });

  test('a failed start: err text, Error status, "Most recent service output" in the task log', async () => {
    const clock = new FakeClock();
    const e2 = await PebbleEmulator.start({ socketPath: path.join(tmp.dir, 'e2', 'pebble.socket'), mode: 'fake', clock, okayDelayMs: 1000 });
    try {
      e2.seed({ layers: { base: LAYER } });
      const r = (await postJson(e2.socketPath, '/v1/services', { action: 'start', services: ['web'] })).json as { change: string };
      await clock.advance(100);
      e2.writeServiceOutput('web', 'listening\nfatal: no config\n');
      e2.simulateExit('web', 2);
      const c = (await rawRequest(e2.socketPath, 'GET', `/v1/changes/${r.change}/wait`)).json as {
        result: { status: string; err: string; tasks: Array<{ status: string; log: string[] }> };
      };
      expect(c.result.status).toBe('Error');
      expect(c.result.err).toBe(
        'cannot perform the following tasks:\n- Start service "web" (service start attempt: exited quickly with code 2, will restart)',
      );
      const log = c.result.tasks[0]!.log;
      expect(log[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO Most recent service output:\n {4}listening\n {4}fatal: no config$/);
      expect(log[1]).toMatch(/ ERROR service start attempt: exited quickly with code 2, will restart$/);
      expect(e2.services.find((s) => s.name === 'web')!.current).toBe('backoff');
    } finally {
      await e2.stop();
    }
  });
  test('a failed start without output still logs "Most recent service output:" with the bare indent', async () => {
    const clock = new FakeClock();
    const e2 = await PebbleEmulator.start({ socketPath: path.join(tmp.dir, 'e3', 'pebble.socket'), mode: 'fake', clock, okayDelayMs: 1000 });
    try {
      e2.seed({ layers: { base: LAYER } });
      const r = (await postJson(e2.socketPath, '/v1/services', { action: 'start', services: ['web'] })).json as { change: string };
      await clock.advance(100);
      e2.simulateExit('web', 1);
      const c = (await rawRequest(e2.socketPath, 'GET', `/v1/changes/${r.change}/wait`)).json as {
        result: { tasks: Array<{ log: string[] }> };
      };
      const log = c.result.tasks[0]!.log;
      expect(log[0]).toMatch(/^\S+ INFO Most recent service output:\n {4}$/);
      expect(log[1]).toMatch(/ ERROR service start attempt: exited quickly with code 1, will restart$/);
    } finally {
      await e2.stop();
    }
  });
});

describe('checks and health', () => {
  const CHECKS = `checks:
  alive:
    override: replace
    level: alive
    tcp: {port: 1}
  ready:
    override: replace
    level: ready
    startup: disabled
    http: {url: "http://localhost:1/"}
`;

  test('GET /v1/checks lists checks sorted; POST validates', async () => {
    await addLayer('c', CHECKS);
    const r = (await get('/v1/checks')).json as { result: Array<Record<string, unknown>> };
    expect(r.result).toEqual([
      { name: 'alive', level: 'alive', startup: 'enabled', status: 'up', successes: 0, threshold: 3, 'change-id': expect.any(String) },
      { name: 'ready', level: 'ready', startup: 'disabled', status: 'inactive', successes: 0, threshold: 3 },
    ]);
    expectError(await get('/v1/checks?level=dead'), 400, 'level must be "alive" or "ready"');
    expectError(await post('/v1/checks', { action: 'start', checks: [] }), 400, 'must specify checks for start action');
    expectError(await post('/v1/checks', { action: 'start', checks: ['x', 'a'] }), 400, 'cannot start checks: cannot find checks in plan: a, x');
    expectError(await post('/v1/checks', { action: 'poke', checks: ['alive'] }), 400, 'invalid action "poke"');
    const started = (await post('/v1/checks', { action: 'start', checks: ['ready', 'alive'] })).json as { result: unknown };
    expect(started.result).toEqual({ changed: ['ready'] });
  });

  test('health: 200 healthy, 502 when a matching check is down; ready implies alive', async () => {
    await addLayer('c', CHECKS);
    expect((await get('/v1/health')).json).toEqual({ type: 'sync', 'status-code': 200, status: 'OK', result: { healthy: true } });
    emu.setCheckStatus('alive', 'down');
    const down = await get('/v1/health?level=ready');
    expect(down.status).toBe(502);
    expect(down.json).toEqual({ type: 'sync', 'status-code': 502, status: 'Bad Gateway', result: { healthy: false } });
    expect((await get('/v1/health?names=ready')).status).toBe(200);
    expectError(await get('/v1/health?level=x'), 400, 'level must be "alive" or "ready"');
  });
});

describe('files (raw)', () => {
  test('read needs Accept: multipart/form-data; write needs multipart; list errors carry a kind', async () => {
    expectError(await get('/v1/files?action=read&path=/x'), 400, 'must accept multipart/form-data');
    expectError(await post('/v1/files', { action: 'write', files: [] }), 400, 'must use multipart with "write" action');
    expectError(await get('/v1/files?action=list&path=/nope'), 404, 'stat /nope: no such file or directory', 'not-found');
    expectError(await get('/v1/files?action=list&path=rel'), 400, 'path must be absolute, got "rel"');
    expectError(await get('/v1/files?action=zip'), 400, 'invalid action "zip"');
  });

  test('list with a malformed pattern: 200 [] for an empty directory, 400 once a name is matched (Go path.Match)', async () => {
    await emu.files.makeDir({ path: '/empty' });
    await emu.files.makeDir({ path: '/full' });
    await emu.files.write({ path: '/full/a' }, Buffer.from('x'));
    const empty = await get('/v1/files?action=list&path=/empty&pattern=%5B');
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual({ type: 'sync', 'status-code': 200, status: 'OK', result: [] });
    expectError(await get('/v1/files?action=list&path=/full&pattern=%5B'), 400, 'syntax error in pattern', 'generic-file-error');
    expect(((await get('/v1/files?action=list&path=/full&pattern=%5Ba%5D')).json as { result: unknown[] }).result).toHaveLength(1);
  });

  test('read answers 200 multipart with a response part even for a missing file', async () => {
    const r = await get('/v1/files?action=read&path=/missing', { Accept: 'multipart/form-data' });
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(r.text).toContain('"result":[{"path":"/missing","error":{"message":"stat /missing: no such file or directory","kind":"not-found"}}]');
  });
});
