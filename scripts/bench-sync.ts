/**
 * npm run bench:sync — throughput, CPU, memory and local queue depth of the synchronizer process
 * against the OpenCTI emulator (a benchmark, not a test). The remote is the emulator's live stream;
 * the local platform is the emulator's faithful one: its GraphQL API (Works) in this process, its
 * queues on a private RabbitMQ broker (one for the whole benchmark, started here, ~5 s), and its
 * worker pool (3 consumers) in this process with no added latency (`local: { latencyMs: 0 }`).
 * Runs, each on a freshly seeded emulator (same seed, fresh queues: each emulator's queue prefix is random):
 *   (a) the synchronizer as configured by default (SYNC_APPLY_MODE=batch), --events N (50000);
 *   (b) the per-event baseline, SYNC_APPLY_MODE=per-event (one message and one Work confirmation
 *       at a time, as the platform's sync manager pushes), --baseline-events N (3000: it is slow;
 *       rates are events/s, so the counts may differ);
 *   (c) SYNC_APPLY_MODE=none (the stream read and classified, nothing applied), N events;
 *   then (a) again with --big N (200000) events.
 * Per run: seconds = last acceptance - first event received, from the process's own /healthz
 * timing; events/s; peak RSS = VmHWM of the synchronizer; CPU = user+system seconds of the
 * synchronizer (whole process, start-up included; the part before its first event is shown apart),
 * of this process (emulator and workers) and of the broker, over the run; events per synchronizer
 * CPU-second; local == remote (emu.compare(), for (a) and (b)); for (a), the push queue's depth
 * sampled every 20 ms, maxed with /healthz queuedMessages.max, against queuedMessages.bound.
 * Targets (each printed met or missed): (a) >= 10x (b) in events/s; (a) >= 50% of (c) in events
 * per synchronizer CPU-second; peak RSS of the big run <= 1.1x the median of (a)'s; queue max <=
 * its bound; local == remote in every (a) and (b) run. The last stdout line is one JSON object:
 *   {"bench":"sync","a_over_b":..,"a_over_c_cpu":..,"rss_ratio":..,"queue_max":..,"queue_bound":..,"equal":..}
 * Method: first a batched run that is not measured (--warmup N, default 5000; 0 = none), since
 * this process hosts the emulator and V8 has not compiled its code yet; then --repeat R rounds
 * (default 3) of (a), (b), (c) one after the other, so ratios are taken between runs close in time
 * (this shared VM's speed drifts over minutes); the headline ratios are the medians of the rounds'
 * ratios; then the big run once.
 * Options (npm run bench:sync -- --help lists them with their defaults): --only a,b,c,big (a subset), --events N, --baseline-events N, --big N, --seed S, --churn C
 * (share of id changes, deletes and merges: 1 = the generator's default mix, 0 = none), --warmup N,
 * --repeat R, --profile 5.12|6.9|7.x (the local platform's version profile, default 7.x),
 * --prof DIR (CPU profiles: node --cpu-prof for the synchronizer, node:inspector for this
 * process); for experiments, --env K=V,K2=V2 (extra environment for every synchronizer run),
 * --node-args "--flag ..." and --bundle FILE (another build of the synchronizer).
 * BENCH_CHILD_STDOUT=1 passes the synchronizer's stdout through (e.g. with --node-args=--trace-gc).
 * Ctrl-C or an error stops the synchronizer, the emulator and the broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { command, UsageError } from '@juju-ts/charm-tools/cli';
import type { SyncStatus } from '../charm/sync/status.js';
import type { OpenctiEmulator, ProfileName } from '../lib/opencti-emulator/index.js';
import type { Broker } from '../lib/rabbitmq/broker.js';
import { median } from './bench-stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTOR_ID = 'b7c1b0a2-5f5e-4d8e-9a55-0c2d5b1e7f01';
const PROFILES: readonly ProfileName[] = ['5.12', '6.9', '7.x'];
const RUNS = ['a', 'b', 'c', 'big'] as const;
const opts = await command(
  {
    name: 'bench:sync',
    usage: 'npm run bench:sync -- [options]',
    summary: `Throughput, CPU, memory and local queue depth of the synchronizer process against the OpenCTI
emulator (a benchmark, not a test; it takes minutes and starts a private RabbitMQ broker). Runs:
(a) batched apply (the default), (b) per-event apply, (c) read and classify only, then (a) again
with --big events; prints a table, the targets met or missed, and one JSON line. docs/sync.md
describes the method and the targets. (npm run bench:sync builds dist/sync first.)`,
    options: {
      only: { type: 'string', default: 'a,b,c,big', value: 'LIST', help: 'the runs to do, a comma-separated subset of a, b, c, big' },
      events: { type: 'string', default: '50000', value: 'N', help: 'events of the (a) and (c) runs' },
      'baseline-events': { type: 'string', default: '3000', value: 'N', help: 'events of the (b) runs (it is slow; rates are events/s)' },
      big: { type: 'string', default: '200000', value: 'N', help: 'events of the big (a) run' },
      seed: { type: 'string', default: '7', value: 'S', help: "the event generator's seed" },
      churn: { type: 'string', default: '1', value: 'C', help: "share of id changes, deletes and merges (1: the generator's mix, 0: none)" },
      warmup: { type: 'string', default: '5000', value: 'N', help: 'events of an unmeasured batched run first (0: none)' },
      repeat: { type: 'string', default: '3', value: 'R', help: 'rounds of (a), (b), (c); the headline ratios are their medians' },
      profile: { type: 'string', default: '7.x', value: 'P', help: `the local platform's version profile: ${PROFILES.join(', ')}` },
      prof: { type: 'string', value: 'DIR', help: 'write CPU profiles there (the synchronizer and this process)' },
      env: { type: 'string', value: 'K=V,..', help: 'extra environment for every synchronizer run' },
      'node-args': { type: 'string', value: '"--flag ..."', help: "extra node flags for the synchronizer (e.g. --node-args=--trace-gc)" },
      bundle: { type: 'string', value: 'FILE', help: 'another build of the synchronizer (default: dist/sync/sync.mjs of this checkout)' },
    },
    footer: 'BENCH_CHILD_STDOUT=1 passes the synchronizer\'s stdout through.\nExit codes: 0 measured (targets met or not), 1 a run failed, 2 bad options; 130 interrupted.',
  },
  process.argv.slice(2),
  (a) => ({
    N: a.int('events', 1),
    BASELINE_N: a.int('baseline-events', 1),
    BIG: a.int('big', 1),
    SEED: a.int('seed', 0),
    CHURN: a.number('churn', 0),
    WARMUP: a.int('warmup', 0),
    REPEAT: a.int('repeat', 1),
    PROFILE: a.choice('profile', PROFILES),
    ONLY: new Set<string>(a.subset('only', RUNS)),
    PROF_DIR: a.string('prof'),
    EXTRA_ENV: envOption(a.string('env')),
    EXTRA_NODE_ARGS: (a.string('node-args') ?? '').split(' ').filter((x) => x !== ''),
    // Last: the other options' mistakes are reported before a missing build.
    BUNDLE: bundleOption(a.string('bundle')),
  }),
);
const { N, BASELINE_N, BIG, SEED, CHURN, WARMUP, REPEAT, PROFILE, ONLY, PROF_DIR, BUNDLE, EXTRA_ENV, EXTRA_NODE_ARGS } = opts;

// Loaded once the options are checked: --help and a bad option answer without loading the emulator, the broker and zod.
const [{ syncStatusSchema }, { startOpenctiEmulator }, { freePort }, { startBroker }] = await Promise.all([
  import('../charm/sync/status.js'),
  import('../lib/opencti-emulator/index.js'),
  import('@juju-ts/ops-testing'),
  import('../lib/rabbitmq/broker.js'),
]);

/** The synchronizer's bundle: it must exist before a broker is started for nothing. */
function bundleOption(raw: string | undefined): string {
  const file = path.resolve(raw ?? path.join(root, 'dist/sync/sync.mjs'));
  if (!existsSync(file)) {
    throw new UsageError(raw === undefined ? `${file} does not exist: build it with node scripts/build.mjs (npm run bench:sync does)` : `--bundle ${raw} does not exist`, raw !== undefined);
  }
  return file;
}

