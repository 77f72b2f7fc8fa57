/**
 * The initial copy (issue 17): a first run copies every object the remote holds through the
 * stream's recovery mode, then follows the stream; a kill during the copy resumes it without the
 * saved position passing an object not yet copied; a position the stream no longer retains is
 * copied again the same way. The synchronizer runs as a real process against the emulator, whose
 * recovery mode is the platform's (lib/opencti-emulator/recovery.ts).
 */
import { jest } from '@jest/globals';
import type { OpenctiEmulator } from '../lib/opencti-emulator/index.js';
import { compareTables } from '../lib/opencti-emulator/stix.js';
import { CONNECTOR_ID, cmpIds, envFor, localProgress, savedPosition, syncTestRun, type SyncProc, waitFor, waitWhileMoving } from './helpers/sync-process.js';

// A guard against hangs only: the waits below fail when the copy stops moving (waitWhileMoving).
jest.setTimeout(300_000);

const run = syncTestRun();

/** The default: REMOTE_OPENCTI_RECOVER unset (now), over the test timings of envFor. */
function recoverEnv(e: OpenctiEmulator, extra: Record<string, string> = {}): Record<string, string> {
  const env = envFor(e, extra);
  delete env.REMOTE_OPENCTI_RECOVER;
  return { ...env, ...extra };
}

const start = (env: Record<string, string>): Promise<SyncProc> => run.process(env);

/** The local store equals the remote's final state; fails when the copy stops moving for `stallMs`. */
async function equal(e: OpenctiEmulator, p: SyncProc, stallMs = 30_000): Promise<void> {
  try {
    await waitWhileMoving('local store == remote final state', () => e.compare().equal, () => localProgress(e), stallMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\ncomparison: ${JSON.stringify(e.compare())}\nhealthz: ${JSON.stringify((await p.healthz())?.status ?? null)}\nstderr tail:\n${p.stderr().split('\n').slice(-15).join('\n')}`);
  }
}

const streamRequests = (e: OpenctiEmulator) => e.remote.requests.filter((r) => r.path === '/stream/live');
const savedState = (e: OpenctiEmulator) => JSON.parse(e.local.connectors.get(CONNECTOR_ID)?.state ?? '{}') as { start_from?: string; recover_until?: string | false };

test.each([undefined, '6.9', '5.12'] as const)('a first run copies, through the recovery mode, what the stream no longer retains, then follows the stream (profile %s; undefined is 7.x)', async (profile) => {
  const e = await run.emulator({ heartbeatMs: 500, ...(profile ? { local: { profile } } : {}) });
  e.seed(3000, 17);
  e.remote.trim(200); // most of the history is only in the remote's objects now
  const p = await start(recoverEnv(e));
  await equal(e, p);
  const first = streamRequests(e)[0];
  expect(first?.query.recover).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  expect(first?.headers['last-event-id']).toBe('0-0');
  expect(first?.query.from).toBeUndefined();
  await waitFor('the state saved with recover_until', () => savedState(e).recover_until === first?.query.recover);
  e.seed(300); // live events after the copy
  await equal(e, p);
  const h = await p.healthz();
  expect(h?.status.counters.eventsRecovered).toBeGreaterThan(e.remote.table().size / 2);
  expect(h?.status.counters.eventsRefused).toBe(0);
});

test('kill -9 during the copy, four times: the saved position never passes an object not yet copied, and the copy ends equal', async () => {
  const e = await run.emulator({ heartbeatMs: 200, local: { latencyMs: 2 } });
  e.seed(12_000, 23);
  e.remote.trim(100);
  const env = recoverEnv(e, { SYNC_STATE_SAVE_INTERVAL_MS: '100' });
  const positions: string[] = [];
  for (let round = 0; round < 4; round++) {
    const p = await start(env);
    // Kill at a random point of the copy, measured in objects applied rather than time (load on
    // this machine changes the pace), once this run has saved a position of its own.
    const before = savedPosition(e);
    const target = 200 + Math.floor(Math.random() * 700);
    await waitFor(`${target} objects applied and a position saved`, async () => ((await p.healthz())?.status.counters.eventsApplied ?? 0) >= target && savedPosition(e) !== before, 60_000);
    p.kill('SIGKILL');
    await p.exited;
    const saved = savedPosition(e) as string;
    positions.push(saved);
    // Every object whose recovery id is at or before the saved position is here, as the remote has it.
    const upTo = Number(saved.split('-')[0]);
    const behind = [...e.remote.table().values()].filter((o) => (e.remote.updatedAt(o.id) ?? Infinity) <= upTo);
    const here = new Map(behind.flatMap((o) => { const l = e.local.get(o.id); return l ? [[o.id, l] as const] : []; }));
    const c = compareTables(new Map(behind.map((o) => [o.id, o])), here);
    expect({ saved, missing: c.examples.missing, different: c.examples.different }).toEqual({ saved, missing: [], different: [] });
  }
  // Each kill came during the copy (the position still before recover_until), and the copy moved on.
  const until = Date.parse(savedState(e).recover_until as string);
  expect(positions.every((pos) => Number(pos.split('-')[0]) < until)).toBe(true);
  for (let i = 1; i < positions.length; i++) expect(cmpIds(positions[i] as string, positions[i - 1] as string)).toBeGreaterThan(0);
  const last = await start(env);
  await equal(e, last);
  expect(streamRequests(e).every((r) => r.query.recover === streamRequests(e)[0]?.query.recover)).toBe(true);
});

test('a resume position older than the stream retains is copied again through the recovery mode (all but what was removed in the gap); with REMOTE_OPENCTI_RECOVER=off it is only warned about', async () => {
  const e = await run.emulator({ heartbeatMs: 500 });
  e.seed(500, 29);
  const first = await start(recoverEnv(e));
  await equal(e, first);
  // The copy is over once the position (moved by heartbeats) is past recover_until.
  await waitFor('the position past recover_until', async () => {
    const pos = (await first.healthz())?.status.position;
    const until = savedState(e).recover_until;
    return pos !== undefined && typeof until === 'string' && Number(pos.split('-')[0]) >= Date.parse(until);
  });
  first.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  const saved = savedPosition(e) as string;
  const before = new Set(e.remote.table().keys());
  e.seed(2000); // while it is down, and the stream then trimmed past its position
  e.remote.trim(100);
  expect(cmpIds(saved, e.remote.firstEventId as string)).toBeLessThan(0);

  const off = await start({ ...recoverEnv(e), REMOTE_OPENCTI_RECOVER: 'off' });
  await waitFor('the warning', () => off.stderr().includes('REMOTE_OPENCTI_RECOVER=off'));
  // It goes on from what is retained (events whose references were trimmed wait, never skipped),
  // and never asks for the recovery mode.
  await waitFor('events received', async () => ((await off.healthz())?.status.counters.eventsReceived ?? 0) > 0);
  expect(streamRequests(e).filter((r) => r.headers['last-event-id'] === saved).map((r) => r.query.recover)).toEqual([undefined]);
  off.kill('SIGKILL');
  await off.exited;

  const p = await start(recoverEnv(e));
  // The recovery mode sends the objects that exist: what the remote deleted, merged away or renamed
  // while its events were trimmed stays here, and only that (docs/sync.md, the initial copy).
  const removedInGap = [...before].filter((id) => !e.remote.table().has(id)).sort();
  expect(removedInGap.length).toBeGreaterThan(0);
  await waitFor('every current object copied again', () => { const c = e.compare(); return c.missing === 0 && c.different === 0 && c.extra === removedInGap.length; }, 60_000, 200).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\ncomparison: ${JSON.stringify(e.compare())}`);
  });
  expect([...e.local.store.objects().keys()].filter((id) => !e.remote.table().has(id)).sort()).toEqual(removedInGap);
  expect(p.stderr()).toContain('copying again every object updated since, through the recovery mode');
  expect(streamRequests(e).some((r) => r.query.recover !== undefined && r.headers['last-event-id'] !== '0-0')).toBe(true);
  expect((await p.healthz())?.status.counters.eventsRecovered).toBeGreaterThan(0);
});

