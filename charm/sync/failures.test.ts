// What a Work error means for the step it names: applied already, refused for good, or retried.
import { errorCode, judgeFailure } from './failures.js';

const py = (name: string, message: string) => `{'name': '${name}', 'error_message': '${message}'}`;

test('the platform code is read from pycti\'s text of the error', () => {
  expect(errorCode(py('MISSING_REFERENCE_ERROR', 'Element(s) not found'))).toBe('MISSING_REFERENCE_ERROR');
  expect(errorCode("('Not supported opencti_operation', {'operation': 'event'})")).toBeUndefined();
});

test('a replayed delete or merge is already applied; a merge with an unknown id needs its target', () => {
  expect(judgeFailure({ what: 'delete' }, py('FUNCTIONAL_ERROR', 'Cannot delete the stix element, malware--x cannot be found.'))).toMatchObject({ kind: 'applied' });
  expect(judgeFailure({ what: 'merge' }, py('FUNCTIONAL_ERROR', 'Cannot merge an entity on itself, same ID detected'))).toMatchObject({ kind: 'merge-partial' });
  expect(judgeFailure({ what: 'merge-old-id' }, py('FUNCTIONAL_ERROR', 'Cannot access all entities for merging'))).toMatchObject({ kind: 'merge-partial' });
  // The same texts for another step are not taken as success.
  expect(judgeFailure({ what: 'upsert' }, py('FUNCTIONAL_ERROR', 'x cannot be found'))).toMatchObject({ kind: 'retry' });
});

test('only errors about the event itself refuse it', () => {
  expect(judgeFailure({ what: 'upsert' }, py('VALIDATION_ERROR', 'Invalid pattern'))).toMatchObject({ kind: 'refused' });
  expect(judgeFailure({ what: 'upsert' }, py('UNSUPPORTED_ERROR', 'Type not supported'))).toMatchObject({ kind: 'refused' });
  expect(judgeFailure({ what: 'upsert' }, 'Incompatible element in bundle')).toMatchObject({ kind: 'refused' });
});

test('a missing reference is told apart (the pipeline retries it unless a later event deletes the object)', () => {
  const error = py('MISSING_REFERENCE_ERROR', 'Element(s) not found: identity--a');
  expect(judgeFailure({ what: 'upsert' }, error)).toMatchObject({ kind: 'missing-reference' });
  expect(judgeFailure({ what: 'post-merge-state' }, error)).toMatchObject({ kind: 'missing-reference' });
  expect(judgeFailure({ what: 'delete' }, error)).toMatchObject({ kind: 'retry' });
});

test.each([
  py('INTERNAL_SERVER_ERROR', 'An unknown error has occurred'),
  py('LOCK_ERROR', 'Execution timeout'),
  "('Not supported opencti_operation', {'operation': 'event'})",
  'anything else at all',
])('everything else is retried, never dropped: %s', (error) => {
  expect(judgeFailure({ what: 'upsert' }, error)).toMatchObject({ kind: 'retry' });
});
