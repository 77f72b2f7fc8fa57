/**
 * Argument parsing the way Juju's hook tools parse theirs (github.com/juju/gnuflag, with flags
 * "known as" options): `--long`, `--long=value`, `--long value`, `-x value`, `-x=value`,
 * interspersed positionals, `--` ends options. Parse and validation errors are "usage" errors:
 * Juju prints `ERROR <message>` and exits 2; errors while running exit 1.
 */

export class ToolError extends Error {
  constructor(
    message: string,
    /** 2 for usage errors (bad options/arguments), 1 for failures while running. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export const usage = (message: string) => new ToolError(message, 2);

export interface FlagSpec {
  kind: 'bool' | 'string';
  /** Validate/convert a value; throw an Error whose message follows "invalid value ... :". */
  check?: (value: string) => void;
}

export interface ParsedArgs {
  flags: Map<string, string | boolean>;
  positional: string[];
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool. */
export function parseGoBool(v: string): boolean | undefined {
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return undefined;
}

/**
 * @param spec option name → spec; a name may be listed under several aliases (`r` and `relation`)
 *   by giving each its own entry; `canonical` maps aliases to one key.
 */
export function parseArgs(
  args: readonly string[],
  spec: Record<string, FlagSpec>,
  canonical: Record<string, string> = {},
): ParsedArgs {
  const flags = new Map<string, string | boolean>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      positional.push(a);
      continue;
    }
    const dashes = a.startsWith('--') ? '--' : '-';
    const body = a.slice(dashes.length);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    const s = spec[name];
    if (!s || (dashes === '-' && name.length > 1) || (dashes === '--' && name.length === 1)) {
      throw usage(`option provided but not defined: ${dashes}${name}`);
    }
    const key = canonical[name] ?? name;
    if (s.kind === 'bool') {
      if (value === undefined) {
        flags.set(key, true);
      } else {
        const b = parseGoBool(value);
        if (b === undefined) throw usage(`invalid value ${JSON.stringify(value)} for option ${dashes}${name}: parse error`);
        flags.set(key, b);
      }
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length) throw usage(`option needs an argument: ${dashes}${name}`);
      value = args[++i]!;
    }
    if (s.check) {
      try {
        s.check(value);
      } catch (e) {
        throw usage(`invalid value ${JSON.stringify(value)} for option ${dashes}${name}: ${(e as Error).message}`);
      }
    }
    flags.set(key, value);
  }
  return { flags, positional };
}

/** Juju's cmd.CheckEmpty. */
export function checkEmpty(rest: readonly string[]): void {
  if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
}

/** Go's %q of a []string: ["a" "b"]. */
export function goQuoteList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}
