/**
 * The options of OpenCTI's own synchronizer (its Synchronizer type, opencti-stream.md §1.3, §3.4),
 * each on and off, through the process against the emulator: REMOTE_OPENCTI_LISTEN_DELETE,
 * REMOTE_OPENCTI_SYNCHRONIZED, REMOTE_OPENCTI_NO_DEPENDENCIES and REMOTE_OPENCTI_APPLICANT_ID.
 */
import { jest } from '@jest/globals';
import type { OpenctiEmulator, Stix, StreamEventData } from '../lib/opencti-emulator/index.js';
import { envFor, syncTestRun, type SyncProc, waitFor } from './helpers/sync-process.js';

jest.setTimeout(60_000);

const harness = syncTestRun();

async function run(env: Record<string, string> = {}): Promise<{ e: OpenctiEmulator; p: SyncProc }> {
  const e = await harness.emulator({ heartbeatMs: 200 });
  const p = await harness.process(envFor(e, env));
  return { e, p };
}

function event(type: StreamEventData['type'], data: Stix, context?: StreamEventData['context']): StreamEventData {
  return { version: '4', type, scope: 'external', message: `${type} ${data.id}`, origin: {}, data, ...(context ? { context } : {}) };
}
const A = 'malware--00000000-0000-4000-8000-0000000000a1';
const B = 'malware--00000000-0000-4000-8000-0000000000b2';
const malware = (id: string, extra: Record<string, unknown> = {}): Stix => ({ id, type: 'malware', spec_version: '2.1', name: id.slice(-2), is_family: true, ...extra });

/** Wait until the process has applied `n` events. */
const applied = (p: SyncProc, n: number) => waitFor(`${n} events applied`, async () => ((await p.healthz())?.status.counters.eventsApplied ?? 0) >= n, 20_000);
const streamHeaders = (e: OpenctiEmulator) => e.remote.requests.filter((r) => r.path === '/stream/live').map((r) => r.headers);

describe('REMOTE_OPENCTI_LISTEN_DELETE', () => {
  test.each([
    [undefined, 'true', false],
    ['false', 'false', true],
  ])('%s: the listen-delete header is %s; a remote delete leaves the object here: %s', async (value, header, kept) => {
    const { e, p } = await run(value === undefined ? {} : { REMOTE_OPENCTI_LISTEN_DELETE: value });
    e.remote.append(event('create', malware(A)));
    e.remote.append(event('create', malware(B)));
    e.remote.append(event('delete', malware(A)));
    await applied(p, kept ? 2 : 3);
    await waitFor('B here', () => e.local.get(B) !== undefined);
    await waitFor('the delete applied, or the stream past it', async () => kept || e.local.get(A) === undefined);
    expect(streamHeaders(e).every((h) => h['listen-delete'] === header)).toBe(true);
    expect(e.local.get(A) !== undefined).toBe(kept);
  });
});

describe('REMOTE_OPENCTI_SYNCHRONIZED', () => {
  test.each([
    [undefined, false],
    ['false', true],
  ])('%s: a field removed on the remote is kept here: %s', async (value, kept) => {
    const { e, p } = await run(value === undefined ? {} : { REMOTE_OPENCTI_SYNCHRONIZED: value });
    e.remote.append(event('create', malware(A, { description: 'to be removed' })));
    e.remote.append(event('update', malware(A, { name: 'renamed' })));
    await applied(p, 2);
    await waitFor('the update applied', () => e.local.get(A)?.name === 'renamed');
    expect('description' in (e.local.get(A) ?? {})).toBe(kept);
    expect(e.compare().equal).toBe(!kept);
  });
});

describe('REMOTE_OPENCTI_NO_DEPENDENCIES', () => {
  test.each([
    [undefined, 'false'],
    ['true', 'true'],
  ])('%s: the no-dependencies header is %s', async (value, header) => {
    const { e, p } = await run(value === undefined ? {} : { REMOTE_OPENCTI_NO_DEPENDENCIES: value });
    e.remote.append(event('create', malware(A)));
    await applied(p, 1);
    expect(streamHeaders(e).length).toBeGreaterThan(0);
    expect(streamHeaders(e).every((h) => h['no-dependencies'] === header)).toBe(true);
  });
});

describe('REMOTE_OPENCTI_APPLICANT_ID', () => {
  const user = '7c3e9a6b-1d2f-4e5a-9b8c-0d1e2f3a4b5c';
  test.each([
    [undefined, 'the connector\'s user'],
    [user, 'that user'],
  ])('%s: the writes are attributed to %s', async (value, _who) => {
    const { e, p } = await run(value === undefined ? {} : { REMOTE_OPENCTI_APPLICANT_ID: value });
    e.remote.append(event('create', malware(A)));
    await applied(p, 1);
    await waitFor('A here', () => e.local.get(A) !== undefined);
    const connectorUser = e.local.connectors.values().next().value?.userId;
    expect(connectorUser).toEqual(expect.any(String));
    expect(connectorUser).not.toBe(user);
    expect(e.local.applicants.get(A)).toBe(value ?? connectorUser);
  });
});
