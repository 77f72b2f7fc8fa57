// The local platform client against the emulator's GraphQL server: the stixBundlePush body built
// object by object carries every object exactly, and its answers are sorted like every other call's.
import * as D from './documents.js';
import type { StixObject } from './events.js';
import { LocalError, LocalPlatform, bundlePushBody } from './local.js';
import { startOpenctiEmulator, type OpenctiEmulator } from '../../lib/testing/opencti/index.js';

const CONNECTOR = 'b7c1b0a2-5f5e-4d8e-9a55-0c2d5b1e7f01';
const TOKEN_LEAK = /local-token/;

/** Objects whose text needs every kind of escaping: quotes, backslashes, control characters, non-ASCII, astral, a lone surrogate. */
const tricky: Record<string, unknown>[] = [
  { id: 'indicator--0b4e7f3a-2f1c-4d7e-9a55-1c2d3e4f5a6b', type: 'indicator', name: 'quote " and backslash \\ and slash /', pattern: "[file:name = 'C:\\\\temp\\\\x.exe']" },
  { id: 'malware--1b4e7f3a-2f1c-4d7e-9a55-1c2d3e4f5a6b', type: 'malware', name: 'tab\tnewline\ncarriage\r nul\u0000 bell\u0007', description: 'Ünïcödé ✓ 漢字 😀 \ud800 lone' },
  { id: 'identity--2b4e7f3a-2f1c-4d7e-9a55-1c2d3e4f5a6b', type: 'identity', name: '€'.repeat(20_000), labels: ['a', 'b'] },
];
const asObjects = (list: Record<string, unknown>[]): StixObject[] => list.map((o) => ({ id: o.id as string, type: o.type as string, json: JSON.stringify(o) }));

test('the body is the GraphQL request graphql-request would send, the bundle a JSON string of the objects in order', () => {
  const objects = asObjects(tricky);
  const body = bundlePushBody(CONNECTOR, objects);
  const parsed = JSON.parse(body.toString('utf8')) as { query: string; variables: { connectorId: string; bundle: string } };
  expect(Object.keys(parsed)).toEqual(['query', 'variables']);
  expect(parsed.query).toBe(D.BUNDLE_PUSH);
  expect(parsed.variables.connectorId).toBe(CONNECTOR);
  // Byte for byte what JSON.stringify of the same request gives (the escaping is the same).
  expect(body.toString('utf8')).toBe(JSON.stringify({ query: D.BUNDLE_PUSH, variables: { connectorId: CONNECTOR, bundle: parsed.variables.bundle } }));
  const bundle = JSON.parse(parsed.variables.bundle) as { type: string; id: string; spec_version: string; objects: unknown[] };
  expect(bundle.type).toBe('bundle');
  expect(bundle.spec_version).toBe('2.1');
  expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
  expect(bundle.objects).toEqual(JSON.parse(`[${objects.map((o) => o.json).join(',')}]`));
});

test('a body larger than its first estimate (multi-byte text) grows and stays whole; one object and many objects alike', () => {
  const big = asObjects([{ id: 'note--3b4e7f3a-2f1c-4d7e-9a55-1c2d3e4f5a6b', type: 'note', content: '😀€'.repeat(50_000) }]);
  const many = asObjects(Array.from({ length: 2000 }, (_, i) => ({ id: `note--${String(i).padStart(8, '0')}-2f1c-4d7e-9a55-1c2d3e4f5a6b`, type: 'note', content: `n° ${i} "é"` })));
  for (const objects of [big, many]) {
    const { variables } = JSON.parse(bundlePushBody(CONNECTOR, objects).toString('utf8')) as { variables: { bundle: string } };
    expect((JSON.parse(variables.bundle) as { objects: unknown[] }).objects).toEqual(objects.map((o) => JSON.parse(o.json) as unknown));
  }
});

describe('against the emulator', () => {
  let emu: OpenctiEmulator;
  const client = (over: Partial<{ token: string; timeoutMs: number }> = {}) => new LocalPlatform({ url: emu.localUrl, token: over.token ?? emu.localToken, timeoutMs: over.timeoutMs ?? 5000, synchronizedUpsert: true });
  beforeEach(async () => {
    emu = await startOpenctiEmulator();
    await client().register({ id: CONNECTOR, name: 'test', type: 'STREAM', scope: ['synchronizer'] });
  });
  afterEach(async () => {
    await emu.stop();
  });

  test('pushed objects are stored exactly as sent, with the headers the platform reads', async () => {
    const prev = 'indicator--99999999-2f1c-4d7e-9a55-1c2d3e4f5a6b';
    await client().pushBundle(CONNECTOR, asObjects(tricky), { previousStandard: prev });
    for (const o of tricky) expect(emu.local.get(o.id as string)).toEqual(JSON.parse(JSON.stringify(o)));
    const last = emu.local.requests.at(-1);
    expect(last?.operationName).toBe('SyncBundlePush');
    expect(last?.headers).toEqual({ 'synchronized-upsert': 'true', 'previous-standard': prev });
  });

  test('a body built ahead is the one sent', async () => {
    const objects = asObjects(tricky.slice(0, 2));
    await client().pushBundle(CONNECTOR, [], { body: bundlePushBody(CONNECTOR, objects) });
    expect(emu.local.counts.objects).toBe(2);
  });

  const failures: { name: string; fault: Parameters<OpenctiEmulator['local']['injectFault']>[0] | undefined; token?: string; timeoutMs?: number; kind: string; message: RegExp }[] = [
    { name: 'HTTP 502', fault: { kind: 'status', status: 502 }, kind: 'transient', message: /HTTP 502/ },
    { name: 'a GraphQL lock error', fault: { kind: 'graphql-error', message: 'Lock timeout', code: 'LOCK_ERROR' }, kind: 'transient', message: /Lock timeout/ },
    { name: 'a GraphQL functional error', fault: { kind: 'graphql-error', message: 'Invalid bundle', code: 'VALIDATION_ERROR' }, kind: 'functional', message: /VALIDATION_ERROR: Invalid bundle/ },
    { name: 'no answer in time', fault: { kind: 'hang' }, timeoutMs: 200, kind: 'transient', message: /no answer within 200 ms/ },
    { name: 'a token the platform refuses', fault: undefined, token: 'wrong-token-value', kind: 'auth', message: /OPENCTI_TOKEN was rejected/ },
    { name: 'HTTP 404 (not the base URL)', fault: { kind: 'status', status: 404 }, kind: 'auth', message: /set OPENCTI_URL/ },
  ];
  test.each(failures)('stixBundlePush, $name: a LocalError of kind $kind, naming neither the token nor the bundle', async ({ fault, token, timeoutMs, kind, message }) => {
    if (fault) emu.local.injectFault({ ...fault, operation: 'SyncBundlePush' });
    const err = await client({ ...(token ? { token } : {}), ...(timeoutMs ? { timeoutMs } : {}) })
      .pushBundle(CONNECTOR, asObjects(tricky.slice(0, 1)))
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LocalError);
    const e = err as LocalError;
    expect(e.kind).toBe(kind);
    expect(e.operation).toBe('stixBundlePush');
    expect(e.message).toMatch(message);
    expect(e.message).not.toMatch(TOKEN_LEAK);
    expect(e.message).not.toMatch(/wrong-token-value/);
    expect(e.message).not.toMatch(/quote/);
    expect(emu.local.counts.objects).toBe(0);
  });
});
