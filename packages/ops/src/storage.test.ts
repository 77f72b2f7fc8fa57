/**
 * Where the framework keeps its data between dispatches: the unit's file, or the controller
 * (state-get/state-set through the fake Juju agent's tools). Both keep the remote applications a
 * unit learnt, and a file written before they were kept still loads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnitAgent, agentRunner, parseState } from '@juju-ts/ops-testing';
import { CharmMeta, HookToolBackend } from './index.js';
import { FileStorage, JujuStorage, emptyStoredData } from './storage.js';

const MODEL_UUID = '00000000-0000-4000-8000-000000000000';
const data = () => ({ ...emptyStoredData(), eventCount: 3, stored: { 'C/StoredStateData[s]': { n: 1 } }, remoteApps: { '7': 'pg' } });

test('FileStorage: remote applications round-trip; a file without them loads with none', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-'));
  try {
    const storage = new FileStorage(dir);
    await storage.commit(data());
    expect(await new FileStorage(dir).load()).toEqual(data());
    fs.writeFileSync(storage.file, JSON.stringify({ version: 1, eventCount: 2, notices: [], snapshots: {}, stored: {} }));
    expect((await storage.load()).remoteApps).toEqual({});
    fs.writeFileSync(storage.file, JSON.stringify({ version: 1, eventCount: 2, notices: [], snapshots: {}, stored: {}, remoteApps: { '7': 1 } }));
    await expect(storage.load()).rejects.toThrow(/has an unexpected shape .*move it aside/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('JujuStorage: remote applications round-trip through state-set and state-get, and are deleted when none are left', async () => {
  const meta = CharmMeta.fromCharmcraft({ name: 'c' });
  const agent = new UnitAgent(parseState({}), { unitName: 'c/0', meta, charmDir: os.tmpdir() });
  const storage = new JujuStorage(new HookToolBackend(agentRunner(agent), { modelUuid: MODEL_UUID }));
  await storage.commit(data(), emptyStoredData());
  const after = agent.finish(true).controllerState;
  expect(after['#remote-apps#']).toBe('{"7":"pg"}');
  const again = new UnitAgent(parseState({ controllerState: after }), { unitName: 'c/0', meta, charmDir: os.tmpdir() });
  const reloaded = new JujuStorage(new HookToolBackend(agentRunner(again), { modelUuid: MODEL_UUID }));
  expect(await reloaded.load()).toEqual(data());
  await reloaded.commit({ ...data(), remoteApps: {} }, data());
  expect(again.finish(true).controllerState['#remote-apps#']).toBeUndefined();
});
