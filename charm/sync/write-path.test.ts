// How the synchronizer writes to each local platform version, and what it refuses.
import { API_LOSSES, writePathFor, type WritePath } from './write-path.js';

const path = (v: string, p: 'amqp' | 'api' = 'amqp') => writePathFor(v, p) as WritePath;

test.each([
  ['7.260817.0', 'event', 'event', true, false],
  ['7.260318.0', 'event', 'event', true, false],
  ['7.260301.0', 'event', 'bundle-op', true, false],
  ['6.9.28', 'event', 'bundle-op', true, false],
  ['6.8.7', 'event', 'bundle-op', true, false],
  ['6.8.6', 'event', 'event', true, true],
  ['6.4.0', 'event', 'event', true, true],
  ['6.2.0', 'event', 'event', true, true],
  ['6.1.9', 'bundle', 'event-state', false, true],
  ['5.12.33', 'bundle', 'event-state', false, true],
] as const)('%s: upserts as %s, deletes and merges as %s, previous-standard %s, one Work at a time %s', (v, upsert, deleteMerge, previousStandard, oneWorkAtATime) => {
  expect(path(v)).toMatchObject({ protocol: 'amqp', upsert, deleteMerge, previousStandard, oneWorkAtATime });
});

test('versions that ignore the synchronizer headers are named in a warning; 5.x and 6.0-6.1 say what they lack', () => {
  expect(path('6.2.15').warnings[0]).toMatch(/OpenCTI 6.2.15 ignores the synchronized-upsert, previous-standard and opencti-event-id headers \(fixed in 6.2.19 and 6.3.4\)/);
  expect(path('6.3.2').warnings).toHaveLength(1);
  expect(path('6.3.4').warnings).toEqual([]);
  expect(path('5.12.33').warnings[0]).toMatch(/predates previous-standard and opencti-event-id/);
});

test('refusals name the version and the remedy', () => {
  expect(writePathFor('4.5.5', 'amqp')).toEqual({ refused: 'the local OpenCTI is version 4.5.5; this synchronizer needs 5.0 or later: upgrade the platform' });
  expect(writePathFor('x.y', 'amqp')).toEqual({ refused: 'the local OpenCTI reports version "x.y", which is not a version number' });
  expect(writePathFor('6.5.6', 'api')).toEqual({ refused: 'CONNECTOR_QUEUE_PROTOCOL=api needs stixBundlePush with a work_id (OpenCTI 6.5.7 or later; the local platform is 6.5.6): use the default, amqp' });
});

test('the API protocol: bundles and bundle operations, no previous-standard, and a warning with what it loses', () => {
  const p = path('6.9.28', 'api');
  expect(p).toMatchObject({ protocol: 'api', upsert: 'bundle', deleteMerge: 'bundle-op', previousStandard: false });
  expect(p.warnings).toEqual([`CONNECTOR_QUEUE_PROTOCOL=api: ${API_LOSSES}`]);
});
