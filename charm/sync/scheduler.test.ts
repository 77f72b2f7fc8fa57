// The per-id ordering: what waits for what, and what goes out at once.
import { DependencyScheduler, type Footprint } from './scheduler.js';

const up = (id: string, ...reads: string[]): Footprint => ({ writes: [id], reads, structural: false });
const del = (id: string): Footprint => ({ writes: [id], reads: [], structural: true });
const merge = (target: string, ...sources: string[]): Footprint => ({ writes: [target, ...sources], reads: [], structural: true });
const rename = (to: string, from: string): Footprint => ({ writes: [to, from], reads: [], structural: true });

function harness() {
  const released: string[] = [];
  const s = new DependencyScheduler<string>((item) => released.push(item));
  return { s, released };
}

test('events on different objects go out at once, in stream order', () => {
  const { s, released } = harness();
  s.add('a1', up('a'));
  s.add('b1', up('b'));
  s.add('c1', up('c'));
  expect(released).toEqual(['a1', 'b1', 'c1']);
  expect(s.waiting).toBe(0);
  expect(s.size).toBe(3);
});

test('a second change of the same object waits for the first to be applied', () => {
  const { s, released } = harness();
  s.add('a1', up('a'));
  s.add('a2', up('a'));
  s.add('a3', up('a'));
  expect(released).toEqual(['a1']);
  s.done('a1');
  expect(released).toEqual(['a1', 'a2']);
  s.done('a2');
  s.done('a3');
  expect(released).toEqual(['a1', 'a2', 'a3']);
  expect(s.size).toBe(0);
});

test('a reference waits for the object it points at; readers of the same object go out together', () => {
  const { s, released } = harness();
  s.add('x', up('x'));
  s.add('r1', up('r1', 'x'));
  s.add('r2', up('r2', 'x', 'y'));
  s.add('y', up('y'));
  expect(released).toEqual(['x', 'y']);
  s.done('x');
  expect(released).toEqual(['x', 'y', 'r1', 'r2']);
});

test('an update of an object does not wait for earlier events that only refer to it', () => {
  const { s, released } = harness();
  s.add('r', up('r', 'x'));
  s.add('x2', up('x'));
  expect(released).toEqual(['r', 'x2']);
});

test('a delete waits for earlier writers and for earlier events still referring to it; later events wait for the delete', () => {
  const { s, released } = harness();
  s.add('x1', up('x'));
  s.add('r', up('r', 'x'));
  s.add('delX', del('x'));
  s.add('recreate', up('x'));
  s.add('other', up('o'));
  expect(released).toEqual(['x1', 'other']);
  s.done('x1');
  expect(released).toEqual(['x1', 'other', 'r']);
  s.done('r');
  expect(released).toEqual(['x1', 'other', 'r', 'delX']);
  s.done('delX');
  expect(released.at(-1)).toBe('recreate');
});

test('a merge waits for every earlier change of its target and sources; an id change for both of its ids', () => {
  const { s, released } = harness();
  s.add('t1', up('t'));
  s.add('s1', up('s'));
  s.add('m', merge('t', 's'));
  s.add('after', up('s', 't'));
  expect(released).toEqual(['t1', 's1']);
  s.done('s1');
  expect(released).toEqual(['t1', 's1']);
  s.done('t1');
  expect(released).toEqual(['t1', 's1', 'm']);
  s.add('n', rename('new', 'old'));
  s.add('useOld', up('u', 'old'));
  expect(released.at(-1)).toBe('n');
  s.done('m');
  expect(released.at(-1)).toBe('after');
  s.done('n');
  expect(released.at(-1)).toBe('useOld');
});

test('done before release, twice added: programming errors are loud; clear forgets everything', () => {
  const { s } = harness();
  s.add('a1', up('a'));
  s.add('a2', up('a'));
  expect(() => s.done('a2')).toThrow(/before it was released/);
  expect(() => s.add('a1', up('a'))).toThrow(/added twice/);
  s.clear();
  expect(s.size).toBe(0);
  s.add('a1', up('a'));
  expect(s.waiting).toBe(0);
});
