#!/usr/bin/env node
/**
 * The simulator's command line: `npm run sim -- <command> ...` (see docs/simulation.md).
 *
 *   run <charm> <event> [--state FILE] [--out FILE] [--remote-unit U] [--param K=V]... [--app NAME] [--unit-id N] [--root-dir DIR]
 *   scenario <file.yaml>
 *
 * `npm run sim -- --help`, `run --help` and `scenario --help` print the usage.
 * Exit codes: 0 done, 1 the hook or scenario failed, 2 bad usage or input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CharmMeta } from '@juju-ts/ops';
import { type CommandSpec, parseCommand, UsageError, usageLine } from '@juju-ts/charm-tools/cli';

// The simulator's modules (the framework, zod, yaml, esbuild, execa) are imported where a command
// needs them, once its arguments are checked: --help and a usage mistake answer in a fraction of
// the start-up a run takes. Each command imports the modules it uses, not the package's index.

const EXIT_CODES = 'Exit codes: 0 done, 1 the hook or scenario failed, 2 bad usage or input.';

const RUN: CommandSpec = {
  name: 'sim run',
  usage: 'npm run sim -- run <charm> <event> [options]',
  summary: "Runs one hook through the charm's dispatch, exactly as Juju runs it, against a State, and prints\nwhat the hook changed.",
  positionals: [
    { name: '<charm>', help: 'a .charm file, a built or unpacked charm directory (with dispatch), or a project with charmcraft.yaml' },
    { name: '<event>', help: 'a Juju hook name: install, config-changed, <endpoint>-relation-changed[:<id>],\nsecret-changed:<id|label>, <container>-pebble-ready, action:<name>, ...' },
  ],
  options: {
    state: { type: 'string', value: 'FILE', help: 'the State before the hook (YAML or JSON; default: empty)' },
    out: { type: 'string', value: 'FILE', help: 'write the State after the hook (YAML, or JSON for .json)' },
    'remote-unit': { type: 'string', value: 'U', help: 'remote unit for relation events (number or app/n; "none" for an app-data change)' },
    param: { type: 'string', multiple: true, value: 'K=V', help: 'an action parameter' },
    app: { type: 'string', value: 'NAME', help: 'application name (default: the charm name)' },
    'unit-id': { type: 'string', default: '0', value: 'N', help: 'unit number' },
    'root-dir': {
      type: 'string',
      default: '/',
      value: 'DIR',
      help: "Pebble sockets at DIR/charm/containers/<container>/pebble.socket (/ is Juju's own path,\nwhich ops charms read; another DIR needs no root, and the charm finds it through\nCHARM_CONTAINERS_DIR)",
    },
  },
  footer: EXIT_CODES,
};

const SCENARIO: CommandSpec = {
  name: 'sim scenario',
  usage: 'npm run sim -- scenario <file.yaml>',
  summary: 'Runs a model scenario (deploy, integrate, config, secrets, expectations, ...) and prints every step and hook.',
  positionals: [{ name: '<file.yaml>', help: 'the scenario (docs/simulation.md describes its steps)' }],
  options: {},
  footer: EXIT_CODES,
};

const USAGE = `usage: npm run sim -- <command> ...

The model simulator's command line (docs/simulation.md).

commands:
  run <charm> <event> [options]   run one hook through the charm's dispatch
  scenario <file.yaml>            run a model scenario (deploy, integrate, config, ...)

npm run sim -- run --help (or scenario --help) lists that command's arguments and options.
${EXIT_CODES}`;

/** A problem with the command's input (a file, the charm, the event), not with its options: no pointer to --help. */
const inputError = (e: unknown) => new UsageError((e as Error).message, false);

/** Input Juju could never run (the usage was fine): one line per problem. */
class InputError extends UsageError {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'), false);
  }
}

/**
 * The charm's metadata now, and its runnable directory on demand: a project is built only once the
 * event and state have been checked against its metadata.
 */
async function openCharm(spec: string): Promise<{ meta: CharmMeta; dir: () => Promise<string>; cleanup: () => void }> {
  const { CharmMeta } = await import('@juju-ts/ops');
  // The builder (esbuild, through model.js) only when a directory is wanted: a project's event
  // and state are refused from its charmcraft.yaml alone.
  const charmDirectory = async (charm: string, into: string) => (await import('../model.js')).charmDirectory(charm, into);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-charm-'));
  const cleanup = () => fs.rmSync(work, { recursive: true, force: true });
  try {
    const p = path.resolve(spec);
    const isProject = fs.existsSync(path.join(p, 'charmcraft.yaml')) && !fs.existsSync(path.join(p, 'dispatch'));
    const ready = isProject ? undefined : await charmDirectory(spec, work);
    const meta = await CharmMeta.load(ready ?? p);
    const dir = async () => {
      try {
        return ready ?? (await charmDirectory(spec, work));
      } catch (e) {
        throw inputError(e);
      }
    };
    return { meta, dir, cleanup };
  } catch (e) {
    cleanup();
    throw inputError(e);
  }
}

