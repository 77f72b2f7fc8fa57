/**
 * The synchronizer as a real process (the esbuild bundle, as Pebble runs it) against the OpenCTI
 * emulator over real sockets: a local platform that queues through the test run's RabbitMQ and
 * applies with concurrent workers. Convergence under kill -9, remote drops and stalls, local
 * failures of every kind (nothing skipped), bad input, bad credentials, bad configuration, TLS,
 * state reset and shutdown. The version profiles' long proofs are in sync-proof.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { syncStatusSchema } from '../charm/sync/status.js';
import { startOpenctiEmulator, type OpenctiEmulator, type Stix, type StreamEventData } from '../lib/opencti-emulator/index.js';
import { OCTI_EXT } from '../lib/opencti-emulator/stix.js';
import { startBroker } from '../lib/rabbitmq/broker.js';
import { cmpIds, CONNECTOR_ID, envFor, killAll, savedPosition, startSyncProcess, syncBundle, type SyncProc, waitFor } from './helpers/sync-process.js';

import { jest } from '@jest/globals';

jest.setTimeout(60_000);

let emu: OpenctiEmulator | undefined;
const procs: SyncProc[] = [];

beforeAll(async () => {
  await syncBundle();
});

afterEach(async () => {
  await killAll(procs);
  await emu?.stop();
  emu = undefined;
});

async function start(env: Record<string, string>): Promise<SyncProc> {
  const p = await startSyncProcess(env);
  procs.push(p);
  return p;
}

function tmpFile(name: string): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'sync-test-')), name);
}

/**
 * The local platform holds the remote's final state, and (unless `everyEvent` is false: events the
 * platform cannot record, such as a delete of an object it never had) every remote event's write
 * was applied by a worker.
 */
async function converged(e: OpenctiEmulator, timeoutMs = 20_000, everyEvent = true): Promise<void> {
  try {
    await waitFor('local store == remote final state', () => e.compare().equal && (!everyEvent || e.unapplied(1).length === 0), timeoutMs);
  } catch (err) {
    // Say why, so a rare failure can be diagnosed from the CI log alone.
    const last = procs[procs.length - 1];
    const health = last ? await last.healthz() : undefined;
    throw new Error(`${(err as Error).message}\ncomparison: ${JSON.stringify(e.compare())}\nunapplied: ${JSON.stringify(e.unapplied(5))}\nhealthz: ${JSON.stringify(health?.status ?? null)}\nstderr tail:\n${(last?.stderr() ?? '').split('\n').slice(-15).join('\n')}`);
  }
}


function malware(id: string, name: string, extra: Record<string, unknown> = {}): Stix {
  return { id, type: 'malware', spec_version: '2.1', name, is_family: true, ...extra };
}
function event(type: StreamEventData['type'], data: Stix, context?: StreamEventData['context']): StreamEventData {
  return { version: '4', type, scope: 'external', message: `${type} ${data.id}`, origin: {}, data, ...(context ? { context } : {}) };
}
const applied = async (p: SyncProc) => (await p.healthz())?.status.counters.eventsApplied ?? 0;

