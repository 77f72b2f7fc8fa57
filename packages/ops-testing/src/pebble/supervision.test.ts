// Service supervision through the real client: replan semantics, dependency closure, the
// okay-delay and "exited quickly", backoff timing under a fake clock, exit actions, SIGTERM then
// SIGKILL, path mapping, and no orphan processes after stop().
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ChangeError, type Layer } from '@juju-ts/ops';
import { FakeClock } from './clock.js';
import type { PebbleEmulator, PebbleEmulatorOptions } from './emulator.js';
import type { ServiceEvent } from './services.js';
import { emulatorFixture, eventually, liveGroupMembers } from './test-helpers.js';

const pebble = emulatorFixture();
const setup = (opts: Partial<PebbleEmulatorOptions> = {}) => pebble.start(opts);

/** Collect service events; `next(name, state)` resolves with the next matching one. */
function recorder(emu: PebbleEmulator) {
  const events: ServiceEvent[] = [];
  const waiters: Array<{ match: (e: ServiceEvent) => boolean; resolve: (e: ServiceEvent) => void }> = [];
  emu.on('service', (e) => {
    events.push(e);
    const i = waiters.findIndex((w) => w.match(e));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(e);
  });
  return {
    events,
    next(name: string, state: string): Promise<ServiceEvent> {
      return new Promise((resolve) => waiters.push({ match: (e) => e.name === name && e.state === state, resolve }));
    },
  };
}

const TWO: Layer = {
  services: {
    web: { override: 'replace', command: 'web', startup: 'enabled', environment: { MODE: 'a' } },
    worker: { override: 'replace', command: 'worker', startup: 'enabled' },
  },
};

describe('replan', () => {
  test('an environment change restarts only that service; a second replan restarts nothing', async () => {
    const { emu, c } = await setup();
    await c.addLayer('base', TWO);
    await c.replan();
    expect([emu.startCount('web'), emu.startCount('worker')]).toEqual([1, 1]);

    await c.addLayer('base', { services: { web: { override: 'merge', environment: { MODE: 'b' } } } }, { combine: true });
    await c.replan();
    expect([emu.startCount('web'), emu.startCount('worker')]).toEqual([2, 1]);
    const second = emu.changes.at(-1)!;
    expect(second.summary).toBe('Replan service "web" and 1 more');
    expect(second.tasks.map((t) => t.summary)).toEqual(['Stop service "web"', 'Start service "web"', 'Start service "worker"']);
    expect(second.tasks[2]!.log[0]).toMatch(/ INFO Service "worker" already started\.$/);

    await c.replan();
    expect([emu.startCount('web'), emu.startCount('worker')]).toEqual([2, 1]);
    const third = emu.changes.at(-1)!;
    expect(third.tasks.map((t) => [t.kind, t.status])).toEqual([
      ['start', 'Done'],
      ['start', 'Done'],
    ]);
    expect(third.tasks.every((t) => /already started\.$/.test(t.log[0] ?? ''))).toBe(true);
  });

  test('replan starts an enabled service that was stopped by hand', async () => {
    const { emu, c } = await setup();
    await c.addLayer('base', TWO);
    await c.replan();
    await c.stop('worker');
    expect((await c.getService('worker')).current).toBe('inactive');
    await c.replan();
    expect((await c.getService('worker')).current).toBe('active');
    expect(emu.startCount('worker')).toBe(2);
  });

  test('a changed service is restarted even when disabled; any field counts (summary)', async () => {
    const { emu, c } = await setup();
    await c.addLayer('base', { services: { job: { override: 'replace', command: 'job' } } });
    await c.start('job');
    await c.addLayer('base', { services: { job: { override: 'merge', summary: 'now documented' } } }, { combine: true });
    await c.replan();
    expect(emu.startCount('job')).toBe(2);
    expect(emu.changes.at(-1)!.summary).toBe('Replan service "job"');
  });
});

describe('dependencies', () => {
  const DEPS: Layer = {
    services: {
      web: { override: 'replace', command: 'web', requires: ['db'], after: ['db'] },
      db: { override: 'replace', command: 'db' },
      other: { override: 'replace', command: 'other' },
    },
  };

  test('start pulls in requirements first; stop takes dependants down too', async () => {
    const { emu, c } = await setup();
    await c.addLayer('base', DEPS);
    await c.start('web');
    const start = emu.changes.at(-1)!;
    expect(start.summary).toBe('Start service "web" and 1 more');
    expect(start.tasks.map((t) => t.summary)).toEqual(['Start service "db"', 'Start service "web"']);
    await c.start('other');
    await c.stop('db');
    expect(emu.changes.at(-1)!.tasks.map((t) => t.summary)).toEqual(['Stop service "web"', 'Stop service "db"']);
    expect(emu.services.map((s) => [s.name, s.current])).toEqual([
      ['db', 'inactive'],
      ['other', 'active'],
      ['web', 'inactive'],
    ]);
  });

  test('restart stops only the named services, then starts them with their requirements', async () => {
    const { emu, c } = await setup();
    await c.addLayer('base', DEPS);
    await c.start('web');
    await c.restart('web');
    const change = emu.changes.at(-1)!;
    expect(change.tasks.map((t) => t.summary)).toEqual(['Stop service "web"', 'Start service "db"', 'Start service "web"']);
    expect(change.tasks[1]!.log[0]).toMatch(/Service "db" already started\.$/);
    expect([emu.startCount('db'), emu.startCount('web')]).toEqual([1, 2]);
  });
});

