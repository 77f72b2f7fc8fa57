/**
 * The command-line contract every script in scripts/ keeps: `--help`/`-h` prints what the command
 * does and its options with their defaults, exit 0, before anything starts; a mistake (an unknown
 * option, a missing or bad value) is one line on stderr, `<command>: <what is wrong> (see --help)`,
 * exit 2, never a stack trace. node:util parseArgs does the tokenizing; this module owns the
 * wording, so every command says the same thing the same way.
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** A string option's default, applied when absent and shown in --help. */
  default?: string;
  /** The value's placeholder in --help (`--events N`); default `VALUE`. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  /** How its error lines start: `demo: ...`. */
  name: string;
  /** The synopsis after `usage: `, e.g. `npm start -- [options]`. */
  usage: string;
  /** What the command does, a few lines. */
  summary: string;
  /** Positional arguments, for --help; a command without them refuses any. */
  positionals?: { name: string; help: string }[];
  options: Record<string, OptionSpec>;
  /** Printed after the options: exit codes, examples. */
  footer?: string;
}

/** A mistake in how the command was called: printed as one line, exit 2. */
export class UsageError extends Error {
  /** `seeHelp`: end the line with "(see --help)"; off for input the help text cannot fix (a bad file's content). */
  constructor(message: string, readonly seeHelp = true) {
    super(message);
    this.name = 'UsageError';
  }
}

type RawValue = string | boolean | (string | boolean)[] | undefined;

/** The parsed command line, with typed readers that name the option in their errors. */
export class Args {
  constructor(
    readonly positionals: readonly string[],
    private readonly values: Record<string, RawValue>,
  ) {}

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  strings(name: string): string[] {
    const v = this.values[name];
    return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
  }

  /** A whole number in [min, max]; the option must have a default (or be given). */
  int(name: string, min: number, max?: number): number {
    const raw = this.required(name);
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || n < min || (max !== undefined && n > max)) {
      throw new UsageError(`--${name} must be a whole number ${max === undefined ? `>= ${min}` : `from ${min} to ${max}`} (got ${shown(raw)})`);
    }
    return n;
  }

  /** A decimal number >= min. */
  number(name: string, min: number): number {
    const raw = this.required(name);
    const n = Number(raw);
    if (!/^-?(\d+\.?\d*|\.\d+)$/.test(raw.trim()) || n < min) throw new UsageError(`--${name} must be a number >= ${min} (got ${shown(raw)})`);
    return n;
  }

  /** One of the allowed words. */
  choice<T extends string>(name: string, allowed: readonly T[]): T {
    const raw = this.required(name);
    if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got ${shown(raw)})`);
    return raw as T;
  }

  /** A comma-separated, non-empty subset of the allowed words. */
  subset<T extends string>(name: string, allowed: readonly T[]): T[] {
    const raw = this.required(name);
    const items = raw.split(',').map((x) => x.trim());
    const bad = items.filter((x) => !(allowed as readonly string[]).includes(x));
    if (bad.length > 0 || items.length === 0) {
      throw new UsageError(`--${name} must be a comma-separated list of ${allowed.join(', ')} (got ${shown(raw)})`);
    }
    return items as T[];
  }

  private required(name: string): string {
    const v = this.string(name);
    // A reader on an option with neither a value nor a default is a mistake in the script, not the user's.
    if (v === undefined) throw new Error(`--${name} has no value and no default`);
    return v;
  }
}

/** `"9.9"` as the user typed it, or `an empty value`. */
function shown(raw: string): string {
  return raw === '' ? 'an empty value' : raw;
}

export type Parsed = { kind: 'help'; text: string } | { kind: 'args'; args: Args };

/**
 * Parse argv for the command: its --help text, or its arguments; a UsageError for anything else.
 * Pure (no output, no exit), so it is tested directly; scripts call {@link command}.
 */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): Parsed {
  const options = { ...spec.options, help: { type: 'boolean', short: 'h', help: 'print this help and exit' } as OptionSpec };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: spec.positionals !== undefined,
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, parseArgsOption(o)])),
    });
  } catch (e) {
    throw new UsageError(parseArgsMessage(e as Error & { code?: string }, Object.keys(options)));
  }
  if (parsed.values.help === true) return { kind: 'help', text: helpText({ ...spec, options }) };
  return { kind: 'args', args: new Args(parsed.positionals, parsed.values as Record<string, RawValue>) };
}

/** The option as parseArgs takes it: it rejects keys present with an undefined value. */
function parseArgsOption(o: OptionSpec): { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string } {
  return { type: o.type, ...(o.short && { short: o.short }), ...(o.multiple && { multiple: true }), ...(o.default !== undefined && { default: o.default }) };
}

/** node's parseArgs messages, reworded: the option as typed, what is wrong, and a near option name. */
function parseArgsMessage(e: Error & { code?: string }, known: string[]): string {
  const option = /'(?:-\w, )?(-[^' ]+)/.exec(e.message)?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const near = option.startsWith('--') ? nearest(option.slice(2), known) : undefined;
      return `unknown option ${option}${near ? `; did you mean --${near}?` : ''}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(e.message)) return `${option} takes no value`;
      // "ambiguous": the next word starts with a dash, so parseArgs will not take it as the value.
      return /ambiguous/.test(e.message) ? `${option} needs a value; one that starts with "-" goes as ${option}=VALUE` : `${option} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${/'([^']*)'/.exec(e.message)?.[1] ?? ''}": this command takes options only`;
    default:
      return e.message.split('\n')[0]!;
  }
}