/** `--env K=V,K2=V2`: every item must have a name and an `=`. */
function envOption(raw: string | undefined): Record<string, string> {
  const items = (raw ?? '').split(',').filter((kv) => kv !== '');
  const bad = items.find((kv) => kv.indexOf('=') <= 0);
  if (bad !== undefined) throw new UsageError(`--env wants K=V,K2=V2 (got ${bad} in ${raw})`);
  return Object.fromEntries(items.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}
/** Each worker delivery waits uniform [0, latencyMs] ms: none here, so the workers go as fast as they can. */
const WORKER_LATENCY_MS = 0;

type Mode = 'batch' | 'per-event' | 'none';

interface Row {
  label: string;
  kind: 'a' | 'b' | 'c' | 'big';
  events: number;
  seconds: number;
  rate: number;
  rssMb: number;
  /** Synchronizer CPU-s, whole process; `syncStartCpu` of it before its first event (sampled at the first /healthz poll that shows one). */
  syncCpu: number;
  syncStartCpu: number;
  benchCpu: number;
  brokerCpu: number;
  perCpu: number;
  messages: number;
  works: number;
  /** undefined for (c), which applies nothing. */
  equal: boolean | undefined;
  equalText: string;
  /** (a) only: the push queue's depth sampled on the broker, and the largest of it and /healthz queuedMessages.max. */
  queueSampled: number | undefined;
  queueMax: number | undefined;
  /** /healthz queuedMessages: at most so far, and the bound (SYNC_MAX_QUEUED_MESSAGES; 1 for per-event). */
  queuedMax: number;
  queueBound: number;
}

// ------------------------------------------------------------------ processes and /proc

/** user + system CPU seconds of a process (Linux, /proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s). */
function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function vmHWM(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The broker's Erlang VM (its pid file), whose CPU competes with both Node processes for the cores. */
function brokerPid(broker: Broker): number | undefined {
  try {
    return Number(readFileSync(path.join(broker.dir, 'rabbitmq.pid'), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A full GC of this process (the emulator's) before each run, so garbage from seeding and from the
// previous run's emulator is not collected in the middle of the next measurement.
v8.setFlagsFromString('--expose-gc');
const fullGc = vm.runInNewContext('gc') as () => void;

// ------------------------------------------------------------------ what is running, for clean-up

const live: { broker?: Broker; emu?: OpenctiEmulator; child?: ChildProcess } = {};

async function stopAll(): Promise<void> {
  if (live.child && live.child.exitCode === null && live.child.signalCode === null) live.child.kill('SIGKILL');
  await live.emu?.stop().catch(() => undefined);
  await live.broker?.stop().catch(() => undefined);
  Object.assign(live, { child: undefined, emu: undefined, broker: undefined });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench:sync: ${signal}, stopping the synchronizer, the emulator and the broker\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

// ------------------------------------------------------------------ one run

function syncEnv(emu: OpenctiEmulator, port: number, mode: Mode): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    OPENCTI_URL: emu.localUrl,
    OPENCTI_TOKEN: emu.localToken,
    CONNECTOR_ID,
    CONNECTOR_TYPE: 'STREAM',
    CONNECTOR_NAME: 'bench',
    CONNECTOR_SCOPE: 'synchronizer',
    CONNECTOR_CONFIDENCE_LEVEL: '80',
    CONNECTOR_LOG_LEVEL: 'warn',
    REMOTE_OPENCTI_URL: emu.remoteUrl,
    REMOTE_OPENCTI_TOKEN: emu.remoteToken,
    REMOTE_OPENCTI_SSL_VERIFY: 'true',
    // The stream, event by event (what the runs compare); not the initial copy of the recovery mode.
    REMOTE_OPENCTI_RECOVER: 'off',
    SYNC_HTTP_PORT: String(port),
    SYNC_HTTP_HOST: '127.0.0.1',
    SYNC_APPLY_MODE: mode,
    ...EXTRA_ENV,
  };
}

interface SyncProcess {
  child: ChildProcess;
  pid: number;
  stderrTail(): string;
}

function spawnSynchronizer(emu: OpenctiEmulator, port: number, mode: Mode, events: number): SyncProcess {
  const prof = PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROF_DIR, '--cpu-prof-name', `${mode}-${events}-${Date.now()}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...EXTRA_NODE_ARGS, ...prof, BUNDLE], {
    env: syncEnv(emu, port, mode),
    stdio: ['ignore', process.env.BENCH_CHILD_STDOUT ? 'inherit' : 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  live.child = child;
  return { child, pid: child.pid as number, stderrTail: () => tail };
}

async function healthz(port: number): Promise<SyncStatus | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return syncStatusSchema.parse(await res.json());
  } catch {
    return undefined;
  }
}

const settled = (s: SyncStatus): number => s.counters.eventsApplied + s.counters.eventsRefused + s.counters.eventsSuperseded + Object.values(s.counters.eventsSkipped).reduce((a, b) => a + b, 0);

/**
 * Poll /healthz until every event is settled (applied, refused or skipped); the last status, and
 * the synchronizer's CPU at the first poll that shows a first event (its start-up).
 */
async function waitForSettled(label: string, proc: SyncProcess, port: number, events: number): Promise<{ status: SyncStatus; startCpu: number }> {
  const deadline = Date.now() + 20 * 60_000;
  let startCpu: number | undefined;
  for (;;) {
    await sleep(startCpu === undefined ? 20 : 100);
    if (proc.child.exitCode !== null) throw new Error(`${label}: the synchronizer exited with ${proc.child.exitCode}; its stderr:\n${proc.stderrTail()}`);
    const status = await healthz(port);
    if (!status) continue;
    if (startCpu === undefined && status.timing.firstEventAt !== null) startCpu = procCpuSeconds(proc.pid);
    if (settled(status) >= events) return { status, startCpu: startCpu ?? NaN };
    if (Date.now() > deadline) throw new Error(`${label}: timed out at ${settled(status)}/${events} events; its stderr:\n${proc.stderrTail()}`);
  }
}

/** Samples the connector's push queue depth every ~20 ms until stopped; stop() resolves to the largest seen. */
function sampleQueueDepth(emu: OpenctiEmulator): { stop(): Promise<number> } {
  const queue = emu.local.queues.pushQueue(CONNECTOR_ID);
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        max = Math.max(max, await emu.local.queues.depth(queue));
      } catch {
        return; // the emulator stopped under it (Ctrl-C)
      }
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return max;
    },
  };
}

async function startBenchProfiler(): Promise<Session | undefined> {
  if (!PROF_DIR) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopBenchProfiler(session: Session | undefined, name: string): Promise<void> {
  if (!session || !PROF_DIR) return;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(path.join(PROF_DIR, `emulator-${name}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
  session.disconnect();
}

function comparison(emu: OpenctiEmulator, mode: Mode): { equal: boolean | undefined; text: string } {
  if (mode === 'none') return { equal: undefined, text: 'n/a' };
  const cmp = emu.compare();
  return cmp.equal ? { equal: true, text: 'yes' } : { equal: false, text: `NO (missing ${cmp.missing}, extra ${cmp.extra}, different ${cmp.different})` };
}

async function freshEmulator(label: string, broker: Broker, events: number): Promise<OpenctiEmulator> {
  const emu = await startOpenctiEmulator({ heartbeatMs: 2000, amqpUrl: broker.url, local: { profile: PROFILE, latencyMs: WORKER_LATENCY_MS } });
  live.emu = emu;
  const t0 = Date.now();
  emu.seed(events, SEED, CHURN);
  process.stderr.write(`${label}: seeded ${events} events in ${Date.now() - t0} ms\n`);
  return emu;
}

async function run(label: string, kind: Row['kind'], mode: Mode, events: number, broker: Broker): Promise<Row> {
  const emu = await freshEmulator(label, broker, events);
  const port = await freePort();
  fullGc();
  const profiler = await startBenchProfiler();
  const bPid = brokerPid(broker);
  const brokerCpu0 = bPid ? procCpuSeconds(bPid) : NaN;
  const benchCpu0 = process.cpuUsage();
  const proc = spawnSynchronizer(emu, port, mode, events);
  const exited = new Promise<void>((r) => proc.child.once('exit', () => r()));
  const sampler = mode === 'batch' ? sampleQueueDepth(emu) : undefined;
  try {
    const { status, startCpu } = await waitForSettled(label, proc, port, events);
    const sampledMax = await sampler?.stop();
    const rssMb = vmHWM(proc.pid);
    const syncCpu = procCpuSeconds(proc.pid);
    const bench = process.cpuUsage(benchCpu0);
    const brokerCpu = bPid ? procCpuSeconds(bPid) - brokerCpu0 : NaN;
    await stopBenchProfiler(profiler, `${mode}-${events}`);
    proc.child.kill('SIGTERM');
    await exited;
    const t = status.timing;
    const seconds = ((t.lastAcceptAt ?? 0) - (t.firstEventAt ?? 0)) / 1000;
    const cmp = comparison(emu, mode);
    if (cmp.equal === false) process.stderr.write(`${label}: local != remote: ${cmp.text}; unapplied (first 5): ${JSON.stringify(emu.unapplied(5))}; the synchronizer's stderr tail:\n${proc.stderrTail()}\n`);
    reportPlatformTrouble(label, emu);
    if (proc.stderrTail().trim() !== '') process.stderr.write(`${label}: the synchronizer's stderr (tail):\n${proc.stderrTail().trim().split('\n').slice(-5).join('\n')}\n`);
    const q = status.queuedMessages;
    const row: Row = {
      label,
      kind,
      events,
      seconds,
      rate: events / seconds,
      rssMb,
      syncCpu,
      syncStartCpu: startCpu,
      benchCpu: (bench.user + bench.system) / 1e6,
      brokerCpu,
      perCpu: events / syncCpu,
      messages: status.counters.messagesSent,
      works: status.counters.worksCreated,
      equal: cmp.equal,
      equalText: cmp.text,
      queueSampled: sampledMax,
      queueMax: sampledMax === undefined ? undefined : Math.max(sampledMax, q.max),
      queuedMax: q.max,
      queueBound: q.bound,
    };
    process.stderr.write(`${label}: ${row.rate.toFixed(0)} events/s, ${row.perCpu.toFixed(0)} events per sync CPU-s, peak RSS ${rssMb.toFixed(1)} MB, local == remote: ${cmp.text}\n`);
    return row;
  } finally {
    await sampler?.stop();
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await exited;
    await emu.stop();
    live.emu = live.child = undefined;
  }
}

/** Messages the workers could not read, or errors in the emulator's own code: said, since they would explain a difference. */
function reportPlatformTrouble(label: string, emu: OpenctiEmulator): void {
  const { deadLetters, internalErrors } = emu.local;
  if (deadLetters.length + internalErrors.length === 0) return;
  process.stderr.write(`${label}: the platform emulator nacked ${deadLetters.length} message(s) and had ${internalErrors.length} internal error(s); first: ${String(internalErrors[0] ?? deadLetters[0]?.body.slice(0, 300))}\n`);
}

// ------------------------------------------------------------------ the runs

interface Round {
  a?: Row;
  b?: Row;
  c?: Row;
}

async function runAll(broker: Broker, done: Row[]): Promise<{ rounds: Round[]; big?: Row }> {
  if (WARMUP > 0) await run('warm-up (not measured)', 'a', 'batch', WARMUP, broker);
  const rounds: Round[] = [];
  for (let r = 1; r <= REPEAT; r++) {
    const tag = REPEAT > 1 ? ` #${r}` : '';
    const round: Round = {};
    rounds.push(round);
    if (ONLY.has('a')) done.push((round.a = await run(`(a) batched${tag}`, 'a', 'batch', N, broker)));
    if (ONLY.has('b')) done.push((round.b = await run(`(b) per-event${tag}`, 'b', 'per-event', BASELINE_N, broker)));
    if (ONLY.has('c')) done.push((round.c = await run(`(c) read only${tag}`, 'c', 'none', N, broker)));
  }
  if (!ONLY.has('big')) return { rounds };
  const big = await run('(a) batched, big', 'big', 'batch', BIG, broker);
  done.push(big);
  return { rounds, big };
}

// ------------------------------------------------------------------ the report

const pad = (s: string, n: number) => s.padEnd(n);
const fix = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '?');

function table(rows: readonly Row[]): string[] {
  const head = ['run', 'events', 'seconds', 'events/s', 'peak RSS MB', 'CPU s sync (start-up)', 'CPU s bench/broker', 'events/sync CPU-s', 'msgs/works', 'queue broker/sync/bound', 'local == remote'];
  const widths = [26, 8, 9, 10, 13, 23, 20, 19, 14, 26, 0];
  const cells = (r: Row) => [
    r.label,
    String(r.events),
    fix(r.seconds, 2),
    fix(r.rate, 0),
    fix(r.rssMb, 1),
    `${fix(r.syncCpu, 2)} (${fix(r.syncStartCpu, 2)})`,
    `${fix(r.benchCpu, 2)}/${fix(r.brokerCpu, 2)}`,
    fix(r.perCpu, 0),
    `${r.messages}/${r.works}`,
    `${r.queueSampled ?? '-'}/${r.queuedMax}/${r.queueBound}`,
    r.equalText,
  ];
  const line = (xs: string[]) => xs.map((x, i) => pad(x, widths[i] as number)).join('').trimEnd();
  const legend = [
    'CPU s: the synchronizer (whole process; before its first event), this process (emulator and workers), the broker, over the run.',
    'queue: the push queue depth sampled on the broker every 20 ms ((a) only) / the synchronizer\'s /healthz queuedMessages.max / its bound.',
  ];
  return [line(head), ...rows.map((r) => line(cells(r))), ...legend];
}

interface Results {
  aOverB: number[];
  aOverCCpu: number[];
  rssRatio: number | undefined;
  queueMax: number | undefined;
  queueBound: number | undefined;
  equal: boolean;
}

function results(rounds: readonly Round[], big: Row | undefined, rows: readonly Row[]): Results {
  const aRss = rounds.flatMap((r) => (r.a ? [r.a.rssMb] : []));
  const aRuns = rows.filter((r) => r.kind === 'a' || r.kind === 'big');
  const queued = aRuns.flatMap((r) => (r.queueMax === undefined ? [] : [r.queueMax]));
  return {
    aOverB: rounds.flatMap((r) => (r.a && r.b ? [r.a.rate / r.b.rate] : [])),
    aOverCCpu: rounds.flatMap((r) => (r.a && r.c ? [r.a.perCpu / r.c.perCpu] : [])),
    rssRatio: big && aRss.length > 0 ? big.rssMb / median(aRss) : undefined,
    queueMax: queued.length > 0 ? Math.max(...queued) : undefined,
    queueBound: aRuns.length > 0 ? Math.min(...aRuns.map((r) => r.queueBound)) : undefined,
    equal: rows.every((r) => r.equal !== false),
  };
}

function targetLine(name: string, value: string, met: boolean | undefined, target: string, detail = ''): string {
  const verdict = met === undefined ? 'n/a (not run)' : met ? 'met' : 'missed';
  return `${pad(name, 40)}${pad(value, 10)}target ${pad(target, 10)}${pad(verdict, 15)}${detail}`.trimEnd();
}

function perRound(xs: readonly number[], fmt: (x: number) => string): string {
  return xs.length > 1 ? `(rounds: ${xs.map(fmt).join(', ')})` : '';
}

function targets(res: Results, rounds: readonly Round[], big: Row | undefined): string[] {
  const ab = res.aOverB.length > 0 ? median(res.aOverB) : undefined;
  const ac = res.aOverCCpu.length > 0 ? median(res.aOverCCpu) : undefined;
  const aRss = rounds.flatMap((r) => (r.a ? [r.a.rssMb] : []));
  const x = (v: number) => `${v.toFixed(1)}x`;
  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  return [
    targetLine('(a)/(b) events/s:', ab === undefined ? '-' : x(ab), ab === undefined ? undefined : ab >= 10, '>= 10x', perRound(res.aOverB, x)),
    targetLine('(a)/(c) events per sync CPU-s:', ac === undefined ? '-' : pct(ac), ac === undefined ? undefined : ac >= 0.5, '>= 50%', perRound(res.aOverCCpu, pct)),
    targetLine(
      `peak RSS (a) ${BIG / 1000}k / (a) ${N / 1000}k:`,
      res.rssRatio === undefined ? '-' : res.rssRatio.toFixed(3),
      res.rssRatio === undefined ? undefined : res.rssRatio <= 1.1,
      '<= 1.10',
      res.rssRatio === undefined || !big ? '' : `(${big.rssMb.toFixed(1)} MB / median ${median(aRss).toFixed(1)} MB)`,
    ),
    targetLine('local queue max / bound, (a) runs:', res.queueMax === undefined ? '-' : `${res.queueMax}/${res.queueBound}`, res.queueMax === undefined ? undefined : res.queueMax <= (res.queueBound ?? 0), '<= bound'),
    targetLine('local == remote, every (a) and (b) run:', res.equal ? 'yes' : 'no', res.equal, 'yes'),
  ];
}

function jsonLine(res: Results): string {
  const round = (v: number | undefined, d: number) => (v === undefined ? null : Number(v.toFixed(d)));
  return JSON.stringify({
    bench: 'sync',
    a_over_b: round(res.aOverB.length > 0 ? median(res.aOverB) : undefined, 1),
    a_over_c_cpu: round(res.aOverCCpu.length > 0 ? median(res.aOverCCpu) : undefined, 2),
    rss_ratio: round(res.rssRatio, 3),
    queue_max: res.queueMax ?? null,
    queue_bound: res.queueBound ?? null,
    equal: res.equal,
  });
}

function header(rows: readonly Row[]): string {
  return [
    `node ${process.version}, ${rows.length} measured runs, local platform profile ${PROFILE}, 3 workers with latencyMs ${WORKER_LATENCY_MS}, one private RabbitMQ broker,`,
    `${WARMUP > 0 ? `after a ${WARMUP}-event warm-up` : 'no warm-up'}, seed ${SEED}, churn ${CHURN}; (b) runs ${BASELINE_N} events (rates are events/s)`,
  ].join('\n');
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  process.stderr.write('bench:sync: starting a private RabbitMQ broker...\n');
  const broker = await startBroker();
  live.broker = broker;
  const rows: Row[] = [];
  try {
    const { rounds, big } = await runAll(broker, rows);
    const res = results(rounds, big, rows);
    process.stdout.write(`${[header(rows), '', ...table(rows), '', ...targets(res, rounds, big), jsonLine(res)].join('\n')}\n`);
    return 0;
  } catch (e) {
    if (rows.length > 0) process.stdout.write(`${[header(rows), '', ...table(rows)].join('\n')}\n`);
    process.stderr.write(`bench:sync: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await stopAll();
  }
}

process.exitCode = await main();