describe('start outcome (run mode, real processes)', () => {
  test('a process exiting at 0.5 s fails the start with "exited quickly", then backs off', async () => {
    const { emu, c } = await setup({ mode: 'run', jitter: false });
    await c.addLayer('base', {
      services: { flaky: { override: 'replace', command: `sh -c 'echo starting up; sleep 0.5; echo giving up >&2; exit 3'` } },
    });
    const started = Date.now();
    const err = (await c.start('flaky').catch((e: unknown) => e)) as ChangeError;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(ChangeError);
    expect(err.err).toBe(
      'cannot perform the following tasks:\n- Start service "flaky" (service start attempt: exited quickly with code 3, will restart)',
    );
    expect(err.message).toContain('Most recent service output:\n    starting up\n    giving up');
    expect((await c.getService('flaky')).current).toBe('backoff');
    expect(emu.serviceOutput('flaky')).toBe('starting up\ngiving up\n');
  });

  test('a command that is not found fails the start; the service is inactive', async () => {
    const { c } = await setup({ mode: 'run', clock: new FakeClock() });
    await c.addLayer('base', { services: { ghost: { override: 'replace', command: 'no-such-binary-xyz --flag' } } });
    const err = (await c.start('ghost').catch((e: unknown) => e)) as ChangeError;
    expect(err.err).toBe(
      'cannot perform the following tasks:\n- Start service "ghost" (cannot start service: exec: "no-such-binary-xyz": executable file not found in $PATH)',
    );
    expect((await c.getService('ghost')).current).toBe('inactive');
  });

  test('a missing or non-directory working-dir fails as the forked child does: fork/exec <resolved command>', async () => {
    const { c, emu } = await setup({ mode: 'run', clock: new FakeClock() });
    await emu.files.write({ path: '/afile' }, Buffer.from('x'));
    await c.addLayer('base', {
      services: {
        nodir: { override: 'replace', command: 'sleep 10', 'working-dir': '/no/such/dir' },
        filedir: { override: 'replace', command: 'sleep 10', 'working-dir': path.join(emu.rootDir, 'afile') },
      },
    });
    const errOf = async (name: string) => ((await c.start(name).catch((e: unknown) => e)) as ChangeError).err;
    expect(await errOf('nodir')).toMatch(/\(cannot start service: fork\/exec \/\S*\/sleep: no such file or directory\)$/);
    expect(await errOf('filedir')).toMatch(/\(cannot start service: fork\/exec \/\S*\/sleep: not a directory\)$/);
  });

  test('a bare command is looked up in the daemon PATH, not the service environment', async () => {
    const { c } = await setup({ mode: 'run', clock: new FakeClock(), env: { PATH: '/nonexistent' } });
    await c.addLayer('base', { services: { s: { override: 'replace', command: 'sleep 10', environment: { PATH: process.env['PATH'] ?? '' } } } });
    const err = (await c.start('s').catch((e: unknown) => e)) as ChangeError;
    expect(err.err).toMatch(/cannot start service: exec: "sleep": executable file not found in \$PATH\)$/);
  });

  test('environment is added to the emulator env; pathMap maps command words, working-dir and env paths', async () => {
    const hostApp = path.join(pebble.dir, 'app');
    mkdirSync(hostApp);
    writeFileSync(
      path.join(hostApp, 'main.cjs'),
      "require('fs').writeFileSync(process.env.OUT_FILE, 'written');\n" +
        'console.log(`cwd=${process.cwd()} greeting=${process.env.GREETING} base=${process.env.BASE} arg=${process.argv[2]}`);\nsetInterval(() => {}, 1000);\n',
    );
    const clock = new FakeClock();
    const { emu, c } = await setup({
      mode: 'run',
      clock,
      env: { PATH: process.env['PATH'], BASE: 'from-pebble', GREETING: 'overridden' },
      // '/var/lib/app' maps into the container's own root: what the service writes there is in the files API.
      pathMap: { '/opt/app': hostApp, '/var/lib/app': 'var/lib/app' },
    });
    await c.addLayer('base', {
      services: {
        app: {
          override: 'replace',
          command: `${process.execPath} /opt/app/main.cjs --flag`,
          'working-dir': '/opt/app',
          environment: { GREETING: 'hi', OUT_FILE: '/var/lib/app/out.txt' },
        },
      },
    });
    const starting = c.start('app');
    await emu.waitForService('app', 'starting');
    await clock.advance(1000);
    await starting;
    await eventually(() => emu.serviceOutput('app').includes('cwd='), 'app output');
    expect(emu.serviceOutput('app')).toBe(`cwd=${hostApp} greeting=hi base=from-pebble arg=--flag\n`);
    expect(await c.pull('/var/lib/app/out.txt')).toBe('written');
  });
});

