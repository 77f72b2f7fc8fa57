/**
 * The connector scaffolder's command line (docs/scaffolding.md):
 *
 *   npm run new -- <name> --type <TYPE> [--from-readme FILE] [--display-name NAME] [--dir DIR] [--force] ...
 *
 * Exit codes: 0 written, 2 bad usage or input (nothing written), 1 anything else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CONNECTOR_TYPES } from '@juju-ts/opencti-connector/interface';
import { DEFAULT_UPSTREAM_VERSION, planConnector, ScaffoldError, writeConnector } from '@juju-ts/opencti-connector/scaffold';
import { shown } from '@juju-ts/opencti-connector/scaffold';

const USAGE = `usage: npm run new -- <name> --type <TYPE> [options]

Writes a connector charm (charmcraft.yaml, src/charm.ts, rock/rockcraft.yaml, tests/charm.test.ts,
README.md) to connectors/<name>/ of this checkout.

  <name>                   the connector's name in kebab case; the charm is opencti-<name>-connector
  -t, --type TYPE          ${CONNECTOR_TYPES.join(', ')}
  -r, --from-readme FILE   the connector's README: its configuration table(s) become config options
  -n, --display-name NAME  the name people read (default: from <name>, acme-feed → "Acme Feed")
  -d, --dir DIR            where to write the charm (default: connectors/<name> in this checkout)
  --upstream-path PATH     the connector's folder in OpenCTI-Platform/connectors
                           (default: <type folder>/<name>, e.g. external-import/acme-feed)
  --upstream-version TAG   the connectors release the rock builds (default: ${DEFAULT_UPSTREAM_VERSION})
  -f, --force              the target exists: replace the files the scaffolder writes there
  -h, --help               this text

Exit codes: 0 written, 2 bad usage or input (nothing is written), 1 anything else.`;

class UsageError extends Error {}

/** The nearest folder above `dir` whose node_modules holds the framework packages, if any. */
function workspaceRoot(dir: string): string | undefined {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'node_modules', '@juju-ts', 'ops', 'package.json'))) return d;
  }
  return undefined;
}

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        type: { type: 'string', short: 't' },
        'from-readme': { type: 'string', short: 'r' },
        'display-name': { type: 'string', short: 'n' },
        dir: { type: 'string', short: 'd' },
        'upstream-path': { type: 'string' },
        'upstream-version': { type: 'string' },
        force: { type: 'boolean', short: 'f' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length ? `one connector name expected, got ${positionals.length}: ${positionals.join(' ')}` : 'the connector name is missing');
  }
  if (values.type === undefined) throw new UsageError(`--type is missing: one of ${CONNECTOR_TYPES.join(', ')}`);
  return {
    name: positionals[0]!,
    type: values.type,
    displayName: values['display-name'],
    dir: values.dir,
    fromReadme: values['from-readme'],
    upstreamPath: values['upstream-path'],
    upstreamVersion: values['upstream-version'],
    force: values.force ?? false,
  };
}

function main(argv: string[]): number {
  // `npm run new` runs in the package root; INIT_CWD is where the user typed the command.
  const cwd = (process.env.npm_lifecycle_event === 'new' && process.env.INIT_CWD) || process.cwd();
  try {
    const input = parse(argv);
    if (!input) {
      console.log(USAGE);
      return 0;
    }
    const plan = planConnector(input, { cwd });
    for (const w of plan.warnings) console.error(`warning: ${w}`);
    const written = writeConnector(plan);
    const where = shown(written.target, cwd);
    const { spec } = plan;
    const options = Object.entries(spec.options);
    console.log(`wrote ${spec.charmName} (${spec.type}) to ${where}/`);
    for (const f of written.files) console.log(`  ${f}${written.replaced.includes(f) ? '  (replaced)' : ''}`);
    console.log(`config options (${options.length}): ${options.map(([n, o]) => `${n}${o.optional ? '' : '*'}`).join(', ')}  (* required)`);
    const checkout = workspaceRoot(written.target);
    // Inside a checkout that has the framework packages (this project's), its test command runs
    // the charm's test; elsewhere the charm installs them itself.
    console.log(checkout ? `next: npm test -- ${path.relative(checkout, written.target)}${checkout === path.resolve(cwd) ? "" : `  (from ${checkout})`}` : `next: cd ${where} && npm install && npm test`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ScaffoldError) {
      console.error(`error: ${e.message}\nnothing was written.`);
      return 2;
    }
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
