/**
 * The scaffolder as a user runs it (`npm run new -- ...`: node with tsx, the same script): a
 * connector charm from a README in the current layout is generated, bundled with buildCharm, runs
 * a hook, and passes its own generated test under jest; bad input exits 2 and writes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { buildCharm } from '@juju-ts/charm-tools';
import { runCharm } from '@juju-ts/ops-testing';
import { on } from '@juju-ts/ops-testing';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const FIXTURE = path.join(ROOT, 'examples/readmes/acme-feed.md');

/** The environment without npm's: the CLI must not take INIT_CWD from the `npm test` around us. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith('npm_') && k !== 'INIT_CWD')) as Record<string, string>;
}

/** `npm run new -- <args>` typed in `cwd`: npm runs the script in the package root and says where the user was. */
const scaffold = (args: string[], cwd = ROOT) =>
  execa(process.execPath, ['--conditions=@juju-ts/source', '--import', 'tsx', 'packages/opencti-connector/src/cli/new.ts', ...args], {
    cwd: ROOT,
    reject: false,
    env: { ...cleanEnv(), npm_lifecycle_event: 'new', INIT_CWD: cwd },
    extendEnv: false,
  });

test('a connector from a current-layout README: generated, bundled, run, and its generated test passes under jest', async () => {
  // Inside the repository, so the framework packages resolve from its node_modules and jest's
  // rootDir covers it; tmp/ is gitignored and left out of the main run (jest.config.js).
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const work = fs.mkdtempSync(path.join(ROOT, 'tmp', 'scaffold-ci-'));
  const built = fs.mkdtempSync(path.join(os.tmpdir(), 'scaffold-built-'));
  try {
    const target = path.join(work, 'acme-feed');
    const r = await scaffold(['acme-feed', '--type', 'EXTERNAL_IMPORT', '--from-readme', FIXTURE, '--dir', target]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(r.stdout).toContain('wrote opencti-acme-feed-connector (EXTERNAL_IMPORT) to ');
    expect(fs.readdirSync(target).sort()).toEqual(['.gitignore', 'README.md', 'charmcraft.yaml', 'jest.config.js', 'package.json', 'rock', 'src', 'tests', 'tsconfig.json']);
    expect(r.stdout).toContain(`next: npm test -- ${path.relative(ROOT, target)}`);

    // It bundles, and the bundle runs a hook as Juju would run it.
    const charm = await buildCharm({ projectDir: target, outDir: built });
    expect(charm.name).toBe('opencti-acme-feed-connector');
    const hook = await runCharm({
      charmDir: charm.dir,
      event: on.configChanged(),
      state: {
        leader: true,
        config: { 'acme-feed-api-key': 'k' },
        containers: [{ name: charm.name, canConnect: true }],
        relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: 'http://opencti:8080', opencti_token: 'secret:0123456789abcdefghij' } }],
        secrets: [{ id: 'secret:0123456789abcdefghij', content: { token: 't' } }],
      },
    });
    expect({ exitCode: hook.exitCode, status: hook.state.unitStatus }).toEqual({ exitCode: 0, status: { name: 'active', message: '' } });

    // Its generated test, in a jest of its own (the tmp/ exclusion overridden for this run).
    const testFile = path.join(target, 'tests/charm.test.ts');
    const jest = await execa(
      process.execPath,
      ['--conditions=@juju-ts/source', '--experimental-vm-modules', '--disable-warning=ExperimentalWarning', 'node_modules/jest/bin/jest.js', testFile, '--runTestsByPath', '--ci', '--no-watchman', '--testPathIgnorePatterns=/node_modules/', '--json'],
      { cwd: ROOT, reject: false, env: cleanEnv(), extendEnv: false },
    );
    const report = JSON.parse(jest.stdout) as { success: boolean; numPassedTests: number; numTotalTests: number; testResults: { name: string }[] };
    expect({ exitCode: jest.exitCode, success: report.success, passed: report.numPassedTests, total: report.numTotalTests, file: report.testResults[0]?.name }).toEqual({
      exitCode: 0,
      success: true,
      passed: 4,
      total: 4,
      file: testFile,
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(built, { recursive: true, force: true });
  }
}, 120_000);

