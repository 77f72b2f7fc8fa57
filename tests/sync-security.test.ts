/**
 * The synchronizer process as an attacker or a careless operator would try it: servers that echo
 * tokens, passwords in URLs, values pasted into the wrong variable, a remote event with no end,
 * and who can reach /healthz and /metrics. The built process against the OpenCTI emulator.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { syncStatusSchema } from '../charm/sync/status.js';
import { type OpenctiEmulator } from '../lib/opencti-emulator/index.js';
import { envFor, localProgress, type SyncProc, syncTestRun, waitFor, waitWhileMoving } from './helpers/sync-process.js';

// A guard against hangs only: the waits below fail when the copy stops moving (waitWhileMoving).
jest.setTimeout(180_000);

const LOCAL_TOKEN = 'L0cal-T0ken-5e1f0a2b';
const REMOTE_TOKEN = 'Rem0te-T0ken-77c3d9e4';
const LOCAL_PASSWORD = 'local-url-pa55word';
const REMOTE_PASSWORD = 'remote-url-pa55word';
const SECRETS = [LOCAL_TOKEN, REMOTE_TOKEN, LOCAL_PASSWORD, REMOTE_PASSWORD];
const MIB = 1024 * 1024;

const harness = syncTestRun();
let emu: OpenctiEmulator | undefined;
const start = harness.process;

/** The exit code, or 'still running' after 15 s (so a process that should have refused to start fails the test quickly). */
async function exitCode(p: SyncProc): Promise<number | null | 'still running'> {
  return Promise.race([p.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 15_000).unref())]);
}

function tmpFile(name: string): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'sync-security-')), name);
}

/** `http://host:port` → `http://user:password@host:port`. */
function withUserinfo(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString().replace(/\/$/, '');
}

function expectNoSecret(what: string, text: string): void {
  for (const s of SECRETS) expect({ what, leaks: text.includes(s) ? s : null }).toEqual({ what, leaks: null });
}

/** The process's peak resident set (Linux), in bytes. */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmHWM in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

describe('secrets never leave the process', () => {
  test('a token a server echoes in an error, and passwords in both URLs, are redacted in the logs, /healthz, /metrics and the status file', async () => {
    emu = await harness.emulator({ heartbeatMs: 100, localToken: LOCAL_TOKEN, remoteToken: REMOTE_TOKEN });
    emu.seed(40, 3, 1);
    // The local platform quotes both tokens back (as a proxy or a debug build may), three times.
    emu.local.injectFault({ kind: 'graphql-error', message: `lock held by request with token ${LOCAL_TOKEN} (remote ${REMOTE_TOKEN})`, code: 'LOCK_ERROR', times: 3, operation: 'SyncWorks' });
    const statusFile = tmpFile('status.json');
    const p = await start(
      envFor(emu, {
        OPENCTI_URL: withUserinfo(emu.localUrl, 'sync', LOCAL_PASSWORD),
        REMOTE_OPENCTI_URL: withUserinfo(emu.remoteUrl, 'reader', REMOTE_PASSWORD),
        SYNC_STATUS_FILE: statusFile,
        SYNC_LOCAL_RETRY_BASE_MS: '300',
        SYNC_LOCAL_RETRY_MAX_MS: '300',
      }),
    );
    const retrying = await waitFor('the echoed error on /healthz', async () => {
      const res = await fetch(`http://127.0.0.1:${p.port}/healthz`).catch(() => undefined);
      const text = res ? await res.text() : '';
      return text.includes('lock held by request') ? text : undefined;
    });
    const metrics = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
    const status = syncStatusSchema.parse(JSON.parse(retrying));
    expect(status.lastError?.message).toMatch(/^local platform \w+: lock held by request with token \[redacted\] \(remote \[redacted\]\)$/);
    expect(status.local.url).toBe(`http://[redacted]@${new URL(emu.localUrl).host}`);
    expect(status.remote.streamUrl).toBe(`http://[redacted]@${new URL(emu.remoteUrl).host}/stream/live`);
    await waitWhileMoving('the local store == the remote', () => emu?.compare().equal === true, () => localProgress(emu as OpenctiEmulator), 30_000);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const stderr = p.stderr();
    expect(stderr).toMatch(/"msg":"starting the OpenCTI stream synchronizer","local":"http:\/\/\[redacted\]@127\.0\.0\.1:\d+","remote":"http:\/\/\[redacted\]@127\.0\.0\.1:\d+"/);
    expect(stderr).toContain('lock held by request with token [redacted] (remote [redacted])');
    for (const [what, text] of [['stderr', stderr], ['/healthz', retrying], ['/metrics', metrics], ['status file', readFileSync(statusFile, 'utf8')]] as const) expectNoSecret(what, text);
  });

  test('a fatal error that quotes the token: the exit reason in stderr and the status file is redacted', async () => {
    emu = await harness.emulator({ heartbeatMs: 100, localToken: LOCAL_TOKEN, remoteToken: REMOTE_TOKEN });
    emu.local.injectFault({ kind: 'graphql-error', message: `token "${LOCAL_TOKEN}" is expired`, code: 'AUTH_REQUIRED', times: 1 });
    const statusFile = tmpFile('status.json');
    const p = await start(envFor(emu, { SYNC_STATUS_FILE: statusFile }));
    expect(await exitCode(p)).toBe(3);
    const st = syncStatusSchema.parse(JSON.parse(readFileSync(statusFile, 'utf8')));
    expect(st.lastError?.message).toMatch(/OPENCTI_TOKEN was rejected .*token "\[redacted\]" is expired/);
    expect(p.stderr()).toMatch(/token \\"\[redacted\]\\" is expired/);
    expectNoSecret('stderr', p.stderr());
    expectNoSecret('status file', readFileSync(statusFile, 'utf8'));
  });

  test('a token pasted into the wrong variable is not echoed by the configuration report', async () => {
    const statusFile = tmpFile('status.json');
    const p = await start({ OPENCTI_TOKEN: LOCAL_TOKEN, REMOTE_OPENCTI_TOKEN: REMOTE_TOKEN, REMOTE_OPENCTI_SSL_VERIFY: REMOTE_TOKEN, REMOTE_OPENCTI_START_TIMESTAMP: LOCAL_TOKEN, SYNC_STATUS_FILE: statusFile });
    expect(await exitCode(p)).toBe(2);
    expect(p.stderr()).toContain('REMOTE_OPENCTI_SSL_VERIFY: must be true or false (got \\"[redacted]\\")');
    expectNoSecret('stderr', p.stderr());
    expectNoSecret('status file', readFileSync(statusFile, 'utf8'));
  });
});

