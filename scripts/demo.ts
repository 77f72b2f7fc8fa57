/**
 * The end-to-end demo (`npm start`): the synchronizer charm, deployed and related in the model
 * simulator, runs its real workload under the Pebble emulator and copies a remote OpenCTI (emulated)
 * into a local one (emulated), until the local store equals the remote's final state. The local
 * platform queues through a real RabbitMQ broker: the test run's (OPENCTI_TEST_AMQP_URL, set by jest's
 * global setup) when set, otherwise a private one this script starts and stops (Debian's
 * rabbitmq-server, lib/rabbitmq/broker.ts; scripts/setup.sh installs it).
 *
 *   npm start [-- --events N] [--remote-port P] [--local-port P] [--health-port P] [--timeout SECONDS]
 *             [--seed S] [--profile 5.12|6.9|7.x] [--verbose]   (npm start -- --help: the options and defaults)
 *
 * The remote's stream is trimmed to its last fifth before the synchronizer starts (its retention),
 * so the first run copies the rest through the stream's recovery mode (REMOTE_OPENCTI_RECOVER=now).
 * Stdout ends with one JSON line, on success and on failure (after the reason):
 *   {"demo":"passed"|"failed","equal":true|false,"objects":<remote final-state objects>,"events":<events seeded>,"recovered":<objects copied through recover>}
 *
 * Exit codes: 0 synchronized and the unit active; 1 it did not (the reason is printed); 2 bad
 * options; 130 interrupted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { command, type CommandSpec } from '@juju-ts/charm-tools/cli';
import { PROFILES, type ProfileName } from '../lib/opencti-emulator/platform/profiles.js';
import type { OpenctiEmulator } from '../lib/opencti-emulator/index.js';
import type { Broker } from '../lib/rabbitmq/broker.js';
import type { HookRecord, ModelSim } from '@juju-ts/ops-testing';

const SYNC = 'opencti-synchronizer-connector';

const SPEC: CommandSpec = {
  name: 'demo',
  usage: 'npm start -- [options]',
  summary: `The end-to-end demo: the synchronizer charm, deployed and related in the model simulator, runs its
real workload and copies a remote OpenCTI (emulated) into a local one (emulated), until the local
store equals the remote's final state. It starts a private RabbitMQ broker (or uses
OPENCTI_TEST_AMQP_URL).`,
  options: {
    events: { type: 'string', default: '10000', value: 'N', help: 'events seeded into the remote, 1 to 5000000' },
    'remote-port': { type: 'string', default: '0', value: 'P', help: "the remote emulator's port (0: any free port)" },
    'local-port': { type: 'string', default: '0', value: 'P', help: "the local emulator's port (0: any free port)" },
    'health-port': { type: 'string', default: '0', value: 'P', help: "the synchronizer's /healthz port, its charm's sync-http-port (0: any free port)" },
    timeout: { type: 'string', default: '180', value: 'SECONDS', help: 'give up when not synchronized by then' },
    seed: { type: 'string', default: '7', value: 'S', help: "the event generator's seed" },
    profile: { type: 'string', default: '7.x', value: 'P', help: `the local platform's OpenCTI version profile: ${Object.keys(PROFILES).join(', ')}` },
    verbose: { type: 'boolean', help: 'print every hook, not only the failed ones' },
  },
  footer: `Stdout ends with one JSON line: {"demo":"passed"|"failed","equal":..,"objects":..,"events":..,"recovered":..}.
Exit codes: 0 synchronized and the unit active; 1 it did not (the reason is printed); 2 bad options; 130 interrupted.`,
};
const opts = await command(SPEC, process.argv.slice(2), (a) => ({
  events: a.int('events', 1, 5_000_000),
  remotePort: a.int('remote-port', 0, 65535),
  localPort: a.int('local-port', 0, 65535),
  healthPort: a.int('health-port', 0, 65535),
  timeoutMs: a.int('timeout', 1, 86_400) * 1000,
  seed: a.int('seed', 0, 2 ** 31),
  profile: a.choice('profile', Object.keys(PROFILES) as ProfileName[]),
  verbose: a.flag('verbose'),
}));
const { events, remotePort, localPort, timeoutMs, seed, profile } = opts;

// What the demo runs is loaded once its options are checked: --help and a bad option answer
// without loading the simulator, the emulators and the build (most of the start-up).
const [{ buildCharm }, { startOpenctiEmulator }, { startBroker }, testing, { bundle }] = await Promise.all([
  import('@juju-ts/charm-tools'),
  import('../lib/opencti-emulator/index.js'),
  import('../lib/rabbitmq/broker.js'),
  import('@juju-ts/ops-testing'),
  // @ts-expect-error: a plain ES module without types (the build script).
  import('./build.mjs') as Promise<{ bundle: (o: { entry: string; outfile: string }) => Promise<void> }>,
]);

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
// Quiet once interrupted: the JSON line finish() prints stays the last line.
const say = (msg: string) => void (result || console.log(msg));
const write = (text: string) => void (result || process.stdout.write(text));
/** A step line; once interrupted, the step throws instead: main() stops at its next step. */
const step = (msg: string) => {
  if (result) throw new Error('interrupted');
  say(`[${elapsed().padStart(6)}] ${msg}`);
};

