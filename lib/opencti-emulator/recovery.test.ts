/**
 * Conformance of the remote emulator's recovery mode with the platform's (recovery.ts cites the
 * source): what is replayed, with which ids, in which order, and what follows it.
 */
import { startOpenctiEmulator, type OpenctiEmulator } from './index.js';
import type { Stix, StreamEventData } from './stix.js';

let emu: OpenctiEmulator;
beforeEach(async () => {
  emu = await startOpenctiEmulator({ heartbeatMs: 100 });
});
afterEach(async () => {
  await emu.stop();
});

interface Frame {
  id: string;
  event: string;
  data: { data: Stix; origin?: { referer?: string }; type?: string };
}

/** Read the stream for `ms` and parse its frames (connected and heartbeats left out). */
async function read(query: string, headers: Record<string, string> = {}, ms = 400): Promise<Frame[]> {
  const ctl = new AbortController();
  const res = await fetch(`${emu.remoteUrl}/stream/live${query}`, { headers: { authorization: `Bearer ${emu.remoteToken}`, ...headers }, signal: ctl.signal });
  expect(res.status).toBe(200);
  setTimeout(() => ctl.abort(), ms);
  let text = '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
  } catch {
    /* aborted */
  }
  return [...text.matchAll(/id: (\S+)\nevent: (\w+)\ndata: (.*)\n\n/g)].filter((m) => m[2] !== 'heartbeat').map((m) => ({ id: m[1] as string, event: m[2] as string, data: JSON.parse(m[3] as string) as Frame['data'] }));
}

const ms = (id: string) => Number(id.split('-')[0]);
const referer = (f: Frame) => f.data.origin?.referer;
const refsOf = (o: Stix) =>
  Object.entries(o).flatMap(([k, v]) => (k.endsWith('_ref') && typeof v === 'string' ? [v] : k.endsWith('_refs') && Array.isArray(v) ? (v as string[]) : []));

function event(type: StreamEventData['type'], data: Stix): StreamEventData {
  return { version: '4', type, scope: 'external', message: `${type}s ${data.id}`, origin: {}, data };
}

test('recover after a trimmed log: every current object as a create without type, references first under its id, ids <updated_at ms>-0 in order; then the log after the recover id', async () => {
  emu.seed(400, 5);
  emu.remote.trim(20);
  const recover = new Date(Date.now() + 1).toISOString();
  await new Promise((r) => setTimeout(r, 5));
  const later = emu.remote.append(event('create', { id: 'malware--00000000-0000-4000-8000-000000000001', type: 'malware', name: 'after recover' }));

  const frames = await read(`?recover=${recover}`, { 'last-event-id': '0-0', 'no-dependencies': 'true' });
  const recovered = frames.filter((f) => referer(f) === 'init-create' || referer(f) === 'init-dependencies');
  const table = emu.remote.table();
  // Every object that existed at `recover`, once; the one created after it comes from the log.
  expect(new Set(recovered.map((f) => f.data.data.id))).toEqual(new Set([...table.keys()].filter((id) => !id.endsWith('000000000001'))));
  expect(recovered).toHaveLength(new Set(recovered.map((f) => f.data.data.id)).size);
  for (const f of recovered) {
    expect(f.event).toBe('create');
    expect(f.data.type).toBeUndefined();
    expect(f.id).toMatch(/^\d+-0$/);
    expect(f.data.data).toEqual(table.get(f.data.data.id));
  }
  // Not strictly increasing, never decreasing.
  const ids = recovered.map((f) => ms(f.id));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBeLessThanOrEqual(ids.length);
  // A reference to a current object was sent before the object that needs it.
  const position = new Map(recovered.map((f, i) => [f.data.data.id, i]));
  for (const [i, f] of recovered.entries()) for (const ref of refsOf(f.data.data)) if (position.has(ref)) expect(position.get(ref)).toBeLessThan(i);
  expect(recovered.some((f) => referer(f) === 'init-dependencies')).toBe(true);
  // Then the log, from the recover id on.
  const rest = frames.slice(frames.indexOf(recovered[recovered.length - 1] as Frame) + 1);
  expect(rest.map((f) => f.id)).toEqual([later]);
});

test('recover bounds: objects updated at the `from` millisecond are included (gte); recover not after from means no recovery', async () => {
  const a = emu.remote.append(event('create', { id: 'malware--00000000-0000-4000-8000-00000000000a', type: 'malware', name: 'a' }));
  await new Promise((r) => setTimeout(r, 3));
  const b = emu.remote.append(event('create', { id: 'malware--00000000-0000-4000-8000-00000000000b', type: 'malware', name: 'b' }));
  await new Promise((r) => setTimeout(r, 3));
  const now = new Date(Date.now() + 1).toISOString();

  const fromB = await read(`?recover=${now}`, { 'last-event-id': `${ms(b)}-0` });
  expect(fromB.filter((f) => referer(f) === 'init-create').map((f) => [f.id, f.data.data.name])).toEqual([[`${ms(b)}-0`, 'b']]);
  expect(fromB.filter((f) => referer(f) === undefined)).toEqual([]); // the log after `recover`: nothing

  const noRecovery = await read(`?recover=${new Date(ms(a)).toISOString()}`, { 'last-event-id': a });
  expect(noRecovery.map((f) => f.id)).toEqual([b]);
});

test('recover: a relationship is sent after its object unless no-dependencies is true, and never with an end that cannot be resolved', async () => {
  const m = { id: 'malware--00000000-0000-4000-8000-0000000000c1', type: 'malware', name: 'm' };
  const t = { id: 'identity--00000000-0000-4000-8000-0000000000c2', type: 'identity', name: 't' };
  const rel = { id: 'relationship--00000000-0000-4000-8000-0000000000c3', type: 'relationship', relationship_type: 'targets', source_ref: m.id, target_ref: t.id };
  const dangling = { id: 'relationship--00000000-0000-4000-8000-0000000000c4', type: 'relationship', relationship_type: 'targets', source_ref: m.id, target_ref: 'identity--00000000-0000-4000-8000-0000000000ff' };
  const ids: string[] = [];
  for (const o of [m, t, rel, dangling]) {
    ids.push(emu.remote.append(event('create', o)));
    await new Promise((r) => setTimeout(r, 2)); // one millisecond each: the order is by updated_at
  }
  const recover = `?recover=${new Date(Date.now() + 1).toISOString()}`;

  const withDeps = await read(recover, { 'last-event-id': '0-0' });
  const order = withDeps.map((f) => [f.id, f.data.data.id, referer(f)]);
  // m first; t then comes as a dependency of the relationship, all under m's id, before t's own turn.
  expect(order).toEqual([
    [`${ms(ids[0] as string)}-0`, m.id, 'init-create'],
    [`${ms(ids[0] as string)}-0`, t.id, 'init-dependencies'],
    [`${ms(ids[0] as string)}-0`, rel.id, 'init-dependencies'],
  ]);

  const noDeps = await read(recover, { 'last-event-id': '0-0', 'no-dependencies': 'true' });
  expect(noDeps.map((f) => [f.data.data.id, referer(f)])).toEqual([
    [m.id, 'init-create'],
    [t.id, 'init-create'],
    [rel.id, 'init-create'],
  ]);
});
