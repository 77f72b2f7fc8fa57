/**
 * Config options (and extra endpoints) read from an existing charm's charmcraft.yaml: the Python
 * original's (canonical/opencti-operator `connectors/<dir>/charmcraft.yaml`) or one this
 * scaffolder wrote, so that regenerating a connector from its own charmcraft.yaml is a fixed point.
 *
 * The options keep the order the file declares them in (the Python base renders the environment in
 * that order, and people read them so). Nothing is added: an original without `connector-scope`
 * has none. `optional` absent means not required, as the Python base reads it
 * (`config_meta.get("optional") is False`).
 */
import { parse as parseYaml } from 'yaml';
import { ScaffoldError } from '@juju-ts/charm-tools';
import type { ConfigOption, OptionType } from './options.js';

/** An endpoint besides the two every connector has (opencti-connector, logging). */
export interface ExtraEndpoint {
  interface: string;
  limit?: number;
  optional?: boolean;
}

export interface CharmcraftImport {
  options: Record<string, ConfigOption>;
  /** `requires` endpoints other than `logging`, in the file's order. */
  requires: Record<string, ExtraEndpoint>;
  /** What was fixed on the way in, one line each (they also go to the connector's README). */
  fixes: string[];
}

const TYPES: readonly OptionType[] = ['string', 'int', 'boolean', 'float'];
/** Types charmcraft does not document but that mean one it does. */
const TYPE_FIXES: Readonly<Record<string, OptionType>> = { integer: 'int', bool: 'boolean', str: 'string' };
/** The endpoints the scaffolder's template declares itself. */
const TEMPLATE_ENDPOINTS = new Set(['logging', 'opencti-connector']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fitsType(type: OptionType, value: unknown): boolean {
  if (type === 'string') return typeof value === 'string';
  if (type === 'boolean') return typeof value === 'boolean';
  if (type === 'int') return typeof value === 'number' && Number.isInteger(value);
  return typeof value === 'number';
}

/** One option; problems and fixes name it. */
function readOption(name: string, raw: unknown, where: string, problems: string[], fixes: string[]): ConfigOption | undefined {
  if (!isRecord(raw)) {
    problems.push(`${where}: option "${name}" must be a mapping (type, default, description, optional)`);
    return undefined;
  }
  let type = raw.type as OptionType | undefined;
  const fix = typeof raw.type === 'string' ? TYPE_FIXES[raw.type] : undefined;
  if (fix) {
    fixes.push(`option \`${name}\` was declared \`type: ${String(raw.type)}\`, which charmcraft does not document: it is \`type: ${fix}\` here`);
    type = fix;
  }
  if (!type || !TYPES.includes(type)) {
    problems.push(`${where}: option "${name}" has type ${JSON.stringify(raw.type)}: use one of ${TYPES.join(', ')}`);
    return undefined;
  }
  if (raw.description !== undefined && typeof raw.description !== 'string') problems.push(`${where}: option "${name}": description must be a string`);
  if (raw.optional !== undefined && typeof raw.optional !== 'boolean') problems.push(`${where}: option "${name}": optional must be true or false`);
  if (raw.default !== undefined && raw.default !== null && !fitsType(type, raw.default)) {
    problems.push(`${where}: option "${name}": default ${JSON.stringify(raw.default)} is not a ${type}`);
  }
  const option: ConfigOption = { type, description: typeof raw.description === 'string' ? raw.description.trim() : name, optional: raw.optional !== false };
  if (raw.default !== undefined && raw.default !== null) option.default = raw.default as string | number | boolean;
  return option;
}

function readRequires(raw: unknown, where: string, problems: string[]): Record<string, ExtraEndpoint> {
  const requires: Record<string, ExtraEndpoint> = {};
  if (raw === undefined) return requires;
  if (!isRecord(raw)) {
    problems.push(`${where}: requires must be a mapping of endpoints`);
    return requires;
  }
  for (const [name, e] of Object.entries(raw)) {
    if (TEMPLATE_ENDPOINTS.has(name)) continue;
    if (!isRecord(e) || typeof e.interface !== 'string') {
      problems.push(`${where}: requires.${name} needs an interface`);
      continue;
    }
    requires[name] = {
      interface: e.interface,
      ...(typeof e.limit === 'number' ? { limit: e.limit } : {}),
      ...(typeof e.optional === 'boolean' ? { optional: e.optional } : {}),
    };
  }
  return requires;
}

/** Read `config.options` and the extra `requires` of a charmcraft.yaml's text. Throws ScaffoldError naming every problem. */
export function readCharmcraft(text: string, where: string): CharmcraftImport {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ScaffoldError([`${where} is not YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (!isRecord(doc)) throw new ScaffoldError([`${where} is not a charmcraft.yaml (a mapping)`]);
  const problems: string[] = [];
  const fixes: string[] = [];
  const config = doc.config;
  const rawOptions = isRecord(config) ? config.options : undefined;
  if (!isRecord(rawOptions)) problems.push(`${where} has no config.options mapping`);
  const options: Record<string, ConfigOption> = {};
  for (const [name, raw] of Object.entries(isRecord(rawOptions) ? rawOptions : {})) {
    const option = readOption(name, raw, where, problems, fixes);
    if (option) options[name] = option;
  }
  const requires = readRequires(doc.requires, where, problems);
  if (problems.length) throw new ScaffoldError(problems);
  return { options, requires, fixes };
}