describe('backoff (fake clock)', () => {
  test('delays 0.5, 1, 2, 4 ... 30 s; restarts go straight to running; reset after 30 s running', async () => {
    const clock = new FakeClock();
    const { emu, c } = await setup({ clock, okayDelayMs: 1000, jitter: false });
    const rec = recorder(emu);
    await c.addLayer('base', { services: { svc: { override: 'replace', command: 'svc' } } });
    const starting = c.start('svc');
    await emu.waitForService('svc', 'starting');
    await clock.advance(1000);
    await starting;

    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const backoff = rec.next('svc', 'backoff');
      emu.simulateExit('svc', 1);
      const e = await backoff;
      delays.push(e.backoffDelayMs!);
      expect(emu.serviceState('svc')).toBe('backoff');
      expect((await c.getService('svc')).current).toBe('backoff');
      await clock.advance(e.backoffDelayMs! - 1);
      expect(emu.serviceState('svc')).toBe('backoff');
      await clock.advance(1);
      expect(emu.serviceState('svc')).toBe('running'); // no okay-delay after a backoff restart
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);

    // Crashing before backoff-limit of running keeps the delay at the limit...
    await clock.advance(10_000);
    let next = rec.next('svc', 'backoff');
    emu.simulateExit('svc', 1);
    expect((await next).backoffDelayMs).toBe(30000);
    await clock.advance(30000);
    // ...running for the whole backoff-limit resets it.
    await clock.advance(30000);
    next = rec.next('svc', 'backoff');
    emu.simulateExit('svc', 1);
    expect((await next).backoffDelayMs).toBe(500);
    expect(emu.restartCount('svc')).toBe(9); // 1 start + 9 restarts
  });

  test('backoff-delay, backoff-factor and backoff-limit from the layer; jitter adds up to 10 %', async () => {
    const clock = new FakeClock();
    const { emu, c } = await setup({ clock, jitter: () => 0.1 });
    const rec = recorder(emu);
    await c.addLayer('base', {
      services: {
        svc: { override: 'replace', command: 'svc', 'backoff-delay': '1s', 'backoff-factor': 3, 'backoff-limit': '5s' },
      },
    });
    await c.start('svc');
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const next = rec.next('svc', 'backoff');
      emu.simulateExit('svc', 1);
      const e = await next;
      delays.push(e.backoffDelayMs!);
      await clock.advance(e.backoffDelayMs!);
    }
    expect(delays.map((d) => Math.round(d))).toEqual([1100, 3300, 5500]);
  });

  test('a user start during backoff starts at once and resets the backoff', async () => {
    const clock = new FakeClock();
    const { emu, c } = await setup({ clock, jitter: false });
    const rec = recorder(emu);
    await c.addLayer('base', { services: { svc: { override: 'replace', command: 'svc' } } });
    await c.start('svc');
    for (const expected of [500, 1000]) {
      const next = rec.next('svc', 'backoff');
      emu.simulateExit('svc', 1);
      expect((await next).backoffDelayMs).toBe(expected);
      if (expected === 500) await clock.advance(500);
    }
    await c.start('svc'); // during the 1 s backoff
    expect(emu.serviceState('svc')).toBe('running');
    const next = rec.next('svc', 'backoff');
    emu.simulateExit('svc', 1);
    expect((await next).backoffDelayMs).toBe(500);
    expect(clock.pending()).toEqual([500]); // only the new backoff timer: the old one and the reset timer are gone
  });

  test('real processes follow the same backoff under the fake clock', async () => {
    const clock = new FakeClock();
    const { emu, c } = await setup({ mode: 'run', clock, jitter: false });
    const rec = recorder(emu);
    await c.addLayer('base', { services: { crash: { override: 'replace', command: `sh -c 'exit 7'` } } });
    const first = rec.next('crash', 'backoff');
    await expect(c.start('crash')).rejects.toThrow('exited quickly with code 7, will restart');
    expect((await first).backoffDelayMs).toBe(500);
    const second = rec.next('crash', 'backoff');
    await clock.advance(500);
    expect((await second).backoffDelayMs).toBe(1000);
    expect(emu.startCount('crash')).toBe(2);
  });
});

