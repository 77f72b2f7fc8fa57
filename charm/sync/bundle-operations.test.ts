import { deleteItemJson, mergeItemJson, supportsBundleOperations } from './synchronizer.js';

test('bundle operations are used from OpenCTI 6.2 on', () => {
  expect(['5.12.3', '6.0.0', '6.1.9', 'x'].map(supportsBundleOperations)).toEqual([false, false, false, false]);
  expect(['6.2.0', '6.4.0', '6.10.1', '7.0.0'].map(supportsBundleOperations)).toEqual([true, true, true, true]);
});

test('a delete item is the object with opencti_operation last, so it wins over a key of the same name', () => {
  const json = JSON.stringify({ id: 'malware--a', type: 'malware', opencti_operation: 'restore' });
  expect(JSON.parse(deleteItemJson(json))).toEqual({ id: 'malware--a', type: 'malware', opencti_operation: 'delete' });
});

test('a merge item is the target with opencti_operation, merge_target_id and merge_source_ids last', () => {
  const json = JSON.stringify({ id: 'malware--t', type: 'malware', name: 'T', opencti_operation: 'restore', merge_source_ids: ['x'] });
  expect(JSON.parse(mergeItemJson(json, 'malware--t', ['malware--s1', 'malware--s2']))).toEqual({ id: 'malware--t', type: 'malware', name: 'T', opencti_operation: 'merge', merge_target_id: 'malware--t', merge_source_ids: ['malware--s1', 'malware--s2'] });
});
