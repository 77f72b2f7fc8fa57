/**
 * The deployable artefact: `npm run pack` writes a .charm; unpacked, it has what charmcraft would
 * put there, and the unpacked bytes (with their own bin/node) run under the model simulator.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { packCharm } from '@juju-ts/charm-tools';
import { extractZip, readZip } from '@juju-ts/charm-tools';
import { ModelSim } from '@juju-ts/ops-testing';

let dir: string;
let charmFile: string;
let unpacked: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-'));
  const r = await packCharm({ projectDir: '.', outFile: path.join(dir, 'opencti-synchronizer-connector_ubuntu@24.04-amd64.charm') });
  charmFile = r.file;
  unpacked = path.join(dir, 'unpacked');
  extractZip(charmFile, unpacked);
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the archive holds what charmcraft would pack, with executable bits kept', () => {
  const entries = new Map(readZip(charmFile).map((e) => [e.name, e]));
  expect([...entries.keys()].sort()).toEqual(
    expect.arrayContaining(['dispatch', 'dist/charm.cjs', 'dist/charm.bundle.cjs', 'dist/lazy/yaml.cjs', 'metadata.yaml', 'config.yaml', 'manifest.yaml', 'bin/node', 'README.md']),
  );
  expect(entries.has('actions.yaml')).toBe(false);
  // Hook tools are spawned by node itself: no process library ships with the charm.
  expect([...entries.keys()].some((e) => e.includes('execa'))).toBe(false);
  for (const exe of ['dispatch', 'dist/charm.cjs', 'bin/node']) expect(entries.get(exe)!.mode & 0o111).toBe(0o111);
  expect(entries.get('metadata.yaml')!.mode).toBe(0o644);
});

test('metadata, config and manifest are charmcraft\'s translations of charmcraft.yaml', () => {
  const read = (f: string) => parseYaml(fs.readFileSync(path.join(unpacked, f), 'utf8'));
  const meta = read('metadata.yaml');
  expect(meta).toMatchObject({
    name: 'opencti-synchronizer-connector',
    'display-name': 'OpenCTI Synchronizer Connector Charm',
    containers: { 'opencti-synchronizer-connector': { resource: 'opencti-synchronizer-connector-image' } },
    resources: { 'opencti-synchronizer-connector-image': { type: 'oci-image' } },
    provides: { 'opencti-connector': { interface: 'opencti_connector', limit: 1 } },
    requires: { logging: { interface: 'loki_push_api', optional: true } },
    assumes: ['juju >= 3.4'],
    docs: 'https://github.com/canonical/opencti-operator',
    maintainers: ['https://launchpad.net/~canonical-is-devops'],
  });
  expect(meta).not.toHaveProperty('parts');
  expect(Object.keys(read('config.yaml').options)).toEqual([
    'connector-scope', 'connector-confidence-level', 'connector-log-level', 'remote-opencti-url', 'remote-opencti-live-stream-id',
    'remote-opencti-ssl-verify', 'remote-opencti-token', 'remote-opencti-start-timestamp', 'remote-opencti-recover',
    'remote-opencti-listen-delete', 'remote-opencti-no-dependencies', 'remote-opencti-synchronized', 'remote-opencti-applicant-id', 'sync-http-port',
  ]);
  expect(read('config.yaml').options['remote-opencti-token'].type).toBe('secret');
  expect(read('manifest.yaml').bases).toEqual([{ name: 'ubuntu', channel: '24.04', architectures: ['amd64'] }]);
});

test('the .charm file itself runs through the simulator CLI', async () => {
  const { execa } = await import('execa');
  const r = await execa(process.execPath, ['--conditions=@juju-ts/source', '--import', 'tsx', 'packages/ops-testing/src/cli/sim.ts', 'run', charmFile, 'config-changed'], { reject: false });
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/unit status: waiting "missing configurations: connector-confidence-level, remote-opencti-url, remote-opencti-token"/);
});

test('the shipped Node runtime runs', () => {
  expect(execFileSync(path.join(unpacked, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim()).toBe(process.version);
});

test('the unpacked charm deploys, relates and goes active in the model simulator', async () => {
  const model = new ModelSim();
  try {
    await model.deploy({ charm: 'examples/opencti-lite', app: 'opencti', config: { url: 'http://opencti:8080' } });
    const token = model.addSecret({ token: 'remote-token' });
    await model.deploy({ charm: unpacked, config: { 'remote-opencti-url': 'https://remote.example.com', 'connector-confidence-level': 80, 'remote-opencti-token': token } });
    expect(model.status().applications['opencti-synchronizer-connector']!.units['opencti-synchronizer-connector/0']!.status.message).toMatch(/remote-opencti-token" names a secret this application cannot read; grant it with: juju grant-secret/);
    await model.grantSecret(token, 'opencti-synchronizer-connector');
    await model.integrate('opencti', 'opencti-synchronizer-connector');
    expect(model.status().applications['opencti-synchronizer-connector']!.units['opencti-synchronizer-connector/0']!.status).toEqual({ name: 'active', message: '' });
  } finally {
    await model.destroy();
  }
});
