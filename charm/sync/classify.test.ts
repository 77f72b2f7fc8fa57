// classifyEvent: every stream payload becomes work or a counted skip whose reason names the field at
// fault; what goes to the local platform is exactly the value that was checked, without commands.
import { OCTI_EXTENSION, classifyEvent, referencedIds } from './classify.js';

const obj = { id: 'indicator--0b4e7f3a-2f1c-4d7e-9a55-1c2d3e4f5a6b', type: 'indicator', name: 'x', pattern: "[ipv4-addr:value = '10.0.0.1']", created_by_ref: 'identity--a', object_marking_refs: ['marking-definition--t'] };
const ev = (over: Record<string, unknown> = {}) => JSON.stringify({ version: '4', type: 'create', scope: 'external', data: obj, message: 'creates', origin: {}, ...over });
const ID = '1718445600000-0';

test('create and update are upserts of the object, with what it refers to; a changed id gives the previous standard id', () => {
  const w = classifyEvent('create', ID, ev());
  expect(w).toEqual({ kind: 'upsert', id: obj.id, type: 'indicator', data: JSON.stringify(obj), previousStandard: undefined, refs: ['identity--a', 'marking-definition--t'], bytes: ev().length, removedKeys: [] });
  const prev = 'indicator--11111111-2222-4333-8444-555555555555';
  const u = classifyEvent('update', ID, ev({ type: 'update', context: { patch: [], reverse_patch: [{ op: 'replace', path: '/name', value: 'old' }, { op: 'replace', path: '/id', value: prev }] } }));
  expect(u).toMatchObject({ kind: 'upsert', previousStandard: prev });
  expect(classifyEvent('update', ID, ev({ context: { reverse_patch: [{ op: 'replace', path: '/id', value: obj.id }] } }))).toMatchObject({ previousStandard: undefined });
  expect(classifyEvent('create', ID, ev({ type: undefined }))).toMatchObject({ kind: 'upsert' });
});

test('merge lists its distinct sources without the target; delete names the object', () => {
  const m = classifyEvent('merge', ID, ev({ type: 'merge', context: { sources: [{ id: 'indicator--a' }, { id: obj.id }, { id: 'indicator--a' }, { id: 'indicator--b', name: 'b' }] } }));
  expect(m).toMatchObject({ kind: 'merge', id: obj.id, sourceIds: ['indicator--a', 'indicator--b'] });
  expect(classifyEvent('merge', ID, ev({ type: 'merge' }))).toMatchObject({ kind: 'merge', sourceIds: [] });
  expect(classifyEvent('delete', ID, ev({ type: 'delete' }))).toMatchObject({ kind: 'delete', id: obj.id, type: 'indicator' });
});

test('skips: unknown event, not JSON, old version, internal scope, an id that is not <ms>-<seq>', () => {
  expect(classifyEvent('sync', ID, ev())).toMatchObject({ kind: 'skip', reason: 'unknown-type' });
  expect(classifyEvent('create', ID, '{"version":')).toEqual({ kind: 'skip', reason: 'malformed', detail: 'create event data is not JSON' });
  expect(classifyEvent('create', ID, ev({ version: '3' }))).toMatchObject({ kind: 'skip', reason: 'old-version' });
  expect(classifyEvent('create', ID, ev({ version: 4 }))).toMatchObject({ kind: 'upsert' });
  expect(classifyEvent('create', ID, ev({ scope: 'internal' }))).toMatchObject({ kind: 'skip', reason: 'internal-scope' });
  for (const bad of ['', 'abc', '1718445600000', '1718445600000-0-1', '-1-0', '1e3-0', '1718445600000-x', `${'9'.repeat(40)}-0`]) {
    expect(classifyEvent('create', bad, ev())).toMatchObject({ kind: 'skip', reason: 'invalid-id' });
  }
});

