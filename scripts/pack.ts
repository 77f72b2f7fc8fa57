/**
 * `npm run pack [-- --project DIR] [--out FILE] [--node PATH | --no-node]`: write the .charm file
 * offline (see packages/charm-tools/src/pack/charm.ts). Default: the root charm, shipping this machine's node.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packCharm } from '@juju-ts/charm-tools';

const { values } = parseArgs({ options: { project: { type: 'string', default: '.' }, out: { type: 'string' }, node: { type: 'string' }, 'no-node': { type: 'boolean', default: false } } });
try {
  const r = await packCharm({ projectDir: path.resolve(values.project!), outFile: values.out, node: values['no-node'] ? false : values.node });
  console.log(`packed ${r.name}: ${path.relative(process.cwd(), r.file)} (${(r.bytes / 1024 / 1024).toFixed(1)} MiB, ${r.files.length} files${r.nodeVersion ? `, Node ${r.nodeVersion} in bin/node` : ', no Node runtime'})`);
} catch (e) {
  console.error(`pack failed: ${(e as Error).message}`);
  process.exitCode = 1;
}