describe('configuration that could never work is refused at start', () => {
  test('a start timestamp far in the future exits 2 naming REMOTE_OPENCTI_START_TIMESTAMP and why', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    const p = await start(envFor(emu, { REMOTE_OPENCTI_START_TIMESTAMP: '5138-11-16T09:46:40Z' }));
    expect(await exitCode(p)).toBe(2);
    expect(p.stderr()).toContain('REMOTE_OPENCTI_START_TIMESTAMP: is 5138-11-16T09:46:40.000Z, more than 5 minutes in the future: the remote stream holds no events after now, so nothing would ever sync');
    expect(emu.remote.requests).toHaveLength(0);
  });
});

describe('SYNC_MAX_EVENT_BYTES', () => {
  test('a remote event larger than the limit ends the connection with a clear error, reconnects with backoff (/healthz 503), and memory stays bounded', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(20, 5, 1);
    // SYNC_UNHEALTHY_AFTER_MS=0: a backoff is unhealthy at once (by default only once it lasted 5 minutes).
    const p = await start(envFor(emu, { SYNC_MAX_EVENT_BYTES: String(MIB), SYNC_RECONNECT_BASE_MS: '200', SYNC_RECONNECT_MAX_MS: '1000', SYNC_UNHEALTHY_AFTER_MS: '0' }));
    await waitWhileMoving('the local store == the remote', () => emu?.compare().equal === true, () => localProgress(emu as OpenctiEmulator), 30_000);
    const pid = p.child.pid as number;
    const before = peakRss(pid);
    // One line of 32 MiB that never ends within the limit (the case was 1.5 GiB). Read
    // whole, such an event grows this process by about 7 times its size (measured: 112 MiB for
    // 16 MiB); cut off at 1 MiB, by a few MiB of garbage per connection, the same for any size.
    const eventBytes = 32 * MIB;
    emu.remote.appendRaw('create', JSON.stringify({ version: '4', type: 'create', scope: 'external', data: { id: 'report--huge', type: 'report', name: 'x'.repeat(eventBytes) } }));
    const h = await waitFor('backoff with the oversize error on /healthz', async () => {
      const r = await p.healthz();
      return r?.status.state === 'backoff' && r.status.lastError?.message.includes('SYNC_MAX_EVENT_BYTES') ? r : undefined;
    });
    expect(h.code).toBe(503);
    const grown = peakRss(pid) - before;
    expect({ grownMiB: Math.round(grown / MIB), belowHalfTheEvent: grown < eventBytes / 2 }).toMatchObject({ belowHalfTheEvent: true });
    expect(h.status.lastError?.message).toMatch(/^a remote event exceeds SYNC_MAX_EVENT_BYTES \(1048576 bytes\): \d+ bytes received and it has not ended/);
    const connects = h.status.counters.remoteConnects;
    await waitFor('reconnections that hit it again', async () => ((await p.healthz())?.status.counters.remoteConnects ?? 0) >= connects + 2, 10_000);
    expect(p.stderr()).toMatch(/"msg":"remote stream error: a remote event exceeds SYNC_MAX_EVENT_BYTES/);
    expect(emu.local.get('report--huge')).toBeUndefined();
  });

  test('events up to the limit are read whole, however the stream is cut into chunks', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(1500, 7, 1); // about 2 MB of ordinary events in all, many per chunk
    // Just under the limit (the platform refuses references to objects it does not have, so the
    // size is in a description).
    emu.remote.append({ version: '4', type: 'create', scope: 'external', message: 'a big report', origin: {}, data: { id: 'report--big', type: 'report', name: 'Big', description: 'x'.repeat(MIB - 4096) } });
    emu.seed(200, 7, 1);
    const p = await start(envFor(emu, { SYNC_MAX_EVENT_BYTES: String(MIB) }));
    await waitWhileMoving('the local store == the remote', () => emu?.compare().equal === true, () => localProgress(emu as OpenctiEmulator), 30_000);
    expect((emu.local.get('report--big')?.description as string).length).toBe(MIB - 4096);
    expect(p.stderr()).not.toContain('SYNC_MAX_EVENT_BYTES');
  });
});

describe('/healthz and /metrics', () => {
  test('listen on 127.0.0.1 unless SYNC_HTTP_HOST says otherwise, and the start-up line says where', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    const p = await start(envFor(emu, { SYNC_HTTP_HOST: '' }));
    await waitFor('/healthz on the loopback address', async () => (await p.healthz()) !== undefined);
    expect(p.stderr()).toContain(`"http":"127.0.0.1:${p.port}"`);
    const external = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) {
      const reached = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: external.address, port: p.port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      expect({ address: external.address, reached }).toEqual({ address: external.address, reached: false });
    }
  });
});
