#!/usr/bin/env node
/**
 * `npm run pack -- [<charm-folder>] [-o PATH] [--node PATH | --no-node]`: write the .charm file
 * offline (see packages/charm-tools/src/pack/charm.ts). Default: the root charm, shipping this machine's node, into
 * the current directory. `npm run pack -- --help` prints the options.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Args, command, UsageError, invocationDir } from './args.js';

const cwd = invocationDir('pack');

const opts = await command(
  {
    name: 'pack',
    usage: 'npm run pack -- [<charm-folder>] [options]',
    summary: `Packs a charm project offline into the .charm file Juju deploys: what charmcraft would put in it
(dispatch, the bundled charm, metadata.yaml, config.yaml, actions.yaml, manifest.yaml) and a Node.js
runtime as bin/node (the charm container has none).`,
    positionals: [{ name: '<charm-folder>', help: 'the charm project: the folder with charmcraft.yaml (default: the root charm of this checkout)' }],
    options: {
      output: { type: 'string', short: 'o', value: 'PATH', help: 'the .charm file to write, or a directory to write <name>_<base>-<arch>.charm into\n(default: <name>_<base>-<arch>.charm in the current directory); a missing parent is created' },
      node: { type: 'string', value: 'PATH', help: "the Node binary to ship as bin/node, Linux x86-64 (default: this machine's node)" },
      'no-node': { type: 'boolean', help: 'ship no Node runtime (the image must provide node)' },
    },
    footer: 'Exit codes: 0 packed, 1 the build or pack failed, 2 bad usage.',
  },
  process.argv.slice(2),
  read,
);

function read(a: Args) {
  if (a.positionals.length > 1) throw new UsageError(`one charm folder expected, got ${a.positionals.length}: ${a.positionals.join(' ')}`);
  const given = a.positionals[0];
  const project = given === undefined ? process.cwd() : path.resolve(cwd, given);
  if (!fs.existsSync(project)) throw new UsageError(`charm folder ${given} does not exist`);
  if (!fs.existsSync(path.join(project, 'charmcraft.yaml'))) {
    throw new UsageError(`${given} has no charmcraft.yaml: give a charm project's folder`);
  }
  if (a.flag('no-node') && a.string('node') !== undefined) throw new UsageError('--node and --no-node exclude each other: give one');
  const node = a.string('node') === undefined ? undefined : path.resolve(cwd, a.string('node')!);
  if (node !== undefined && !fs.existsSync(node)) throw new UsageError(`--node ${a.string('node')} does not exist`);
  return { project, output: a.string('output'), node: a.flag('no-node') ? (false as const) : node };
}

/**
 * The file to write: --output as given, or inside it when it names a directory (an existing one,
 * or a path ending in "/"), with the name charmcraft gives the file.
 */
async function outFile(output: string | undefined, project: string): Promise<string> {
  const target = path.resolve(cwd, output ?? '.');
  const isDir = output === undefined || output.endsWith('/') || (fs.existsSync(target) && fs.statSync(target).isDirectory());
  if (!isDir) return target;
  const [{ readCharmcraft }, { platformOf }] = await Promise.all([import('../build/charm.js'), import('../pack/charm.js')]);
  const doc = readCharmcraft(project);
  const { base, arch } = platformOf(doc);
  return path.join(target, `${String(doc.name)}_${base}-${arch}.charm`);
}

try {
  const file = await outFile(opts.output, opts.project);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Loaded once the arguments are checked: --help and a usage mistake answer without loading the
  // builder (esbuild, yaml), which is most of this command's start-up.
  const { packCharm } = await import('../pack/charm.js');
  const r = await packCharm({ projectDir: opts.project, outFile: file, node: opts.node });
  console.log(`packed ${r.name}: ${path.relative(cwd, r.file)} (${(r.bytes / 1024 / 1024).toFixed(1)} MiB, ${r.files.length} files${r.nodeVersion ? `, Node ${r.nodeVersion} in bin/node` : ', no Node runtime'})`);
} catch (e) {
  console.error(`pack: ${(e as Error).message}`);
  process.exitCode = 1;
}
