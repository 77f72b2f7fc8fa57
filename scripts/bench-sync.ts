/**
 * npm run bench:sync — throughput and peak memory of the synchronizer process against the OpenCTI
 * emulator over loopback (a benchmark, not a test):
 *   (a) batched, (b) per-event baseline (one request per event, like the 2021 synchronizer),
 *   (c) raw stream read rate (events parsed, nothing applied) on the same 50k events,
 *   then (a) again with 200k events.
 * Rate = events / (last acceptance - first event received), from the process's own /healthz timing.
 * Peak RSS = VmHWM of the synchronizer process (not the emulator), read just before it stops.
 * CPU = user+system seconds of the synchronizer process (/proc/<pid>/stat) and of this process, which
 * hosts the emulator (both its remote stream and its local GraphQL server), over the run.
 * Method: first a short batched run that is not measured (--warmup N, default 5000 events; 0 = none):
 * this process hosts the emulator, so without it (a), the first run, would be measured against an
 * emulator whose code V8 has not compiled yet while (b), (c) and the 200k run were not. Then
 * --repeat R rounds (default 3) of (a), (b), (c), each round the three one after the other, so
 * the ratios are taken between runs close in time: the host's speed drifts by ±15-35% over
 * minutes on a shared VM. The headline ratios are the medians of the rounds' ratios; every round's
 * figures are printed. Then the 200k run once; its RSS is compared with the median RSS of (a).
 * Options: --events N (default 50000), --big N (default 200000), --seed S, --churn C (the generator's
 * share of id changes, deletes and merges: 1 = the default mix, 0 = none), --only a,b,c,big (a subset
 * of the runs; the ratios are printed only for the runs that ran), --warmup N, --repeat R, --prof DIR (CPU profiles into DIR:
 * of the synchronizer processes, node --cpu-prof, and of this process, the emulator, over each run,
 * node:inspector); for experiments, --env K=V,K2=V2 (extra
 * environment) and --node-args "--flag ..." (extra node flags), given to every run alike, and
 * --bundle FILE (another build of the synchronizer, to compare two builds). BENCH_CHILD_STDOUT=1
 * passes the synchronizer's stdout through (e.g. with --node-args=--trace-gc).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { syncStatusSchema, type SyncStatus } from '../charm/sync/status.js';
import { startOpenctiEmulator } from '../lib/testing/opencti/index.js';
import { freePort } from '../lib/testing/ports.js';
import { median } from './bench-stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { events: { type: 'string' }, big: { type: 'string' }, seed: { type: 'string' }, churn: { type: 'string' }, only: { type: 'string' }, prof: { type: 'string' }, env: { type: 'string' }, 'node-args': { type: 'string' }, bundle: { type: 'string' }, warmup: { type: 'string' }, repeat: { type: 'string' } } });
const bundle = path.resolve(values.bundle ?? path.join(root, 'dist/sync/sync.mjs'));
const extraEnv: Record<string, string> = Object.fromEntries((values.env ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const extraNodeArgs = (values['node-args'] ?? '').split(' ').filter((a) => a !== '');
/** A numeric option: its default when absent; a clear error (naming the option) when not a number >= min. */
function numberOption(name: 'events' | 'big' | 'seed' | 'churn' | 'warmup' | 'repeat', fallback: number, min: number, integer = true): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    process.stderr.write(`bench:sync: --${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}
const N = numberOption('events', 50_000, 1);
const BIG = numberOption('big', 200_000, 1);
const SEED = numberOption('seed', 7, 0);
const CHURN = numberOption('churn', 1, 0, false);
const WARMUP = numberOption('warmup', 5000, 0);
const REPEAT = numberOption('repeat', 3, 1);

/** user + system CPU seconds of a process (Linux, /proc/<pid>/stat fields 14 and 15, in clock ticks of 1/100 s). */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// A full GC of this process (the emulator's) before each run, so garbage from seeding and from the
// previous run's emulator is not collected in the middle of the next measurement.
v8.setFlagsFromString('--expose-gc');
const fullGc = vm.runInNewContext('gc') as () => void;

function vmHWM(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Row {
  label: string;
  mode: string;
  events: number;
  seconds: number;
  rate: number;
  rssMb: number;
  requests: number;
  equal: string;
  syncCpu: number;
  emuCpu: number;
}

async function run(label: string, mode: 'batch' | 'per-event' | 'none', events: number): Promise<Row> {
  const emu = await startOpenctiEmulator({ heartbeatMs: 2000 });
  const t0 = Date.now();
  emu.seed(events, SEED, CHURN);
  process.stderr.write(`[${label}] seeded ${events} events in ${Date.now() - t0} ms; running the synchronizer (${mode})...\n`);
  const port = await freePort();
  fullGc();
  const nodeArgs = values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof, '--cpu-prof-name', `${mode}-${events}-${Date.now()}.cpuprofile`] : [];
  const emuProfiler = values.prof ? new Session() : undefined;
  if (emuProfiler) {
    emuProfiler.connect();
    await emuProfiler.post('Profiler.enable');
    await emuProfiler.post('Profiler.start');
  }
  const emuCpu0 = process.cpuUsage();
  const child = spawn(process.execPath, [...extraNodeArgs, ...nodeArgs, bundle], {
    env: {
      PATH: process.env.PATH,
      OPENCTI_URL: emu.localUrl,
      OPENCTI_TOKEN: emu.localToken,
      CONNECTOR_ID: 'b7c1b0a2-5f5e-4d8e-9a55-0c2d5b1e7f01',
      CONNECTOR_TYPE: 'STREAM',
      CONNECTOR_NAME: 'bench',
      CONNECTOR_SCOPE: 'synchronizer',
      CONNECTOR_CONFIDENCE_LEVEL: '80',
      CONNECTOR_LOG_LEVEL: 'warn',
      REMOTE_OPENCTI_URL: emu.remoteUrl,
      REMOTE_OPENCTI_TOKEN: emu.remoteToken,
      REMOTE_OPENCTI_SSL_VERIFY: 'true',
      SYNC_HTTP_PORT: String(port),
      SYNC_HTTP_HOST: '127.0.0.1',
      SYNC_APPLY_MODE: mode,
      ...extraEnv,
    },
    stdio: ['ignore', process.env.BENCH_CHILD_STDOUT ? 'inherit' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  let status: SyncStatus | undefined;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    if (child.exitCode !== null) throw new Error(`[${label}] the synchronizer exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      status = syncStatusSchema.parse(await res.json());
    } catch {
      continue;
    }
    const c = status.counters;
    const accepted = c.eventsApplied + Object.values(c.eventsSkipped).reduce((a, b) => a + b, 0);
    if (accepted >= events) break;
    if (Date.now() > deadline) throw new Error(`[${label}] timed out at ${accepted}/${events}`);
  }
  const rssMb = vmHWM(child.pid as number);
  const syncCpu = procCpuSeconds(child.pid as number);
  const emuCpuUsed = process.cpuUsage(emuCpu0);
  if (emuProfiler && values.prof) {
    const { profile } = await emuProfiler.post('Profiler.stop');
    writeFileSync(path.join(values.prof, `emulator-${mode}-${events}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
    emuProfiler.disconnect();
  }
  child.kill('SIGTERM');
  await exited;
  const t = status.timing;
  const seconds = ((t.lastAcceptAt ?? 0) - (t.firstEventAt ?? 0)) / 1000;
  const cmp = mode === 'none' ? undefined : emu.compare();
  const row: Row = {
    label,
    mode,
    events,
    seconds,
    rate: events / seconds,
    rssMb,
    requests: emu.local.requests.length,
    equal: cmp === undefined ? 'n/a' : cmp.equal ? 'yes' : `NO (missing ${cmp.missing}, extra ${cmp.extra}, different ${cmp.different})`,
    syncCpu,
    emuCpu: (emuCpuUsed.user + emuCpuUsed.system) / 1e6,
  };
  await emu.stop();
  process.stderr.write(`[${label}] ${row.rate.toFixed(0)} events/s, peak RSS ${rssMb.toFixed(1)} MB\n`);
  return row;
}

const only = new Set((values.only ?? 'a,b,c,big').split(',').map((x) => x.trim()));
if (WARMUP > 0) await run('warm-up (not measured)', 'batch', WARMUP);
const rounds: { a?: Row; b?: Row; c?: Row }[] = [];
for (let r = 1; r <= REPEAT; r++) {
  const round: { a?: Row; b?: Row; c?: Row } = {};
  const tag = REPEAT > 1 ? ` #${r}` : '';
  if (only.has('a')) round.a = await run(`(a) batched${tag}`, 'batch', N);
  if (only.has('b')) round.b = await run(`(b) per-event${tag}`, 'per-event', N);
  if (only.has('c')) round.c = await run(`(c) read only${tag}`, 'none', N);
  rounds.push(round);
}
const big = only.has('big') ? await run('(a) batched, big', 'batch', BIG) : undefined;
const rows: Row[] = [...rounds.flatMap((rd) => [rd.a, rd.b, rd.c].filter((x): x is Row => x !== undefined)), ...(big ? [big] : [])];

const pad = (s: string, n: number) => s.padEnd(n);
const lines = [
  `node ${process.version}, ${rows.length} measured runs over loopback (${WARMUP > 0 ? `after a ${WARMUP}-event warm-up` : 'no warm-up'}), seed ${SEED}, churn ${CHURN}`,
  '',
  `${pad('run', 26)}${pad('events', 9)}${pad('seconds', 9)}${pad('events/s', 10)}${pad('peak RSS MB', 13)}${pad('local requests', 16)}${pad('CPU s sync/emu', 16)}local == remote`,
  ...rows.map((r) => `${pad(r.label, 26)}${pad(String(r.events), 9)}${pad(r.seconds.toFixed(2), 9)}${pad(r.rate.toFixed(0), 10)}${pad(r.rssMb.toFixed(1), 13)}${pad(String(r.requests), 16)}${pad(`${r.syncCpu.toFixed(1)}/${r.emuCpu.toFixed(1)}`, 16)}${r.equal}`),
];
const ratioLine = (name: string, per: number[], fmt: (x: number) => string, target: string) =>
  `${pad(name, 28)}${fmt(median(per))}   (${per.length > 1 ? `median of ${per.map(fmt).join(', ')}; ` : ''}target ${target})`;
const ab = rounds.flatMap((rd) => (rd.a && rd.b ? [rd.a.rate / rd.b.rate] : []));
const ac = rounds.flatMap((rd) => (rd.a && rd.c ? [rd.a.rate / rd.c.rate] : []));
const aRss = rounds.flatMap((rd) => (rd.a ? [rd.a.rssMb] : []));
if (ab.length + ac.length > 0 || (big && aRss.length > 0)) lines.push('');
if (ab.length > 0) lines.push(ratioLine('(a)/(b) throughput:', ab, (x) => `${x.toFixed(1)}x`, '>= 10x'));
if (ac.length > 0) lines.push(ratioLine('(a)/(c) throughput:', ac, (x) => `${(x * 100).toFixed(0)}%`, '>= 50%'));
if (big && aRss.length > 0) lines.push(`${pad(`RSS(${BIG / 1000}k)/RSS(${N / 1000}k) batched:`, 28)}${(big.rssMb / median(aRss)).toFixed(3)}   (${big.rssMb.toFixed(1)} MB / median ${median(aRss).toFixed(1)} MB; target <= 1.10)`);
process.stdout.write(`${lines.join('\n')}\n`);
