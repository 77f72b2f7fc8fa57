// Which strings gopkg.in/yaml.v3 (the encoder Pebble prints its plan with) writes double-quoted:
// those that, left plain, a YAML reader would not read back as a string. yaml.v3's encoder
// (encode.go stringv) quotes a string when its own resolver (resolve.go) gives a non-string tag
// for it, or when it is a YAML 1.1 boolean (`yes`, `no`, `on`, `off`, `y`, `n` and their case
// variants) or a base-60 float (`1:20`). The YAML 1.2 core schema of the `yaml` package knows
// neither the 1.1 booleans nor timestamps, so without this `yes` or `2024-01-02` would go out
// plain and a YAML 1.1 reader (PyYAML, as ops uses) would read a boolean or a date.

const OLD_BOOLS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const MAP_VALUES = new Set([
  ...['true', 'True', 'TRUE', 'false', 'False', 'FALSE'],
  ...['', '~', 'null', 'Null', 'NULL'],
  ...['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF'],
  '<<',
]);
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
// Go's strconv.ParseInt/ParseUint with base 0 (sign, 0x/0o/0b/0 prefixes, `_` only after a
// prefix, which is moot here because yaml.v3 removes every `_` first).
const GO_INT = /^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/;

/** Go's time.Parse with yaml.v3's four timestamp layouts (short date fields allowed). */
function isYamlTimestamp(s: string): boolean {
  if (!/^[0-9]{4}-/.test(s)) return false;
  const date = '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}';
  const time = '[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]+)?';
  const zone = '(Z|[-+][0-9]{2}:[0-9]{2})';
  const layouts = [new RegExp(`^${date}$`), new RegExp(`^${date}[Tt]${time}${zone}$`), new RegExp(`^${date} ${time}$`)];
  if (!layouts.some((re) => re.test(s))) return false;
  // time.Parse also range-checks the fields: month 1-12, day valid for the month, hour < 24.
  const [y, mo, d] = s.slice(0, 10).split(/[-Tt ]/).map(Number) as [number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return false;
  const t = /[Tt ]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})/.exec(s);
  return !t || (Number(t[1]) < 24 && Number(t[2]) < 60 && Number(t[3]) < 60);
}

/** Whether Go's ParseInt or ParseUint (base 0, 64 bits; only ParseInt takes a sign) accepts `plain`. */
function isGoInt(plain: string): boolean {
  if (!GO_INT.test(plain)) return false;
  const body = plain.replace(/^[-+]/, '').toLowerCase();
  const v = BigInt(/^0[0-7]+$/.test(body) ? `0o${body.slice(1)}` : body);
  if (plain[0] === '-') return v <= 2n ** 63n;
  return plain[0] === '+' ? v < 2n ** 63n : v < 2n ** 64n;
}

/** yaml.v3 takes a float only if ParseFloat succeeds, which fails on overflow (`1e400`). */
const isGoFloat = (s: string): boolean => YAML_STYLE_FLOAT.test(s) && Number.isFinite(Number(s));

/** yaml.v3's resolve("", s) != !!str: the plain scalar would read as null, bool, number or time. */
function resolvesToNonString(s: string): boolean {
  if (MAP_VALUES.has(s)) return true;
  const first = s[0] ?? '';
  if (first === '.') return isGoFloat(s);
  if (!/[-+0-9]/.test(first)) return false;
  if (isYamlTimestamp(s)) return true;
  // yaml.v3 drops every `_` before trying the number parsers.
  const plain = s.replaceAll('_', '');
  return isGoInt(plain) || isGoFloat(plain);
}

/** Whether yaml.v3 writes this string double-quoted (multi-line strings are literal blocks). */
export function yamlV3QuotesString(s: string): boolean {
  if (s.includes('\n')) return false;
  const base60 = /^[-+0-9]/.test(s) && s.includes(':') && BASE60_FLOAT.test(s);
  return resolvesToNonString(s) || OLD_BOOLS.has(s) || base60;
}