/** The known name closest to a mistyped one (at most 2 edits, or a prefix of it), if any. */
export function nearest(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = k.startsWith(name) && name.length >= 3 ? 1 : distance(name, k);
    if (d <= 2 && (!best || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

/** Levenshtein distance: option names are short, so the plain O(n*m) table is fine. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The --help text: usage, summary, arguments, options with their defaults, footer. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = [];
  for (const p of spec.positionals ?? []) rows.push([p.name, p.help]);
  const firstOption = rows.length;
  for (const [name, o] of Object.entries(spec.options)) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const extra = [o.multiple ? 'repeatable' : '', o.default !== undefined ? `default: ${o.default === '' ? '""' : o.default}` : ''].filter(Boolean).join('; ');
    rows.push([flag, extra ? `${o.help} (${extra})` : o.help]);
  }
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const line = ([l, r]: [string, string]) => `  ${l.padEnd(width)}${r.replaceAll('\n', `\n  ${' '.repeat(width)}`)}`;
  const out = [`usage: ${spec.usage}`, '', spec.summary];
  if (firstOption > 0) out.push('', 'arguments:', ...rows.slice(0, firstOption).map(line));
  out.push('', 'options:', ...rows.slice(firstOption).map(line));
  if (spec.footer) out.push('', spec.footer);
  return out.join('\n');
}

/** The error line for a usage mistake. */
export function usageLine(spec: CommandSpec, e: UsageError): string {
  return `${spec.name}: ${e.message}${e.seeHelp ? ' (see --help)' : ''}`;
}

/** Print the line for a usage mistake and exit 2 (see {@link exitAfterWrites}). */
export function exitUsage(spec: CommandSpec, e: UsageError): Promise<never> {
  process.stderr.write(`${usageLine(spec, e)}\n`);
  return exitAfterWrites(2);
}

/**
 * Exit with `code` once the file writes under way have finished; the promise never settles, so a
 * script awaiting it goes no further. tsx (how the checkout runs its TypeScript) writes its compile
 * cache asynchronously while the modules load: an immediate process.exit() dropped those writes,
 * and every --help compiled the script again (twice the CPU of a cached one). The check runs on
 * each turn of the event loop until no fs request is pending: a few turns, no timer.
 */
export function exitAfterWrites(code: number): Promise<never> {
  process.exitCode = code;
  return new Promise<never>(() => {
    const check = () => (process.getActiveResourcesInfo().some((r) => r.startsWith('FSReq')) ? setImmediate(check) : process.exit(code));
    check();
  });
}

/**
 * The script's entry: parse argv and read its options with `read` (where the typed readers throw
 * UsageError). --help prints and exits 0; a usage mistake prints its line and exits 2; either
 * happens before the script starts anything (the returned promise never settles then). A script
 * `await`s it before it imports what it runs, so --help and a mistake answer without loading that.
 */
export async function command<T>(spec: CommandSpec, argv: readonly string[], read: (args: Args) => T): Promise<T> {
  try {
    const parsed = parseCommand(spec, argv);
    if (parsed.kind === 'help') {
      process.stdout.write(`${parsed.text}\n`);
      return await exitAfterWrites(0);
    }
    return read(parsed.args);
  } catch (e) {
    if (e instanceof UsageError) return exitUsage(spec, e);
    throw e;
  }
}

/**
 * The directory the user typed the command in, which the paths they give are relative to:
 * `npm run <script>` runs in the package root and passes it as INIT_CWD; run directly, the
 * process's own.
 */
export function invocationDir(script: string): string {
  return (process.env.npm_lifecycle_event === script && process.env.INIT_CWD) || process.cwd();
}
