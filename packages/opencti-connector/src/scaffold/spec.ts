/**
 * What the scaffolder is asked for (the CLI's flags), checked all at once, and the connector it
 * describes: names, type, options, upstream source and where it goes. Nothing here writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CONNECTOR_TYPES, type ConnectorType } from '../interface/schema.js';
import { KEBAB_NAME as KEBAB, kebabToPascal, ScaffoldError } from '@juju-ts/charm-tools';
import { optionsFromRows, type ConfigOption } from './options.js';
import { readConfigTables } from './readme.js';
import { readCharmcraft, type ExtraEndpoint } from './charmcraft.js';
import { DEFAULT_UPSTREAM_VERSION, UPSTREAM_REPO } from './defaults.js';

export { DEFAULT_UPSTREAM_VERSION, UPSTREAM_REPO } from './defaults.js';


const TestCaseSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9 -]*$/, 'a test name: lower-case words'),
  config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  proxy: z.object({ http: z.string().optional(), https: z.string().optional(), no: z.string().optional() }).strict().optional(),
  environment: z.record(z.string(), z.string()),
}).strict();

/** The CLI's flags, as given. */
export const ScaffoldInputSchema = z.object({
  name: z.string(),
  type: z.string(),
  displayName: z.string().optional(),
  /** Target directory, relative to `cwd` (default: connectors/<name>). */
  dir: z.string().optional(),
  /** A connector README whose configuration tables become config options. */
  fromReadme: z.string().optional(),
  /** The connector's folder in OpenCTI-Platform/connectors (default: <type folder>/<name>). */
  upstreamPath: z.string().optional(),
  /** The OpenCTI connectors release (git tag) the rock builds. */
  upstreamVersion: z.string().optional(),
  force: z.boolean().optional(),
  /** A charmcraft.yaml (an original's, or one the scaffolder wrote) whose config options, in its order, and extra `requires` the charm gets. */
  fromCharmcraft: z.string().optional(),
  /** Overrides of the environment the base class renders (src/charm.ts). */
  scope: z.string().optional(),
  logLevelCheck: z.boolean().optional(),
  booleanStyle: z.enum(['json', 'python']).optional(),
  /** The git repository the rock builds from (default: OpenCTI-Platform/connectors). */
  upstreamRepo: z.string().optional(),
  /** `generated`: the rock writes /entrypoint.sh itself (`cd <app>; python3 main.py`), for connectors that ship none. */
  entrypoint: z.enum(['upstream', 'generated']).optional(),
  /** Where the connector comes from (a citation), and notes for its README (what differs from the original). */
  origin: z.string().optional(),
  notes: z.array(z.string()).optional(),
  /** Test cases: config (and model proxy) in, the exact environment out (CONNECTOR_ID aside). */
  cases: z.array(TestCaseSchema).optional(),
});
export type ScaffoldInput = z.input<typeof ScaffoldInputSchema>;
export type TestCase = z.infer<typeof TestCaseSchema>;

/** Everything the templates need. */
export interface ConnectorSpec {
  /** kebab case, e.g. `acme-feed`. */
  name: string;
  /** `opencti-<name>-connector`: charm, container and (with `-image`) resource name. */
  charmName: string;
  /** `Opencti<Name>ConnectorCharm`. */
  className: string;
  type: ConnectorType;
  displayName: string;
  options: Record<string, ConfigOption>;
  upstream: { repo: string; version: string; path: string; installDir: string };
  /** Where the charm goes (absolute). */
  target: string;
  /** The file name of the README the options came from. */
  readme?: string;
  /** `requires` endpoints besides logging (e.g. woap's opensearch-client). */
  requires: Record<string, ExtraEndpoint>;
  overrides: { scope?: string; logLevelCheck: boolean; booleanStyle: 'json' | 'python' };
  entrypoint: 'upstream' | 'generated';
  origin?: string;
  /** Differences from the original, for the README: the fixes made on import, then the given notes. */
  notes: string[];
  cases: TestCase[];
}

