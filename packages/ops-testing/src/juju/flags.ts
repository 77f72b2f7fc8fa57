/**
 * Argument parsing the way Juju's hook tools parse theirs: github.com/juju/gnuflag with flags
 * "known as" options, run by Juju's cmd.Main.
 *
 * - `--name`, `--name=value`, `--name value`; a one-letter option may also be given as `--r`;
 * - after a single dash, every character is a one-letter option (`-ab` is `-a -b`) and the rest of
 *   the argument after a value option is its value (`-r3`, and `-r=3` gives the value `=3`);
 * - options and positional arguments may be interspersed; `--` ends options; `-` is positional;
 * - an undefined `--help` or `-h` asks for help (printed on stdout, exit 0).
 *
 * Parse errors, and errors of a command's Init, are usage errors: Juju prints `ERROR <message>`
 * and exits 2. Errors while running exit 1.
 */
import { goParseBool, goParseInt, goQuote } from './go.js';

export { goQuoteList } from './go.js';

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

/** `--help` or `-h` on a command that does not define them. */
export class HelpRequested extends Error {}

export interface FlagSpec {
  /** bool: gnuflag BoolVar; string: StringVar; int: IntVar (strconv.ParseInt, base 0). */
  kind: 'bool' | 'string' | 'int';
  /** A gnuflag.Value's Set: throw an Error whose message follows `invalid value "<v>" for option -x: `. */
  check?: (value: string) => void;
}

export interface ParsedArgs {
  /** Options given, by canonical name: true/false for bools, the (last) value otherwise. */
  flags: Map<string, string | boolean | number>;
  positional: string[];
}

/** Go's strconv.ParseBool (kept for callers of the old API). */
export function parseGoBool(v: string): boolean | undefined {
  try {
    return goParseBool(v);
  } catch {
    return undefined;
  }
}

const flagWithMinus = (name: string) => (Buffer.byteLength(name) > 1 ? `--${name}` : `-${name}`);

/**
 * @param spec option name → spec; aliases (`r` and `relation`) each get an entry and `canonical`
 *   maps them to one key.
 */
export function parseArgs(args: readonly string[], spec: Record<string, FlagSpec>, canonical: Record<string, string> = {}): ParsedArgs {
  const flags = new Map<string, string | boolean | number>();
  const positional: string[] = [];
  let i = 0;
  let pending = ''; // what follows a one-letter option in the same argument, or "=value" of a long one

  const take = (name: string, long: boolean): void => {
    const s = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!s) {
      if (name === 'help' || name === 'h') throw new HelpRequested();
      throw usage(`option provided but not defined: ${flagWithMinus(name)}`);
    }
    const key = canonical[name] ?? name;
    if (s.kind === 'bool' && !pending.startsWith('=')) {
      flags.set(key, true);
      return;
    }
    let value: string | undefined;
    if (pending !== '') {
      value = long ? pending.slice(1) : pending;
      pending = '';
    } else if (i < args.length) {
      value = args[i++]!;
    }
    if (value === undefined) throw usage(`option needs an argument: ${flagWithMinus(name)}`);
    try {
      if (s.kind === 'bool') flags.set(key, goParseBool(value));
      else if (s.kind === 'int') flags.set(key, goParseInt(value));
      else flags.set(key, value);
      s.check?.(value);
    } catch (e) {
      throw usage(`invalid value ${goQuote(value)} for option ${flagWithMinus(name)}: ${(e as Error).message}`);
    }
  };

  for (;;) {
    if (pending !== '') {
      const name = String.fromCodePoint(pending.codePointAt(0)!);
      pending = pending.slice(name.length);
      take(name, false);
      continue;
    }
    if (i >= args.length) break;
    const a = args[i]!;
    if (a === '-' || a === '' || !a.startsWith('-')) {
      positional.push(a);
      i++;
      continue;
    }
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    i++;
    if (a[1] === '-') {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0 && name === '') throw usage(`empty option in argument ${goQuote(a)}`);
      pending = eq < 0 ? '' : a.slice(eq);
      take(name, true);
      continue;
    }
    const body = a.slice(1);
    const name = String.fromCodePoint(body.codePointAt(0)!);
    pending = body.slice(name.length);
    take(name, false);
  }
  return { flags, positional };
}

/** Juju's cmd.CheckEmpty. */
export function checkEmpty(rest: readonly string[]): void {
  if (rest.length) throw usage(`unrecognized args: [${rest.map(goQuote).join(' ')}]`);
}
