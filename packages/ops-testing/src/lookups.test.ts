// The Scenario-shaped parts of the in-process API: a Context made from the charm's folder,
// ctx.on, lookups on the output State, statuses compared with the status classes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActiveStatus, BlockedStatus } from '@juju-ts/ops';
import TinyCharm from '../../../examples/tiny/src/charm.js';
import { Context, on } from './index.js';

const TINY = new URL('../../../examples/tiny/', import.meta.url);

test('a Context given the charm folder reads its charmcraft.yaml; ctx.on is the event constructors', async () => {
  const ctx = new Context(TinyCharm, { charmRoot: TINY });
  expect(ctx.meta.name).toBe('tiny');
  expect(ctx.on).toBe(on);
  const out = await ctx.run(ctx.on.configChanged(), { config: { greeting: 'hi' } });
  expect(out.unitStatus).toEqual(new ActiveStatus('hi, world (#1)'));
  expect(out.unitStatus).not.toEqual(new BlockedStatus('hi, world (#1)'));
});

test('a folder without charmcraft.yaml, or no metadata at all, is a clear error', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ctx-root-'));
  try {
    expect(() => new Context(TinyCharm, { charmRoot: empty })).toThrow(`charmRoot ${empty} has no charmcraft.yaml: give the charm's folder`);
    expect(() => new Context(TinyCharm, {})).toThrow(/pass `charmRoot` \(the folder with charmcraft.yaml\) or `meta`/);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('lookups find a stored state, container, relation and secret by what the test knows, and name what exists when they do not', async () => {
  const ctx = new Context(TinyCharm, { charmRoot: TINY });
  const out = await ctx.run(on.configChanged(), {
    config: { greeting: 'hi' },
    containers: [],
    secrets: [{ id: 'secret:0123456789abcdefghij', label: 'token', content: { t: '1' } }],
  });
  expect(out.getStoredState('counter')).toEqual({ greetings: 1 });
  expect(out.getStoredState('counter', 'TinyCharm')).toBe(out.storedStates['TinyCharm/StoredStateData[counter]']);
  expect(out.getSecret('token').id).toBe('secret:0123456789abcdefghij');
  expect(out.getSecret('secret:0123456789abcdefghij').label).toBe('token');
  expect(() => out.getStoredState('count')).toThrow('the State has no stored state "count" (it has: TinyCharm/StoredStateData[counter])');
  expect(() => out.getContainer('web')).toThrow('the State has no container "web" (it has: none)');
  expect(() => out.getRelation('db')).toThrow('the State has no relation on endpoint "db" (it has: none)');
  // Not enumerable: the State compares and feeds the next run as plain data.
  expect(Object.keys(out)).not.toContain('getContainer');
  const again = await ctx.run(on.configChanged(), out);
  expect(again.getStoredState('counter')).toEqual({ greetings: 2 });
});