test('bad input: a clear error naming the problem, exit code 2, nothing written', async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'scaffold-bad-'));
  try {
    fs.writeFileSync(path.join(cwd, 'NOTABLE.md'), '# A connector\n\n| Name | Value |\n|---|---|\n| a | b |\n');
    fs.mkdirSync(path.join(cwd, 'taken'));
    const cases: [string[], RegExp][] = [
      [['Acme_Feed', '--type', 'STREAM', '--dir', 'out'], /^new: name "Acme_Feed" is not kebab case: use lower-case letters, digits and single hyphens/],
      [['acme', '--type', 'STREAMING', '--dir', 'out'], /^new: unknown connector type "STREAMING": use one of EXTERNAL_IMPORT, INTERNAL_ENRICHMENT, INTERNAL_IMPORT_FILE, INTERNAL_EXPORT_FILE, STREAM/],
      [['acme', '--type', 'STREAM', '--dir', 'out', '--from-readme', 'NOTABLE.md'], /^new: NOTABLE\.md has no configuration table: expected a Markdown table with an environment-variable column/],
      [['acme', '--type', 'STREAM', '--dir', 'out', '--from-readme', 'MISSING.md'], /^new: cannot read the README MISSING\.md: no such file/],
      [['acme', '--type', 'STREAM', '--dir', 'taken'], /^new: target taken already exists; pass --force to replace the files the scaffolder writes there/],
      [['acme', '--dir', 'out'], /^new: --type is missing: one of EXTERNAL_IMPORT/],
      [['--type', 'STREAM', '--dir', 'out'], /^new: the connector name is missing \(see --help\)$/],
      [['acme', '--type', 'STREAM', '--dir', 'out', '--frm-readme', 'x'], /^new: unknown option --frm-readme; did you mean --from-readme\? \(see --help\)$/],
    ];
    const results = await Promise.all(cases.map(([args]) => scaffold(args, cwd)));
    results.forEach((r, i) => {
      expect({ args: cases[i]![0], exitCode: r.exitCode, stdout: r.stdout }).toEqual({ args: cases[i]![0], exitCode: 2, stdout: '' });
      expect(r.stderr).toMatch(cases[i]![1]);
    });
    // Each is one line; input problems (as opposed to usage mistakes) say that nothing was written.
    for (const r of results) expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(results[0]!.stderr).toMatch(/ \(nothing was written\)$/);
    expect(fs.readdirSync(cwd).sort()).toEqual(['NOTABLE.md', 'taken']);
    expect(fs.readdirSync(path.join(cwd, 'taken'))).toEqual([]);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}, 60_000);

// The installed command (the package's bin, outside the checkout) is tested in tests/packages.test.ts.

test('the worked example deploys and integrates in the model simulator (the scenario of docs/scaffolding.md)', async () => {
  const r = await execa(process.execPath, ['--conditions=@juju-ts/source', '--import', 'tsx', 'packages/ops-testing/src/cli/sim.ts', 'scenario', 'examples/scenarios/acme-feed.yaml'], { cwd: ROOT, reject: false });
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
  expect(r.stdout).toMatch(/acme-feed\/0 opencti-connector-relation-changed → active/);
  expect(r.stdout).toMatch(/scenario passed: 7 steps, \d+ hooks/);
}, 60_000);

test('one command makes a connector of connectors/: nti from its charmcraft.yaml, overrides and cases, file for file', async () => {
  const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, 'connectors/connectors.json'), 'utf8')) as { connectors: Record<string, Record<string, unknown>> };
  const nti = catalog.connectors.nti as { type: string; displayName: string; upstreamPath: string; scope: string; origin: string; notes: string[]; cases: unknown[] };
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const work = fs.mkdtempSync(path.join(ROOT, 'tmp', 'scaffold-nti-'));
  try {
    const cases = path.join(work, 'cases.json');
    fs.writeFileSync(cases, JSON.stringify(nti.cases));
    const target = path.join(work, 'nti');
    const r = await scaffold([
      'nti', '--type', nti.type, '--from-charmcraft', 'connectors/nti/charmcraft.yaml', '--display-name', nti.displayName,
      '--upstream-path', nti.upstreamPath, '--entrypoint', 'generated', '--scope', nti.scope, '--log-level-check',
      '--cases', cases, '--origin', nti.origin, ...nti.notes.flatMap((n) => ['--note', n]), '--dir', target,
    ]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
    const differing = ['README.md', 'charmcraft.yaml', 'src/charm.ts', 'tests/charm.test.ts', 'rock/rockcraft.yaml', 'package.json']
      .filter((f) => fs.readFileSync(path.join(target, f), 'utf8') !== fs.readFileSync(path.join(ROOT, 'connectors/nti', f), 'utf8'));
    expect(differing).toEqual([]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('bad cases and flags: named, exit 2, nothing written', async () => {
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const work = fs.mkdtempSync(path.join(ROOT, 'tmp', 'scaffold-bad-'));
  try {
    const cases = path.join(work, 'cases.json');
    fs.writeFileSync(cases, JSON.stringify([{ name: 'one', config: { 'nti-tlp': 3, 'no-such-option': 'x' }, environment: {} }]));
    const target = path.join(work, 'nti');
    const r = await scaffold(['nti', '--type', 'EXTERNAL_IMPORT', '--from-charmcraft', 'connectors/nti/charmcraft.yaml', '--cases', cases, '--dir', target]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('test case "one": config "nti-tlp" is 3, not a string');
    expect(r.stderr).toContain('test case "one": config "no-such-option" is not an option of the charm');
    expect(fs.existsSync(target)).toBe(false);
    const style = await scaffold(['nti', '--type', 'EXTERNAL_IMPORT', '--boolean-style', 'yaml', '--dir', target]);
    expect({ exitCode: style.exitCode, stderr: style.stderr.trim() }).toEqual({ exitCode: 2, stderr: expect.stringContaining('--boolean-style yaml: use one of json, python') });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
