/**
 * The proof of issue 15, per version profile of the local platform: 20,000 remote events (creates,
 * updates, id changes, merges, deletes, re-creates, removed fields) copied by the built synchronizer
 * while it is killed with SIGKILL at random points, six times, the remote going on meanwhile, the
 * workers' latency seeded differently per profile and the platform's connector manager closing
 * unfinished Works every 2 s (60 s on a real platform: a harsher schedule). In the end the local
 * store equals the remote's final state object by object, and every remote event was applied by a
 * worker at least once (the emulator records each write with the event it came from).
 *
 * One test file per profile (sync-proof-*.test.ts), each a call of syncProofTest: jest runs files,
 * not tests, in parallel, and each proof takes most of a minute of mostly waiting.
 */
import { expect, jest, test } from '@jest/globals';
import { type ProfileName } from '../../lib/opencti-emulator/index.js';
import { cmpIds, envFor, localProgress, savedPosition, syncTestRun, waitFor, waitWhileMoving } from './sync-process.js';

const EVENTS = 20_000;
const KILLS = 6;
/** Events appended on the remote while the synchronizer is down, after each kill. */
const PER_KILL = 1000;
/**
 * pycti's pauses between two tries of an item inside a worker, shortened from 1-3 s so that the
 * runs between kills get further. A worker may hold a killed run's message through all of them (a
 * missing reference: 4 tries, 3 pauses), so the restart grace below must outlast them, as the 15 s
 * default does pycti's real ones; with a shorter grace a killed run's create can land after the
 * next run's delete of the same object (seen here with a grace of 1 s and 1-3 s pauses).
 */
const WORKER_RETRIES = { minPauseMs: 200, maxPauseMs: 600 };
/** SYNC_RESTART_GRACE_MS: a restart waits this long before sending (the kills come after it). */
const GRACE_MS = 3 * WORKER_RETRIES.maxPauseMs + 700;

/** The proof for one version profile of the local platform, its workers' latency seeded with `workerSeed`. Call at the top level of a test file. */
export function syncProofTest(profile: ProfileName, workerSeed: number): void {
  // A guard against hangs only (the wait below fails when the copy stops moving): under heavy load
  // a proof took 180 s.
  jest.setTimeout(600_000);
  const harness = syncTestRun();

  test(`${profile}: 20k events, six kill -9, local == remote and no event skipped (worker seed ${workerSeed})`, async () => {
    const e = await harness.emulator({ heartbeatMs: 200, local: { profile, seed: workerSeed, latencyMs: 3, connectorManagerMs: 2000, retries: WORKER_RETRIES } });
    e.seed(EVENTS - KILLS * PER_KILL, 41, 3);
    const env = envFor(e, { SYNC_BATCH_MAX_EVENTS: '200', SYNC_STATE_SAVE_INTERVAL_MS: '300', SYNC_HEARTBEAT_TIMEOUT_MS: '5000', SYNC_RESTART_GRACE_MS: String(GRACE_MS) });
    const kills: string[] = [];
    for (let round = 0; round < KILLS; round++) {
      const p = await harness.process(env);
      await waitFor('the process is up', async () => (await p.healthz()) !== undefined);
      const wait = GRACE_MS + 500 + Math.floor(Math.random() * 3000);
      await new Promise((r) => setTimeout(r, wait));
      p.kill('SIGKILL');
      await p.exited;
      kills.push(`after ${wait} ms: saved ${savedPosition(e) ?? 'none'}`);
      e.seed(PER_KILL, 41, 3); // the remote goes on while the synchronizer is down
    }
    const last = await harness.process(env);
    // Compare only once the synchronizer says it caught up: a comparison of 10k objects costs the
    // emulator (in this process) more than its workers can spare while they are busy.
    const caughtUp = async () => {
      const s = (await last.healthz())?.status;
      return s !== undefined && s.queueLength === 0 && cmpIds(s.position, e.remote.lastEventId as string) >= 0;
    };
    try {
      // Given up only when nothing moves for a minute (the copy, not the clock: see waitWhileMoving).
      const progress = async () => `${localProgress(e)}, position ${(await last.healthz())?.status.position}`;
      await waitWhileMoving('local store == remote final state, every event applied', async () => (await caughtUp()) && e.compare().equal && e.unapplied(1).length === 0, progress, 60_000, 500);
    } catch (err) {
      const h = await last.healthz();
      const ex = e.compare().examples;
      const describe = (id: string) =>
        `\nobject ${id}:\n remote ${JSON.stringify(e.remote.table().get(id) ?? null)}\n local  ${JSON.stringify(e.local.get(id) ?? null)}\n events naming it: ${JSON.stringify(e.remote.eventsMentioning(id))}\n writes applied: ${JSON.stringify([...e.local.applied].filter((a) => a.endsWith(id)))}`;
      const detail = [ex.different[0], ex.extra[0], ex.missing[0]].filter((id): id is string => id !== undefined).map(describe).join('');
      throw new Error(`${(err as Error).message}${detail}\nkills: ${kills.join('; ')}\ncomparison: ${JSON.stringify(e.compare())}\nunapplied: ${JSON.stringify(e.unapplied(5))}\nhealthz: ${JSON.stringify(h?.status ?? null)}\nstderr tail:\n${last.stderr().split('\n').slice(-30).join('\n')}`);
    }
    const c = e.compare();
    expect(c).toMatchObject({ equal: true, missing: 0, extra: 0, different: 0 });
    expect(c.same).toBe(e.remote.table().size);
    expect(e.remote.dataEvents()).toHaveLength(EVENTS);
    expect(e.unapplied()).toEqual([]);
    expect(e.local.internalErrors).toEqual([]);
    expect(kills).toHaveLength(KILLS);
    const h = await waitFor('the last process still answers /healthz', () => last.healthz()).catch((err: Error) => {
      throw new Error(`${err.message}: exit code ${last.child.exitCode}, signal ${last.child.signalCode}\nstderr tail:\n${last.stderr().split('\n').slice(-20).join('\n')}`);
    });
    expect(h.status.counters.eventsRefused).toBe(0);

  });
}
