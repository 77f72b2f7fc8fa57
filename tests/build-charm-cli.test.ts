/**
 * juju-ts-build (packages/charm-tools/src/cli/build.ts, what charmcraft.yaml's parts and `npm run build` run) as a user runs it:
 * a charmcraft.yaml the metadata loader refuses is one message naming the option and the fix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

test('a config option of type integer fails the build with one line: the option, the allowed types, use int', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-charm-cli-'));
  try {
    const yaml = fs.readFileSync('examples/tiny/charmcraft.yaml', 'utf8').replace(/greeting:\n( +)type: string\n +default: hello/, 'greeting:\n$1type: integer\n$1default: 5');
    expect(yaml).toContain('type: integer');
    fs.writeFileSync(path.join(dir, 'charmcraft.yaml'), yaml);
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src/charm.ts'), 'export default class {}\n');
    const r = await execa(process.execPath, ['--disable-warning=ExperimentalWarning', '--conditions=@juju-ts/source', '--import', 'tsx', 'packages/charm-tools/src/cli/build.ts', '--project', dir, '--out', path.join(dir, 'out')], { reject: false });
    expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 1, stdout: '' });
    expect(r.stderr).toBe(
      `build-charm: ${dir}/charmcraft.yaml: config option "greeting": type "integer" is not one of string, int, float, boolean, secret; ` +
        'charmcraft\'s documented option types do not include "integer" (the original OpenCTI connectors declare one option that way): use int',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
