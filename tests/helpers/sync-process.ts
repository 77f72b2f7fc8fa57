/**
 * Test helpers: bundle the synchronizer once (as `npm run build` does) and run it as a real
 * process against the OpenCTI emulator.
 */
import { afterEach, beforeAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { syncStatusSchema, type SyncStatus } from '../../charm/sync/status.js';
import { startOpenctiEmulator, type OpenctiEmulator, type OpenctiEmulatorOptions, type Stix, type StreamEventData } from '../../lib/opencti-emulator/index.js';
import { freePort } from '@juju-ts/ops-testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let bundled: Promise<string> | undefined;

/** Bundle charm/sync/main.ts into a temp dir (esbuild, same options as scripts/build.mjs). */
export function syncBundle(): Promise<string> {
  bundled ??= (async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'sync-bundle-')), 'sync.mjs');
    await build({
      absWorkingDir: root,
      entryPoints: ['charm/sync/main.ts'],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      // The workspace packages' sources, as scripts/build.mjs takes them: without the condition
      // esbuild reads their dist/, which tests/packages.test.ts may be recompiling meanwhile.
      conditions: ['@juju-ts/source'],
      logLevel: 'warning',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    return out;
  })();
  return bundled;
}

export const CONNECTOR_ID = '5a7c3d1e-2b4f-4a6c-8d9e-0f1a2b3c4d5e';

/** The seed README's variables pointing at the emulator, with short test timings, following the stream without the initial copy. */
export function envFor(emu: Pick<OpenctiEmulator, 'localUrl' | 'remoteUrl' | 'localToken' | 'remoteToken'>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENCTI_URL: emu.localUrl,
    OPENCTI_TOKEN: emu.localToken,
    CONNECTOR_ID,
    CONNECTOR_TYPE: 'STREAM',
    CONNECTOR_NAME: 'Remote OpenCTI',
    CONNECTOR_SCOPE: 'synchronizer',
    CONNECTOR_CONFIDENCE_LEVEL: '80',
    CONNECTOR_LOG_LEVEL: 'info',
    REMOTE_OPENCTI_URL: emu.remoteUrl,
    REMOTE_OPENCTI_LIVE_STREAM_ID: 'live',
    REMOTE_OPENCTI_SSL_VERIFY: 'False',
    REMOTE_OPENCTI_TOKEN: emu.remoteToken,
    // These tests follow the stream event by event (every remote event applied, in order); the
    // initial copy through the recovery mode (the default, `now`) has its own (sync-recover.test.ts).
    REMOTE_OPENCTI_RECOVER: 'off',
    SYNC_HTTP_HOST: '127.0.0.1',
    // Likewise: the emulator's heartbeats every 100-500 ms can be late under load; the watchdog's
    // test sets a short timeout of its own.
    SYNC_HEARTBEAT_TIMEOUT_MS: '5000',
    SYNC_RECONNECT_BASE_MS: '50',
    SYNC_RECONNECT_MAX_MS: '400',
    SYNC_LOCAL_RETRY_BASE_MS: '50',
    SYNC_LOCAL_RETRY_MAX_MS: '300',
    // Generous: the emulator answering runs in the test's own process, which a loaded machine can
    // hold up for seconds; a test of the timeout itself sets a short one.
    SYNC_LOCAL_TIMEOUT_MS: '10000',
    SYNC_STATE_SAVE_INTERVAL_MS: '200',
    SYNC_PROGRESS_INTERVAL_MS: '0',
    SYNC_BATCH_MAX_WAIT_MS: '20',
    SYNC_BATCH_MAX_EVENTS: '50',
    SYNC_WORK_POLL_MS: '10',
    SYNC_WORK_STALL_MS: '20000',
    SYNC_UNHEALTHY_AFTER_MS: '60000',
    SYNC_RESTART_GRACE_MS: '300',
    ...extra,
  };
}

