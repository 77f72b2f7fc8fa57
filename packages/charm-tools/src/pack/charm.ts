/**
 * Pack a charm offline into the `.charm` file Juju deploys: a ZIP of what charmcraft would put in
 * its prime directory (juju: pebble-charmcraft.md 3.2):
 *
 *   dispatch, dist/...       the charm, built by packages/charm-tools/src/build/charm.ts
 *   metadata.yaml, config.yaml, actions.yaml   from charmcraft.yaml, translated as charmcraft does
 *   manifest.yaml            bases (Juju 3 needs them) and analysis attributes
 *   bin/node                 a Node.js runtime: the charm container has python3 but no Node
 *   README.md, LICENSE, icon.svg when the project has them
 *
 * The Node runtime is the `node` running the packer unless another is given; it must be a Linux
 * x86-64 binary for an amd64 charm. Real charmcraft builds the same tree through the parts in
 * charmcraft.yaml (see README: what is verified here and what is not).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { stringify as toYaml } from 'yaml';
import { buildCharm, readCharmcraft } from '../build/charm.js';
import { collectTree, writeZip } from './zip.js';

export interface PackOptions {
  projectDir: string;
  /** Output file (default: `<name>_<base>-<arch>.charm` in the current directory). */
  outFile?: string;
  /** Node binary to ship as bin/node; `false` ships none (the image must provide node). */
  node?: string | false;
}

export interface PackResult {
  file: string;
  name: string;
  bytes: number;
  files: string[];
  nodeVersion?: string;
}

/** `ubuntu@24.04` + `amd64` from charmcraft.yaml's base and platforms. */
export function platformOf(doc: Record<string, unknown>): { base: string; name: string; channel: string; arch: string } {
  const base = String(doc.base ?? '');
  const m = /^(\w+)@([\d.]+)$/.exec(base);
  if (!m) throw new Error(`charmcraft.yaml: base must look like ubuntu@24.04 (got ${JSON.stringify(doc.base)})`);
  const platforms = Object.keys((doc.platforms ?? {}) as object);
  if (platforms.length !== 1) throw new Error(`charmcraft.yaml: exactly one platform is supported by the offline packer (got ${platforms.join(', ') || 'none'})`);
  return { base, name: m[1]!, channel: m[2]!, arch: platforms[0]! };
}

export async function packCharm(options: PackOptions): Promise<PackResult> {
  const doc = readCharmcraft(options.projectDir);
  const { base, name: osName, channel, arch } = platformOf(doc);
  const name = String(doc.name);
  const prime = fs.mkdtempSync(path.join(os.tmpdir(), 'prime-'));
  try {
    await buildCharm({ projectDir: options.projectDir, outDir: prime });
    const started = new Date().toISOString();
    fs.writeFileSync(
      path.join(prime, 'manifest.yaml'),
      toYaml({
        'charmcraft-version': '0.0.0+offline-pack',
        'charmcraft-started-at': started,
        bases: [{ name: osName, channel, architectures: [arch] }],
        analysis: { attributes: [{ name: 'language', result: 'javascript' }, { name: 'framework', result: 'opencti-connector-charms' }] },
      }),
    );
    let nodeVersion: string | undefined;
    const node = options.node === undefined ? process.execPath : options.node;
    if (node !== false) {
      if (arch !== 'amd64') throw new Error(`the charm is for ${arch}; pass the matching Node binary with --node, or --no-node`);
      if (options.node === undefined && (process.platform !== 'linux' || process.arch !== 'x64')) {
        throw new Error(`this machine's node is ${process.platform}-${process.arch}, not linux-x64; pass a Linux x86-64 node with --node, or --no-node`);
      }
      nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
      fs.mkdirSync(path.join(prime, 'bin'), { recursive: true });
      fs.copyFileSync(node, path.join(prime, 'bin', 'node'));
      fs.chmodSync(path.join(prime, 'bin', 'node'), 0o755);
    }
    const entries = collectTree(prime).filter((e) => !e.name.endsWith('.v8cache'));
    const file = path.resolve(options.outFile ?? `${name}_${base}-${arch}.charm`);
    writeZip(file, entries);
    return { file, name, bytes: fs.statSync(file).size, files: entries.map((e) => e.name), nodeVersion };
  } finally {
    fs.rmSync(prime, { recursive: true, force: true });
  }
}