describe('the default write path: the platform\'s own synchronizer\'s event messages, confirmed by Works', () => {
  test('first run copies the whole stream; the Last-Event-ID header carries the position, never `from`', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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
      const e = await startOpenctiEmulator({ heartbeatMs: 100, local: { latencyMs: 20, seed: 3 } });
      emu = e;
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
      await e.stop();
      emu = undefined;
      return result;
    };
    const unordered = await run('none');
    expect(unordered.equal).toBe(false);
    const ordered = await run('per-id');
    expect(ordered).toMatchObject({ equal: true, missing: 0, extra: 0, different: 0 });
  });

  test('remote drop mid-event and heartbeat stall: reconnects after the last complete run read, nothing lost', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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

describe('nothing skipped: every failure holds the position and is retried', () => {
  test('local GraphQL 5xx and timeouts (creating and reading Works): retried, the position held, then applied', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
    emu.seed(60, 9, 1);
    emu.local.injectFault({ kind: 'status', status: 502, times: 4, operation: 'SyncWorkAdd' });
    emu.local.injectFault({ kind: 'hang', times: 1, operation: 'SyncWorks' });
    const p = await start(envFor(emu, { SYNC_LOCAL_TIMEOUT_MS: '400', SYNC_LOCAL_RETRY_BASE_MS: '100' }));
    const seen = await waitFor('the retrying state on /healthz', async () => {
      const h = await p.healthz();
      return h?.status.state === 'retrying' ? h : undefined;
    });
    expect(seen.code).toBe(200); // within SYNC_UNHEALTHY_AFTER_MS
    expect(seen.status.lastError?.message).toMatch(/HTTP 502|no answer within 400 ms/);
    expect(seen.status.counters.eventsApplied).toBe(0);
    await converged(emu);
    expect((await p.healthz())?.status.counters.eventsRefused).toBe(0);
  });

  test('a write error the synchronizer does not know (15 rejections): retried with backoff, 503 after SYNC_UNHEALTHY_AFTER_MS, then applied', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
    emu.remote.append(event('create', malware('malware--a', 'A')));
    emu.remote.append(event('create', malware('malware--b', 'B')));
    emu.remote.append(event('update', malware('malware--a', 'A', { description: 'second' })));
    emu.local.injectWriteFault({ code: 'INTERNAL_SERVER_ERROR', message: 'An unknown error has occurred', id: 'malware--a', times: 15 });
    const p = await start(envFor(emu, { SYNC_LOCAL_RETRY_BASE_MS: '50', SYNC_LOCAL_RETRY_MAX_MS: '100', SYNC_UNHEALTHY_AFTER_MS: '400' }));
    const unhealthy = await waitFor('503 once the failure lasted', async () => {
      const h = await p.healthz();
      return h?.code === 503 ? h : undefined;
    });
    expect(unhealthy.status).toMatchObject({ state: 'retrying', healthy: false });
    expect(unhealthy.status.lastError?.message).toMatch(/INTERNAL_SERVER_ERROR/);
    expect(emu.local.get('malware--b')).toBeDefined(); // unrelated events go on
    expect(cmpIds(unhealthy.status.position, '0-0')).toBe(0); // the position holds before the failing event
    await converged(emu);
    const h = await waitFor('healthy again', async () => {
      const r = await p.healthz();
      return r?.code === 200 && r.status.counters.eventsApplied === 3 ? r : undefined;
    });
    expect(h.status.counters.eventsRefused).toBe(0);
    expect(h.status.counters.stepRetries).toBeGreaterThanOrEqual(15);
  });

  test('a relationship refused for a missing reference whose endpoint arrives later is retried and applied', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100, local: { retries: { minPauseMs: 20, maxPauseMs: 40 } } });
    emu.remote.append(event('create', malware('malware--a', 'A')));
    emu.remote.append(event('create', { id: 'relationship--r', type: 'relationship', relationship_type: 'uses', source_ref: 'malware--a', target_ref: 'malware--late' }));
    const p = await start(envFor(emu, { SYNC_LOCAL_RETRY_BASE_MS: '100', SYNC_LOCAL_RETRY_MAX_MS: '200' }));
    await waitFor('the reference error retried', async () => ((await p.healthz())?.status.counters.stepRetries ?? 0) > 0);
    emu.remote.append(event('create', malware('malware--late', 'Late')));
    await converged(emu);
    expect((await p.healthz())?.status.counters.eventsRefused).toBe(0);
  });

  test('the connector deleted on the local platform: registered again, its queue recreated, nothing lost', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
    emu.seed(50, 13, 1);
    const p = await start(envFor(emu, { SYNC_STATE_SAVE_INTERVAL_MS: '100' }));
    await converged(emu);
    const gql = (query: string, variables: Record<string, unknown>) => fetch(`${(emu as OpenctiEmulator).localUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${(emu as OpenctiEmulator).localToken}` }, body: JSON.stringify({ query, variables }) });
    await gql('mutation D($id: ID!) { deleteConnector(id: $id) }', { id: CONNECTOR_ID });
    emu.seed(50, 13, 1);
    await converged(emu);
    expect(p.stderr()).toMatch(/registering the connector again/);
    expect(emu.local.connectors.has(CONNECTOR_ID)).toBe(true);
  });

  test('a broker that stops answering: the position holds, the batch is sent again once it is back', async () => {
    const broker = await startBroker();
    try {
      emu = await startOpenctiEmulator({ heartbeatMs: 100, amqpUrl: broker.url });
      emu.seed(100, 17, 1);
      const p = await start(envFor(emu, { SYNC_LOCAL_TIMEOUT_MS: '500', SYNC_LOCAL_RETRY_BASE_MS: '100', SYNC_LOCAL_RETRY_MAX_MS: '300' }));
      await waitFor('some events applied', async () => (await applied(p)) > 0);
      broker.pause();
      emu.seed(100, 17, 1);
      const stuck = await waitFor('a failure reported', async () => {
        const h = await p.healthz();
        return h?.status.state === 'retrying' ? h : undefined;
      });
      expect(stuck.status.lastError?.message).toMatch(/broker|no answer within 500 ms/);
      broker.resume();
      await converged(emu, 30_000);
    } finally {
      broker.resume();
      await emu?.stop();
      emu = undefined;
      await broker.stop();
    }
  });

  test('a Work the platform loses (deleted, so its messages are dropped unapplied): its events are sent again', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100, local: { profile: '6.9' } });
    await emu.local.workers.pause();
    emu.seed(40, 19, 0);
    const p = await start(envFor(emu, { SYNC_WORK_STALL_MS: '60000' }));
    const e = emu;
    await waitFor('a Work created', () => e.local.works.docs.size > 0);
    for (const id of [...e.local.works.docs.keys()]) e.local.works.delete(id);
    await e.local.workers.resume();
    await converged(emu);
    expect((await p.healthz())?.status.counters.stepsResent).toBeGreaterThan(0);
  });

  test('an event the platform refuses for good (a validation error) is named, counted and logged, and the stream goes on', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
    const bad = emu.remote.append(event('create', malware('malware--bad', 'Bad')));
    emu.remote.append(event('create', malware('malware--good', 'Good')));
    emu.local.injectWriteFault({ code: 'VALIDATION_ERROR', message: 'Invalid value for field name', id: 'malware--bad' });
    const p = await start(envFor(emu));
    await waitFor('good applied', () => (emu as OpenctiEmulator).local.get('malware--good'));
    const h = await waitFor('both settled', async () => {
      const r = await p.healthz();
      return r && r.status.counters.eventsApplied + r.status.counters.eventsRefused === 2 ? r : undefined;
    });
    expect(h.status.counters.eventsRefused).toBe(1);
    expect(p.stderr()).toMatch(new RegExp(`"msg":"the local platform refused an event for good: it is not applied","eventId":"${bad}","eventType":"create","stixId":"malware--bad"`));
    const metrics = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
    expect(metrics).toMatch(/^opencti_sync_events_refused_total 1$/m);
  });
});

