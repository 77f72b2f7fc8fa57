/**
 * The synchronizer as a real process against the OpenCTI emulator (see sync-process.test.ts): its
 * lifecycle: state reset, replays after a crash, SIGTERM, bad credentials, bad configuration, TLS.
 * sync-process.test.ts, sync-failures.test.ts and sync-lifecycle.test.ts are one suite in three
 * files (jest runs files in parallel); the version profiles' long proofs are in sync-proof-*.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { syncStatusSchema } from '../charm/sync/status.js';
import { type OpenctiEmulator, type Stix } from '../lib/opencti-emulator/index.js';
import { OCTI_EXT } from '../lib/opencti-emulator/stix.js';
import { cmpIds, CONNECTOR_ID, convergedOrExplain, envFor, event, malware, savedPosition, type SyncProc, syncTestRun, tmpFile, waitFor } from './helpers/sync-process.js';

// A guard against hangs only: the waits below fail when the work stops moving (waitWhileMoving).
jest.setTimeout(180_000);

const harness = syncTestRun();
let emu: OpenctiEmulator | undefined;
const start = harness.process;

/** Wait until a heartbeat has confirmed the last run: the process's position reaches `last`; returns the position. */
const confirmed = (p: SyncProc, last: string) =>
  waitFor('a heartbeat confirms the last run', async () => {
    const position = (await p.healthz())?.status.position;
    return position !== undefined && cmpIds(position, last) >= 0 ? position : undefined;
  });

/** The local platform converged on the remote's final state (see convergedOrExplain). */
const converged = (e: OpenctiEmulator, stallMs?: number, everyEvent?: boolean) => convergedOrExplain(e, harness.lastProcess(), stallMs, everyEvent);

