// The messages on the push queue: the sync manager's event message and pycti's bundle message,
// read back as the platform's worker reads them (JSON, then base64 JSON content).
import { bundleMessage, deleteItem, eventMessage, mergeItem } from './messages.js';

const env = { workId: 'work_c_2026', eventId: '1718445600000-3', applicantId: 'user-1', synchronized: true };
const read = (b: Buffer) => {
  const m = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
  return { ...m, content: JSON.parse(Buffer.from(m.content as string, 'base64').toString('utf8')) as unknown };
};

test('an event message carries the fields the worker turns into headers, and the event as content', () => {
  const data = JSON.stringify({ id: 'malware--é', type: 'malware', name: 'quote " ☃' });
  expect(read(eventMessage('update', data, { ...env, previousStandard: 'malware--old' }))).toEqual({
    type: 'event',
    event_id: '1718445600000-3',
    synchronized: true,
    update: true,
    applicant_id: 'user-1',
    work_id: 'work_c_2026',
    previous_standard: 'malware--old',
    content: { id: '1718445600000-3', type: 'update', data: JSON.parse(data) },
  });
  expect(read(eventMessage('create', data, env))).not.toHaveProperty('previous_standard');
});

test('a merge event names its sources in the context the worker reads', () => {
  const m = read(eventMessage('merge', '{"id":"malware--t","type":"malware"}', env, ['malware--s1', 'malware--s2']));
  expect(m.content).toEqual({ id: env.eventId, type: 'merge', data: { id: 'malware--t', type: 'malware' }, context: { sources: [{ id: 'malware--s1' }, { id: 'malware--s2' }] } });
});

test('a bundle message holds a STIX bundle of the items; delete and merge items carry their operation last', () => {
  const items = [deleteItem('{"id":"malware--x","type":"malware","opencti_operation":"merge"}'), mergeItem('{"id":"malware--t","type":"malware"}', 'malware--t', ['malware--s'])];
  const m = read(bundleMessage(items, env));
  expect(m).toMatchObject({ type: 'bundle', work_id: env.workId, event_id: env.eventId, synchronized: true });
  const bundle = m.content as { type: string; id: string; objects: unknown[] };
  expect(bundle.type).toBe('bundle');
  expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
  expect(bundle.objects).toEqual([
    { id: 'malware--x', type: 'malware', opencti_operation: 'delete' },
    { id: 'malware--t', type: 'malware', opencti_operation: 'merge', merge_target_id: 'malware--t', merge_source_ids: ['malware--s'] },
  ]);
});
