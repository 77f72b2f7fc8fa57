#!/usr/bin/env node
/**
 * The connector scaffolder's command line (docs/scaffolding.md):
 *
 *   npm run new -- <name> --type <TYPE> [--from-readme FILE] [--display-name NAME] [--dir DIR] [--force] ...
 *   npm run new -- --help
 *
 * Exit codes: 0 written, 2 bad usage or input (nothing written), 1 anything else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Args, type CommandSpec, parseCommand, UsageError, usageLine, invocationDir } from '@juju-ts/charm-tools/cli';
import { CONNECTOR_TYPES } from '../interface/types.js';
import { DEFAULT_UPSTREAM_VERSION } from '../scaffold/defaults.js';
import type { ScaffoldError, ScaffoldInput } from '../scaffold/index.js';

/** The scaffolder (zod, the README and charmcraft.yaml readers, the charm tools): loaded after --help and the option parsing. */
type Scaffolder = typeof import('../scaffold/index.js');

const SPEC: CommandSpec = {
  name: 'new',
  usage: 'opencti-new-connector <name> --type <TYPE> [options]   (in this checkout: npm run new -- ...)',
  summary: `Writes a connector charm (charmcraft.yaml, src/charm.ts, rock/rockcraft.yaml, tests/charm.test.ts,
README.md, and package.json, tsconfig.json, jest.config.js: a project of its own on the framework
packages) to connectors/<name>/ (docs/scaffolding.md).`,
  positionals: [{ name: '<name>', help: "the connector's name in kebab case; the charm is opencti-<name>-connector" }],
  options: {
    type: { type: 'string', short: 't', value: 'TYPE', help: `required: ${CONNECTOR_TYPES.join(', ')}` },
    'from-readme': { type: 'string', short: 'r', value: 'FILE', help: "the connector's README: its configuration table(s) become config options" },
    'display-name': { type: 'string', short: 'n', value: 'NAME', help: 'the name people read (default: from <name>, acme-feed → "Acme Feed")' },
    dir: { type: 'string', short: 'd', value: 'DIR', help: 'where to write the charm (default: connectors/<name>)' },
    'upstream-path': { type: 'string', value: 'PATH', help: "the connector's folder in OpenCTI-Platform/connectors\n(default: <type folder>/<name>, e.g. external-import/acme-feed)" },
    'upstream-version': { type: 'string', default: DEFAULT_UPSTREAM_VERSION, value: 'TAG', help: 'the connectors release the rock builds' },
    'from-charmcraft': { type: 'string', short: 'c', value: 'FILE', help: "a charmcraft.yaml (e.g. the Python original's): its config options, in its order, and extra requires" },
    scope: { type: 'string', value: 'SCOPE', help: 'CONNECTOR_SCOPE is always SCOPE, whatever connector-scope says' },
    'log-level-check': { type: 'boolean', help: 'a connector-log-level other than debug, info, warn or error becomes info' },
    'boolean-style': { type: 'string', value: 'STYLE', help: 'json (true/false, the default) or python (True/False)' },
    'upstream-repo': { type: 'string', value: 'URL', help: 'the git repository the rock builds from (default: OpenCTI-Platform/connectors)' },
    entrypoint: { type: 'string', value: 'KIND', help: 'upstream (the connector ships entrypoint.sh; the default) or generated' },
    cases: { type: 'string', value: 'FILE', help: 'a JSON list of test cases {name, config, proxy?, environment}: the test asserts each plan' },
    origin: { type: 'string', value: 'TEXT', help: 'where the connector comes from, for its README' },
    note: { type: 'string', multiple: true, value: 'TEXT', help: "a difference from the original, for its README" },
    force: { type: 'boolean', short: 'f', help: 'the target exists: replace the files the scaffolder writes there' },
  },
  footer: 'Exit codes: 0 written, 2 bad usage or input (nothing is written), 1 anything else.',
};

