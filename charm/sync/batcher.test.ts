// Batches: bounded by count and bytes, out once full, after the maximum wait, or when the stream pauses.
import { Batcher, type Batchable } from './batcher.js';

const item = (bytes = 10, over: Partial<Batchable> = {}): Batchable => ({ bytes, solo: false, stateConfirmed: false, ...over });
const signal = () => new AbortController().signal;

test('a full batch goes out at once, the rest waits for the next', async () => {
  const b = new Batcher({ maxItems: 3, maxBytes: 1000, maxWaitMs: 60_000, idleMs: 60_000 });
  for (let i = 0; i < 5; i++) b.push(item());
  expect((await b.next(signal()))?.items).toHaveLength(3);
  expect(b.length).toBe(2);
});

test('bytes bound a batch, though a single large item still goes', async () => {
  const b = new Batcher({ maxItems: 100, maxBytes: 25, maxWaitMs: 60_000, idleMs: 60_000 });
  b.push(item(100));
  b.push(item(10));
  expect((await b.next(signal()))?.items.map((i) => i.bytes)).toEqual([100]);
  b.push(item(10));
  b.push(item(10));
  expect((await b.next(signal()))?.items.map((i) => i.bytes)).toEqual([10, 10]);
});

test('a partial batch goes out once the stream pauses for idleMs', async () => {
  const b = new Batcher({ maxItems: 100, maxBytes: 1000, maxWaitMs: 60_000, idleMs: 20 });
  b.push(item());
  const t = Date.now();
  expect((await b.next(signal()))?.items).toHaveLength(1);
  expect(Date.now() - t).toBeLessThan(5000);
});

test('a solo item leaves alone; state-confirmed items never share a batch with reported ones', async () => {
  const b = new Batcher({ maxItems: 100, maxBytes: 1000, maxWaitMs: 0, idleMs: 0 });
  b.push(item(1, { stateConfirmed: true }));
  b.push(item(2));
  b.push(item(3, { solo: true }));
  b.push(item(4));
  expect(await b.next(signal())).toEqual({ items: [item(2)], stateConfirmed: false });
  expect((await b.next(signal()))?.items).toEqual([item(3, { solo: true })]);
  expect((await b.next(signal()))?.items).toEqual([item(4)]);
  expect(await b.next(signal())).toEqual({ items: [item(1, { stateConfirmed: true })], stateConfirmed: true });
});

test('next() resolves undefined once the signal aborts', async () => {
  const b = new Batcher({ maxItems: 1, maxBytes: 1, maxWaitMs: 0, idleMs: 0 });
  const ctl = new AbortController();
  const p = b.next(ctl.signal);
  ctl.abort();
  expect(await p).toBeUndefined();
});
