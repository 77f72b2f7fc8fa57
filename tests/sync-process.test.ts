/**
 * The synchronizer as a real process (the esbuild bundle, as Pebble runs it) against the OpenCTI
 * emulator over real sockets: a local platform that queues through the test run's RabbitMQ and
 * applies with concurrent workers. Here: the default write path, convergence under kill -9, remote
 * drops and stalls, backpressure, the version profiles' write paths and stream input.
 * sync-process.test.ts, sync-failures.test.ts and sync-lifecycle.test.ts are one suite in three
 * files (jest runs files in parallel); the version profiles' long proofs are in sync-proof-*.test.ts.
 */
import { jest } from '@jest/globals';
import { type OpenctiEmulator } from '../lib/opencti-emulator/index.js';
import { applied, cmpIds, CONNECTOR_ID, convergedOrExplain, envFor, event, malware, savedPosition, syncTestRun, waitFor } from './helpers/sync-process.js';

// A guard against hangs only: the waits below fail when the work stops moving (waitWhileMoving).
jest.setTimeout(180_000);

const harness = syncTestRun();
let emu: OpenctiEmulator | undefined;
const start = harness.process;

/** The local platform converged on the remote's final state (see convergedOrExplain). */
const converged = (e: OpenctiEmulator, stallMs?: number, everyEvent?: boolean) => convergedOrExplain(e, harness.lastProcess(), stallMs, everyEvent);

describe('the default write path: the platform\'s own synchronizer\'s event messages, confirmed by Works', () => {
  test('first run copies the whole stream; the Last-Event-ID header carries the position, never `from`', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(400, 3, 4);
    const p = await start(envFor(emu));
    await converged(emu);
    const last = emu.remote.lastEventId as string;
    await waitFor('the saved position reaches the last event', () => {
      const s = savedPosition(emu as OpenctiEmulator);
      return s !== undefined && cmpIds(s, last) >= 0;
    });
    const h = await p.healthz();
    expect(h?.code).toBe(200);
    expect(h?.status).toMatchObject({ state: 'streaming', counters: { eventsApplied: 400, eventsRefused: 0 } });
    expect(h?.status.local.writePath).toBe('amqp: upserts as event messages, deletes and merges as event');
    expect(h?.status.counters.worksCreated).toBeGreaterThan(0);
    const streamReqs = emu.remote.requests.filter((r) => r.path === '/stream/live');
    expect(streamReqs[0]?.headers['last-event-id']).toBe('0-0');
    expect(streamReqs.every((r) => r.query.from === undefined && r.headers.from === undefined)).toBe(true);
    // Nothing went through stixBundlePush; the workers applied messages with the fields the sync manager sets.
    expect(emu.local.requests.some((r) => r.operationName === 'SyncBundlePushWork')).toBe(false);
    expect(emu.local.workers.stats.acked).toBeGreaterThanOrEqual(400);
    const metrics = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
    expect(metrics).toMatch(/^opencti_sync_events_applied_total 400$/m);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  test('kill -9 at random points and restart, several times: the local store ends equal to the remote final state, no event skipped', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(1500, 11, 5);
    const env = envFor(emu, { SYNC_BATCH_MAX_EVENTS: '20' });
    for (let round = 0; round < 4; round++) {
      const p = await start(env);
      await waitFor('the process is up', async () => (await p.healthz()) !== undefined);
      if (round === 0) await waitFor('a saved position', () => (savedPosition(emu as OpenctiEmulator) ?? '0-0') !== '0-0');
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      p.kill('SIGKILL');
      await p.exited;
      emu.seed(100, 11, 5); // traffic goes on while the synchronizer is down
    }
    await start(env);
    await converged(emu, 30_000);
    const resumed = emu.remote.requests.filter((r) => r.path === '/stream/live').map((r) => r.headers['last-event-id']);
    expect(resumed.filter((id) => id !== '0-0').length).toBeGreaterThan(0);
  });

  test('without the per-id ordering, concurrent workers leave the local platform different from the remote (the race it prevents)', async () => {
    const run = async (ordering: string) => {
      const e = await harness.emulator({ heartbeatMs: 100, local: { latencyMs: 20, seed: 3 } });
      e.seed(400, 7, 6);
      const p = await start(envFor(e, { SYNC_ORDERING: ordering }));
      if (ordering === 'per-id') await waitFor('every event settled', async () => (await applied(p)) >= 400, 30_000);
      else {
        // Unordered, some events may never apply (a write raced by the delete it precedes, say):
        // compare once every event is settled or nothing has moved for 3 s.
        let last = -1;
        let since = Date.now();
        await waitFor('every event settled, or no progress for 3 s', async () => {
          const n = await applied(p);
          if (n !== last) [last, since] = [n, Date.now()];
          return n >= 400 || Date.now() - since > 3000;
        }, 60_000);
      }
      await new Promise((r) => setTimeout(r, 300));
      const result = e.compare();
      p.kill('SIGKILL');
      await p.exited;
      await harness.stopEmulator();
      return result;
    };
    const unordered = await run('none');
    expect(unordered.equal).toBe(false);
    const ordered = await run('per-id');
    expect(ordered).toMatchObject({ equal: true, missing: 0, extra: 0, different: 0 });
  });

  test('remote drop mid-event and heartbeat stall: reconnects after the last complete run read, nothing lost', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(300, 5, 4);
    emu.remote.dropConnections({ afterEvents: 120, times: 2, partial: true });
    const p = await start(envFor(emu, { SYNC_HEARTBEAT_TIMEOUT_MS: '600' }));
    await converged(emu);
    const connectsBefore = (await p.healthz())?.status.counters.remoteConnects ?? 0;
    expect(connectsBefore).toBeGreaterThanOrEqual(3);
    const ids = emu.remote.requests.filter((r) => r.path === '/stream/live').map((r) => r.headers['last-event-id'] as string);
    for (let i = 1; i < ids.length; i++) expect(cmpIds(ids[i] as string, ids[i - 1] as string)).toBeGreaterThanOrEqual(0);
    emu.remote.stall(1500);
    emu.seed(50, 5, 4);
    await waitFor('a watchdog reconnection', async () => ((await p.healthz())?.status.counters.remoteConnects ?? 0) > connectsBefore, 5000);
    await converged(emu);
    expect(p.stderr()).toMatch(/no event or heartbeat for 600 ms/);
  });
});