/**
 * The scaffolder's input from the command line, but for the --cases file (read once the scaffolder
 * is loaded, its errors are the scaffolder's); the values themselves are checked by planConnector.
 */
function read(a: Args) {
  if (a.positionals.length !== 1) {
    throw new UsageError(a.positionals.length ? `one connector name expected, got ${a.positionals.length}: ${a.positionals.join(' ')}` : 'the connector name is missing');
  }
  const type = a.string('type');
  if (type === undefined) throw new UsageError(`--type is missing: one of ${CONNECTOR_TYPES.join(', ')}`);
  return {
    name: a.positionals[0]!,
    type,
    displayName: a.string('display-name'),
    dir: a.string('dir'),
    fromReadme: a.string('from-readme'),
    upstreamPath: a.string('upstream-path'),
    upstreamVersion: a.string('upstream-version'),
    fromCharmcraft: a.string('from-charmcraft'),
    scope: a.string('scope'),
    logLevelCheck: a.flag('log-level-check') || undefined,
    booleanStyle: oneOf(a.string('boolean-style'), '--boolean-style', ['json', 'python'] as const),
    upstreamRepo: a.string('upstream-repo'),
    entrypoint: oneOf(a.string('entrypoint'), '--entrypoint', ['upstream', 'generated'] as const),
    casesFile: a.string('cases'),
    origin: a.string('origin'),
    notes: a.strings('note').length ? a.strings('note') : undefined,
    force: a.flag('force'),
  };
}

function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  throw new UsageError(`${flag} ${value}: use one of ${allowed.join(', ')}`);
}

/** The --cases file's JSON; planConnector checks its shape and values. */
function readCases(file: string | undefined, { ScaffoldError }: Scaffolder): ScaffoldInput['cases'] {
  if (file === undefined) return undefined;
  try {
    return JSON.parse(fs.readFileSync(path.resolve(invocationDir('new'), file), 'utf8'));
  } catch (e) {
    throw new ScaffoldError([`cannot read the cases ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`]);
  }
}

/** Input problems (as opposed to usage mistakes) say that nothing was written. */
function scaffoldErrorText(e: ScaffoldError): string {
  if (e.problems.length === 1) return `new: ${e.problems[0]} (nothing was written)`;
  return `new: nothing was written, ${e.problems.length} problems:\n${e.problems.map((p) => `  - ${p}`).join('\n')}`;
}

async function main(argv: string[]): Promise<number> {
  const cwd = invocationDir('new');
  let scaffolder: Scaffolder | undefined;
  try {
    const parsed = parseCommand(SPEC, argv);
    if (parsed.kind === 'help') {
      console.log(parsed.text);
      return 0;
    }
    const { casesFile, ...input } = read(parsed.args);
    const [tools, loaded] = await Promise.all([import('@juju-ts/charm-tools'), import('../scaffold/index.js')]);
    scaffolder = loaded;
    const { planConnector, writeConnector, shown } = scaffolder;
    const plan = planConnector({ ...input, cases: readCases(casesFile, scaffolder) }, { cwd });
    for (const w of plan.warnings) console.error(`warning: ${w}`);
    const written = writeConnector(plan);
    const where = shown(written.target, cwd);
    const { spec } = plan;
    const options = Object.entries(spec.options);
    console.log(`wrote ${spec.charmName} (${spec.type}) to ${where}/`);
    for (const f of written.files) console.log(`  ${f}${written.replaced.includes(f) ? '  (replaced)' : ''}`);
    console.log(`config options (${options.length}): ${options.map(([n, o]) => `${n}${o.optional ? '' : '*'}`).join(', ')}  (* required)`);
    console.log(tools.nextStep(written.target, cwd));
    return 0;
  } catch (e) {
    if (e instanceof UsageError || (scaffolder && e instanceof scaffolder.ScaffoldError)) {
      console.error(e instanceof UsageError ? usageLine(SPEC, e) : scaffoldErrorText(e));
      return 2;
    }
    console.error(`new: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
