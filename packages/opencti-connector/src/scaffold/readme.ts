/**
 * A connector README's configuration tables, read from its Markdown.
 *
 * OpenCTI connector READMEs document their settings in GitHub-flavoured Markdown tables. Two
 * layouts are known:
 *
 *   seed (older):  Parameter | Docker envvar | Mandatory | Description
 *   current:       Parameter | config.yml | Docker environment variable | Default | Mandatory | Description
 *
 * Columns are found by their header, not their position, so both layouts (and tables that leave
 * out Default, or add an Example column) read the same way. A table counts when it has an
 * environment-variable column and a Mandatory column; every such table is read, and a variable
 * described in several tables is one row (the first wins, later ones fill what it left empty).
 */
import { ScaffoldError } from '@juju-ts/charm-tools';

export type Mandatory = 'yes' | 'no' | 'conditional';

/** One configuration setting as the README describes it, in plain text. */
export interface ReadmeRow {
  /** The environment variable, CONSTANT_CASE. */
  env: string;
  /** The Mandatory column: Yes, No, or Cond. (required only in some setups). */
  mandatory: Mandatory;
  /** The Default column, when there is one and it names a value. */
  default?: string;
  /** An Example column's value, when there is one. */
  example?: string;
  /** The Description column (or the Parameter column when the description is empty). */
  description: string;
  /** Where the row is, `file:line`, for messages. */
  at: string;
}

export interface ReadmeConfig {
  rows: ReadmeRow[];
  /** How many configuration tables were read. */
  tables: number;
  /** Rows skipped, and why (not fatal; the CLI prints them). */
  warnings: string[];
}

type Column = 'env' | 'mandatory' | 'default' | 'example' | 'description' | 'parameter';

/** Header text → the column it is, by words rather than exact spelling. */
function columnOf(header: string): Column | undefined {
  const h = header.toLowerCase().replace(/[^a-z ]/g, ' ').replace(/\s+/g, ' ').trim();
  if (/\b(environment variable|envvar|env var|environment)\b/.test(h)) return 'env';
  if (/^(mandatory|required)\b/.test(h)) return 'mandatory';
  if (/^default\b/.test(h)) return 'default';
  if (/^examples?\b/.test(h)) return 'example';
  if (/^description\b/.test(h)) return 'description';
  if (/^(parameter|name|setting)\b/.test(h)) return 'parameter';
  return undefined;
}

/** Cells of one table line: outer pipes dropped, split on unescaped pipes, `\|` unescaped. */
function cells(line: string): string[] {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.replace(/\\\|/g, '|').trim());
}