describe('backpressure', () => {
  test('workers that lag: never more than SYNC_MAX_QUEUED_MESSAGES on the local queue, and the reader pauses', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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

describe('version profiles (short runs; see sync-proof.test.ts for the long ones)', () => {
  test.each(['5.12', '6.9'] as const)('%s: the local platform converges through its workaround', async (profile) => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100, local: { profile } });
    emu.seed(300, 29, 5);
    const p = await start(envFor(emu));
    await converged(emu);
    const h = await p.healthz();
    expect(h?.status.local.writePath).toBe(profile === '5.12' ? 'amqp: upserts as bundle messages, deletes and merges as event-state' : 'amqp: upserts as event messages, deletes and merges as bundle-op');
  });

  test('CONNECTOR_QUEUE_PROTOCOL=api: stixBundlePush with our Works, with a warning that says what it loses; refused on 5.12', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100, local: { profile: '6.9' } });
    emu.remote.append(event('create', malware('malware--a', 'A')));
    emu.remote.append(event('create', malware('malware--b', 'B')));
    emu.remote.append(event('delete', malware('malware--b', 'B')));
    const p = await start(envFor(emu, { CONNECTOR_QUEUE_PROTOCOL: 'api' }));
    await converged(emu, 20_000, false); // stixBundlePush's messages carry no event_id to check them by
    expect(emu.local.requests.some((r) => r.operationName === 'SyncBundlePushWork')).toBe(true);
    expect(p.stderr()).toMatch(/CONNECTOR_QUEUE_PROTOCOL=api: stixBundlePush queues a bundle message without the request headers: synchronized-upsert is lost/);
    await emu.stop();
    emu = await startOpenctiEmulator({ heartbeatMs: 100, local: { profile: '5.12' } });
    const q = await start(envFor(emu, { CONNECTOR_QUEUE_PROTOCOL: 'api' }));
    expect(await q.exited).toBe(5);
    expect(q.stderr()).toMatch(/CONNECTOR_QUEUE_PROTOCOL=api needs stixBundlePush with a work_id \(OpenCTI 6.5.7 or later; the local platform is 5.12.33\)/);
  });
});

