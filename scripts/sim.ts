/**
 * The simulator's command line: `npm run sim -- <command> ...` (see docs/simulation.md).
 *
 *   run <charm> <event> [--state FILE] [--out FILE] [--remote-unit U] [--param K=V]... [--app NAME] [--unit-id N] [--root-dir DIR]
 *   scenario <file.yaml>
 *
 * Exit codes: 0 done, 1 the hook or scenario failed, 2 bad usage or input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { CharmMeta } from '@juju-ts/ops';
import { assertConsistent, charmDirectory, InconsistentStateError, loadScenario, parseEventSpec, parseState, runCharm, runScenario, summarizeRun } from '@juju-ts/ops-testing';

const USAGE = `usage:
  npm run sim -- run <charm> <event> [options]   run one hook through the charm's dispatch
      <charm>   a .charm file, a built or unpacked charm directory (with dispatch), or a project with charmcraft.yaml
      <event>   a Juju hook name: install, config-changed, <endpoint>-relation-changed[:<id>],
                secret-changed:<id|label>, <container>-pebble-ready, action:<name>, ...
      --state FILE        the State before the hook (YAML or JSON; default: empty)
      --out FILE          write the State after the hook (YAML, or JSON for .json)
      --remote-unit U     remote unit for relation events (number or app/n; "none" for an app-data change)
      --param K=V         action parameter (repeatable)
      --app NAME          application name (default: the charm name)
      --unit-id N         unit number (default 0)
      --root-dir DIR      Pebble sockets at DIR/charm/containers/<container>/pebble.socket (default /: Juju's
                          own path, which ops charms read; another DIR needs no root, and the charm finds it
                          through CHARM_CONTAINERS_DIR)
  npm run sim -- scenario <file.yaml>            run a model scenario (deploy, integrate, config, ...)`;

class UsageError extends Error {}
/** Input Juju could never run (the usage was fine): one line per problem, no usage text. */
class InputError extends Error {}

/**
 * The charm's metadata now, and its runnable directory on demand: a project is built only once the
 * event and state have been checked against its metadata.
 */
async function openCharm(spec: string): Promise<{ meta: CharmMeta; dir: () => Promise<string>; cleanup: () => void }> {
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
        throw new UsageError((e as Error).message);
      }
    };
    return { meta, dir, cleanup };
  } catch (e) {
    cleanup();
    throw new UsageError((e as Error).message);
  }
}

function readStateFile(file: string | undefined): unknown {
  if (!file) return {};
  try {
    return parseYaml(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (e) {
    throw new UsageError(`cannot read state file ${file}: ${(e as Error).message}`);
  }
}

/** Juju's socket directory under `rootDir`, or a clear refusal where we may not create it. */
function makeContainersDir(rootDir: string): void {
  const dir = path.join(rootDir, 'charm', 'containers');
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError(
      `cannot create ${dir} for the Pebble sockets (${(e as NodeJS.ErrnoException).code}): run as root, or pass --root-dir DIR (then only a charm that reads CHARM_CONTAINERS_DIR finds Pebble)`,
    );
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      state: { type: 'string' },
      out: { type: 'string' },
      'remote-unit': { type: 'string' },
      param: { type: 'string', multiple: true },
      app: { type: 'string' },
      'unit-id': { type: 'string' },
      'root-dir': { type: 'string', default: '/' },
    },
  });
  const [charm, eventSpec, ...extra] = positionals;
  if (!charm || !eventSpec || extra.length) throw new UsageError('run needs exactly <charm> and <event>');
  let state;
  try {
    state = parseState(readStateFile(values.state), values.state ?? 'state');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const params: Record<string, unknown> = {};
  for (const kv of values.param ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param wants KEY=VALUE, got "${kv}"`);
    const v = kv.slice(eq + 1);
    params[kv.slice(0, eq)] = /^(true|false|-?\d+(\.\d+)?)$/.test(v) ? JSON.parse(v) : v;
  }
  const unitId = values['unit-id'] === undefined ? 0 : Number(values['unit-id']);
  if (!Number.isInteger(unitId) || unitId < 0) throw new UsageError(`--unit-id must be a whole number, got ${values['unit-id']}`);
  const { meta, dir, cleanup } = await openCharm(charm);
  try {
    let event;
    try {
      event = parseEventSpec(eventSpec, state, { remoteUnit: values['remote-unit'], params, meta });
      assertConsistent(meta, state, event);
    } catch (e) {
      if (e instanceof InconsistentStateError) throw new InputError(e.problems.join('\n'));
      throw new UsageError((e as Error).message);
    }
    const rootDir = path.resolve(values['root-dir']!);
    if (state.containers.length) makeContainersDir(rootDir);
    const r = await runCharm({ charmDir: await dir(), event, state, appName: values.app, unitId, containers: { rootDir } });
    for (const line of summarizeRun({ before: state, after: r.state, event, exitCode: r.exitCode, logs: r.logs, stderr: r.stderr, durationMs: r.durationMs })) console.log(line);
    if (event.action) {
      if (Object.keys(r.actionResults).length) console.log(`  action results: ${JSON.stringify(r.actionResults)}`);
      if (r.actionFailure !== undefined) console.log(`  action failed: ${r.actionFailure}`);
    }
    if (values.out) {
      fs.writeFileSync(values.out, values.out.endsWith('.json') ? `${JSON.stringify(r.state, null, 2)}\n` : toYaml(r.state));
      console.log(`  state written to ${values.out}`);
    }
    return r.exitCode === 0 && r.actionFailure === undefined ? 0 : 1;
  } finally {
    cleanup();
  }
}

async function scenario(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const [file, ...extra] = positionals;
  if (!file || extra.length) throw new UsageError('scenario needs exactly one <file.yaml>');
  let sc;
  try {
    sc = loadScenario(file);
  } catch (e) {
    throw new UsageError((e as Error).message);
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

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  try {
    if (command === 'run') return await run(rest);
    if (command === 'scenario') return await scenario(rest);
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (e) {
    if (e instanceof InputError) {
      for (const line of e.message.split('\n')) console.error(`error: ${line}`);
      return 2;
    }
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main();
