/**
 * The connector scaffolder (docs/scaffolding.md): a connector charm from a name, a type and
 * optionally the connector's README, in one call.
 *
 *   const plan = planConnector({ name: 'acme-feed', type: 'EXTERNAL_IMPORT', fromReadme: 'README.md' });
 *   writeConnector(plan);   // connectors/acme-feed/...
 *
 * `planConnector` checks every input and renders every file before anything touches the disk, so
 * bad input (ScaffoldError) writes nothing.
 */
import { renderConnector } from './render.js';
import { resolveSpec, type ConnectorSpec, type ScaffoldInput, type TestCase } from './spec.js';
import { writeFiles, type WriteResult } from '@juju-ts/charm-tools';

export { ScaffoldError } from '@juju-ts/charm-tools';
export { readConfigTables, plainText, type ReadmeRow, type ReadmeConfig } from './readme.js';
export { optionsFromRows, optionFromRow, inferType, sortOptions, constantToKebab, BASE_OPTIONS, CHARM_MANAGED_ENV, type ConfigOption, type OptionType } from './options.js';
export { resolveSpec, shown, displayNameOf, kebabToPascal, upstreamFolder, DEFAULT_UPSTREAM_VERSION, type ConnectorSpec, type ScaffoldInput, type TestCase } from './spec.js';
export { renderConnector } from './render.js';
export { readCharmcraft, type CharmcraftImport, type ExtraEndpoint } from './charmcraft.js';
export { writeFiles, type WriteResult } from '@juju-ts/charm-tools';

export interface ConnectorPlan {
  spec: ConnectorSpec;
  /** Relative path → text. */
  files: Record<string, string>;
  warnings: string[];
  /** The target exists and --force allows replacing the generated files in it. */
  replace: boolean;
}

/** Check the input and render the charm; nothing is written. Throws ScaffoldError on bad input. */
export function planConnector(input: ScaffoldInput, opts: { cwd?: string } = {}): ConnectorPlan {
  const { spec, warnings, exists } = resolveSpec(input, opts);
  return { spec, files: renderConnector(spec), warnings, replace: exists };
}

export function writeConnector(plan: ConnectorPlan): WriteResult {
  return writeFiles(plan.spec.target, plan.files, { replace: plan.replace });
}

/** planConnector, then writeConnector. */
export function scaffoldConnector(input: ScaffoldInput, opts: { cwd?: string } = {}): ConnectorPlan & { written: WriteResult } {
  const plan = planConnector(input, opts);
  return { ...plan, written: writeConnector(plan) };
}