describe('exit actions', () => {
  test('ignore: exit 0 -> inactive, non-zero -> error; restart (default) on success too', async () => {
    const clock = new FakeClock();
    const { emu, c } = await setup({ clock });
    await c.addLayer('base', {
      services: {
        a: { override: 'replace', command: 'a', 'on-success': 'ignore', 'on-failure': 'ignore' },
        b: { override: 'replace', command: 'b', 'on-failure': 'ignore' },
        d: { override: 'replace', command: 'd' },
      },
    });
    await c.start('a', 'b', 'd');
    emu.simulateExit('a', 0);
    emu.simulateExit('b', 4);
    emu.simulateExit('d', 0);
    expect(emu.services.map((s) => [s.name, s.current])).toEqual([
      ['a', 'inactive'],
      ['b', 'error'],
      ['d', 'backoff'],
    ]);
    // Stopping an exited service is a no-op that says so.
    await c.stop('b');
    expect(emu.changes.at(-1)!.tasks[0]!.log[0]).toMatch(/Service "b" had already exited\.$/);
  });

  test('not ready keeps the state: services keep running while the socket is away', async () => {
    const { emu, c } = await setup();
    await c.addLayer('base', TWO);
    await c.replan();
    await emu.setReady(false);
    expect(await c.canConnect()).toBe(false);
    expect(emu.services.every((s) => s.current === 'active')).toBe(true);
    await emu.setReady(true);
    expect([...(await c.getServices()).values()].map((s) => s.current)).toEqual(['active', 'active']);
  });

  test('shutdown: the emulated Pebble goes away; coming back is a fresh Pebble', async () => {
    const { emu, c } = await setup();
    const shutdowns: unknown[] = [];
    emu.on('shutdown', (e) => shutdowns.push(e));
    await c.addLayer('base', { services: { main: { override: 'replace', command: 'main', 'on-failure': 'shutdown' } } });
    await c.start('main');
    emu.simulateExit('main', 1);
    await eventually(() => !emu.ready, 'socket removed');
    expect(shutdowns).toEqual([{ kind: 'failure', service: 'main', exitCode: 10 }]);
    expect(await c.canConnect()).toBe(false);
    await emu.setReady(true);
    expect(await c.canConnect()).toBe(true);
    expect(emu.layers.size).toBe(0);
  });
});

describe('stopping', () => {
  test('SIGTERM first, SIGKILL after kill-delay for a process that ignores SIGTERM', async () => {
    const clock = new FakeClock();
    const { emu, c } = await setup({ mode: 'run', clock });
    const rec = recorder(emu);
    await c.addLayer('base', {
      services: { stubborn: { override: 'replace', command: `sh -c 'trap "" TERM; echo ready; sleep 30'`, 'kill-delay': '2s' } },
    });
    const starting = c.start('stubborn');
    await emu.waitForService('stubborn', 'starting');
    await clock.advance(1000);
    await starting;
    await eventually(() => emu.serviceOutput('stubborn').includes('ready'), 'trap installed');

    const changeId = await (await c.client()).stop(['stubborn'], { timeoutMs: 0 });
    await emu.waitForService('stubborn', 'terminating');
    await new Promise((r) => setTimeout(r, 200)); // SIGTERM is ignored in real time...
    await clock.advance(1999);
    expect(emu.serviceState('stubborn')).toBe('terminating');
    const stopped = rec.next('stubborn', 'stopped');
    await clock.advance(1); // ...until kill-delay, then SIGKILL
    expect((await stopped).exitCode).toBe(137);
    expect(rec.events.filter((e) => e.name === 'stubborn').map((e) => e.state)).toEqual([
      'starting',
      'running',
      'terminating',
      'killing',
      'stopped',
    ]);
    expect((await (await c.client()).waitChange(changeId)).status).toBe('Done');
  });

  test('stop() ends every spawned process group, grandchildren included', async () => {
    const { emu, c } = await setup({ mode: 'run', clock: new FakeClock() });
    await c.addLayer('base', {
      services: {
        parent: { override: 'replace', command: `sh -c 'sleep 100 & sleep 100'` },
        single: { override: 'replace', command: 'sleep 100' },
      },
    });
    await (await c.client()).start(['parent', 'single'], { timeoutMs: 0 });
    await emu.waitForService('parent', 'starting');
    await emu.waitForService('single', 'starting');
    const pids = ['parent', 'single'].map((n) => emu.serviceManager.services.get(n)!.proc!.pid!);
    await eventually(() => liveGroupMembers(pids[0]!).length === 3, 'sh and both sleeps running');
    expect(liveGroupMembers(pids[1]!)).toHaveLength(1);
    await emu.stop();
    expect(pids.map((pid) => liveGroupMembers(pid))).toEqual([[], []]);
  });
});
