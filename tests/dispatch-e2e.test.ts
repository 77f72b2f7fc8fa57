/**
 * End to end, the way Juju runs a charm: the example charm is bundled with esbuild, then its
 * `dispatch` runs as a child process with the simulator's hook tools on PATH.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCharm } from '@juju-ts/charm-tools';
import { on } from '@juju-ts/ops-testing';
import { runCharm } from '@juju-ts/ops-testing';

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
  // Two processes: config-get, status-set (the framework's per-event notice is TRACE, below the default level).
  expect(r1.toolCalls.map((c) => c.tool)).toEqual(['config-get', 'status-set']);
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

/** A charm of two files whose dispatch reports its whole environment, and which `node` it finds, through juju-log. */
function envCharm(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'env-charm-'));
  fs.writeFileSync(path.join(dir, 'metadata.yaml'), 'name: envy\nrequires: { db: { interface: pg } }\n');
  fs.writeFileSync(path.join(dir, 'dispatch'), '#!/bin/sh\njuju-log -- "$(command -v node)"\nexec node -e \'require("child_process").execFileSync("juju-log", ["--", JSON.stringify(process.env)])\'\n', { mode: 0o755 });
  return dir;
}

test('the hook environment is built from scratch as Juju builds it: nothing of the caller leaks in', async () => {
  const dir = envCharm();
  process.env.SIM_LEAK_CANARY = 'leaked';
  try {
    const db = { id: 3, endpoint: 'db', remoteAppName: 'pg' };
    const r = await runCharm({ charmDir: dir, event: on.relationCreated(db), state: { relations: [db], proxy: { http: 'http://proxy:3128' } } });
    expect(r.exitCode).toBe(0);
    const [nodeOnPath, envJson] = r.logs.map((l) => l.message);
    const env = JSON.parse(envJson!) as Record<string, string>;
    // The shell's own bookkeeping is the charm's doing, not a leak.
    for (const k of ['PWD', 'OLDPWD', 'SHLVL', '_']) delete env[k];
    expect(Object.keys(env).sort()).toEqual(
      [
        'APT_LISTCHANGES_FRONTEND', 'CHARM_CONTAINERS_DIR', 'CHARM_DIR', 'CLOUD_API_VERSION', 'DEBIAN_FRONTEND', 'JUJU_AGENT_SOCKET_ADDRESS',
        'JUJU_AGENT_SOCKET_NETWORK', 'JUJU_API_ADDRESSES', 'JUJU_AVAILABILITY_ZONE', 'JUJU_CHARM_DIR', 'JUJU_CHARM_FTP_PROXY', 'JUJU_CHARM_HTTPS_PROXY',
        'JUJU_CHARM_HTTP_PROXY', 'JUJU_CHARM_NO_PROXY', 'JUJU_CONTEXT_ID', 'JUJU_DISPATCH_PATH', 'JUJU_HOOK_NAME', 'JUJU_MACHINE_ID', 'JUJU_MODEL_NAME',
        'JUJU_MODEL_UUID', 'JUJU_PRINCIPAL_UNIT', 'JUJU_RELATION', 'JUJU_RELATION_ID', 'JUJU_REMOTE_APP', 'JUJU_REMOTE_UNIT', 'JUJU_UNIT_NAME',
        'JUJU_VERSION', 'LANG', 'PATH', 'TERM',
      ].sort(),
    );
    expect(env).toMatchObject({ LANG: 'C.UTF-8', JUJU_REMOTE_UNIT: '', JUJU_CHARM_HTTP_PROXY: 'http://proxy:3128', JUJU_CHARM_NO_PROXY: '' });
    expect(env.CHARM_DIR).toBe(env.JUJU_CHARM_DIR);
    // Pebble sockets in Juju's layout under the run's own root (rootDir: '/' is Juju's path, without CHARM_CONTAINERS_DIR).
    expect(env.CHARM_CONTAINERS_DIR).toMatch(/^\/.+\/charm\/containers$/);
    // Hook tools first, then this Node's directory (the one deliberate difference), then the image's PATH.
    const [tools, ...rest] = env.PATH!.split(':');
    expect(fs.existsSync(path.join(tools!, 'juju-log'))).toBe(true);
    expect(rest.join(':')).toMatch(/\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/);
    expect(fs.realpathSync(nodeOnPath!)).toBe(fs.realpathSync(process.execPath));
  } finally {
    delete process.env.SIM_LEAK_CANARY;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an action hook has its tag, as Juju sets it', async () => {
  const dir = envCharm();
  fs.writeFileSync(path.join(dir, 'actions.yaml'), 'show: {}\n');
  try {
    const r = await runCharm({ charmDir: dir, event: on.action('show', { id: '42' }), state: {} });
    const env = JSON.parse(r.logs[1]!.message) as Record<string, string>;
    expect(env).toMatchObject({ JUJU_ACTION_NAME: 'show', JUJU_ACTION_UUID: '42', JUJU_ACTION_TAG: 'action-42', JUJU_HOOK_NAME: '', JUJU_DISPATCH_PATH: 'actions/show' });
    expect(env.JUJU_RELATION).toBeUndefined();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
