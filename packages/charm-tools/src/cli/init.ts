#!/usr/bin/env node
/**
 * `juju-ts-init <name> [--dir DIR] [--force]`: a new plain charm project (what `charmcraft init`
 * gives a Python author): charmcraft.yaml, src/charm.ts, a test, package.json and the tool configs.
 */
import path from 'node:path';
import { nextStep, renderPlainCharm, ScaffoldError, writeFiles } from '../init/index.js';
import { command, UsageError, usageLine, type CommandSpec, invocationDir } from './args.js';

const SPEC: CommandSpec = {
  name: 'juju-ts-init',
  usage: 'juju-ts-init <name> [options]',
  summary: `Writes a new Kubernetes charm project in TypeScript: charmcraft.yaml (a workload container, two
config options, the parts that build it), src/charm.ts, tests/charm.test.ts, package.json (the
framework packages; build, test, sim and pack scripts), tsconfig.json, jest.config.js and a README.`,
  positionals: [{ name: '<name>', help: "the charm's name in kebab case, e.g. my-app" }],
  options: {
    dir: { type: 'string', short: 'd', value: 'DIR', help: 'where to write the project (default: ./<name>)' },
    force: { type: 'boolean', short: 'f', help: 'the folder exists: replace the files this command writes there' },
  },
  footer: 'Exit codes: 0 written, 2 bad usage or input (nothing is written), 1 anything else.',
};

const cwd = invocationDir('init');

const opts = await command(SPEC, process.argv.slice(2), (a) => {
  if (a.positionals.length !== 1) throw new UsageError(a.positionals.length ? `one charm name expected, got ${a.positionals.length}` : 'the charm name is missing');
  const name = a.positionals[0]!;
  return { name, dir: path.resolve(cwd, a.string('dir') ?? name), force: a.flag('force') };
});

try {
  const files = renderPlainCharm({ name: opts.name });
  const written = writeFiles(opts.dir, files, { replace: opts.force });
  const where = path.relative(cwd, written.target) || '.';
  console.log(`wrote ${opts.name} to ${where}/`);
  for (const f of written.files) console.log(`  ${f}${written.replaced.includes(f) ? '  (replaced)' : ''}`);
  console.log(nextStep(written.target, cwd));
} catch (e) {
  if (!(e instanceof ScaffoldError)) throw e;
  for (const p of e.problems) console.error(usageLine(SPEC, new UsageError(`${p} (nothing was written)`, false)));
  process.exitCode = 2;
}