test.each([
  ['[]', '(root) must be an object'],
  [ev({ version: null }), 'version must be a string or a number'],
  [ev({ scope: 3 }), 'scope must be a string'],
  [ev({ data: 'x' }), 'data must be an object'],
  [ev({ data: { type: 'indicator' } }), 'data.id must be a non-empty string'],
  [ev({ data: { id: obj.id, type: '' } }), 'data.type must be a non-empty string'],
  [ev({ context: [] }), 'context must be an object'],
  [ev({ context: { reverse_patch: {} } }), 'context.reverse_patch must be an array'],
  [ev({ context: { reverse_patch: [{ op: 'replace' }] } }), 'context.reverse_patch.0 must be {op, path[, value]}'],
  [ev({ context: { sources: [{ id: 'a' }, {}] } }), 'context.sources.1.id must be a non-empty string'],
])('malformed payload %#: the field at fault is named', (text, detail) => {
  expect(classifyEvent('create', ID, text)).toEqual({ kind: 'skip', reason: 'malformed', detail: `create event: ${detail}` });
});

test('keys the worker would take as commands are removed, at the top level and in the OpenCTI extension', () => {
  const hostile = { ...obj, opencti_operation: 'delete', merge_target_id: 'malware--victim', merge_source_ids: ['malware--x'], extensions: { [OCTI_EXTENSION]: { id: 'internal', opencti_operation: 'merge', merge_source_ids: ['y'] }, other: { opencti_operation: 'kept' } } };
  const w = classifyEvent('create', ID, ev({ data: hostile }));
  expect(w.kind).toBe('upsert');
  if (w.kind !== 'upsert') return;
  const sent = JSON.parse(w.data) as Record<string, unknown>;
  expect(sent).not.toHaveProperty('opencti_operation');
  expect(sent).not.toHaveProperty('merge_target_id');
  expect(sent).not.toHaveProperty('merge_source_ids');
  expect((sent.extensions as Record<string, Record<string, unknown>>)[OCTI_EXTENSION]).toEqual({ id: 'internal' });
  expect((sent.extensions as Record<string, Record<string, unknown>>).other).toEqual({ opencti_operation: 'kept' });
  expect(w.removedKeys).toEqual(['opencti_operation', 'merge_target_id', 'merge_source_ids', `extensions.${OCTI_EXTENSION}.opencti_operation`, `extensions.${OCTI_EXTENSION}.merge_source_ids`]);
});

test('a data key given twice, once spelled with an escape: what is sent is the value that was checked', () => {
  const benign = JSON.stringify({ id: 'malware--benign', type: 'malware', name: 'benign' });
  const other = JSON.stringify({ id: 'malware--other', type: 'malware', name: 'other', opencti_operation: 'delete' });
  // JSON.parse keeps the last occurrence of a key; the escaped spelling is the same key.
  for (const text of [`{"version":"4","data":${other},"d\\u0061ta":${benign}}`, `{"version":"4","d\\u0061ta":${other},"data":${benign}}`]) {
    const w = classifyEvent('create', ID, text);
    expect(w).toMatchObject({ kind: 'upsert', id: 'malware--benign' });
    if (w.kind === 'upsert') expect(JSON.parse(w.data)).toEqual(JSON.parse(benign));
  }
});

test('unicode and escapes survive as values', () => {
  const data = { id: 'malware--é', type: 'malware', name: 'quote " backslash \\ tab \t ☃', description: 'line\nbreak' };
  const w = classifyEvent('create', ID, `{"version":"4","type":"create","data":${JSON.stringify(data, null, 1)},"origin":{}}`);
  expect(w.kind === 'upsert' && JSON.parse(w.data)).toEqual(data);
});

test('referencedIds: *_ref and *_refs at the top level, without the object itself or non-strings', () => {
  expect(referencedIds({ id: 'report--r', object_refs: ['a', 'report--r', 'b', 3, ''], created_by_ref: 'c', source_ref: 'a', external_references: [{ source_name: 'x' }], sample_refs: 'not-a-list' })).toEqual(['a', 'b', 'c']);
});
