/**
 * Files attached to remote objects (issue 17): their content is fetched from the remote's
 * /storage/get with the remote token and sent inline, as OpenCTI's own synchronizer does
 * (opencti-stream.md §3.4, pitfall 7); a file that cannot be fetched holds its event and is retried,
 * never skipped. The local emulator keeps the contents it received by object and file name.
 */
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Stix, StreamEventData } from '../lib/opencti-emulator/index.js';
import { OCTI_EXT } from '../lib/opencti-emulator/stix.js';
import { cmpIds, envFor, localProgress, savedPosition, syncTestRun, waitFor, waitWhileMoving } from './helpers/sync-process.js';

// A guard against hangs only: the waits below fail when the copy stops moving (waitWhileMoving).
jest.setTimeout(180_000);

const run = syncTestRun();

function event(type: StreamEventData['type'], data: Stix): StreamEventData {
  return { version: '4', type, scope: 'external', message: `${type} ${data.id}`, origin: {}, data };
}
const REPORT = 'report--00000000-0000-4000-8000-0000000000f1';
const MALWARE = 'malware--00000000-0000-4000-8000-0000000000f2';
const file = (name: string) => ({ name, uri: `/storage/get/import/${name}`, mime_type: 'application/octet-stream', version: '2024-06-15T10:00:00.000Z' });

test('small and large files come inline from the remote storage, in the extension and in x_opencti_files', async () => {
  const e = await run.emulator({ heartbeatMs: 300 });
  const small = Buffer.from('IOC list\n1.2.3.4\n');
  const large = randomBytes(12 * 1024 * 1024);
  e.remote.putFile('import/notes.txt', small);
  e.remote.putFile('import/sample.bin', large);
  e.remote.append(event('create', { id: REPORT, type: 'report', spec_version: '2.1', name: 'r', published: '2024-06-15T10:00:00.000Z', extensions: { [OCTI_EXT]: { extension_type: 'property-extension', files: [file('notes.txt'), file('sample.bin')] } } }));
  e.remote.append(event('create', { id: MALWARE, type: 'malware', spec_version: '2.1', name: 'm', is_family: true, x_opencti_files: [file('notes.txt')] }));
  const p = await run.process(envFor(e));
  await waitWhileMoving('both objects and their files here', () => e.compare().equal && e.local.files.size === 3, () => `${localProgress(e)}, files ${e.local.files.size}`, 60_000, 200);
  expect(e.local.files.get(`${REPORT} notes.txt`)?.equals(small)).toBe(true);
  expect(e.local.files.get(`${REPORT} sample.bin`)?.equals(large)).toBe(true);
  expect(e.local.files.get(`${MALWARE} notes.txt`)?.equals(small)).toBe(true);
  // Fetched with the remote token, not anonymously.
  const gets = e.remote.requests.filter((r) => r.path.startsWith('/storage/get/'));
  expect(gets.length).toBeGreaterThanOrEqual(3);
  expect(gets.every((r) => r.headers.authorization === 'Bearer <redacted>' && r.status === 200)).toBe(true);
});

test('a file the remote cannot serve for a while holds its event, retried, then arrives; nothing skipped', async () => {
  const e = await run.emulator({ heartbeatMs: 300 });
  const bytes = Buffer.from('late file');
  e.remote.putFile('import/late.txt', bytes);
  e.remote.failFile('import/late.txt', 5, 503);
  const id = e.remote.append(event('create', { id: MALWARE, type: 'malware', spec_version: '2.1', name: 'm', is_family: true, x_opencti_files: [file('late.txt')] }));
  e.seed(20, 9, 0);
  const p = await run.process(envFor(e, { SYNC_STATE_SAVE_INTERVAL_MS: '100' }));
  await waitFor('a failed fetch', () => p.stderr().includes('fetching the file /storage/get/import/late.txt from the remote: HTTP 503'), 20_000);
  // While it fails, the position stays before the event.
  const held = savedPosition(e);
  expect(held === undefined || cmpIds(held, id) < 0).toBe(true);
  await waitWhileMoving('the object and its file here', () => e.compare().equal && e.local.files.get(`${MALWARE} late.txt`)?.equals(bytes) === true, () => `${localProgress(e)}, files ${e.local.files.size}`, 60_000, 200);
  const h = await p.healthz();
  expect(h?.status.counters.eventsRefused).toBe(0);
  expect(h?.status.counters.stepRetries).toBeGreaterThanOrEqual(5);
  expect(e.remote.requests.filter((r) => r.path === '/storage/get/import/late.txt').map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 200]);
});