describe('backpressure', () => {
  test('workers that lag: never more than SYNC_MAX_QUEUED_MESSAGES on the local queue, and the reader pauses', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    await emu.local.workers.pause();
    emu.seed(600, 23, 1);
    const p = await start(envFor(emu, { SYNC_MAX_QUEUED_MESSAGES: '40', SYNC_BATCH_MAX_EVENTS: '25', SYNC_QUEUE_MAX_EVENTS: '100' }));
    const e = emu;
    const queue = e.local.queues.pushQueue(CONNECTOR_ID);
    await waitFor('registered', () => e.local.connectors.has(CONNECTOR_ID));
    await waitFor('messages queued', async () => (await e.local.queues.depth(queue)) > 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(await e.local.queues.depth(queue)).toBeLessThanOrEqual(40);
    const h = (await p.healthz())?.status;
    expect(h?.queuedMessages.now).toBeLessThanOrEqual(40);
    expect(h?.counters.eventsReceived).toBeLessThanOrEqual(200); // the reader paused
    await e.local.workers.resume();
    await converged(emu);
    expect((await p.healthz())?.status.queuedMessages.max).toBeLessThanOrEqual(40);
  });
});

describe('version profiles (short runs; see sync-proof-*.test.ts for the long ones)', () => {
  test.each(['5.12', '6.9'] as const)('%s: the local platform converges through its workaround', async (profile) => {
    emu = await harness.emulator({ heartbeatMs: 100, local: { profile } });
    emu.seed(300, 29, 5);
    const p = await start(envFor(emu));
    await converged(emu);
    const h = await p.healthz();
    expect(h?.status.local.writePath).toBe(profile === '5.12' ? 'amqp: upserts as bundle messages, deletes and merges as event-state' : 'amqp: upserts as event messages, deletes and merges as bundle-op');
  });

  test('CONNECTOR_QUEUE_PROTOCOL=api: stixBundlePush with our Works, with a warning that says what it loses; refused on 5.12', async () => {
    emu = await harness.emulator({ heartbeatMs: 100, local: { profile: '6.9' } });
    emu.remote.append(event('create', malware('malware--a', 'A')));
    emu.remote.append(event('create', malware('malware--b', 'B')));
    emu.remote.append(event('delete', malware('malware--b', 'B')));
    const p = await start(envFor(emu, { CONNECTOR_QUEUE_PROTOCOL: 'api' }));
    await converged(emu, 20_000, false); // stixBundlePush's messages carry no event_id to check them by
    expect(emu.local.requests.some((r) => r.operationName === 'SyncBundlePushWork')).toBe(true);
    expect(p.stderr()).toMatch(/CONNECTOR_QUEUE_PROTOCOL=api: stixBundlePush queues a bundle message without the request headers: synchronized-upsert is lost/);
    await emu.stop();
    emu = await harness.emulator({ heartbeatMs: 100, local: { profile: '5.12' } });
    const q = await start(envFor(emu, { CONNECTOR_QUEUE_PROTOCOL: 'api' }));
    expect(await q.exited).toBe(5);
    expect(q.stderr()).toMatch(/CONNECTOR_QUEUE_PROTOCOL=api needs stixBundlePush with a work_id \(OpenCTI 6.5.7 or later; the local platform is 5.12.33\)/);
  });
});