/** Juju's socket directory under `rootDir`, or a clear refusal where we may not create it. */
function makeContainersDir(rootDir: string): void {
  const dir = path.join(rootDir, 'charm', 'containers');
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError([
      `cannot create ${dir} for the Pebble sockets (${(e as NodeJS.ErrnoException).code}): run as root, or pass --root-dir DIR (then only a charm that reads CHARM_CONTAINERS_DIR finds Pebble)`,
    ]);
  }
}

async function readStateFile(file: string | undefined): Promise<unknown> {
  if (!file) return {};
  const { parse: parseYaml } = await import('yaml');
  try {
    return parseYaml(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (e) {
    throw new UsageError(`cannot read state file ${file}: ${(e as Error).message}`, false);
  }
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(RUN, argv);
  if (parsed.kind === 'help') return help(parsed.text);
  const a = parsed.args;
  const [charm, eventSpec, ...extra] = a.positionals;
  if (!charm || !eventSpec || extra.length) throw new UsageError(`needs exactly two arguments, <charm> and <event> (got ${a.positionals.length})`);
  // The options first, then the files they name: a mistyped option is answered before anything is read.
  const params: Record<string, unknown> = {};
  for (const kv of a.strings('param')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param wants KEY=VALUE (got ${kv})`);
    const v = kv.slice(eq + 1);
    params[kv.slice(0, eq)] = /^(true|false|-?\d+(\.\d+)?)$/.test(v) ? JSON.parse(v) : v;
  }
  const unitId = a.int('unit-id', 0);
  const out = a.string('out');
  const [{ assertConsistent, InconsistentStateError, parseState }, { parseEventSpec, summarizeRun }] = await Promise.all([import('../state.js'), import('../summary.js')]);
  const stateFile = a.string('state');
  let state;
  try {
    state = parseState(await readStateFile(stateFile), stateFile ?? 'state');
  } catch (e) {
    throw e instanceof UsageError ? e : inputError(e);
  }
  const { meta, dir, cleanup } = await openCharm(charm);
  try {
    let event;
    try {
      event = parseEventSpec(eventSpec, state, { remoteUnit: a.string('remote-unit'), params, meta });
      assertConsistent(meta, state, event);
    } catch (e) {
      throw e instanceof InconsistentStateError ? new InputError(e.problems) : inputError(e);
    }
    const rootDir = path.resolve(a.string('root-dir')!);
    if (state.containers.length) makeContainersDir(rootDir);
    const { runCharm } = await import('../dispatch.js');
    const r = await runCharm({ charmDir: await dir(), event, state, appName: a.string('app'), unitId, containers: { rootDir } });
    for (const line of summarizeRun({ before: state, after: r.state, event, exitCode: r.exitCode, logs: r.logs, stderr: r.stderr, durationMs: r.durationMs })) console.log(line);
    if (event.action) {
      if (Object.keys(r.actionResults).length) console.log(`  action results: ${JSON.stringify(r.actionResults)}`);
      if (r.actionFailure !== undefined) console.log(`  action failed: ${r.actionFailure}`);
    }
    if (out) {
      const { stringify: toYaml } = await import('yaml');
      fs.writeFileSync(out, out.endsWith('.json') ? `${JSON.stringify(r.state, null, 2)}\n` : toYaml(r.state));
      console.log(`  state written to ${out}`);
    }
    return r.exitCode === 0 && r.actionFailure === undefined ? 0 : 1;
  } finally {
    cleanup();
  }
}

async function scenario(argv: string[]): Promise<number> {
  const parsed = parseCommand(SCENARIO, argv);
  if (parsed.kind === 'help') return help(parsed.text);
  const [file, ...extra] = parsed.args.positionals;
  if (!file || extra.length) throw new UsageError(`needs exactly one argument, <file.yaml> (got ${parsed.args.positionals.length})`);
  const { loadScenario, runScenario } = await import('../scenario.js');
  let sc;
  try {
    sc = loadScenario(file);
  } catch (e) {
    throw inputError(e);
  }
  try {
    const r = await runScenario(sc, {
      baseDir: path.dirname(path.resolve(file)),
      onStep: (line) => console.log(line),
      onHook: (h) => console.log(`    ${h.unit} ${h.hook} → ${h.exitCode === 0 ? `${h.status.name}${h.status.message ? ` "${h.status.message}"` : ''}` : `FAILED (exit ${h.exitCode})`}`),
    });
    console.log(`scenario passed: ${sc.steps.length} steps, ${r.model.history.length} hooks`);
    return 0;
  } catch (e) {
    console.error(`scenario failed: ${(e as Error).message}`);
    return 1;
  }
}

function help(text: string): number {
  console.log(text);
  return 0;
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const spec = command === 'run' ? RUN : command === 'scenario' ? SCENARIO : { ...RUN, name: 'sim' };
  try {
    if (command === 'run') return await run(rest);
    if (command === 'scenario') return await scenario(rest);
    if (command === 'help' || command === '--help' || command === '-h') return help(USAGE);
    if (command === undefined) throw new UsageError('a command is missing: run or scenario');
    throw new UsageError(`unknown command "${command}": use run or scenario`);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e instanceof InputError) for (const p of e.problems) console.error(usageLine(spec, new UsageError(p, false)));
    else console.error(usageLine(spec, e));
    return 2;
  }
}

process.exitCode = await main();