export interface ResolvedSpec {
  spec: ConnectorSpec;
  /** Not fatal; the CLI prints them. */
  warnings: string[];
  /** The target exists (and --force was given). */
  exists: boolean;
}

export { kebabToPascal };

/** `acme-feed` → `Acme Feed`. */
export function displayNameOf(name: string): string {
  return name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

/** The folder of each connector type in OpenCTI-Platform/connectors. */
export function upstreamFolder(type: ConnectorType): string {
  return type.toLowerCase().replace(/_/g, '-');
}

/**
 * Check every input and work out the connector. Throws ScaffoldError listing every problem:
 * the name, the type, the display name, the README, the upstream path and version, the target.
 */
export function resolveSpec(raw: ScaffoldInput, opts: { cwd?: string } = {}): ResolvedSpec {
  const parsed = ScaffoldInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ScaffoldError(parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`));
  }
  const input = parsed.data;
  const cwd = opts.cwd ?? process.cwd();
  const problems: string[] = [];
  const warnings: string[] = [];

  const name = input.name;
  if (!KEBAB.test(name)) {
    problems.push(`name "${name}" is not kebab case: use lower-case letters, digits and single hyphens, starting with a letter (e.g. acme-feed)`);
  } else if (name.startsWith('opencti-') || name.endsWith('-connector')) {
    warnings.push(`the charm will be called opencti-${name}-connector: the name need not repeat "opencti" or "connector"`);
  }

  const typeText = input.type.toUpperCase().replace(/-/g, '_');
  const type = (CONNECTOR_TYPES as readonly string[]).includes(typeText) ? (typeText as ConnectorType) : undefined;
  if (!type) problems.push(`unknown connector type "${input.type}": use one of ${CONNECTOR_TYPES.join(', ')}`);

  const displayName = input.displayName?.trim() || displayNameOf(name);
  if (/[\r\n]|\*\//.test(displayName)) problems.push(`display name ${JSON.stringify(input.displayName)} must be one line (and not contain "*/")`);

  const version = input.upstreamVersion ?? DEFAULT_UPSTREAM_VERSION;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(version)) problems.push(`upstream version "${version}" is not a git tag name (e.g. ${DEFAULT_UPSTREAM_VERSION})`);
  const upstreamPath = input.upstreamPath ?? (type ? `${upstreamFolder(type)}/${name}` : '');
  const badPath = !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(upstreamPath) || upstreamPath.split('/').some((p) => p === '..' || p === '.');
  if (type && badPath && (input.upstreamPath !== undefined || KEBAB.test(name))) {
    problems.push(`upstream path "${upstreamPath}" must be a relative folder in the connectors repository (e.g. external-import/${name})`);
  }

  let options: Record<string, ConfigOption> = optionsFromRows([]);
  let requires: Record<string, ExtraEndpoint> = {};
  const notes: string[] = [];
  if (input.fromReadme !== undefined && input.fromCharmcraft !== undefined) problems.push('give --from-readme or --from-charmcraft, not both');
  else if (input.fromCharmcraft !== undefined) {
    const read = readCharmcraftFile(path.resolve(cwd, input.fromCharmcraft), input.fromCharmcraft, problems);
    if (read) ({ options, requires } = read), notes.push(...read.fixes);
  }
  if (input.fromReadme !== undefined && input.fromCharmcraft === undefined) {
    const file = path.resolve(cwd, input.fromReadme);
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      problems.push(`cannot read the README ${input.fromReadme}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (text !== undefined) {
      try {
        const config = readConfigTables(text, input.fromReadme);
        warnings.push(...config.warnings);
        options = optionsFromRows(config.rows);
      } catch (e) {
        if (!(e instanceof ScaffoldError)) throw e;
        problems.push(...e.problems);
      }
    }
  }

  const cases = input.cases ?? [];
  problems.push(...caseProblems(cases, options));
  if (input.scope !== undefined && !input.scope.trim()) problems.push('the forced scope (--scope) must not be empty');

  const target = path.resolve(cwd, input.dir ?? path.join('connectors', name));
  let exists = false;
  let other: string | undefined;
  // Without --dir the target comes from the name: only look at it when the name is valid.
  if (input.dir !== undefined || KEBAB.test(name)) {
    try {
      const st = fs.statSync(target);
      exists = true;
      if (!st.isDirectory()) problems.push(`target ${shown(target, cwd)} exists and is not a directory`);
      else if ((other = otherProject(target, `opencti-${name}-connector`))) {
        problems.push(`target ${shown(target, cwd)} holds another project (${other}): give the charm a directory of its own, e.g. connectors/${KEBAB.test(name) ? name : '<name>'}`);
      } else if (!input.force) problems.push(`target ${shown(target, cwd)} already exists; pass --force to replace the files the scaffolder writes there (other files are kept)`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cannot use target ${shown(target, cwd)}: ${(e as Error).message}`);
    }
  }
  if (problems.length) throw new ScaffoldError(problems);
  const installDir = `opencti-connector-${path.posix.basename(upstreamPath)}`;
  return {
    spec: {
      name,
      charmName: `opencti-${name}-connector`,
      className: `Opencti${kebabToPascal(name)}ConnectorCharm`,
      type: type!,
      displayName,
      options,
      upstream: { repo: input.upstreamRepo ?? UPSTREAM_REPO, version, path: upstreamPath, installDir },
      target,
      ...(input.fromReadme !== undefined ? { readme: path.basename(input.fromReadme) } : {}),
      requires,
      overrides: { ...(input.scope !== undefined ? { scope: input.scope } : {}), logLevelCheck: input.logLevelCheck ?? false, booleanStyle: input.booleanStyle ?? 'json' },
      entrypoint: input.entrypoint ?? 'upstream',
      ...(input.origin !== undefined ? { origin: input.origin } : {}),
      // Notes the charmcraft.yaml import found (a fixed type) are dropped once the file is ours: keep the given ones first.
      notes: [...(input.notes ?? []), ...notes.filter((n) => !(input.notes ?? []).includes(n))],
      cases,
    },
    warnings,
    exists,
  };
}

/** A charmcraft.yaml file's options; its problems go to `problems`. */
function readCharmcraftFile(file: string, shownName: string, problems: string[]): ReturnType<typeof readCharmcraft> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    problems.push(`cannot read the charmcraft.yaml ${shownName}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return undefined;
  }
  try {
    return readCharmcraft(text, shownName);
  } catch (e) {
    if (!(e instanceof ScaffoldError)) throw e;
    problems.push(...e.problems);
    return undefined;
  }
}

/** Each case sets only declared options, with values of their types, and expects an environment. */
function caseProblems(cases: readonly TestCase[], options: Record<string, ConfigOption>): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) problems.push(`test case "${c.name}" is given twice`);
    names.add(c.name);
    for (const [key, value] of Object.entries(c.config)) {
      const option = options[key];
      if (!option) problems.push(`test case "${c.name}": config "${key}" is not an option of the charm`);
      else if (option.type === 'boolean' ? typeof value !== 'boolean' : option.type === 'string' ? typeof value !== 'string' : typeof value !== 'number') {
        problems.push(`test case "${c.name}": config "${key}" is ${JSON.stringify(value)}, not a ${option.type}`);
      }
    }
  }
  return problems;
}

/**
 * The package.json name of a project in `dir` that is not this charm, if any: the scaffolder
 * writes package.json, README.md and the like, so even --force must not replace another
 * project's (a checkout's root, say).
 */
function otherProject(dir: string, charmName: string): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === charmName ? undefined : `package.json "${String(pkg.name)}"`;
  } catch {
    return undefined;
  }
}

/** A path as the user would write it: relative to cwd when inside it. */
export function shown(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