let broker: Broker | undefined;
let emulator: OpenctiEmulator | undefined;
let model: ModelSim | undefined;
let work: string | undefined;
let seeded = 0;
/** Where the synchronizer's /healthz listens (--health-port, or a free port). */
let healthPort = 0;
/** Objects the synchronizer received through the stream's recovery mode (its /healthz counter). */
let recovered = 0;
/** Stops what is running and removes the work dir; each part once, so it can run again for what main() started meanwhile. */
async function cleanup(): Promise<void> {
  const [m, e, b] = [model, emulator, broker];
  [model, emulator, broker] = [undefined, undefined, undefined];
  await m?.destroy().catch(() => undefined);
  await e?.stop().catch(() => undefined);
  await b?.stop().catch(() => undefined);
  if (work) fs.rmSync(work, { recursive: true, force: true });
}

/** The final JSON line's figures, read before the emulators stop. */
function outcome(passed: boolean): { demo: 'passed' | 'failed'; equal: boolean; objects: number; events: number; recovered: number } {
  let equal = false;
  let objects = 0;
  try {
    if (emulator) {
      const files = emulator.compareFiles();
      equal = emulator.compare().equal && files.same === files.total;
      objects = emulator.remote.table().size;
    }
  } catch {
    // The emulator is gone: nothing to compare.
  }
  return { demo: passed ? 'passed' : 'failed', equal, objects, events: seeded, recovered };
}

/** Stops everything, ends stdout with the JSON line and exits; the first caller wins. */
let result: ReturnType<typeof outcome> | undefined;
let running: Promise<number> | undefined;
async function finish(code: number): Promise<never> {
  if (!result) {
    result = outcome(code === 0);
    await cleanup();
    if (running) {
      // Interrupted: main() may be inside a step (a build writing into the work dir, a broker
      // starting); it stops at its next one. Then remove what it left.
      await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 15_000).unref())]);
      await cleanup();
    }
    console.log(JSON.stringify(result));
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}
// `on`, not `once`: with no listener of ours left, signal-exit (execa's) would re-raise the signal
// and kill the process before the cleanup. A second Ctrl-C exits at once: the broker's exit handler
// and reaper still remove it.
process.on('SIGINT', () => {
  if (result) {
    console.log(`\ninterrupted again: exiting without waiting for the cleanup\n${JSON.stringify(result)}`);
    if (work) fs.rmSync(work, { recursive: true, force: true });
    process.exit(130);
  }
  console.log('\ninterrupted: stopping the workload, the emulators and the broker (Ctrl-C again to exit at once)');
  void finish(130);
});

async function healthz(): Promise<
  { state: string; counters: { eventsApplied: number; eventsReceived: number; eventsRecovered: number }; lastError: { message: string } | null; timing: { firstEventAt: number | null; lastAcceptAt: number | null } } | undefined
> {
  try {
    const r = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { signal: AbortSignal.timeout(1000) });
    return (await r.json()) as never;
  } catch {
    return undefined;
  }
}

