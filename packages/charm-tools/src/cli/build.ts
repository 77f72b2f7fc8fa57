#!/usr/bin/env node
/**
 * Build a charm project into the directory Juju runs (see packages/charm-tools/src/build/charm.ts).
 *
 *   juju-ts-build [--project DIR] [--out DIR] [--no-metadata]   (--help: the options)
 *
 * Defaults: the root charm, into dist/charm/<name>. --no-metadata leaves metadata.yaml,
 * config.yaml and actions.yaml out (charmcraft writes those itself when it packs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { command, UsageError } from './args.js';

const opts = await command(
  {
    name: 'build-charm',
    usage: 'juju-ts-build [options]',
    summary: `Builds a charm project into the directory Juju runs: dispatch, the bundled charm (dist/) and, unless
--no-metadata, metadata.yaml, config.yaml and actions.yaml translated from charmcraft.yaml.
charmcraft.yaml's parts run it (npx juju-ts-build); a charm project's \`npm run build\` runs it.`,
    options: {
      project: { type: 'string', default: '.', value: 'DIR', help: 'the charm project (the folder with charmcraft.yaml)' },
      out: { type: 'string', value: 'DIR', help: 'where to build it (default: dist/charm/<name>)' },
      'no-metadata': { type: 'boolean', help: 'leave the metadata files out (charmcraft writes those itself when it packs)' },
    },
    footer: 'Exit codes: 0 built, 1 the build failed, 2 bad usage.',
  },
  process.argv.slice(2),
  (a) => {
    const project = path.resolve(a.string('project')!);
    if (!fs.existsSync(path.join(project, 'charmcraft.yaml'))) {
      throw new UsageError(`--project ${a.string('project')} has no charmcraft.yaml: give a charm project's folder`);
    }
    return { project, out: a.string('out'), noMetadata: a.flag('no-metadata') };
  },
);
try {
  // Loaded once the arguments are checked: --help and a usage mistake answer without loading the
  // builder (esbuild, yaml).
  const { buildCharm, readCharmcraft } = await import('../build/charm.js');
  const name = String(readCharmcraft(opts.project).name);
  const out = path.resolve(opts.out ?? path.join('dist', 'charm', name));
  const built = await buildCharm({ projectDir: opts.project, outDir: out });
  if (opts.noMetadata) for (const f of ['metadata.yaml', 'config.yaml', 'actions.yaml']) fs.rmSync(path.join(out, f), { force: true });
  const size = fs.statSync(path.join(out, 'dist', 'charm.bundle.cjs')).size;
  console.log(`built ${built.name} into ${path.relative(process.cwd(), out) || '.'} (bundle ${(size / 1024).toFixed(0)} KiB)`);
} catch (e) {
  // The build's errors (a charmcraft.yaml the metadata loader refuses, a missing charm module) are messages for the user.
  console.error(`build-charm: ${(e as Error).message}`);
  process.exitCode = 1;
}
