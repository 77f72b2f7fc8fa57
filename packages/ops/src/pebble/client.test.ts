// The Pebble client and Container, against real HTTP servers on real unix sockets: the Pebble
// emulator for behaviour, and small hand-written servers for protocol corners (no wait
// endpoint, wrong Content-Type, API errors on system-info).
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { FakeClock, PebbleEmulator } from '@juju-ts/ops-testing/pebble';
import {
  ChangeError,
  Container,
  PathError,
  PebbleAPIError,
  PebbleClient,
  PebbleConnectionError,
  PebbleNotFoundError,
  PebbleProtocolError,
  PebbleTimeoutError,
  pebbleSocketPath,
  type Layer,
} from './index.js';

/** A scratch directory removed after each test. */
function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-client-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const socketFor = (name: string) => path.join(tmp.dir, name, 'pebble.socket');

const LAYER: Layer = {
  summary: 'web layer',
  services: {
    web: { override: 'replace', command: 'web --serve', startup: 'enabled', environment: { PORT: '8080' } },
    db: { override: 'replace', command: 'db' },
  },
};

/** A tiny server answering every request with one handler. */
async function miniServer(socketPath: string, handler: http.RequestListener): Promise<http.Server> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(path.dirname(socketPath), { recursive: true });
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(socketPath, r));
  return server;
}

function json(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': type });
  res.end(JSON.stringify(body));
}

describe('socket path', () => {
  test('default, CHARM_CONTAINERS_DIR, and the explicit option', () => {
    expect(pebbleSocketPath('web', {})).toBe('/charm/containers/web/pebble.socket');
    expect(pebbleSocketPath('web', { CHARM_CONTAINERS_DIR: '/tmp/sim' })).toBe('/tmp/sim/web/pebble.socket');
    expect(new Container('web', { env: { CHARM_CONTAINERS_DIR: '/tmp/sim' } }).socketPath).toBe('/tmp/sim/web/pebble.socket');
    expect(new Container('web', { socketPath: '/x.sock', env: { CHARM_CONTAINERS_DIR: '/tmp/sim' } }).socketPath).toBe('/x.sock');
  });
});

describe('canConnect', () => {
  test('false when the socket is missing; the error names the socket', async () => {
    const c = new Container('web', { socketPath: socketFor('web') });
    expect(await c.canConnect()).toBe(false);
    const err = await (await c.client()).systemInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PebbleConnectionError);
    expect((err as Error).message).toBe(
      `Could not connect to Pebble: socket not found at '${socketFor('web')}' (container restarted?)`,
    );
  });

  test('follows the emulator: not ready, ready, gone again', async () => {
    const emu = await PebbleEmulator.start({ socketPath: socketFor('web'), ready: false });
    const c = new Container('web', { socketPath: socketFor('web') });
    try {
      expect(await c.canConnect()).toBe(false);
      await emu.setReady(true);
      expect(await c.canConnect()).toBe(true);
      expect((await (await c.client()).systemInfo()).version).toBe('v1.29.0');
      await emu.setReady(false);
      expect(await c.canConnect()).toBe(false);
    } finally {
      await emu.stop();
    }
  });

  test('false when system-info answers an API error', async () => {
    const server = await miniServer(socketFor('x'), (_req, res) =>
      json(res, 500, { type: 'error', 'status-code': 500, status: 'Internal Server Error', result: { message: 'boom' } }),
    );
    try {
      const c = new Container('x', { socketPath: socketFor('x') });
      expect(await c.canConnect()).toBe(false);
      const err = (await (await c.client()).systemInfo().catch((e: unknown) => e)) as PebbleAPIError;
      expect(err).toBeInstanceOf(PebbleAPIError);
      expect([err.code, err.status, err.message, err.kind]).toEqual([500, 'Internal Server Error', 'boom', undefined]);
    } finally {
      server.close();
    }
  });
});

