/**
 * Build a charm project into the directory Juju runs (see packages/charm-tools/src/build/charm.ts).
 *
 *   node --conditions=@juju-ts/source --import tsx scripts/build-charm.ts [--project DIR] [--out DIR] [--no-metadata]
 *
 * Defaults: the root charm, into dist/charm/<name>. --no-metadata leaves metadata.yaml,
 * config.yaml and actions.yaml out (charmcraft writes those itself when it packs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCharm, readCharmcraft } from '@juju-ts/charm-tools';

const { values } = parseArgs({ options: { project: { type: 'string', default: '.' }, out: { type: 'string' }, 'no-metadata': { type: 'boolean', default: false } } });
const project = path.resolve(values.project!);
const name = String(readCharmcraft(project).name);
const out = path.resolve(values.out ?? path.join('dist', 'charm', name));
const built = await buildCharm({ projectDir: project, outDir: out });
if (values['no-metadata']) for (const f of ['metadata.yaml', 'config.yaml', 'actions.yaml']) fs.rmSync(path.join(out, f), { force: true });
const size = fs.statSync(path.join(out, 'dist', 'charm.bundle.cjs')).size;
console.log(`built ${built.name} into ${path.relative(process.cwd(), out) || '.'} (bundle ${(size / 1024).toFixed(0)} KiB)`);
