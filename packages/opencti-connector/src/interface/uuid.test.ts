import { randomUuid } from './uuid.js';

test('randomUuid gives distinct version 4, RFC 9562 variant UUIDs', () => {
  const ids = Array.from({ length: 2000 }, randomUuid);
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(new Set(ids).size).toBe(ids.length);
  // Every hex digit outside the fixed version nibble shows up: the bits are random, not a counter.
  const free = ids.map((id) => id.replace(/-/g, '').slice(0, 12)).join('');
  expect(new Set(free).size).toBe(16);
});