export interface SyncProc {
  child: ChildProcess;
  port: number;
  stderr(): string;
  exited: Promise<number | null>;
  healthz(): Promise<{ code: number; status: SyncStatus } | undefined>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startSyncProcess(env: Record<string, string>, opts: { port?: number } = {}): Promise<SyncProc> {
  const bundlePath = await syncBundle();
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [bundlePath], { env: { PATH: process.env.PATH ?? '', SYNC_HTTP_PORT: String(port), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null))));
  return {
    child,
    port,
    stderr: () => err,
    exited,
    async healthz() {
      try {
        const res = await getOnce(port, '/healthz');
        return { code: res.code, status: syncStatusSchema.parse(JSON.parse(res.body)) };
      } catch {
        return undefined;
      }
    },
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

/** Poll `fn` until it gives a value; a timeout that load can reach only when something is stuck (30 s by default). */
/**
 * GET on a connection of its own (no keep-alive): a pooled connection left idle while the test
 * computes can be closed by the server just as it is reused, which a loaded machine makes likely.
 */
function getOnce(port: number, urlPath: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function savedPosition(emu: OpenctiEmulator): string | undefined {
  const state = emu.local.connectors.get(CONNECTOR_ID)?.state;
  if (!state) return undefined;
  return (JSON.parse(state) as { start_from?: string }).start_from;
}

export function cmpIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/** Kill (SIGKILL) every process of `procs` still running, wait for each to exit, and empty the list. */
export async function killAll(procs: SyncProc[]): Promise<void> {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await p.exited;
  }
}

/** What syncTestRun gives a test file. */
export interface SyncTestRun {
  /** Start the OpenCTI emulator; it is stopped after the test (or by stopEmulator). */
  emulator(opts?: OpenctiEmulatorOptions): Promise<OpenctiEmulator>;
  /** Stop the emulator now (a test that starts a second one). */
  stopEmulator(): Promise<void>;
  /** Start a synchronizer process; it is killed after the test. */
  process(env: Record<string, string>): Promise<SyncProc>;
  /** The process this test started last, if any. */
  lastProcess(): SyncProc | undefined;
}

/**
 * A test file's emulators and sync processes: the bundle built once before its tests, and after each
 * test every process it started killed and its emulator stopped. Call at the top level of the file.
 */
export function syncTestRun(): SyncTestRun {
  const procs: SyncProc[] = [];
  let emu: OpenctiEmulator | undefined;
  const stopEmulator = async () => {
    await emu?.stop();
    emu = undefined;
  };
  beforeAll(async () => {
    await syncBundle();
  });
  afterEach(async () => {
    await killAll(procs);
    await stopEmulator();
  });
  return {
    async emulator(opts) {
      emu = await startOpenctiEmulator(opts);
      return emu;
    },
    stopEmulator,
    async process(env) {
      const p = await startSyncProcess(env);
      procs.push(p);
      return p;
    },
    lastProcess: () => procs.at(-1),
  };
}

/**
 * Wait until `done()`, giving up only when `progress()` (a description of how far things got) has
 * not changed for `stallMs`: not after a fixed time, since on a loaded machine the work goes slower
 * and only stuck work should fail. Jest's timeout of the test stays the bound on the whole.
 */
export async function waitWhileMoving(what: string, done: () => boolean | Promise<boolean>, progress: () => string | Promise<string>, stallMs: number, everyMs = 50): Promise<void> {
  let seen = '';
  let movedAt = Date.now();
  for (;;) {
    if (await done()) return;
    const now = await progress();
    if (now !== seen) [seen, movedAt] = [now, Date.now()];
    if (Date.now() - movedAt > stallMs) throw new Error(`nothing moved for ${stallMs} ms waiting for ${what} (progress: ${now})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * How far the local platform got: messages its workers took and acknowledged, writes applied
 * (cheap to read: no store comparison, which costs the emulator much with 10k objects).
 */
export function localProgress(e: OpenctiEmulator): string {
  const { delivered, acked } = e.local.workers.stats;
  return `delivered ${delivered}, acked ${acked}, applied ${e.local.applied.size}`;
}

/**
 * Wait until the local platform holds the remote's final state and (unless `everyEvent` is false:
 * events the platform cannot record, such as a delete of an object it never had) every remote
 * event's write was applied by a worker; fail when nothing moved for `stallMs` (waitWhileMoving).
 * On failure, say why (`last`: the process to describe), so a rare failure can be diagnosed from
 * the CI log alone.
 */
export async function convergedOrExplain(e: OpenctiEmulator, last: SyncProc | undefined, stallMs = 20_000, everyEvent = true): Promise<void> {
  try {
    await waitWhileMoving('local store == remote final state', () => e.compare().equal && (!everyEvent || e.unapplied(1).length === 0), () => localProgress(e), stallMs);
  } catch (err) {
    const health = last ? await last.healthz() : undefined;
    throw new Error(`${(err as Error).message}\ncomparison: ${JSON.stringify(e.compare())}\nunapplied: ${JSON.stringify(e.unapplied(5))}\nhealthz: ${JSON.stringify(health?.status ?? null)}\nstderr tail:\n${(last?.stderr() ?? '').split('\n').slice(-15).join('\n')}`);
  }
}

/** A file in a new temporary directory. */
export function tmpFile(name: string): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'sync-test-')), name);
}

export function malware(id: string, name: string, extra: Record<string, unknown> = {}): Stix {
  return { id, type: 'malware', spec_version: '2.1', name, is_family: true, ...extra };
}

export function event(type: StreamEventData['type'], data: Stix, context?: StreamEventData['context']): StreamEventData {
  return { version: '4', type, scope: 'external', message: `${type} ${data.id}`, origin: {}, data, ...(context ? { context } : {}) };
}

/** The events the process counts as applied (0 while it does not answer). */
export const applied = async (p: SyncProc): Promise<number> => (await p.healthz())?.status.counters.eventsApplied ?? 0;