function bar(done: number, total: number, width = 30): string {
  const f = total ? Math.min(1, done / total) : 0;
  return `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

async function main(): Promise<number> {
  // The workload runs on this machine, not in a pod of its own: its health endpoint takes a port here.
  healthPort = opts.healthPort || (await testing.freePort());
  if (!(await testing.portFree(healthPort))) {
    console.error(`--health-port ${healthPort} is in use: the synchronizer's health endpoint needs it (give another, or 0 for any free port)`);
    return 1;
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-'));
  step('building the synchronizer charm and its workload bundle');
  const charmDir = path.join(work, 'charm');
  await buildCharm({ projectDir: '.', outDir: charmDir });
  const syncDir = path.join(work, 'sync');
  await bundle({ entry: 'charm/sync/main.ts', outfile: path.join(syncDir, 'sync.mjs') });

  let amqpUrl = process.env.OPENCTI_TEST_AMQP_URL;
  if (amqpUrl) {
    step('using the test run\'s RabbitMQ broker (OPENCTI_TEST_AMQP_URL) for the local platform\'s queues');
  } else {
    step('starting a private RabbitMQ broker (the local platform\'s queues)');
    broker = await startBroker();
    amqpUrl = broker.url;
    say(`         amqp://127.0.0.1:${broker.port}/, its data in ${broker.dir} (removed on exit)`);
  }

  step(`starting the OpenCTI emulators (local platform: profile ${profile}) and seeding the remote with ${events} events`);
  emulator = await startOpenctiEmulator({ remotePort, localPort, heartbeatMs: 1000, amqpUrl, local: { profile } });
  // A few reports get a file (a PDF of 200 KB in the remote's storage): the copy brings its content.
  const withFiles = Math.min(20, Math.floor(events / 50));
  emulator.seed(events - withFiles, seed);
  emulator.remote.attachFiles(withFiles, 200_000);
  seeded = events;
  const retained = Math.ceil(events / 5);
  emulator.remote.trim(retained);
  const expected = emulator.remote.table().size;
  say(`         remote ${emulator.remoteUrl}: ${events} events, ${expected} objects in its final state (${withFiles} reports with a file in its storage), its stream trimmed to the last ${retained} events (retention); local ${emulator.localUrl} (OpenCTI ${emulator.local.profile.version}): empty`);

  const onHook = (h: HookRecord) => {
    if (opts.verbose || h.exitCode !== 0) say(`         ${h.unit} ${h.hook} → ${h.exitCode === 0 ? `${h.status.name}${h.status.message ? ` "${h.status.message}"` : ''}` : `FAILED (exit ${h.exitCode})\n${h.stderr}`}`);
  };
  model = new testing.ModelSim({ name: 'demo', dir: path.join(work, 'm'), onHook });

  step('juju deploy opencti (the local platform side), with the token it gives connectors');
  await model.deploy({ charm: 'examples/opencti-lite', app: 'opencti', config: { url: emulator.localUrl } });
  const localToken = model.addSecret({ token: emulator.localToken }, { label: 'opencti-connector-token' });
  await model.grantSecret(localToken, 'opencti');
  await model.config('opencti', { 'connector-token': localToken });

  step(`juju deploy ${SYNC} --config remote-opencti-url=... --config connector-confidence-level=80`);
  await model.deploy({
    charm: charmDir,
    config: { 'remote-opencti-url': emulator.remoteUrl, 'connector-confidence-level': 80, 'sync-http-port': healthPort },
    // The workload really runs: the image's /opt/opencti-synchronizer is the bundle built above,
    // and its state directory is inside the emulated container.
    containers: { mode: 'run', pathMap: { '/opt/opencti-synchronizer': syncDir, '/var/lib/opencti-synchronizer': 'var/lib/opencti-synchronizer' } },
  });
  step(`juju add-secret remote-opencti-token token=...; juju grant-secret remote-opencti-token ${SYNC}; juju config ${SYNC} remote-opencti-token=<secret id>`);
  const remoteToken = model.addSecret({ token: emulator.remoteToken }, { label: 'remote-opencti-token' });
  await model.grantSecret(remoteToken, SYNC);
  await model.config(SYNC, { 'remote-opencti-token': remoteToken });
  step(`juju integrate opencti ${SYNC}`);
  await model.integrate('opencti', SYNC);
  const afterIntegrate = model.status().applications[SYNC]!.units[`${SYNC}/0`]!.status;
  say(`         ${SYNC}/0: ${afterIntegrate.name}${afterIntegrate.message ? ` "${afterIntegrate.message}"` : ''}`);

  step('synchronizing');
  const started = performance.now();
  const tty = process.stdout.isTTY;
  let lastPrinted = -1;
  let caughtUp = false;
  let atCatchUp: Awaited<ReturnType<typeof healthz>>;
  while (!result && performance.now() - started < timeoutMs) {
    const h = await healthz();
    const applied = h?.counters.eventsApplied ?? 0;
    recovered = h?.counters.eventsRecovered ?? 0;
    const cmp = emulator.compare();
    const line = `         ${bar(cmp.same, expected)} ${cmp.same}/${expected} objects here, ${applied} events applied (${recovered} objects through the recovery mode)${h ? ` (${h.state})` : ''}`;
    if (tty) write(`\r${line}`);
    else if (Math.floor((cmp.same / expected) * 10) !== lastPrinted) {
      lastPrinted = Math.floor((cmp.same / expected) * 10);
      say(line);
    }
    if (h?.lastError && h.state === 'failed') break;
    const files = emulator.compareFiles();
    if (cmp.equal && files.same === files.total && applied > 0) {
      caughtUp = true;
      atCatchUp = h;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (tty) write('\n');
  if (result) throw new Error('interrupted');

  if (caughtUp) {
    // The unit reports what the process's status file says; it is rewritten every 10 s.
    step('waiting for the workload to refresh its status file, then update-status');
    const file = path.join(model.containers(`${SYNC}/0`).dir, SYNC, 'root', 'var/lib/opencti-synchronizer/status.json');
    const applied = (await healthz())?.counters.eventsApplied ?? 0;
    const until = performance.now() + 15_000;
    while (performance.now() < until) {
      try {
        if ((JSON.parse(fs.readFileSync(file, 'utf8')) as { counters?: { eventsApplied?: number } }).counters?.eventsApplied === applied) break;
      } catch {
        // Not written yet.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } else {
    step('update-status');
  }
  await model.updateStatus(SYNC);
  const h = await healthz();
  const cmp = emulator.compare();
  const unit = model.status().applications[SYNC]!.units[`${SYNC}/0`]!.status;
  const applied = h?.counters.eventsApplied ?? 0;
  // The process's own clock, read when the local store caught up: first event to last accepted batch.
  const t = atCatchUp?.timing;
  const seconds = t?.firstEventAt && t.lastAcceptAt ? Math.max(0.001, (t.lastAcceptAt - t.firstEventAt) / 1000) : 0;
  say('');
  say('summary');
  recovered = h?.counters.eventsRecovered ?? recovered;
  say(`  events applied:      ${applied}, ${recovered} of them objects copied through the recovery mode, the rest the retained stream${seconds ? ` (${(applied / seconds).toFixed(0)} events/s over ${seconds.toFixed(2)}s)` : ''}`);
  say(`  local platform:      OpenCTI ${emulator.local.profile.version} (profile ${profile})`);
  const files = emulator.compareFiles();
  const filesEqual = files.same === files.total;
  say(`  local vs remote:     ${cmp.same} objects identical, ${cmp.missing} missing, ${cmp.extra} extra, ${cmp.different} different → ${cmp.equal ? 'EQUAL' : 'NOT EQUAL'}`);
  say(`  files:               ${files.same} of ${files.total} identical, ${files.missing} missing, ${files.different} different → ${filesEqual ? 'EQUAL' : 'NOT EQUAL'}`);
  say(`  unit status:         ${unit.name}${unit.message ? ` "${unit.message}"` : ''}`);
  say(`  hooks run:           ${model.history.length}`);
  say(`  elapsed:             ${elapsed()}`);
  if (!caughtUp || !cmp.equal || !filesEqual) {
    say(`\nthe local platform did not catch up${h?.lastError ? `: ${h.lastError.message}` : ` within ${timeoutMs / 1000}s`}`);
    const out = model.containers(`${SYNC}/0`).emulators.get(SYNC)?.serviceOutput('connector') ?? '';
    if (out) say(`last workload output:\n${out.split('\n').slice(-10).join('\n')}`);
    return 1;
  }
  if (unit.name !== 'active') {
    say(`\nsynchronized, but the unit is ${unit.name}: ${unit.message}`);
    return 1;
  }
  say('\ndemo passed: the local OpenCTI holds exactly the remote\'s final state');
  return 0;
}

let code = 1;
try {
  running = main();
  code = await running;
} catch (e) {
  if (!result) console.error(`demo failed: ${(e as Error).stack ?? e}`);
}
await finish(code);
