/**
 * End to end, the way Juju runs a charm: the example charm is bundled with esbuild, then its
 * `dispatch` runs as a child process with the simulator's hook tools on PATH.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCharm } from '../lib/build/charm.js';
import { on } from '../lib/testing/events.js';
import { runCharm } from '../lib/testing/dispatch.js';

let charmDir: string;
beforeAll(async () => {
  charmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tiny-charm-'));
  await buildCharm({ projectDir: 'examples/tiny', outDir: charmDir });
});
afterAll(() => fs.rmSync(charmDir, { recursive: true, force: true }));

test('the build writes what Juju runs: an executable dispatch, the bundle and metadata', () => {
  expect(fs.statSync(path.join(charmDir, 'dispatch')).mode & 0o111).toBeTruthy();
  // The entry point charmcraft's linter checks: the last token of dispatch, executable, with a shebang.
  expect(fs.readFileSync(path.join(charmDir, 'dispatch'), 'utf8').trim().split(/\s+/).at(-1)).toBe('./dist/charm.cjs');
  expect(fs.statSync(path.join(charmDir, 'dist/charm.cjs')).mode & 0o111).toBeTruthy();
  expect(fs.readFileSync(path.join(charmDir, 'dist/charm.cjs'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  expect(fs.readFileSync(path.join(charmDir, 'metadata.yaml'), 'utf8')).toMatch(/^name: tiny$/m);
  expect(fs.readFileSync(path.join(charmDir, 'metadata.yaml'), 'utf8')).toMatch(/^display-name: Tiny example charm$/m);
  expect(fs.readFileSync(path.join(charmDir, 'config.yaml'), 'utf8')).toMatch(/greeting:/);
  expect(fs.existsSync(path.join(charmDir, 'actions.yaml'))).toBe(false);
});

test('config-changed through dispatch sets the status from config and keeps stored state', async () => {
  const r1 = await runCharm({ charmDir, event: on.configChanged(), state: { config: { greeting: 'hi' } } });
  expect(r1.stderr).toBe('');
  expect(r1.exitCode).toBe(0);
  expect(r1.state.unitStatus).toEqual({ name: 'active', message: 'hi, world (#1)' });
  expect(r1.toolCalls.map((c) => c.tool)).toEqual(['juju-log', 'config-get', 'status-set']);
  const r2 = await runCharm({ charmDir, event: on.configChanged(), state: { ...r1.state, config: { greeting: 'hi', shout: true } } });
  expect(r2.state.unitStatus).toEqual({ name: 'active', message: 'HI, WORLD (#2)' });
  expect(r2.state.storedStates).toEqual({ 'TinyCharm/StoredStateData[counter]': { greetings: 2 } });
});

test('an unobserved hook runs no hook tool; a broken environment fails clearly', async () => {
  await expect(runCharm({ charmDir, event: on.hook('db-relation-changed'), state: {} })).rejects.toThrow(/the charm declares no endpoint "db"/);
  const r = await runCharm({ charmDir, event: on.updateStatus(), state: {} });
  expect(r.exitCode).toBe(0);
  expect(r.toolCalls).toEqual([]);
  // Juju never runs this (no endpoint db, no JUJU_RELATION): the checks are skipped to see the framework fail clearly.
  const bad = await runCharm({ charmDir, event: on.hook('db-relation-changed'), state: {}, skipConsistencyChecks: true });
  expect(bad.exitCode).toBe(1);
  expect(bad.stderr).toMatch(/JUJU_RELATION is not set \(Juju sets it for relation events\)/);
});

test('the V8 code cache is written after a run and replaced when it does not match', async () => {
  const cache = path.join(charmDir, 'dist/charm.bundle.cjs.v8cache');
  fs.rmSync(cache, { force: true });
  await runCharm({ charmDir, event: on.updateStatus(), state: {} });
  const first = fs.readFileSync(cache);
  expect(first.length).toBeGreaterThan(1000);
  fs.writeFileSync(cache, 'not a cache');
  const r = await runCharm({ charmDir, event: on.configChanged(), state: {} });
  expect(r.state.unitStatus).toEqual({ name: 'active', message: 'hello, world (#1)' });
  expect(fs.readFileSync(cache).length).toBeGreaterThan(1000);
});