describe('stream input', () => {
  test('malformed, unknown-type, old-version, internal and badly-identified messages are logged, counted and passed', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100, ...(profile ? { local: { profile } } : {}) });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 60_000 });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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

describe('lifecycle', () => {
  test('a state reset on the local platform restarts the copy from the configured start', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100, ...(profile ? { local: { profile } } : {}) });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
    emu.seed(100, 8, 1);
    const statusFile = tmpFile('status.json');
    const env = envFor(emu, { SYNC_STATUS_FILE: statusFile, SYNC_STATE_SAVE_INTERVAL_MS: '60000' });
    const p = await start(env);
    await converged(emu);
    await new Promise((r) => setTimeout(r, 250)); // let a heartbeat confirm the last run
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
    emu.seed(30, 31, 1);
    const statusFile = tmpFile('status.json');
    const p = await start(envFor(emu, { SYNC_STATE_SAVE_INTERVAL_MS: '200', SYNC_LOCAL_TIMEOUT_MS: '4000', SYNC_STATUS_FILE: statusFile }));
    await converged(emu);
    await new Promise((r) => setTimeout(r, 300));
    // The next periodic save is slow: it carries the position of now, while more events are applied.
    emu.local.injectFault({ kind: 'delay', ms: 1500, operation: 'SyncPingConnector' });
    await new Promise((r) => setTimeout(r, 300));
    emu.seed(30, 31, 1);
    await converged(emu);
    await new Promise((r) => setTimeout(r, 250)); // a heartbeat confirms the last run
    const final = (await p.healthz())?.status.position as string;
    expect(cmpIds(final, savedPosition(emu) ?? '0-0')).toBeGreaterThan(0);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    // Heartbeats may move the position on until the stop: what is saved is where it stopped.
    const stopped = syncStatusSchema.parse(JSON.parse(readFileSync(statusFile, 'utf8'))).position;
    expect(cmpIds(stopped, final)).toBeGreaterThanOrEqual(0);
    expect(savedPosition(emu)).toBe(stopped);
  });

  test('a bad remote token exits 4 with a message that says what to fix, in stderr and the status file, without the token', async () => {
    emu = await startOpenctiEmulator({ heartbeatMs: 100 });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100, remote: { collections: { stopped: { live: false } } } });
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
    emu = await startOpenctiEmulator({ heartbeatMs: 100, tls: { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') } });
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