describe('protocol', () => {
  test('a reply that is not application/json is a protocol error', async () => {
    const server = await miniServer(socketFor('x'), (_req, res) => json(res, 200, { type: 'sync' }, 'text/plain'));
    try {
      const err = await new PebbleClient({ socketPath: socketFor('x') }).systemInfo().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PebbleProtocolError);
      expect((err as Error).message).toBe("expected Content-Type 'application/json', got 'text/plain'");
    } finally {
      server.close();
    }
  });

  test('waitChange polls GET /v1/changes/{id} when /wait is 404', async () => {
    let polls = 0;
    const change = (ready: boolean) => ({
      id: '7',
      kind: 'start',
      summary: 'Start service "a"',
      status: ready ? 'Done' : 'Doing',
      ready,
      'spawn-time': '2025-01-01T00:00:00Z',
    });
    const seen: string[] = [];
    const server = await miniServer(socketFor('x'), (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url!.includes('/wait')) {
        return json(res, 404, { type: 'error', 'status-code': 404, status: 'Not Found', result: { message: 'invalid API endpoint requested' } });
      }
      if (req.method === 'POST') return json(res, 202, { type: 'async', 'status-code': 202, status: 'Accepted', change: '7', result: null });
      polls++;
      return json(res, 200, { type: 'sync', 'status-code': 200, status: 'OK', result: change(polls >= 3) });
    });
    try {
      const client = new PebbleClient({ socketPath: socketFor('x') });
      expect(await client.start(['a'], { delayMs: 5 })).toBe('7');
      expect(polls).toBe(3);
      expect(seen[0]).toBe('POST /v1/services');
      expect(seen[1]).toBe('GET /v1/changes/7/wait?timeout=4.000s');
      expect(seen[2]).toBe('GET /v1/changes/7');
    } finally {
      server.close();
    }
  });
});

