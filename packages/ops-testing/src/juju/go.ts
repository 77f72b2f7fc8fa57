/**
 * The parts of Go's standard library and of Juju's helpers whose observable behaviour the fake
 * hook tools must reproduce: %q quoting, strconv parsing and its error texts, time and duration
 * parsing, encoding/json and gopkg.in/yaml.v2 output (cmd.FormatJson/FormatYaml/FormatSmart),
 * and yaml.v2's decoding of a settings file into map[string]string. Written from the documented
 * behaviour of those functions; nothing here is copied from Go or Juju.
 */
import crypto from 'node:crypto';
import { isMap, isScalar, isSeq, parseDocument, stringify, type Node as YamlNode } from 'yaml';

// --- quoting --------------------------------------------------------------------------------------

const GO_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };

/** Go's %q of a string (strconv.Quote): printable characters kept, the rest escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (GO_ESCAPES[ch]) out += GO_ESCAPES[ch];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

/** Go's %q of a []string: ["a" "b"]. */
export function goQuoteList(xs: readonly string[]): string {
  return `[${xs.map(goQuote).join(' ')}]`;
}

// --- strconv ------------------------------------------------------------------------------------------

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool; throws its error text. */
export function goParseBool(v: string): boolean {
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goQuote(v)}: invalid syntax`);
}

const INT64_MAX = 2n ** 63n - 1n;

function parseIntText(fn: string, s: string, base0: boolean): number {
  const bad = (why: string) => new Error(`strconv.${fn}: parsing ${goQuote(s)}: ${why}`);
  let body = s;
  let sign = 1n;
  if (body.startsWith('+') || body.startsWith('-')) {
    if (body.startsWith('-')) sign = -1n;
    body = body.slice(1);
  }
  let base = 10;
  if (base0 && /^0[xX]/.test(body)) [base, body] = [16, body.slice(2)];
  else if (base0 && /^0[oO]/.test(body)) [base, body] = [8, body.slice(2)];
  else if (base0 && /^0[bB]/.test(body)) [base, body] = [2, body.slice(2)];
  else if (base0 && /^0./.test(body)) [base, body] = [8, body.slice(1)];
  // Underscores are allowed only with base 0, between digits (or after a prefix).
  if (base0 && body.includes('_')) {
    if (/^_|_$|__/.test(body) && !(base !== 10 && /^_[^_]/.test(body))) throw bad('invalid syntax');
    body = body.replaceAll('_', '');
  }
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
  if (body === '' || [...body.toLowerCase()].some((c) => !digits.includes(c))) throw bad('invalid syntax');
  let n = 0n;
  for (const c of body.toLowerCase()) n = n * BigInt(base) + BigInt(digits.indexOf(c));
  n *= sign;
  if (n > INT64_MAX || n < -INT64_MAX - 1n) throw bad('value out of range');
  return Number(n);
}

/** strconv.Atoi (decimal, optional sign). */
export const goAtoi = (s: string): number => parseIntText('Atoi', s, false);
/** strconv.ParseInt(s, 0, 64): base prefixes 0x, 0o, 0b, 0 and underscores. */
export const goParseInt = (s: string): number => parseIntText('ParseInt', s, true);

// --- time ---------------------------------------------------------------------------------------------

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** time.ParseDuration, in milliseconds; undefined if Go would refuse it. */
export function goParseDuration(s: string): number | undefined {
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return undefined;
    total += Number(`${m[1] || '0'}.${m[2] || '0'}`) * DURATION_UNITS[m[3]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * time.Parse with layout RFC3339 ("2006-01-02T15:04:05Z07:00", fractional seconds accepted) or,
 * with `noTZ`, "2006-01-02T15:04:05" (UTC). Undefined if Go would refuse it.
 */
export function goParseTime(s: string, noTZ = false): Date | undefined {
  const re = noTZ
    ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?()$/
    : /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
  const m = re.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && leap ? 29 : DAYS[mo - 1]!) || h > 23 || mi > 59 || se > 59) return undefined;
  let offsetMin = 0;
  const tz = m[8];
  if (tz && tz !== 'Z') {
    const [oh, om] = tz.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (tz[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, se, ms) - offsetMin * 60_000);
}

/** A UTC time as Go's encoding/json writes a time.Time (RFC 3339 with trimmed fractional seconds). */
export function goTimeJson(t: Date): string {
  return t.toISOString().replace(/\.?0+Z$/, 'Z').replace(/\.Z$/, 'Z');
}

// --- ids -------------------------------------------------------------------------------------------------

const XID_ALPHABET = '0123456789abcdefghijklmnopqrstuv';

/** A fresh secret id as Juju makes them: an xid (12 bytes, base32hex, 20 characters). */
export function newXid(): string {
  const id = crypto.randomBytes(12);
  id.writeUInt32BE(Math.floor(Date.now() / 1000), 0);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of id) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += XID_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  out += XID_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

// --- output: cmd.FormatJson, cmd.FormatYaml, cmd.FormatSmart -------------------------------------------

/**
 * A Go struct: its fields are written in declaration order (maps, i.e. plain objects, are written
 * with sorted keys, as Go does). Fields whose value is undefined are omitted (omitempty).
 */
export class GoStruct {
  constructor(readonly fields: readonly (readonly [string, unknown])[]) {}
}
export const struct = (fields: Record<string, unknown>): GoStruct => new GoStruct(Object.entries(fields));

/** A Go []string: FormatSmart writes it one per line; `nil` is a nil slice (JSON null). */
export class GoStrings {
  constructor(
    readonly items: readonly string[],
    readonly nil = false,
  ) {}
}

function jsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (cp < 0x20 || ch === '<' || ch === '>' || ch === '&' || cp === 0x2028 || cp === 0x2029) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

/** encoding/json.Marshal: map keys sorted, struct fields in order, HTML characters escaped. */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  if (v instanceof GoStrings) return v.nil ? 'null' : `[${v.items.map(jsonString).join(',')}]`;
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (v instanceof GoStruct) {
    return `{${v.fields.filter(([, x]) => x !== undefined).map(([k, x]) => `${jsonString(k)}:${goJson(x)}`).join(',')}}`;
  }
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${jsonString(k)}:${goJson(x)}`).join(',')}}`;
}

function toYamlValue(v: unknown): unknown {
  if (v instanceof GoStrings) return v.nil ? null : [...v.items];
  if (Array.isArray(v)) return v.map(toYamlValue);
  if (v instanceof GoStruct) return new Map(v.fields.filter(([, x]) => x !== undefined).map(([k, x]) => [k, toYamlValue(x)]));
  if (v && typeof v === 'object') {
    return new Map(Object.keys(v).sort().map((k) => [k, toYamlValue((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** gopkg.in/yaml.v2 as cmd.FormatYaml uses it: nothing for nil; keys sorted; block style. */
export function goYaml(v: unknown): string {
  if (v === null || v === undefined || (v instanceof GoStrings && v.nil)) return '';
  const text = stringify(toYamlValue(v), { indentSeq: false, lineWidth: 0 }).replace(/\n+$/, '');
  return text ? `${text}\n` : '';
}

/** cmd.FormatSmart: strings as they are, []string one per line, bools as True/False, else YAML. */
export function goSmart(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v instanceof GoStrings) s = v.items.join('\n');
  else if (typeof v === 'boolean') s = v ? 'True' : 'False';
  else return goYaml(v);
  return s === '' ? '' : `${s}\n`;
}

export type Format = 'smart' | 'yaml' | 'json';

export function formatOutput(v: unknown, format: Format): string {
  if (format === 'json') return `${goJson(v)}\n`;
  if (format === 'yaml') return goYaml(v);
  return goSmart(v);
}

// --- input: yaml.v2 Unmarshal into map[string]string ------------------------------------------------

export class GoYamlError extends Error {}

const YAML_TAGS: Record<string, string> = { number: '!!int', boolean: '!!bool', string: '!!str' };

/**
 * What `goyaml.Unmarshal(data, map[string]string)` produces (Juju's readSettings): scalars keep
 * their text (`1.0` stays "1.0", `yes` stays "yes"), null becomes "", a nested map or list is an
 * error with yaml.v2's wording, and duplicate keys are allowed (the last wins).
 */
export function goYamlSettings(text: string): Record<string, string> {
  const doc = parseDocument(text, { uniqueKeys: false, keepSourceTokens: false });
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined) =>
    node?.range ? text.slice(0, node.range[0]).split('\n').length : 1;
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new GoYamlError(`yaml: line ${e.linePos?.[0]?.line ?? 1}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, '')}`);
  }
  const root = doc.contents as YamlNode | null;
  const out: Record<string, string> = {};
  if (root === null || (isScalar(root) && root.value === null)) return out;
  if (isSeq(root)) throw new GoYamlError(`yaml: unmarshal errors:\n  line ${lineOf(root)}: cannot unmarshal !!seq into map[string]string`);
  if (isScalar(root)) {
    const tag = YAML_TAGS[typeof root.value] ?? '!!str';
    throw new GoYamlError(`yaml: unmarshal errors:\n  line ${lineOf(root)}: cannot unmarshal ${tag} \`${scalarText(root)}\` into map[string]string`);
  }
  if (!isMap(root)) throw new GoYamlError('yaml: unmarshal errors:\n  line 1: cannot unmarshal into map[string]string');
  const errors: string[] = [];
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? (pair.key.value === null ? '' : scalarText(pair.key)) : String(pair.key);
    const value = pair.value as YamlNode | null;
    if (value === null || (isScalar(value) && value.value === null)) out[key] = '';
    else if (isScalar(value)) out[key] = scalarText(value);
    else if (isMap(value)) errors.push(`  line ${lineOf(value)}: cannot unmarshal !!map into string`);
    else if (isSeq(value)) errors.push(`  line ${lineOf(value)}: cannot unmarshal !!seq into string`);
  }
  if (errors.length) throw new GoYamlError(`yaml: unmarshal errors:\n${errors.join('\n')}`);
  return out;
}

function scalarText(node: { type?: string; source?: string; value: unknown }): string {
  // A plain scalar decoded into a Go string keeps its text; quoted and block scalars their value.
  if (node.type === 'PLAIN' && typeof node.source === 'string') return node.source;
  return String(node.value);
}
