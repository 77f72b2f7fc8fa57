// classifyEvent: every stream payload becomes work or a counted skip with a reason that names the
// field at fault; the object's JSON text is what the bundle will carry.
import { classifyEvent, topLevelDataText } from './events.js';

const obj = { id: 'indicator--0b4e7f3a-2f1c-4d7e-9a55-1c2d3e4f5a6b', type: 'indicator', name: 'x', pattern: "[ipv4-addr:value = '10.0.0.1']" };
const ev = (over: Record<string, unknown> = {}) => JSON.stringify({ version: '4', type: 'create', scope: 'external', data: obj, message: 'creates', origin: {}, ...over });

test('create and update are upserts carrying the object text; a changed id gives the previous standard id', () => {
  const w = classifyEvent('create', ev());
  expect(w).toEqual({ kind: 'upsert', object: { id: obj.id, type: 'indicator', json: JSON.stringify(obj) }, previousStandard: undefined, bytes: ev().length });
  const prev = 'indicator--11111111-2222-4333-8444-555555555555';
  const u = classifyEvent('update', ev({ type: 'update', context: { patch: [], reverse_patch: [{ op: 'replace', path: '/name', value: 'old' }, { op: 'replace', path: '/id', value: prev }] } }));
  expect(u).toMatchObject({ kind: 'upsert', previousStandard: prev });
  // the same id in the reverse patch is no id change
  expect(classifyEvent('update', ev({ context: { reverse_patch: [{ op: 'replace', path: '/id', value: obj.id }] } }))).toMatchObject({ previousStandard: undefined });
  // synthetic creates (dependencies) have no type in the payload
  expect(classifyEvent('create', ev({ type: undefined }))).toMatchObject({ kind: 'upsert' });
  // no text kept when nothing will be applied
  expect(classifyEvent('create', ev(), false)).toMatchObject({ object: { json: '' } });
});

test('merge lists its sources without the target; delete names the object', () => {
  const m = classifyEvent('merge', ev({ type: 'merge', context: { sources: [{ id: 'indicator--a' }, { id: obj.id }, { id: 'indicator--b', name: 'b' }] } }));
  expect(m).toMatchObject({ kind: 'merge', object: { id: obj.id }, sourceIds: ['indicator--a', 'indicator--b'] });
  expect(classifyEvent('merge', ev({ type: 'merge' }))).toMatchObject({ kind: 'merge', sourceIds: [] });
  expect(classifyEvent('delete', ev({ type: 'delete' }))).toMatchObject({ kind: 'delete', object: { id: obj.id, type: 'indicator' } });
});

test('skips: unknown event, not JSON, old version, internal scope', () => {
  expect(classifyEvent('sync', ev())).toMatchObject({ kind: 'skip', reason: 'unknown-type' });
  expect(classifyEvent('create', '{"version":')).toEqual({ kind: 'skip', reason: 'malformed', detail: 'create event data is not JSON' });
  expect(classifyEvent('create', ev({ version: '3' }))).toMatchObject({ kind: 'skip', reason: 'old-version' });
  expect(classifyEvent('create', ev({ version: 4 }))).toMatchObject({ kind: 'upsert' });
  expect(classifyEvent('create', ev({ scope: 'internal' }))).toMatchObject({ kind: 'skip', reason: 'internal-scope' });
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
  expect(classifyEvent('create', text)).toEqual({ kind: 'skip', reason: 'malformed', detail: `create event: ${detail}` });
});

test.each([
  ['data first', '{"data":{"id":"x","a":[1,{"b":"}"}]},"version":"4"}', '{"id":"x","a":[1,{"b":"}"}]}'],
  ['data last', '{"version":"4","data":{"id":"x"}}', '{"id":"x"}'],
  ['nested data keys and "data" inside strings are not it', '{"origin":{"data":{"id":"no"}},"message":"\\"data\\":{\\"id\\":\\"no\\"}","data":{"id":"yes","s":"a\\\\"}}', '{"id":"yes","s":"a\\\\"}'],
  ['whitespace around', '{ "version" : "4" , "data" : { "id" : "x" } , "scope": "external" }', '{ "id" : "x" }'],
  ['the last of duplicate keys, as JSON.parse', '{"data":{"id":"first"},"data":{"id":"second"}}', '{"id":"second"}'],
  ['no data key', '{"version":"4"}', undefined],
])('topLevelDataText: %s', (_name, text, expected) => {
  expect(topLevelDataText(text)).toBe(expected);
  if (expected !== undefined) expect(JSON.parse(expected)).toEqual((JSON.parse(text) as { data: unknown }).data);
});

test('the bundle text of an object is its data exactly as received, unicode and escapes included', () => {
  const data = { id: 'malware--é', type: 'malware', name: 'quote " backslash \\ tab \t ☃', description: 'line\nbreak' };
  const text = `{"version":"4","type":"create","data":${JSON.stringify(data, null, 1)},"origin":{}}`;
  const w = classifyEvent('create', text);
  expect(w.kind === 'upsert' && JSON.parse(w.object.json)).toEqual(data);
  expect(w.kind === 'upsert' && w.object.json).toBe(JSON.stringify(data, null, 1));
});
