import { startOpenctiEmulator, type OpenctiEmulator } from './index.js';

let emu: OpenctiEmulator;
beforeEach(async () => {
  emu = await startOpenctiEmulator({ heartbeatMs: 50, remote: { collections: { stopped: { live: false }, open: { live: true, public: true } } } });
});
afterEach(async () => {
  await emu.stop();
});

async function readStream(path: string, headers: Record<string, string>, ms = 300): Promise<{ status: number; text: string }> {
  const ctl = new AbortController();
  const res = await fetch(`${emu.remoteUrl}${path}`, { headers, signal: ctl.signal });
  if (res.status !== 200) return { status: res.status, text: await res.text() };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  setTimeout(() => ctl.abort(), ms);
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } catch {
    /* aborted */
  }
  return { status: 200, text };
}
const ids = (text: string, type: string) => [...text.matchAll(new RegExp(`id: (\\S+)\\nevent: ${type}\\n`, 'g'))].map((m) => m[1]);

test('remote: connected first, then events strictly after Last-Event-ID, then heartbeats', async () => {
  emu.seed(10);
  const all = emu.remote.eventIds();
  const r = await readStream('/stream/live', { authorization: `Bearer ${emu.remoteToken}`, 'last-event-id': all[3] as string });
  expect(r.text.startsWith('event: connected\ndata: {')).toBe(true);
  const got = [...ids(r.text, 'create'), ...ids(r.text, 'update'), ...ids(r.text, 'delete'), ...ids(r.text, 'merge')].sort();
  expect(got).toEqual(all.slice(4).sort());
  expect(ids(r.text, 'heartbeat').length).toBeGreaterThan(0);
});

test('remote: query `from` wins over Last-Event-ID (pitfall 9)', async () => {
  emu.seed(6);
  const all = emu.remote.eventIds();
  const r = await readStream(`/stream/live?from=${all[4]}`, { authorization: `Bearer ${emu.remoteToken}`, 'last-event-id': '0-0' });
  expect(ids(r.text, 'create').concat(ids(r.text, 'update'))).toEqual([all[5]]);
});

test('remote: 401 without a valid token, 410 for a stopped collection, public collections need none', async () => {
  expect((await readStream('/stream/live', {})).status).toBe(401);
  expect((await readStream('/stream/live', { authorization: 'Bearer nope' })).status).toBe(401);
  expect((await readStream('/stream/unknown', { authorization: `Bearer ${emu.remoteToken}` })).status).toBe(401);
  expect((await readStream('/stream/stopped', { authorization: `Bearer ${emu.remoteToken}` })).status).toBe(410);
  expect((await readStream('/stream/open', {})).status).toBe(200);
  expect((await readStream('/stream/live?recover=2024-01-01', { authorization: `Bearer ${emu.remoteToken}` })).status).toBe(500);
});

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string, on: OpenctiEmulator = emu) {
  const res = await fetch(`${on.localUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? on.localToken}` }, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  const body = (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as { data?: Record<string, unknown>; errors?: { message: string }[] };
  return { status: res.status, body };
}

test('local: documents are validated against the schema (no forceDelete), bad tokens get AUTH_REQUIRED', async () => {
  const bad = await gql('mutation { stixEdit(id: "x") { delete(forceDelete: true) } }');
  expect(bad.status).toBe(400);
  expect(bad.body.errors?.[0]?.message).toMatch(/forceDelete/);
  const anon = await gql('query { about { version } }', {}, 'wrong');
  expect(anon.body.errors?.[0]?.message).toMatch(/logged in/);
});

test('local: like the platform, a document requests a Mutation field at most once and a Query field at most twice', async () => {
  const twoDeletes = await gql('mutation D($a: ID!, $b: ID!) { a: stixEdit(id: $a) { delete } b: stixEdit(id: $b) { delete } }', { a: 'malware--a', b: 'malware--b' });
  expect(twoDeletes.status).toBe(400);
  expect(twoDeletes.body.errors?.[0]?.message).toMatch(/Mutation\.stixEdit has been exceeded \(max: 1\)/);
  const twoReads = await gql('query S($a: String!, $b: String!) { a: stix(id: $a) b: stix(id: $b) }', { a: 'malware--a', b: 'malware--b' });
  expect(twoReads.status).toBe(200);
  const threeReads = await gql('query S($a: String!) { a: stix(id: $a) b: stix(id: $a) c: stix(id: $a) }', { a: 'malware--a' });
  expect(threeReads.status).toBe(400);
});

test('local: register keeps state across registrations; a reset is returned once by ping', async () => {
  const id = '5a7c3d1e-2b4f-4a6c-8d9e-0f1a2b3c4d5e';
  const reg = 'mutation R($input: RegisterConnectorInput) { registerConnector(input: $input) { id connector_state } }';
  const ping = 'mutation P($id: ID!, $state: String) { pingConnector(id: $id, state: $state) { connector_state } }';
  await gql(reg, { input: { id, name: 'sync', type: 'STREAM', scope: ['synchronizer'] } });
  await gql(ping, { id, state: '{"start_from":"5-0"}' });
  const again = await gql(reg, { input: { id, name: 'sync', type: 'STREAM', scope: ['synchronizer'] } });
  expect((again.body.data?.registerConnector as { connector_state: string }).connector_state).toBe('{"start_from":"5-0"}');
  await gql('mutation X($id: ID!) { resetStateConnector(id: $id) { id } }', { id });
  const afterReset = await gql(ping, { id, state: '{"start_from":"6-0"}' });
  expect((afterReset.body.data?.pingConnector as { connector_state: string }).connector_state).toBe('');
  const next = await gql(ping, { id, state: '{"start_from":"0-0"}' });
  expect((next.body.data?.pingConnector as { connector_state: string }).connector_state).toBe('{"start_from":"0-0"}');
});

test('local: unknown ids on delete and merge answer the platform messages; 5xx faults are injectable', async () => {
  const del = await gql('mutation D($id: ID!) { stixEdit(id: $id) { delete } }', { id: 'malware--nope' });
  expect(del.body.errors?.[0]?.message).toBe('Cannot delete the stix element, malware--nope cannot be found.');
  const merge = await gql('mutation M($id: ID!, $s: [String]!) { stixEdit(id: $id) { merge(stixObjectsIds: $s) { id } } }', { id: 'malware--a', s: ['malware--b'] }, emu.local.adminToken);
  expect(merge.body.errors?.[0]?.message).toBe('Cannot access all entities for merging');
  emu.local.injectFault({ kind: 'status', status: 503 });
  expect((await gql('query { about { version } }')).status).toBe(503);
  expect((await gql('query { about { version } }')).status).toBe(200);
});

test('generator + compare: a fresh local store differs by exactly the remote objects', () => {
  emu.seed(300, 1, 3);
  const c = emu.compare();
  expect(c.equal).toBe(false);
  expect(c.missing).toBe(emu.remote.table().size);
  expect(c.extra + c.different + c.same).toBe(0);
});
