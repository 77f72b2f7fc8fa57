/**
 * Config options of a connector charm, inferred from its README's rows.
 *
 * Each row becomes an option named after its variable in kebab case (`ACME_API_KEY` →
 * `acme-api-key`; OpenctiConnectorCharm maps it back to the variable). What the charm sets itself
 * (URL, token, id, name, type) is left out. `optional: false` marks a mandatory option: the base
 * class waits with "missing configurations: ..." until it has a value.
 */
import type { ReadmeRow } from './readme.js';

export type OptionType = 'string' | 'int' | 'boolean' | 'float';

export interface ConfigOption {
  type: OptionType;
  default?: string | number | boolean;
  description: string;
  optional: boolean;
}

/** Variables OpenctiConnectorCharm renders from the relation and the app; never config options. */
export const CHARM_MANAGED_ENV = ['OPENCTI_URL', 'OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_NAME', 'CONNECTOR_TYPE'] as const;

/** Options every connector charm has; added when the README does not describe them. */
export const BASE_OPTIONS: Readonly<Record<string, ConfigOption>> = {
  'connector-scope': {
    type: 'string',
    description: 'The connector scope: the MIME types or STIX object types it works on.',
    optional: false,
  },
  'connector-log-level': {
    type: 'string',
    default: 'info',
    description: 'How much the connector logs: debug, info, warn or error.',
    optional: false,
  },
};

/** `ACME_API_KEY` → `acme-api-key`. */
export function constantToKebab(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

const INT = /^[-+]?\d+$/;

/**
 * boolean from a true/false default; int from a whole-number default, or a whole-number example
 * when there is no default (a default that is not a number says the option is not one); else string.
 */
export function inferType(row: Pick<ReadmeRow, 'default' | 'example'>): OptionType {
  if (row.default !== undefined) {
    if (/^(true|false)$/i.test(row.default)) return 'boolean';
    return INT.test(row.default) ? 'int' : 'string';
  }
  return row.example !== undefined && INT.test(row.example) ? 'int' : 'string';
}

/** The README's default as a value of the option's type; none when it does not fit the type. */
function typedDefault(type: OptionType, text: string | undefined): string | number | boolean | undefined {
  if (text === undefined) return undefined;
  if (type === 'boolean') return text.toLowerCase() === 'true';
  if (type === 'int') return Number(text);
  return text;
}

/** The README's description; optional ones start "(optional) " (a leading "Optional," becomes that). */
function describe(text: string, optional: boolean): string {
  if (!optional) return text;
  const rest = text.replace(/^\(?optional\b\)?\s*[,:.-]?\s*/i, '');
  return `(optional) ${rest.charAt(0).toUpperCase()}${rest.slice(1)}`;
}

/** One README row as an option. Only "Yes" is mandatory: a conditional setting cannot be required of every deployment. */
export function optionFromRow(row: ReadmeRow): ConfigOption {
  const type = inferType(row);
  const optional = row.mandatory !== 'yes';
  const option: ConfigOption = { type, description: describe(row.description || row.env, optional), optional };
  const value = typedDefault(type, row.default);
  return value === undefined ? option : { type, default: value, description: option.description, optional };
}

/** Mandatory without a default, then mandatory with a default, then optional; each alphabetical. */
export function sortOptions(options: Record<string, ConfigOption>): Record<string, ConfigOption> {
  const group = (o: ConfigOption) => (o.optional ? 2 : o.default === undefined ? 0 : 1);
  return Object.fromEntries(
    Object.entries(options).sort(([a, x], [b, y]) => group(x) - group(y) || (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** The charm's options from a README's rows (none: only the base options), sorted. */
export function optionsFromRows(rows: readonly ReadmeRow[]): Record<string, ConfigOption> {
  const managed = new Set<string>(CHARM_MANAGED_ENV);
  const options: Record<string, ConfigOption> = {};
  for (const row of rows) {
    if (managed.has(row.env)) continue;
    options[constantToKebab(row.env)] = optionFromRow(row);
  }
  for (const [name, option] of Object.entries(BASE_OPTIONS)) {
    if (!(name in options)) options[name] = { ...option };
  }
  return sortOptions(options);
}
