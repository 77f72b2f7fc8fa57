/**
 * Every command keeps the same contract (packages/charm-tools/src/cli/args.ts): --help and -h print its usage and
 * options and exit 0 without starting anything; an unknown option or a bad value is one line on
 * stderr naming it, exit 2, no stack trace. Each runs as a user runs it (node with tsx, the same
 * script), in an empty directory with an empty TMPDIR: anything a command built or packed (a work
 * dir, a .charm) would show up there; one that started serving (a broker, the emulators) would
 * not exit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

interface Cmd {
  script: string;
  /** Arguments before the options (sim's subcommand). */
  pre?: string[];
  /** Options --help must list. */
  flags: string[];
  /** A bad value and the line it must give (after "<name>: "). */
  bad?: [string[], RegExp];
  /** How its error lines start. */
  name: string;
}

const COMMANDS: Cmd[] = [
  { script: 'scripts/demo.ts', name: 'demo', flags: ['--events N', '--remote-port P', '--local-port P', '--health-port P', '--timeout SECONDS', '--seed S', '--profile P', '--verbose'], bad: [['--profile', '9.9'], /--profile must be one of 5\.12, 6\.9, 7\.x \(got 9\.9\)/] },
  { script: 'packages/ops-testing/src/cli/sim.ts', pre: ['run'], name: 'sim run', flags: ['<charm>', '<event>', '--state FILE', '--out FILE', '--remote-unit U', '--param K=V', '--app NAME', '--unit-id N'], bad: [['x', 'install', '--unit-id', 'one'], /--unit-id must be a whole number >= 0 \(got one\)/] },
  { script: 'packages/ops-testing/src/cli/sim.ts', pre: ['scenario'], name: 'sim scenario', flags: ['<file.yaml>'] },
  { script: 'packages/charm-tools/src/cli/pack.ts', name: 'pack', flags: ['<charm-folder>', '-o, --output PATH', '--node PATH', '--no-node'], bad: [[path.join(ROOT, 'docs')], /docs has no charmcraft\.yaml: give a charm project's folder/] },
  { script: 'packages/opencti-connector/src/cli/new.ts', name: 'new', flags: ['<name>', '-t, --type TYPE', '-r, --from-readme FILE', '-d, --dir DIR', '--upstream-version TAG', '-f, --force'], bad: [['acme', '--type'], /--type needs a value/] },
  { script: 'packages/charm-tools/src/cli/build.ts', name: 'build-charm', flags: ['--project DIR', '--out DIR', '--no-metadata'], bad: [['--project', path.join(ROOT, 'docs')], /--project .*docs has no charmcraft\.yaml/] },
  { script: 'scripts/bench-hook.ts', name: 'bench:hook', flags: ['--runs N', '--instructions'], bad: [['--runs', 'many'], /--runs must be a whole number from 1 to 10000 \(got many\)/] },
  {
    script: 'scripts/bench-sync.ts',
    name: 'bench:sync',
    flags: ['--only LIST', '--events N', '--baseline-events N', '--big N', '--seed S', '--churn C', '--warmup N', '--repeat R', '--profile P', '--prof DIR', '--env', '--node-args', '--bundle FILE'],
    bad: [['--churn', 'lots'], /--churn must be a number >= 0 \(got lots\)/],
  },
  { script: 'packages/charm-tools/src/cli/init.ts', name: 'juju-ts-init', flags: ['<name>', '-d, --dir DIR', '-f, --force'], bad: [['My_App'], /name "My_App" is not kebab case/] },
  { script: 'scripts/connectors.ts', name: 'connectors', flags: ['--check', '--originals DIR'], bad: [['--originals', 'no-such-dir'], /--originals no-such-dir does not exist/] },
  { script: 'scripts/opencti-emulator.ts', name: 'emulator', flags: ['--remote-port N', '--local-port N', '--events K', '--heartbeat-ms MS', '--seed S', '--host H'], bad: [['--remote-port', '70000'], /--remote-port must be a whole number from 0 to 65535 \(got 70000\)/] },
];

let cwd: string;
let tmp: string;
beforeAll(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-help-cwd-'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-help-tmp-'));
  // tsx keeps its compile cache in <tmpdir>/tsx-<uid>: the machine's own, linked into the empty
  // TMPDIR, so each command's first run does not compile its modules again (about 0.1 s of CPU each).
  const cache = `tsx-${process.geteuid?.() ?? os.userInfo().username}`;
  fs.mkdirSync(path.join(os.tmpdir(), cache), { recursive: true });
  fs.symlinkSync(path.join(os.tmpdir(), cache), path.join(tmp, cache));
});
afterAll(() => {
  fs.rmSync(cwd, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The environment without npm's (no INIT_CWD), with the empty TMPDIR. */
function env(): Record<string, string> {
  const keep = Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith('npm_') && k !== 'INIT_CWD');
  return { ...Object.fromEntries(keep), TMPDIR: tmp, TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') } as Record<string, string>;
}

const run = (c: Cmd, args: string[]) =>
  execa(process.execPath, ['--conditions=@juju-ts/source', '--disable-warning=ExperimentalWarning', '--import', TSX, path.join(ROOT, c.script), ...(c.pre ?? []), ...args], { cwd, env: env(), extendEnv: false, reject: false });

/** What the commands left behind (tsx's own cache aside). */
const leftovers = () => [...fs.readdirSync(cwd), ...fs.readdirSync(tmp).filter((f) => !f.startsWith('tsx-'))];

/** A usage mistake: exit 2, nothing on stdout, one line on stderr starting with the command's name, no stack frame. */
function expectMistake(c: Cmd, r: { exitCode?: number; stdout: string; stderr: string }, line: RegExp): void {
  expect({ cmd: c.name, exitCode: r.exitCode, stdout: r.stdout, lines: r.stderr.trimEnd().split('\n').length }).toEqual({ cmd: c.name, exitCode: 2, stdout: '', lines: 1 });
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr.startsWith(`${c.name}: `)).toBe(true);
  expect(r.stderr).toMatch(line);
}

describe.each(COMMANDS)('$name', (c) => {
  test('--help and -h print the usage and every option, exit 0, start nothing', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run(c, [flag]);
      expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
      expect(r.stdout).toMatch(/^usage: /);
      expect(r.stdout).toMatch(/-h, --help +print this help and exit/);
      for (const f of c.flags) expect(r.stdout).toContain(f);
    }
    expect(leftovers()).toEqual([]);
  });

  test('an unknown option is one line naming it, exit 2', async () => {
    const r = await run(c, ['--no-such-option']);
    expectMistake(c, r, /: unknown option --no-such-option \(see --help\)$/);
    expect(leftovers()).toEqual([]);
  });

  if (c.bad) {
    const [args, line] = c.bad;
    test(`a bad value (${args.join(' ')}) is one line naming the option and what it wants, exit 2`, async () => {
      expectMistake(c, await run(c, args), line);
      expect(leftovers()).toEqual([]);
    });
  }
});

test('sim without a command, or with an unknown one, says which exist; sim --help lists them', async () => {
  const sim: Cmd = { script: 'packages/ops-testing/src/cli/sim.ts', name: 'sim', flags: [] };
  expectMistake(sim, await run(sim, []), /^sim: a command is missing: run or scenario \(see --help\)$/);
  expectMistake(sim, await run(sim, ['deploy']), /^sim: unknown command "deploy": use run or scenario/);
  const help = await run(sim, ['--help']);
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toMatch(/\n {2}run <charm> <event> \[options\] .*\n {2}scenario <file\.yaml> /);
});

test('a near miss is named: --event for --events', async () => {
  const demo = COMMANDS[0]!;
  expectMistake(demo, await run(demo, ['--event', '5']), /unknown option --event; did you mean --events\?/);
});

test('the documented npm form passes --help through: npm start -- --help', async () => {
  const r = await execa('npm', ['start', '--silent', '--', '--help'], { cwd: ROOT, reject: false, env: { ...env(), TMPDIR: tmp } });
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
  expect(r.stdout).toMatch(/^usage: npm start -- \[options\]/);
}, 30_000);
