// Health checks: real http/tcp/exec probes in run mode under a fake clock, the threshold, the
// perform-check/recover-check changes, on-check-failure restarts, and the up/down events a
// simulator turns into pebble-check-failed/recovered hooks. Fake mode: checks driven by tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Layer } from '@juju-ts/ops';
import { FakeClock } from './clock.js';
import type { PebbleEmulatorOptions } from './emulator.js';
import { emulatorFixture, eventually } from './test-helpers.js';

const pebble = emulatorFixture();

async function setup(opts: Partial<PebbleEmulatorOptions> = {}) {
  const { emu, c } = await pebble.start(opts);
  const events: string[] = [];
  emu.on('check-failed', (e) => events.push(`failed:${e.check}`));
  emu.on('check-recovered', (e) => events.push(`recovered:${e.check}`));
  return { emu, c, events };
}

/** A local HTTP server whose answer the test switches between 200 and 500. */
async function switchableServer(): Promise<{ url: string; setStatus: (s: number) => void; close: () => Promise<void> }> {
  let status = 200;
  const server = http.createServer((_req, res) => {
    res.writeHead(status);
    res.end(status === 200 ? 'ok' : 'database unreachable\nretry later');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/health`,
    setStatus: (s) => (status = s),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('run mode: real probes on a fake clock', () => {
  test('http check: down after threshold failures, on-check-failure restart, then recovery', async () => {
    const srv = await switchableServer();
    const clock = new FakeClock();
    const { emu, c, events } = await setup({ mode: 'run', clock, jitter: false });
    try {
      const layer: Layer = {
        services: {
          app: { override: 'replace', command: 'sleep 60', startup: 'enabled', 'on-check-failure': { 'app-up': 'restart' } },
        },
        checks: { 'app-up': { override: 'replace', period: '1s', threshold: 2, http: { url: srv.url } } },
      };
      await c.addLayer('base', layer);
      const replanning = c.replan();
      await emu.waitForService('app', 'starting');
      await clock.advance(1000); // okay-delay, and the first probe
      await replanning;
      await eventually(() => emu.checks[0]!.successes === 1, 'first success');

      srv.setStatus(500);
      await clock.advance(1000);
      await eventually(() => emu.checks[0]!.failures === 1, 'first failure');
      expect(emu.checks[0]!.status).toBe('up'); // below the threshold
      await clock.advance(1000);
      await eventually(() => emu.checks[0]!.status === 'down', 'check down');
      expect(events).toEqual(['failed:app-up']);
      expect(await (await c.client()).health()).toBe(false);

      // The failed perform-check change carries the probe errors.
      const perform = emu.changes.find((ch) => ch.kind === 'perform-check')!;
      expect(perform.summary).toBe('Perform HTTP check "app-up"');
      expect(perform.status).toBe('Error');
      expect(perform.err).toBe(
        [
          'cannot perform the following tasks:',
          '- Perform HTTP check "app-up" (non-2xx status code 500; database unreachable\nretry later)',
          '- Perform HTTP check "app-up" (non-2xx status code 500; database unreachable\nretry later)',
        ].join('\n'),
      );
      const info = emu.checks[0]!;
      expect(info.prevChangeId).toBe(perform.id);
      expect(emu.changes.find((ch) => ch.id === info.changeId)!.kind).toBe('recover-check');

      // on-check-failure: restart -> SIGTERM, then a backoff restart.
      await emu.waitForService('app', 'backoff');
      await clock.advance(500);
      expect(emu.serviceState('app')).toBe('running');
      expect(emu.restartCount('app')).toBe(1);

      srv.setStatus(200);
      await clock.advance(1000);
      await eventually(() => emu.checks[0]!.status === 'up', 'check recovered');
      expect(events).toEqual(['failed:app-up', 'recovered:app-up']);
      expect(emu.checks[0]).toMatchObject({ successes: 1, failures: 0 });
    } finally {
      await srv.close();
    }
  });

  test('exec and tcp checks report Pebble-style errors', async () => {
    const clock = new FakeClock();
    const { emu, c, events } = await setup({ mode: 'run', clock });
    await c.addLayer('base', {
      checks: {
        script: { override: 'replace', period: '1s', threshold: 1, exec: { command: `sh -c 'echo not ready >&2; exit 3'` } },
        port: { override: 'replace', period: '1s', threshold: 1, tcp: { port: 1, host: '127.0.0.1' } },
        slow: { override: 'replace', period: '2s', timeout: '500ms', threshold: 1, exec: { command: 'sleep 30' } },
      },
    });
    await clock.advance(1000);
    await eventually(() => emu.checks.filter((k) => k.status === 'down').length === 2, 'two checks down');
    await clock.advance(1000); // the slow check's first probe starts...
    await new Promise((r) => setTimeout(r, 50));
    await clock.advance(500); // ...and times out
    await eventually(() => emu.checks.every((k) => k.status === 'down'), 'all checks down');
    expect(events.sort()).toEqual(['failed:port', 'failed:script', 'failed:slow']);
    const errs = emu.changes.filter((ch) => ch.kind === 'perform-check').map((ch) => ch.err);
    expect(errs).toContain('cannot perform the following tasks:\n- Perform exec check "script" (exit status 3; not ready)');
    expect(errs).toContain(
      'cannot perform the following tasks:\n- Perform TCP check "port" (dial tcp 127.0.0.1:1: connect: connection refused)',
    );
    expect(errs).toContain('cannot perform the following tasks:\n- Perform exec check "slow" (check timed out after 500ms)');
  });
});

describe('fake mode: checks driven by the test', () => {
  const LAYER: Layer = {
    services: { web: { override: 'replace', command: 'web', 'on-check-failure': { ready: 'restart' } } },
    checks: {
      ready: { override: 'replace', level: 'ready', exec: { command: 'probe' } },
      other: { override: 'replace', level: 'alive', tcp: { port: 9 } },
    },
  };

  test('setCheckStatus down/up: status, health, events and the on-check-failure restart', async () => {
    const clock = new FakeClock();
    const { emu, c, events } = await setup({ clock, jitter: false });
    await c.addLayer('base', LAYER);
    await c.start('web');
    emu.setCheckStatus('ready', 'down');
    await eventually(() => emu.checks.find((k) => k.name === 'ready')!.status === 'down', 'down');
    expect(events).toEqual(['failed:ready']);
    expect(await (await c.client()).health({ level: 'ready' })).toBe(false);
    expect(await (await c.client()).health({ level: 'alive' })).toBe(true);
    await emu.waitForService('web', 'backoff');
    await clock.advance(500);
    expect(emu.restartCount('web')).toBe(1);

    emu.setCheckStatus('ready', 'up');
    await eventually(() => emu.checks.find((k) => k.name === 'ready')!.status === 'up', 'up');
    expect(events).toEqual(['failed:ready', 'recovered:ready']);
    expect(await (await c.client()).health()).toBe(true);
  });

  test('a layer change restarts a changed check; a stopped check cannot be forced', async () => {
    const { emu, c } = await setup();
    await c.addLayer('base', LAYER);
    const before = emu.checks.find((k) => k.name === 'other')!.changeId;
    await c.addLayer('base', { checks: { other: { override: 'merge', threshold: 5 } } }, { combine: true });
    const after = emu.checks.find((k) => k.name === 'other')!;
    expect(after.changeId).not.toBe(before);
    expect(after.threshold).toBe(5);
    await c.stopChecks('other');
    expect(() => emu.setCheckStatus('other', 'down')).toThrow('check "other" is not running (status inactive)');
  });

  test('seed preloads layers, service statuses and check statuses', async () => {
    const { emu, c } = await setup();
    emu.seed({ layers: { base: LAYER }, serviceStatuses: { web: 'active' }, checkStatuses: { other: 'down' } });
    expect((await c.getService('web')).current).toBe('active');
    await eventually(() => emu.checks.find((k) => k.name === 'other')!.status === 'down', 'seeded down');
    // A seeded active service counts as started with the current plan: replan leaves it alone.
    await c.replan();
    expect(emu.startCount('web')).toBe(1);
  });
});