test('REMOTE_OPENCTI_RECOVER=<date>: the objects updated until then come through the recovery mode, the rest from the stream', async () => {
  const e = await run.emulator({ heartbeatMs: 300 });
  e.seed(600, 31);
  await new Promise((r) => setTimeout(r, 20));
  const date = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  e.seed(400);
  const p = await start(recoverEnv(e, { REMOTE_OPENCTI_RECOVER: date }));
  await equal(e, p);
  expect(streamRequests(e)[0]?.query.recover).toBe(date);
  const h = await p.healthz();
  const recovered = h?.status.counters.eventsRecovered ?? 0;
  expect(recovered).toBeGreaterThan(0);
  // The 400 later events came one by one from the stream.
  expect((h?.status.counters.eventsApplied ?? 0) - recovered).toBeGreaterThanOrEqual(400);
});

test('a state reset from the UI copies everything again through the recovery mode, with a new recover date', async () => {
  const e = await run.emulator({ heartbeatMs: 100 });
  e.seed(400, 37);
  const p = await start(recoverEnv(e));
  await equal(e, p);
  const firstRecover = streamRequests(e)[0]?.query.recover as string;
  await waitFor('a position saved', () => savedState(e).start_from !== undefined && savedState(e).start_from !== '0-0');
  // The local copy loses an object, then the state is reset (Connectors > the connector > reset).
  const lost = [...e.local.store.objects().keys()].find((id) => id.startsWith('malware--')) as string;
  e.local.store.delete(lost);
  const c = e.local.connectors.get(CONNECTOR_ID);
  if (!c) throw new Error('not registered');
  c.state = '';
  c.stateReset = true;
  await waitFor('the reset seen', async () => (await p.healthz())?.status.counters.resets === 1);
  await waitFor('the object copied again', () => e.local.get(lost) !== undefined, 30_000);
  await equal(e, p);
  const again = streamRequests(e).filter((r) => r.headers['last-event-id'] === '0-0');
  expect(again).toHaveLength(2);
  expect(again[1]?.query.recover).toMatch(/^\d{4}-/);
  expect(Date.parse(again[1]?.query.recover as string)).toBeGreaterThan(Date.parse(firstRecover));
});
