// The safe position: it moves over the settled prefix only, and past an id only once its run is over.
import { AcceptanceLog } from './acceptance.js';

test('the position moves over the settled prefix, whatever settles first', () => {
  const log = new AcceptanceLog('0-0');
  const a = log.append('1-0');
  const b = log.append('2-0');
  const c = log.append('3-0');
  log.settle(c);
  log.settle(b);
  expect(log.position).toBe('0-0');
  log.settle(a);
  // 3-0 is the last entry so far: its run may go on (a dependency create shares the id).
  expect(log.position).toBe('2-0');
  log.append('4-0');
  expect(log.position).toBe('3-0');
  expect(log.length).toBe(1);
});

test('messages sharing an id: the position passes it only when the whole run is settled', () => {
  const log = new AcceptanceLog('0-0');
  const dep = log.append('5-0');
  const ev = log.append('5-0');
  const next = log.append('6-0');
  log.settle(dep);
  expect(log.position).toBe('0-0');
  log.settle(ev);
  expect(log.position).toBe('5-0');
  log.settle(next);
  expect(log.position).toBe('5-0');
});

test('a heartbeat settles on arrival and is a position once everything before it is settled; one repeating the current id is not', () => {
  const log = new AcceptanceLog('0-0');
  const e = log.append('7-0');
  log.append('8-0', true);
  expect(log.position).toBe('0-0');
  log.settle(e);
  expect(log.position).toBe('8-0');
  const f = log.append('9-0');
  log.settle(f);
  log.append('9-0', true);
  expect(log.position).toBe('8-0');
  log.append('10-0', true);
  expect(log.position).toBe('10-0');
});

test('an entry without a usable id never becomes the position; reset starts again', () => {
  const log = new AcceptanceLog('1-0');
  const bad = log.append('');
  log.settle(bad);
  expect(log.position).toBe('1-0');
  const e = log.append('2-0');
  log.settle(e);
  log.append('3-0', true);
  expect(log.position).toBe('3-0');
  log.reset('1-5');
  expect(log.position).toBe('1-5');
  expect(log.length).toBe(0);
});
