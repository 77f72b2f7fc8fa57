/**
 * `npm run pack` as a user types it: any charm folder, the .charm written where -o says (a file,
 * or a directory to name it in), paths relative to where the command was typed (npm runs the
 * script in the package root and says where the user was in INIT_CWD).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { readZip } from '@juju-ts/charm-tools';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** `npm run pack -- <args>` typed in `cwd`. */
const pack = (args: string[], cwd: string) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith('npm_') && k !== 'INIT_CWD')) as Record<string, string>;
  return execa(process.execPath, ['--disable-warning=ExperimentalWarning', '--conditions=@juju-ts/source', '--import', 'tsx', 'packages/charm-tools/src/cli/pack.ts', ...args], {
    cwd: ROOT,
    reject: false,
    env: { ...env, npm_lifecycle_event: 'pack', INIT_CWD: cwd },
    extendEnv: false,
  });
};

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-cli-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('a charm folder given relative to where the command was typed, -o a directory: <name>_<base>-<arch>.charm in it', async () => {
  const r = await pack([path.relative(work, path.join(ROOT, 'examples/tiny')), '-o', 'out/', '--no-node'], work);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
  const file = path.join(work, 'out', 'tiny_ubuntu@24.04-amd64.charm');
  expect(r.stdout).toMatch(/^packed tiny: out\/tiny_ubuntu@24\.04-amd64\.charm \(.* MiB, \d+ files, no Node runtime\)$/);
  expect(readZip(file).map((e) => e.name)).toEqual(expect.arrayContaining(['dispatch', 'dist/charm.cjs', 'metadata.yaml', 'manifest.yaml']));
}, 60_000);

test('--output a file path: exactly that file, its missing parent created', async () => {
  const r = await pack([path.join(ROOT, 'examples/connector-lite'), '--output', 'deep/er/my.charm', '--no-node'], work);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
  expect(r.stdout).toMatch(/^packed connector-lite: deep\/er\/my\.charm \(.* MiB, \d+ files, no Node runtime\)$/);
  expect(fs.existsSync(path.join(work, 'deep/er/my.charm'))).toBe(true);
}, 60_000);

test('a folder without charmcraft.yaml, or none at all, is refused before anything is built (exit 2)', async () => {
  fs.mkdirSync(path.join(work, 'empty'));
  const empty = await pack(['empty', '-o', 'nothing.charm'], work);
  expect({ exitCode: empty.exitCode, stdout: empty.stdout }).toEqual({ exitCode: 2, stdout: '' });
  expect(empty.stderr).toBe("pack: empty has no charmcraft.yaml: give a charm project's folder (see --help)");
  const missing = await pack(['nowhere'], work);
  expect(missing.stderr).toBe('pack: charm folder nowhere does not exist (see --help)');
  expect(fs.existsSync(path.join(work, 'nothing.charm'))).toBe(false);
});
