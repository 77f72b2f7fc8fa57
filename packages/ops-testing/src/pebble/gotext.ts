// Go-compatible text helpers the emulator needs to answer like Pebble does: Go durations
// (time.ParseDuration / Duration.String) and shell-style command splitting (the shlex rules
// Pebble applies to service commands: whitespace separates words, '...' is literal, "..." allows
// backslash escapes, a backslash outside quotes escapes the next character, and an unquoted #
// at the start of a word begins a comment).

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5
  'μs': 1e3, // U+03BC
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parse a Go duration ("1.5s", "1m30s", "500ms") into nanoseconds. Throws Go's error texts. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const m = /^([0-9]*)(\.([0-9]*))?/.exec(s);
    const intPart = m?.[1] ?? '';
    const fracPart = m?.[3] ?? '';
    if (!m || (intPart === '' && fracPart === '')) throw new Error(`time: invalid duration ${quoted}`);
    s = s.slice(m[0].length);
    let i = 0;
    while (i < s.length && !'.0123456789'.includes(s[i]!)) i++;
    const unit = s.slice(0, i);
    s = s.slice(i);
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    const value = Number(`${intPart || '0'}.${fracPart || '0'}`) * scale;
    total += value;
    if (!Number.isFinite(total) || total > 9.223372036854775e18) throw new Error(`time: invalid duration ${quoted}`);
  }
  total = Math.round(total);
  return neg ? -total : total;
}

function frac(value: number, digits: number): string {
  if (value === 0) return '';
  return '.' + String(value).padStart(digits, '0').replace(/0+$/, '');
}

/** Format nanoseconds as Go's Duration.String does: "500ms", "1.5s", "1m30s", "1h0m0s". */
export function formatGoDuration(ns: number): string {
  ns = Math.round(ns);
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  const u = Math.abs(ns);
  if (u < 1e3) return `${sign}${u}ns`;
  if (u < 1e6) return `${sign}${Math.floor(u / 1e3)}${frac(u % 1e3, 3)}µs`;
  if (u < 1e9) return `${sign}${Math.floor(u / 1e6)}${frac(u % 1e6, 6)}ms`;
  const totalSec = Math.floor(u / 1e9);
  let out = `${totalSec % 60}${frac(u % 1e9, 9)}s`;
  if (totalSec >= 60) out = `${Math.floor(totalSec / 60) % 60}m${out}`;
  if (totalSec >= 3600) out = `${Math.floor(totalSec / 3600)}h${out}`;
  return sign + out;
}

/** Format milliseconds as a Go duration string. */
export function formatMs(ms: number): string {
  return formatGoDuration(ms * 1e6);
}

/** Split a command line into words with Pebble's shell-like rules. Throws on unclosed quotes. */
export function shlexSplit(input: string): string[] {
  const words: string[] = [];
  const chars = Array.from(input);
  let i = 0;
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  while (i < chars.length) {
    const c = chars[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs to the end of the line.
      while (i < chars.length && chars[i] !== '\n') i++;
      continue;
    }
    let word = '';
    let state: 'word' | 'escape' | 'dquote' | 'dquoteEscape' | 'squote' = 'word';
    for (; i < chars.length; i++) {
      const ch = chars[i]!;
      if (state === 'word') {
        if (isSpace(ch)) break;
        if (ch === '"') state = 'dquote';
        else if (ch === "'") state = 'squote';
        else if (ch === '\\') state = 'escape';
        else word += ch;
      } else if (state === 'escape') {
        word += ch;
        state = 'word';
      } else if (state === 'dquote') {
        if (ch === '"') state = 'word';
        else if (ch === '\\') state = 'dquoteEscape';
        else word += ch;
      } else if (state === 'dquoteEscape') {
        word += ch;
        state = 'dquote';
      } else {
        if (ch === "'") state = 'word';
        else word += ch;
      }
    }
    if (state === 'escape' || state === 'dquoteEscape') throw new Error('EOF found after escape character');
    if (state === 'dquote' || state === 'squote') throw new Error('EOF found when expecting closing quote');
    words.push(word);
  }
  return words;
}

/**
 * Split a service command into its base words and the optional trailing "[ default args ]"
 * group, with Pebble's error texts (P:plan.go ParseCommand).
 */
export function parseServiceCommand(name: string, command: string): { base: string[]; extra: string[] } {
  const wrap = (msg: string) => new Error(`cannot parse service ${JSON.stringify(name)} command: ${msg}`);
  let args: string[];
  try {
    args = shlexSplit(command);
  } catch (e) {
    throw wrap((e as Error).message);
  }
  const base: string[] = [];
  const extra: string[] = [];
  let inBrackets = false;
  let gotBrackets = false;
  args.forEach((arg, idx) => {
    if (inBrackets) {
      if (arg === '[') throw wrap('cannot nest [ ... ] groups');
      if (arg === ']') {
        inBrackets = false;
        return;
      }
      extra.push(arg);
      return;
    }
    if (gotBrackets) throw wrap('cannot have any arguments after [ ... ] group');
    if (arg === '[') {
      if (idx === 0) throw wrap('cannot start command with [ ... ] group');
      inBrackets = true;
      gotBrackets = true;
      return;
    }
    if (arg === ']') throw wrap('cannot have ] outside of [ ... ] group');
    base.push(arg);
  });
  return { base, extra };
}

/** Go's http.StatusText for the statuses Pebble uses. */
export function statusText(code: number): string {
  const texts: Record<number, string> = {
    200: 'OK',
    202: 'Accepted',
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    504: 'Gateway Timeout',
  };
  return texts[code] ?? '';
}
