// The steps each kind of event takes, by write path: what is sent, and how each step is confirmed.
import type { Work } from './classify.js';
import { planSteps } from './steps.js';
import { writePathFor, type WritePath } from './write-path.js';

const path = (v: string) => writePathFor(v, 'amqp') as WritePath;
const data = '{"id":"malware--t","type":"malware","name":"T"}';
type Applied = Exclude<Work, { kind: 'skip' }>;
const upsert = (previousStandard?: string): Applied => ({ kind: 'upsert', id: 'malware--t', type: 'malware', data, previousStandard, refs: [], bytes: data.length, removedKeys: [] });
const merge: Applied = { kind: 'merge', id: 'malware--t', type: 'malware', data, sourceIds: ['malware--s'], refs: [], bytes: data.length, removedKeys: [] };
const del: Applied = { kind: 'delete', id: 'malware--t', type: 'malware', data, refs: [], bytes: data.length, removedKeys: [] };
const plan = (w: Applied, v: string) => planSteps(w, 'update', path(v)).map((s) => ({ what: s.what, id: s.id, state: s.stateCheck?.kind ?? null, prev: s.previousStandard ?? null }));

test('7.x: one event message each; a merge then the target\'s post-merge state', () => {
  expect(plan(upsert('malware--o'), '7.260817.0')).toEqual([{ what: 'id-change', id: 'malware--t', state: null, prev: 'malware--o' }]);
  expect(plan(del, '7.260817.0')).toEqual([{ what: 'delete', id: 'malware--t', state: null, prev: null }]);
  expect(plan(merge, '7.260817.0').map((s) => s.what)).toEqual(['merge', 'post-merge-state']);
});

test('5.12: an id change is the new object then a merge of the old one, confirmed by state; deletes too', () => {
  expect(plan(upsert('malware--o'), '5.12.33')).toEqual([
    { what: 'upsert', id: 'malware--t', state: null, prev: null },
    { what: 'merge-old-id', id: 'malware--t', state: 'merged', prev: null },
  ]);
  expect(plan(del, '5.12.33')).toEqual([{ what: 'delete', id: 'malware--t', state: 'absent', prev: null }]);
  expect(plan(merge, '5.12.33').map((s) => s.what)).toEqual(['merge']); // the old worker imports the target itself
});

test('6.9: delete and merge as bundle operations, each step a bundle item too', () => {
  const steps = planSteps(del, 'delete', path('6.9.28'));
  expect(JSON.parse(steps[0]?.item ?? '{}')).toMatchObject({ id: 'malware--t', opencti_operation: 'delete' });
});
