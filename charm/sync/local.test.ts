// The local platform client against the platform emulator's GraphQL server: what registration
// hands over, Works read two at a time, stixBundlePush's answer checked, and every failure sorted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalError, LocalPlatform } from './local.js';
import { startOpenctiEmulator, type OpenctiEmulator } from '../../lib/opencti-emulator/index.js';

const CONNECTOR = 'b7c1b0a2-5f5e-4d8e-9a55-0c2d5b1e7f01';
const TOKEN_LEAK = /local-token/;

let emu: OpenctiEmulator;
const client = (over: Partial<{ token: string; timeoutMs: number }> = {}) => new LocalPlatform({ url: emu.localUrl, token: over.token ?? emu.localToken, timeoutMs: over.timeoutMs ?? 5000 });
const register = () => client().register({ id: CONNECTOR, name: 'test', type: 'STREAM', scope: ['synchronizer'] });

beforeEach(async () => {
  emu = await startOpenctiEmulator({ local: { profile: '6.9' } });
});
afterEach(async () => {
  await emu.stop();
});

test('registerConnector gives the saved state, the connector\'s user, and where its messages go', async () => {
  const reg = await register();
  expect(reg.state).toBeNull();
  expect(reg.userId).toMatch(/^[0-9a-f-]{36}$/);
  expect(reg.queue).toEqual({ connection: emu.local.queues.config(CONNECTOR).connection, pushQueue: emu.local.queues.pushQueue(CONNECTOR), pushExchange: emu.local.queues.workerExchange, pushRouting: emu.local.queues.pushRouting(CONNECTOR) });
});

test('Works: created, given expectations, read two at a time; a Work that no longer exists reads as null', async () => {
  await register();
  const a = await client().workAdd(CONNECTOR, 'a');
  await new Promise((r) => setTimeout(r, 3));
  const b = await client().workAdd(CONNECTOR, 'b');
  await client().addExpectations(a, 2);
  emu.local.works.reportExpectation(a, null);
  emu.local.works.reportExpectation(a, { error: "{'name': 'X'}", source: '{"id":"malware--x"}' });
  emu.local.works.delete(b);
  const [va, vb] = await client().works(a, b);
  expect(va).toEqual({ id: a, status: 'complete', expected: 2, processed: 2, errors: [{ message: "{'name': 'X'}", source: '{"id":"malware--x"}' }] });
  expect(vb).toBeNull();
});

test('stixBundlePush with a Work queues the bundle', async () => {
  await register();
  const w = await client().workAdd(CONNECTOR, 'push');
  await client().addExpectations(w, 1);
  await client().pushBundleToWork(CONNECTOR, JSON.stringify({ type: 'bundle', objects: [{ id: 'malware--p', type: 'malware', name: 'P' }] }), w);
  await waitUntil(() => emu.local.get('malware--p') !== undefined);
});

test.each([false, null])('stixBundlePush answering %s is a failure, not an acceptance', async (answer) => {
  // A platform that answers without queueing: a server of our own, since the emulator always queues.
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { stixBundlePush: answer } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const c = new LocalPlatform({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't0ken-value', timeoutMs: 2000 });
    const err = await c.pushBundleToWork(CONNECTOR, '{}', 'work_x').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LocalError);
    expect((err as LocalError).message).toMatch(new RegExp(`answered ${String(answer)}, not true: the bundle was not queued`));
  } finally {
    server.close();
  }
});

async function waitUntil(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(fn()).toBe(true);
}

const failures: { name: string; fault: Parameters<OpenctiEmulator['local']['injectFault']>[0] | undefined; token?: string; timeoutMs?: number; kind: string; message: RegExp }[] = [
  { name: 'HTTP 502', fault: { kind: 'status', status: 502 }, kind: 'transient', message: /HTTP 502/ },
  { name: 'a GraphQL lock error', fault: { kind: 'graphql-error', message: 'Lock timeout', code: 'LOCK_ERROR' }, kind: 'transient', message: /Lock timeout/ },
  { name: 'a GraphQL functional error', fault: { kind: 'graphql-error', message: 'Something refused', code: 'FUNCTIONAL_ERROR' }, kind: 'functional', message: /FUNCTIONAL_ERROR: Something refused/ },
  { name: 'no answer in time', fault: { kind: 'hang' }, timeoutMs: 200, kind: 'transient', message: /no answer within 200 ms/ },
  { name: 'a token the platform refuses', fault: undefined, token: 'wrong-token-value', kind: 'auth', message: /OPENCTI_TOKEN was rejected/ },
  { name: 'HTTP 404 (not the base URL)', fault: { kind: 'status', status: 404 }, kind: 'auth', message: /set OPENCTI_URL/ },
];
test.each(failures)('workAdd, $name: a LocalError of kind $kind, without the token', async ({ fault, token, timeoutMs, kind, message }) => {
  await register();
  if (fault) emu.local.injectFault({ ...fault, operation: 'SyncWorkAdd' });
  const err = await client({ ...(token ? { token } : {}), ...(timeoutMs ? { timeoutMs } : {}) })
    .workAdd(CONNECTOR, 'x')
    .then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LocalError);
  const e = err as LocalError;
  expect(e.kind).toBe(kind);
  expect(e.operation).toBe('workAdd');
  expect(e.message).toMatch(message);
  expect(e.message).not.toMatch(TOKEN_LEAK);
  expect(e.message).not.toMatch(/wrong-token-value/);
});