describe('stream input', () => {
  test('malformed, unknown-type, old-version, internal and badly-identified messages are logged, counted and passed', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(20, 2, 1);
    emu.remote.appendRaw('create', '{"version":"4","data":{"id":"indicator--broken"');
    emu.remote.appendRaw('sync', '{"hello":"world"}');
    emu.remote.appendRaw('update', JSON.stringify({ version: '3', type: 'update', scope: 'external', data: { id: 'malware--old', type: 'malware' } }));
    emu.remote.appendRaw('create', JSON.stringify({ version: '4', type: 'create', scope: 'internal', data: { id: 'malware--internal', type: 'malware' } }));
    emu.remote.append(event('delete', malware('malware--never-seen', 'N')));
    emu.seed(20, 2, 1);
    const p = await start(envFor(emu));
    await converged(emu, 20_000, false); // the delete of an object the platform never had records nothing
    expect(emu.unapplied(5)).toEqual([expect.objectContaining({ stixId: 'malware--never-seen' })]);
    const h = await waitFor('all messages settled', async () => {
      const s = (await p.healthz())?.status;
      return s && s.counters.eventsApplied + Object.values(s.counters.eventsSkipped).reduce((a, b) => a + b, 0) >= 45 ? s : undefined;
    });
    expect(h.counters.eventsSkipped).toMatchObject({ malformed: 1, 'unknown-type': 1, 'old-version': 1, 'internal-scope': 1 });
    expect(h.counters.eventsApplied).toBe(41); // the delete of an unknown id: already as the remote wants it
    expect(p.stderr()).toMatch(/"msg":"stream message passed: it is no event to apply","reason":"malformed"/);
  });

  test('a multi-MB single-line event is applied', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(10, 4, 1);
    const refs = Array.from({ length: 40_000 }, (_, i) => `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);
    for (const r of refs.slice(0, 20)) emu.remote.append(event('create', { id: r, type: 'indicator', name: r, pattern: `[x:y = '${r}']`, pattern_type: 'stix' }));
    emu.remote.append(event('create', { id: 'report--big', type: 'report', name: 'Big', object_refs: refs.slice(0, 20), description: 'x'.repeat(3_000_000) }));
    emu.seed(5, 4, 1);
    await start(envFor(emu));
    await converged(emu);
    expect((emu.local.get('report--big')?.description as string).length).toBe(3_000_000);
  });

  test('merges: with an unknown source, and into a target missing locally; the target ends in its post-merge state', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.remote.append(event('create', malware('malware--t', 'T')));
    emu.remote.append(event('create', malware('malware--s', 'S', { description: 'the source' })));
    emu.remote.append(event('merge', malware('malware--t', 'T', { description: 'after the merge', aliases: ['S'] }), { sources: [malware('malware--s', 'S')] }));
    emu.remote.append(event('merge', malware('malware--t', 'T', { description: 'merged again' }), { sources: [malware('malware--never-seen', 'N')] }));
    emu.remote.append(event('merge', malware('malware--t2', 'T2', { description: 'a target never seen here' }), { sources: [malware('malware--gone', 'G')] }));
    emu.remote.append(event('create', malware('malware--after', 'After')));
    const p = await start(envFor(emu));
    await converged(emu, 20_000, false); // merges of unknown sources record nothing
    // Merged, then the target's post-merge state (without the source's id, as the remote has it).
    expect(emu.local.get('malware--s')).toBeUndefined();
    expect(emu.local.get('malware--t')?.description).toBe('merged again');
    expect(emu.local.get('malware--t2')?.description).toBe('a target never seen here');
    const h = await waitFor('every event settled', async () => {
      const s = (await p.healthz())?.status;
      return s && s.counters.eventsApplied >= 6 ? s : undefined;
    });
    expect(h.counters.eventsRefused).toBe(0);
  });

  test.each([undefined, '6.9', '5.12'] as const)('a merge whose sources are partly merged or missing here still merges the others (profile %s)', async (profile) => {
    emu = await harness.emulator({ heartbeatMs: 100, ...(profile ? { local: { profile } } : {}) });
    for (const id of ['t', 'a', 'b', 'u', 'c', 'kept']) emu.remote.append(event('create', malware(`malware--${id}`, id.toUpperCase())));
    emu.remote.append(event('merge', malware('malware--t', 'T', { aliases: ['A'] }), { sources: [malware('malware--a', 'A')] }));
    // A is already merged into T ("same ID detected"): B must still be merged.
    emu.remote.append(event('merge', malware('malware--t', 'T', { description: 'A and B merged' }), { sources: [malware('malware--a', 'A'), malware('malware--b', 'B')] }));
    // A source unknown here ("Cannot access all entities"): C must still be merged.
    emu.remote.append(event('merge', malware('malware--u', 'U', { description: 'C merged' }), { sources: [malware('malware--never-seen', 'N'), malware('malware--c', 'C')] }));
    await start(envFor(emu));
    await converged(emu, 20_000, false);
    expect(emu.local.get('malware--b')).toBeUndefined();
    expect(emu.local.get('malware--c')).toBeUndefined();
    expect(emu.local.get('malware--kept')?.name).toBe('KEPT');
    expect(emu.local.get('malware--t')?.description).toBe('A and B merged');
    expect(emu.local.get('malware--u')?.description).toBe('C merged');
  });

  test('once the stream pauses for SYNC_BATCH_IDLE_MS a partial batch goes out, long before SYNC_BATCH_MAX_WAIT_MS or a heartbeat', async () => {
    emu = await harness.emulator({ heartbeatMs: 60_000 });
    emu.seed(30, 4, 0);
    const p = await start(envFor(emu, { SYNC_BATCH_MAX_WAIT_MS: '60000', SYNC_BATCH_IDLE_MS: '10' }));
    await converged(emu, 5000);
    emu.seed(5, 4, 0);
    await converged(emu, 5000);
    // The platform applied them; the process counts them once it has read the Work (a poll later).
    await waitFor('35 events counted as applied', async () => (await p.healthz())?.status.counters.eventsApplied === 35, 5000);
    const h = await p.healthz();
    expect(h?.status.counters.eventsApplied).toBe(35);
    expect(h?.status.counters.heartbeats).toBe(0);
  });

  test('per-event mode (the benchmark\'s baseline) converges too, one message and one Work at a time', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
    emu.seed(80, 12, 3);
    const p = await start(envFor(emu, { SYNC_APPLY_MODE: 'per-event' }));
    await converged(emu);
    const h = await waitFor('all settled', async () => {
      const s = (await p.healthz())?.status;
      return s && s.counters.eventsApplied >= 80 ? s : undefined;
    });
    expect(h.counters.worksCreated).toBeGreaterThanOrEqual(80);
    expect(h.queuedMessages.max).toBe(1);
  });
});
