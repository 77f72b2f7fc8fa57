import { deleteItemJson, supportsBundleOperations } from './synchronizer.js';

test('bundle operations are used from OpenCTI 6.2 on', () => {
  expect(['5.12.3', '6.0.0', '6.1.9', 'x'].map(supportsBundleOperations)).toEqual([false, false, false, false]);
  expect(['6.2.0', '6.4.0', '6.10.1', '7.0.0'].map(supportsBundleOperations)).toEqual([true, true, true, true]);
});

test('a delete item is the object with opencti_operation last, so it wins over a key of the same name', () => {
  const json = JSON.stringify({ id: 'malware--a', type: 'malware', opencti_operation: 'restore' });
  expect(JSON.parse(deleteItemJson(json))).toEqual({ id: 'malware--a', type: 'malware', opencti_operation: 'delete' });
});
