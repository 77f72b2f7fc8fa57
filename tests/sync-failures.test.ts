/**
 * The synchronizer as a real process against the OpenCTI emulator (see sync-process.test.ts):
 * local failures of every kind hold the position and are retried, nothing skipped.
 * sync-process.test.ts, sync-failures.test.ts and sync-lifecycle.test.ts are one suite in three
 * files (jest runs files in parallel); the version profiles' long proofs are in sync-proof-*.test.ts.
 */
import { jest } from '@jest/globals';
import { type OpenctiEmulator } from '../lib/opencti-emulator/index.js';
import { startBroker } from '../lib/rabbitmq/broker.js';
import { applied, cmpIds, CONNECTOR_ID, convergedOrExplain, envFor, event, malware, syncTestRun, waitFor } from './helpers/sync-process.js';

// A guard against hangs only: the waits below fail when the work stops moving (waitWhileMoving).
jest.setTimeout(180_000);

const harness = syncTestRun();
let emu: OpenctiEmulator | undefined;
const start = harness.process;

/** The local platform converged on the remote's final state (see convergedOrExplain). */
const converged = (e: OpenctiEmulator, stallMs?: number, everyEvent?: boolean) => convergedOrExplain(e, harness.lastProcess(), stallMs, everyEvent);

describe('nothing skipped: every failure holds the position and is retried', () => {
  test('local GraphQL 5xx and timeouts (creating and reading Works): retried, the position held, then applied', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
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
    emu = await harness.emulator({ heartbeatMs: 100 });
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
    emu = await harness.emulator({ heartbeatMs: 100, local: { retries: { minPauseMs: 20, maxPauseMs: 40 } } });
    emu.remote.append(event('create', malware('malware--a', 'A')));
    emu.remote.append(event('create', { id: 'relationship--r', type: 'relationship', relationship_type: 'uses', source_ref: 'malware--a', target_ref: 'malware--late' }));
    const p = await start(envFor(emu, { SYNC_LOCAL_RETRY_BASE_MS: '100', SYNC_LOCAL_RETRY_MAX_MS: '200' }));
    await waitFor('the reference error retried', async () => ((await p.healthz())?.status.counters.stepRetries ?? 0) > 0);
    emu.remote.append(event('create', malware('malware--late', 'Late')));
    await converged(emu);
    expect((await p.healthz())?.status.counters.eventsRefused).toBe(0);
  });

  test('the connector deleted on the local platform: registered again, its queue recreated, nothing lost', async () => {
    emu = await harness.emulator({ heartbeatMs: 100 });
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
      emu = await harness.emulator({ heartbeatMs: 100, amqpUrl: broker.url });
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
      await harness.stopEmulator();
      await broker.stop();
    }
  });

  test('a Work the platform loses (deleted, so its messages are dropped unapplied): its events are sent again', async () => {
    emu = await harness.emulator({ heartbeatMs: 100, local: { profile: '6.9' } });
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
    emu = await harness.emulator({ heartbeatMs: 100 });
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
