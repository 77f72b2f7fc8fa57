/**
 * The 22 connector charms of connectors/ (issue 20): each is exactly what the scaffolder writes
 * from connectors/connectors.json and its own charmcraft.yaml (so `npm run connectors` regenerates
 * them and adding one is one entry), and each builds from its own folder with buildCharm, the
 * bundle `juju-ts-build` and `npm run pack` make. Their behaviour is tested by each connector's
 * tests/charm.test.ts, which this suite's jest run includes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCharm } from '@juju-ts/charm-tools';
import { differences, planAll, readCatalog, ROOT } from '../scripts/connectors.js';

const catalog = readCatalog();
const names = Object.keys(catalog.connectors);

test('the catalog holds the 22 connectors of the original, each with its own folder', () => {
  expect(names).toHaveLength(22);
  expect(fs.readdirSync(path.join(ROOT, 'connectors')).filter((f) => fs.statSync(path.join(ROOT, 'connectors', f)).isDirectory()).sort()).toEqual([...names].sort());
});

test('every connector, and the table in connectors/README.md, is what the scaffolder writes today, file for file', () => {
  expect(differences(planAll())).toEqual([]);
});

test('every original test case is ported (21 connectors, export-file-stix with three)', () => {
  const cases = Object.fromEntries(names.map((n) => [n, (catalog.connectors[n]!.cases ?? []).length]));
  expect(Object.values(cases).reduce((a, b) => a + b, 0)).toBe(23);
  expect(names.filter((n) => !cases[n])).toEqual(['woap']);
});

test('every connector builds from its own folder', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'connectors-built-'));
  try {
    for (const name of names) {
      const charm = await buildCharm({ projectDir: path.join(ROOT, 'connectors', name), outDir: path.join(out, name) });
      expect(charm.name).toBe(`opencti-${name}-connector`);
      expect(fs.existsSync(path.join(charm.dir, 'dispatch'))).toBe(true);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