describe('lifecycle', () => {
  test('a state reset on the local platform restarts the copy from the configured start', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(50, 6, 1);
    const p = await start(envFor(emu));
    await converged(emu);
    await waitFor('a saved position', () => savedPosition(emu as OpenctiEmulator) !== '0-0' && savedPosition(emu as OpenctiEmulator) !== undefined);
    const c = emu.local.connectors.get(CONNECTOR_ID);
    if (!c) throw new Error('not registered');
    c.state = '';
    c.stateReset = true;
    await waitFor('the reset seen', async () => (await p.healthz())?.status.counters.resets === 1);
    const fromStart = () => (emu as OpenctiEmulator).remote.requests.filter((r) => r.path === '/stream/live' && r.headers['last-event-id'] === '0-0').length;
    await waitFor('a new connection from the configured start', () => fromStart() === 2);
    await converged(emu);
    expect(fromStart()).toBe(2);
  });

  test.each([undefined, '6.9', '5.12'] as const)('a replay of events that later ones undid deletes no merge target and waits on no deleted reference (profile %s)', async (profile) => {
    // The replayed create of R fails with MISSING_REFERENCE after the worker's four tries; pycti's
    // pauses between them (1-3 s) are shortened, which changes nothing else here.
    emu = await harness.emulator({ heartbeatMs: 100, local: { ...(profile ? { profile } : {}), retries: { minPauseMs: 20, maxPauseMs: 40 } } });
    const related = (id: string, from: string, to: string): Stix => ({ id, type: 'relationship', spec_version: '2.1', relationship_type: 'related-to', source_ref: from, target_ref: to });
    emu.remote.append(event('create', malware('malware--e', 'E')));
    // The replay below starts after T's create.
    const resumeAt = emu.remote.append(event('create', malware('malware--t', 'T')));
    // S is deleted, created again, then merged into T: on the platform S is then one of T's ids.
    for (const id of ['s', 'k']) emu.remote.append(event('create', malware(`malware--${id}`, id.toUpperCase())));
    emu.remote.append(event('delete', malware('malware--s', 'S')));
    // Q refers to T: replayed while T is missing, it would hold T's merge back (a merge waits for T's readers).
    emu.remote.append(event('create', related('relationship--q', 'malware--k', 'malware--t')));
    emu.remote.append(event('create', malware('malware--s', 'S', { description: 'again' })));
    const merged = { aliases: ['S'], extensions: { [OCTI_EXT]: { extension_type: 'property-extension', stix_ids: ['malware--s'] } } };
    emu.remote.append(event('merge', malware('malware--t', 'T', merged), { sources: [malware('malware--s', 'S')] }));
    // R refers to E; both are deleted: a replayed create of R refers to an object gone for good.
    emu.remote.append(event('create', related('relationship--r', 'malware--e', 'malware--t')));
    emu.remote.append(event('delete', related('relationship--r', 'malware--e', 'malware--t')));
    emu.remote.append(event('delete', malware('malware--e', 'E')));
    const env = envFor(emu);
    const p = await start(env);
    await converged(emu, 20_000, false);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    // As after a crash: the saved position is behind what the platform already applied.
    const c = emu.local.connectors.get(CONNECTOR_ID);
    if (!c) throw new Error('not registered');
    c.state = JSON.stringify({ start_from: resumeAt });
    const q = await start(env);
    const last = emu.remote.lastEventId as string;
    const replayed = emu.remote.dataEvents().length - 2;
    const h = await waitFor('the replay settled', async () => {
      const s = (await q.healthz())?.status;
      return s && s.counters.eventsReceived >= replayed && s.queueLength === 0 && cmpIds(s.position, last) >= 0 ? s : undefined;
    });
    expect(emu.compare()).toMatchObject({ equal: true });
    expect(emu.local.get('malware--t')?.aliases).toEqual(['S']);
    expect(emu.local.get('relationship--q')).toBeDefined();
    expect(emu.local.get('relationship--r')).toBeUndefined();
    expect(h.counters).toMatchObject({ eventsRefused: 0, eventsSuperseded: 1 });
  });

  test('SIGTERM saves the position and exits 0; a restart resumes from it', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(100, 8, 1);
    const statusFile = tmpFile('status.json');
    const env = envFor(emu, { SYNC_STATUS_FILE: statusFile, SYNC_STATE_SAVE_INTERVAL_MS: '60000' });
    const p = await start(env);
    await converged(emu);
    await confirmed(p, emu.remote.lastEventId as string);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const st = syncStatusSchema.parse(JSON.parse(readFileSync(statusFile, 'utf8')));
    expect(st).toMatchObject({ state: 'stopped', exitCode: 0 });
    expect(savedPosition(emu)).toBe(st.position);
    expect(cmpIds(st.position, emu.remote.lastEventId as string)).toBeGreaterThanOrEqual(0);
    const q = await start(env);
    await waitFor('the restart connects', () => emu?.remote.requests.filter((r) => r.path === '/stream/live').length === 2);
    expect(emu.remote.requests.filter((r) => r.path === '/stream/live')[1]?.headers['last-event-id']).toBe(st.position);
    q.kill('SIGTERM');
    expect(await q.exited).toBe(0);
  });

  test('SIGTERM during a periodic save: the final save waits for it, then saves the final position', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(30, 31, 1);
    const statusFile = tmpFile('status.json');
    // A long SYNC_LOCAL_TIMEOUT_MS: the save held below must not time out on the process's side.
    const p = await start(envFor(emu, { SYNC_STATE_SAVE_INTERVAL_MS: '200', SYNC_LOCAL_TIMEOUT_MS: '20000', SYNC_STATUS_FILE: statusFile }));
    await converged(emu);
    // The next periodic save is held in flight: it carries the position of now, while more events
    // are applied. The emulator holds it until released (not a fixed delay, which load could outlast).
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let holding = false;
    emu.local.injectFault({ kind: 'delay', ms: 0, until: held, onHold: () => (holding = true), operation: 'SyncPingConnector' });
    await waitFor('a periodic save held in flight', () => holding);
    emu.seed(30, 31, 1);
    await converged(emu);
    const final = await confirmed(p, emu.remote.lastEventId as string);
    expect(cmpIds(final, savedPosition(emu) ?? '0-0')).toBeGreaterThan(0);
    p.kill('SIGTERM');
    // The stop begins while the periodic save is still held; then it is answered.
    await waitFor('the process stopping', async () => (await p.healthz())?.status.state === 'stopping');
    release();
    expect(await p.exited).toBe(0);
    // Heartbeats may move the position on until the stop: what is saved is where it stopped.
    const stopped = syncStatusSchema.parse(JSON.parse(readFileSync(statusFile, 'utf8'))).position;
    expect(cmpIds(stopped, final)).toBeGreaterThanOrEqual(0);
    expect(savedPosition(emu)).toBe(stopped);
  });

  test('a bad remote token exits 4 with a message that says what to fix, in stderr and the status file, without the token', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    const statusFile = tmpFile('status.json');
    const p = await start(envFor(emu, { REMOTE_OPENCTI_TOKEN: 'wrong-remote-token-value', SYNC_STATUS_FILE: statusFile }));
    expect(await p.exited).toBe(4);
    expect(p.stderr()).toMatch(/HTTP 401.*REMOTE_OPENCTI_TOKEN/);
    expect(p.stderr()).not.toContain('wrong-remote-token-value');
    const st = syncStatusSchema.parse(JSON.parse(readFileSync(statusFile, 'utf8')));
    expect(st).toMatchObject({ state: 'failed', exitCode: 4 });
    expect(JSON.stringify(st)).not.toContain('wrong-remote-token-value');
  });

  test('a stopped live stream (410) and a bad local token are fatal too, with their own codes', async () => {
    emu = await harness.emulator({ heartbeatMs: 100, remote: { collections: { stopped: { live: false } } } });
    const a = await start(envFor(emu, { REMOTE_OPENCTI_LIVE_STREAM_ID: 'stopped' }));
    expect(await a.exited).toBe(4);
    expect(a.stderr()).toMatch(/is stopped \(HTTP 410\)/);
    const b = await start(envFor(emu, { OPENCTI_TOKEN: 'wrong-local-token-value' }));
    expect(await b.exited).toBe(3);
    expect(b.stderr()).toMatch(/OPENCTI_TOKEN was rejected/);
    expect(b.stderr()).not.toContain('wrong-local-token-value');
  });

  test('bad configuration exits 2 and lists every problem in one message', async () => {
    const statusFile = tmpFile('status.json');
    const p = await start({ CONNECTOR_TYPE: 'EXTERNAL_IMPORT', REMOTE_OPENCTI_SSL_VERIFY: 'maybe', CONNECTOR_QUEUE_PROTOCOL: 'http', OPENCTI_TOKEN: 'secret-value-xyz', SYNC_STATUS_FILE: statusFile });
    expect(await p.exited).toBe(2);
    const err = p.stderr();
    expect(err.trim().split('\n')).toHaveLength(1);
    for (const v of ['OPENCTI_URL', 'CONNECTOR_ID', 'CONNECTOR_TYPE: must be STREAM', 'CONNECTOR_NAME', 'CONNECTOR_SCOPE', 'CONNECTOR_CONFIDENCE_LEVEL', 'CONNECTOR_LOG_LEVEL', 'REMOTE_OPENCTI_URL', 'REMOTE_OPENCTI_SSL_VERIFY: must be true or false', 'REMOTE_OPENCTI_TOKEN', 'CONNECTOR_QUEUE_PROTOCOL: must be amqp or api']) expect(err).toContain(v);
    expect(err).not.toContain('secret-value-xyz');
    expect(syncStatusSchema.parse(JSON.parse(readFileSync(statusFile, 'utf8'))).exitCode).toBe(2);
  });

  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!hasOpenssl) process.stderr.write('NOTE: openssl not found: the self-signed TLS test is skipped\n');

  (hasOpenssl ? test : test.skip)('a self-signed HTTPS remote: accepted with REMOTE_OPENCTI_SSL_VERIFY=false, refused (and retried) with true', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sync-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    expect(existsSync(path.join(dir, 'cert.pem'))).toBe(true);
    emu = await harness.emulator({ heartbeatMs: 100, tls: { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') } });
    emu.seed(30, 1, 1);
    const strict = await start(envFor(emu, { REMOTE_OPENCTI_SSL_VERIFY: 'True' }));
    const refused = await waitFor('a TLS error', async () => {
      const h = await strict.healthz();
      return h && h.status.counters.remoteConnects >= 2 ? h : undefined;
    });
    expect(refused.status.counters.eventsReceived).toBe(0);
    expect(strict.stderr()).toMatch(/certificate/i);
    strict.kill('SIGTERM');
    expect(await strict.exited).toBe(0);
    await start(envFor(emu, { REMOTE_OPENCTI_SSL_VERIFY: 'false' }));
    await converged(emu);
  });
});