const DELIMITER_CELL = /^:?-+:?$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** Markdown inline text → plain text: code spans, emphasis, links, line breaks, a few entities. */
export function plainText(md: string): string {
  return md
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/`+([^`]*?)`+/g, '$1')
    .replace(/\[([^\]]*)\]\(([^)\s]+)\)/g, (_m, text: string, url: string) => (text && text !== url ? `${text} (${url})` : url))
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Cells that say "no value" in a Default or Example column. */
const NO_VALUE = new Set(['', '-', '–', '—', '/', 'n/a', 'na', 'none', 'null', 'empty']);

function valueCell(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const v = plainText(text).replace(/^(["'])(.*)\1$/, '$2');
  return NO_VALUE.has(v.toLowerCase()) ? undefined : v;
}

function mandatoryOf(text: string): Mandatory | undefined {
  const v = plainText(text).toLowerCase().replace(/\.$/, '');
  if (['yes', 'y', 'true', 'required', 'mandatory', 'x', '✓', '✔', '✅'].includes(v)) return 'yes';
  if (['no', 'n', 'false', 'optional', '❌'].includes(v)) return 'no';
  if (['cond', 'conditional', 'conditionally', 'depends'].includes(v)) return 'conditional';
  return undefined;
}

const ENV_NAME = /^[A-Z][A-Z0-9]*(_+[A-Z0-9]+)*$/;

/** Read every configuration table of a README. Throws ScaffoldError when there is none, or a row is unreadable. */
export function readConfigTables(markdown: string, source = 'README'): ReadmeConfig {
  const lines = markdown.split(/\r?\n/);
  const rows = new Map<string, ReadmeRow>();
  const warnings: string[] = [];
  const problems: string[] = [];
  const incomplete: string[] = [];
  let tables = 0;
  let fence: string | null = null;

  for (let i = 0; i + 1 < lines.length; i++) {
    const line = lines[i]!;
    const f = FENCE.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!.repeat(f[1]!.length);
      else if (line.trim().startsWith(fence)) fence = null;
      continue;
    }
    if (fence !== null || !line.includes('|')) continue;
    const header = cells(line);
    const delimiter = cells(lines[i + 1]!);
    if (delimiter.length !== header.length || !delimiter.every((c) => DELIMITER_CELL.test(c))) continue;

    // A table: which column is what.
    const columns = new Map<Column, number>();
    header.forEach((h, idx) => {
      const c = columnOf(plainText(h));
      if (c && !columns.has(c)) columns.set(c, idx);
    });
    let end = i + 2;
    while (end < lines.length && lines[end]!.includes('|') && lines[end]!.trim() !== '') end++;
    const tableAt = `${source}:${i + 1}`;
    if (!columns.has('env') || !columns.has('mandatory')) {
      if (columns.has('env')) incomplete.push(`${tableAt} has an environment-variable column but no Mandatory column`);
      i = end - 1;
      continue;
    }
    tables++;
    for (let r = i + 2; r < end; r++) {
      const at = `${source}:${r + 1}`;
      const row = cells(lines[r]!);
      const cell = (c: Column) => {
        const idx = columns.get(c);
        return idx === undefined ? undefined : (row[idx] ?? '');
      };
      const env = plainText(cell('env')!);
      if (!env) {
        warnings.push(`${at}: no environment variable in this row, skipped`);
        continue;
      }
      if (!ENV_NAME.test(env)) {
        warnings.push(`${at}: "${env}" is not an environment variable name, row skipped`);
        continue;
      }
      const mandatory = mandatoryOf(cell('mandatory')!);
      if (!mandatory) {
        problems.push(`${at}: the Mandatory column of ${env} must be Yes, No or Cond. (got "${plainText(cell('mandatory')!)}")`);
        continue;
      }
      const description = plainText(cell('description') ?? '') || plainText(cell('parameter') ?? '');
      const found: ReadmeRow = { env, mandatory, description, at };
      const dflt = valueCell(cell('default'));
      if (dflt !== undefined) found.default = dflt;
      const example = valueCell(cell('example'));
      if (example !== undefined) found.example = example;

      const first = rows.get(env);
      if (!first) {
        rows.set(env, found);
        continue;
      }
      // The same variable again (another table, or a repeat): one row, the first one's values,
      // completed by this one's where the first left a field empty.
      if (first.default === undefined && found.default !== undefined) first.default = found.default;
      if (first.example === undefined && found.example !== undefined) first.example = found.example;
      if (!first.description && found.description) first.description = found.description;
      if (first.mandatory !== found.mandatory || (found.default !== undefined && first.default !== found.default)) {
        warnings.push(`${at}: ${env} is described again (first at ${first.at}) and differently; the first row wins`);
      }
    }
    i = end - 1;
  }

  if (tables === 0) {
    problems.unshift(
      `${source} has no configuration table: expected a Markdown table with an environment-variable column ` +
        `("Docker environment variable" or "Docker envvar") and a "Mandatory" column` +
        (incomplete.length ? ` (${incomplete.join('; ')})` : ''),
    );
  }
  if (problems.length) throw new ScaffoldError(problems);
  return { rows: [...rows.values()], tables, warnings };
}