describe('against the emulator', () => {
  let emu: PebbleEmulator;
  let c: Container;
  beforeEach(async () => {
    emu = await PebbleEmulator.start({ socketPath: socketFor('web'), mode: 'fake' });
    c = new Container('web', { socketPath: socketFor('web') });
  });
  afterEach(() => emu.stop());

  test('addLayer (object and YAML text) and a typed plan', async () => {
    await c.addLayer('base', LAYER);
    await c.addLayer('extra', 'services:\n  web:\n    override: merge\n    after: [db]\n    kill-delay: 1500ms\n');
    const plan = await c.getPlan();
    expect(plan.services['web']).toEqual({
      startup: 'enabled',
      override: 'replace',
      command: 'web --serve',
      after: ['db'],
      environment: { PORT: '8080' },
      'kill-delay': '1.5s',
    });
    expect(plan.checks).toEqual({});
    expect(await (await c.client()).getPlanYaml()).toMatch(/^services:\n {4}db:\n/);
  });

  test('API errors carry code, status, message, kind and body', async () => {
    const err = (await c.addLayer('bad', 'services:\n  a:\n    command: x\n').catch((e: unknown) => e)) as PebbleAPIError;
    expect(err).toBeInstanceOf(PebbleAPIError);
    expect(err.code).toBe(400);
    expect(err.status).toBe('Bad Request');
    expect(err.message).toBe('layer "bad" must define "override" for service "a"');
    expect(err.body).toEqual({
      type: 'error',
      'status-code': 400,
      status: 'Bad Request',
      result: { message: 'layer "bad" must define "override" for service "a"' },
    });
    const none = (await (await c.client()).autostart().catch((e: unknown) => e)) as PebbleAPIError;
    expect(none.kind).toBe('no-default-services');
  });

  test('replan, start, stop, restart and service statuses', async () => {
    await c.addLayer('base', LAYER, { combine: true });
    await c.replan();
    expect((await c.getService('web')).current).toBe('active');
    expect((await c.getService('db')).current).toBe('inactive');
    await c.start('db');
    await c.stop('web');
    expect([...(await c.getServices()).values()].map((s) => [s.name, s.startup, s.current])).toEqual([
      ['db', 'disabled', 'active'],
      ['web', 'enabled', 'inactive'],
    ]);
    await c.restart('db');
    expect(emu.restartCount('db')).toBe(1);
    const info = await c.getService('db');
    expect(info.currentSince).toMatch(/^\d{4}-\d\d-\d\dT/);
    await expect(c.getService('ghost')).rejects.toThrow(PebbleNotFoundError);
    await expect(c.start()).rejects.toThrow(TypeError);
  });

  test('a failed start raises ChangeError with the err text and the task logs', async () => {
    const clock = new FakeClock();
    const e2 = await PebbleEmulator.start({ socketPath: socketFor('e2'), mode: 'fake', clock, okayDelayMs: 1000 });
    const c2 = new Container('e2', { socketPath: socketFor('e2') });
    try {
      await c2.addLayer('base', LAYER);
      const pending = c2.start('web').catch((e: unknown) => e);
      await e2.waitForService('web', 'starting');
      e2.writeServiceOutput('web', 'boom\n');
      e2.simulateExit('web', 1);
      const err = (await pending) as ChangeError;
      expect(err).toBeInstanceOf(ChangeError);
      expect(err.err).toBe(
        'cannot perform the following tasks:\n- Start service "web" (service start attempt: exited quickly with code 1, will restart)',
      );
      expect(err.change.status).toBe('Error');
      expect(err.message).toContain('----- Logs from task 0 -----');
      expect(err.message).toContain('Most recent service output:\n    boom');
      expect(err.message.endsWith('\n-----')).toBe(true);
      expect((await c2.getService('web')).current).toBe('backoff');
    } finally {
      await e2.stop();
    }
  });

  test('waitChange loops on 504 until the change is ready, and times out overall', async () => {
    const clock = new FakeClock();
    const e2 = await PebbleEmulator.start({ socketPath: socketFor('e3'), mode: 'fake', clock, okayDelayMs: 1000 });
    // timeoutMs 2000 makes each /wait request last at most 1 s.
    const client = new PebbleClient({ socketPath: socketFor('e3'), timeoutMs: 2000 });
    try {
      await client.addLayer('base', LAYER);
      const id = await client.start(['web'], { timeoutMs: 0 });
      await expect(client.waitChange(id, { timeoutMs: 300 })).rejects.toThrow(PebbleTimeoutError);
      const waiting = client.waitChange(id, { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 1200)); // past the first 504
      await clock.advance(1000);
      const change = await waiting;
      expect(change.status).toBe('Done');
      expect(change.ready).toBe(true);
    } finally {
      await e2.stop();
    }
  });

  test('sendSignal, notify/getNotices/getNotice, logs', async () => {
    const client = await c.client();
    await c.addLayer('base', LAYER);
    await c.start('web');
    await client.sendSignal('SIGHUP', ['web']);
    await c.sendSignal('SIGUSR1', 'web');
    expect(emu.receivedSignals('web')).toEqual(['SIGHUP', 'SIGUSR1']);
    const sigErr = (await client.sendSignal('SIGHUP', ['db']).catch((e: unknown) => e)) as PebbleAPIError;
    expect([sigErr.code, sigErr.message]).toEqual([500, 'cannot send signal to "db": service is not running']);

    const id = await client.notify('custom', 'example.com/ping', { data: { n: '1' }, repeatAfterMs: 60_000 });
    expect(await client.notify('custom', 'example.com/ping')).toBe(id);
    const [notice] = await client.getNotices({ types: ['custom'], keys: ['example.com/ping'] });
    expect(notice).toMatchObject({ id, type: 'custom', key: 'example.com/ping', occurrences: 2, lastData: {}, expireAfter: '168h0m0s' });
    expect((await c.getNotice(id)).key).toBe('example.com/ping');
    expect((await c.getNotices({ keys: ['example.com/ping'] })).map((n) => n.id)).toEqual([id]);
    expect(await client.getNotices({ keys: ['example.com/other'], timeoutMs: 100 })).toEqual([]);

    emu.writeServiceOutput('web', 'hello\nworld\n');
    expect((await client.logs({ services: ['web'], n: 1 })).map((l) => [l.service, l.message])).toEqual([['web', 'world']]);
    expect((await client.logs()).map((l) => l.message)).toEqual(['hello', 'world']);
  });

  test('followLogs: the last n lines, then each new line as it is finished; break and abort stop it', async () => {
    const client = await c.client();
    await c.addLayer('base', LAYER);
    await c.start('web', 'db');
    emu.writeServiceOutput('web', 'old-1\nold-2\n');
    // The last n lines and the subscription are taken together when the request arrives, so
    // receiving old-2 means every later line will be followed.
    const follow = client.followLogs({ n: 1 })[Symbol.asyncIterator]();
    expect((await follow.next()).value).toMatchObject({ service: 'web', message: 'old-2' });
    emu.writeServiceOutput('db', 'db-');
    emu.writeServiceOutput('web', 'new-1\n');
    emu.writeServiceOutput('db', 'line\n');
    expect((await follow.next()).value).toMatchObject({ service: 'web', message: 'new-1' });
    expect((await follow.next()).value).toMatchObject({ service: 'db', message: 'db-line' });
    expect(await follow.return(undefined)).toEqual({ done: true, value: undefined });

    const seen: string[] = [];
    for await (const entry of client.followLogs({ services: ['web'], n: 2 })) {
      seen.push(entry.message);
      if (seen.length === 2) {
        emu.writeServiceOutput('db', 'not followed\n');
        emu.writeServiceOutput('web', 'new-2\n');
      }
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['old-2', 'new-1', 'new-2']);

    const abort = new AbortController();
    const aborted: string[] = [];
    for await (const entry of client.followLogs({ services: ['web'], n: 1, signal: abort.signal })) {
      aborted.push(entry.message);
      if (aborted.length === 1) emu.writeServiceOutput('web', 'last\n');
      else abort.abort();
    }
    expect(aborted).toEqual(['new-2', 'last']);
    const err = await client.followLogs({ n: -2 }).next().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 400, message: 'n must be -1, 0, or a positive integer' });
  });

  test("change-update notices: one per change, keyed by its id, data {kind}, an occurrence per status it moved to", async () => {
    const client = await c.client();
    // A replan with no services is Done at once: spawned, then Done.
    const emptyId = await client.replan();
    expect((await client.getChange(emptyId)).summary).toBe('Replan - no services');
    expect((await c.getNotices({ types: ['change-update'], keys: [emptyId] }))[0]).toMatchObject({ occurrences: 2, lastData: { kind: 'replan' } });
    await c.addLayer('base', LAYER);
    const startId = await client.start(['web']);
    const stopId = await client.stop(['web']);
    const notices = (await c.getNotices({ types: ['change-update'] })).filter((n) => n.key !== emptyId);
    expect(notices.map((n) => [n.key, n.lastData, n.occurrences, n.userId])).toEqual([
      // Spawned (Do), Doing, Done.
      [startId, { kind: 'start' }, 3, null],
      [stopId, { kind: 'stop' }, 3, null],
    ]);
    expect(notices.every((n) => n.type === 'change-update' && n.repeatAfter === undefined)).toBe(true);
    expect(await c.getNotices({ types: ['custom'] })).toEqual([]);
    // A check's changes carry its name too (P:internals/overlord/checkstate/request.go).
    await c.addLayer('checks', { checks: { up: { override: 'replace', tcp: { port: 1 } } } });
    const [perform] = (await c.getNotices({ types: ['change-update'] })).filter((n) => n.lastData['kind'] === 'perform-check');
    expect(perform!.lastData).toEqual({ kind: 'perform-check', 'check-name': 'up' });
    // A replan (of a plan with an enabled service, so never empty).
    const replanId = await client.replan();
    expect((await c.getNotices({ types: ['change-update'], keys: [replanId] }))[0]).toMatchObject({ occurrences: 3, lastData: { kind: 'replan' } });

  });

  test('getChange and getChanges', async () => {
    await c.addLayer('base', LAYER);
    const id = await (await c.client()).start(['db']);
    const change = await (await c.client()).getChange(id);
    expect(change).toMatchObject({ id, kind: 'start', summary: 'Start service "db"', status: 'Done', ready: true });
    expect(change.tasks[0]!.kind).toBe('start');
    expect((await (await c.client()).getChanges({ select: 'all', service: 'db' })).map((ch) => ch.id)).toEqual([id]);
    const err = (await (await c.client()).getChange('404').catch((e: unknown) => e)) as PebbleAPIError;
    expect([err.code, err.message]).toEqual([404, 'cannot find change with id "404"']);
  });

  test('checks: list, stop, start, health', async () => {
    await c.addLayer('checks', {
      checks: {
        up: { override: 'replace', level: 'alive', tcp: { port: 1 } },
        later: { override: 'replace', startup: 'disabled', exec: { command: 'true' } },
      },
    });
    const checks = await c.getChecks();
    expect([...checks.values()].map((k) => [k.name, k.status, k.startup, k.threshold, k.failures])).toEqual([
      ['later', 'inactive', 'disabled', 3, 0],
      ['up', 'up', 'enabled', 3, 0],
    ]);
    expect((await c.getCheck('up')).level).toBe('alive');
    await expect(c.getCheck('nope')).rejects.toThrow(PebbleNotFoundError);
    expect(await c.stopChecks('up', 'later')).toEqual(['up']);
    expect((await c.getCheck('up')).status).toBe('inactive');
    expect(await c.startChecks('later')).toEqual(['later']);
    expect(await (await c.client()).health()).toBe(true);
    emu.setCheckStatus('later', 'down');
    expect(await (await c.client()).health()).toBe(false);
    expect(await (await c.client()).health({ level: 'alive' })).toBe(true);
    expect((await c.getChecks({ level: 'alive' })).size).toBe(1);
  });

  test('files: push, pull, list, exists, make-dir, remove, PathError', async () => {
    await c.push('/etc/app/config.yaml', 'a: 1\n', { makeDirs: true, permissions: 0o600 });
    expect(await c.pull('/etc/app/config.yaml')).toBe('a: 1\n');
    const bytes = Buffer.from([0, 1, 2, 255, 13, 10, 45, 45]);
    await c.push('/etc/app/blob "quoted".bin', bytes);
    expect(Buffer.compare(await c.pull('/etc/app/blob "quoted".bin', { encoding: null }), bytes)).toBe(0);
    const list = await c.listFiles('/etc/app');
    expect(list.map((f) => [f.name, f.type, f.path])).toEqual([
      ['blob "quoted".bin', 'file', '/etc/app/blob "quoted".bin'],
      ['config.yaml', 'file', '/etc/app/config.yaml'],
    ]);
    const cfg = list.find((f) => f.name === 'config.yaml')!;
    expect([cfg.size, cfg.permissions]).toEqual([5, 0o600]);
    expect((await c.listFiles('/etc/app', { pattern: '*.yaml' })).map((f) => f.name)).toEqual(['config.yaml']);
    expect((await c.listFiles('/etc/app', { itself: true }))[0]!.type).toBe('directory');
    // A malformed pattern over an empty directory is no error for Pebble: an empty list.
    await c.makeDir('/etc/empty');
    expect(await c.listFiles('/etc/empty', { pattern: '[' })).toEqual([]);
    expect(await c.exists('/etc/app/config.yaml')).toBe(true);
    expect(await c.exists('/etc/nope')).toBe(false);
    expect(await c.isDir('/etc/app')).toBe(true);

    const pullErr = (await c.pull('/etc/nope').catch((e: unknown) => e)) as PathError;
    expect(pullErr).toBeInstanceOf(PathError);
    expect([pullErr.kind, pullErr.pathMessage]).toEqual(['not-found', 'stat /etc/nope: no such file or directory']);
    const pushErr = (await c.push('/no/such/dir/f', 'x').catch((e: unknown) => e)) as PathError;
    expect(pushErr.kind).toBe('not-found');
    // Pebble's AtomicWrite names its temporary file "<path>.<12 letters>~" in the error.
    expect(pushErr.pathMessage).toMatch(/^open \/no\/such\/dir\/f\.[BCDFGHJKLMNPQRSTVWXYbcdfghjklmnpqrstvwxy0-9]{12}~: no such file or directory$/);
    await c.makeDir('/etc/app/sub');
    const overDir = (await c.push('/etc/app/sub', 'x').catch((e: unknown) => e)) as PathError;
    expect(overDir.pathMessage).toMatch(/^rename \/etc\/app\/sub\.\w{12}~ \/etc\/app\/sub: is a directory$/);
    expect((await c.listFiles('/etc/app')).map((f) => f.name)).not.toContainEqual(expect.stringMatching(/~$/));

    await c.makeDir('/var/lib/app/data', { makeParents: true });
    const mkErr = (await c.makeDir('/var/lib/app/data').catch((e: unknown) => e)) as PathError;
    expect([mkErr.kind, mkErr.pathMessage]).toEqual(['generic-file-error', 'mkdir /var/lib/app/data: file exists']);
    const rmErr = (await c.removePath('/var/lib/app').catch((e: unknown) => e)) as PathError;
    expect(rmErr.pathMessage).toBe('remove /var/lib/app: directory not empty');
    await c.removePath('/var/lib/app', { recursive: true });
    expect(await c.exists('/var/lib/app')).toBe(false);

    // The files live under the emulator's root directory on the host.
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path.join(emu.rootDir, 'etc/app/config.yaml'), 'utf8')).toBe('a: 1\n');
  });
});
