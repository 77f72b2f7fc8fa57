// Plan YAML quoting as yaml.v3 does it (P:internals/plan/plan.go marshals with gopkg.in/yaml.v3):
// a YAML 1.1 reader must read back strings, not booleans, dates or numbers.
import { parse } from 'yaml';
import { toYaml } from './plan-yaml.js';
import { yamlV3QuotesString } from './yaml-v3-quote.js';

describe('yamlV3QuotesString', () => {
  test.each([
    'yes', 'No', 'ON', 'off', 'y', 'N', // YAML 1.1 booleans
    'true', 'False', 'null', '~', '', // resolver map
    '2024-01-02', '2024-1-2', '2001-12-14t21:59:43.10Z', '2001-12-14 21:59:43.10', // timestamps
    '12', '-3', '+7', '0x1F', '0o17', '017', '0b101', '1_000', '1.5', '.5', '1e3', '.inf', // numbers
    '1:20', '-1:20:30.5', // base-60 floats
  ])('%j is double-quoted', (s) => {
    expect(yamlV3QuotesString(s)).toBe(true);
  });

  test.each([
    'web', 'yess', 'onion', 'y es', 'True!', '2024-13-01', '2024-02-30', '24-01-02', '2024-01-02x',
    '1e400', '0x', '1.2.3', '1:70', 'a: b', '/usr/bin/x', 'line\nyes',
  ])('%j is not', (s) => {
    expect(yamlV3QuotesString(s)).toBe(false);
  });
});

describe('toYaml', () => {
  test('quoted values and keys read back as strings under YAML 1.1', () => {
    const out = toYaml({ environment: { on: 'yes', DAY: '2024-01-02', NUM: '1_000', PLAIN: 'web', EMPTY: '' } });
    expect(out).toBe(
      'environment:\n    "on": "yes"\n    DAY: "2024-01-02"\n    NUM: "1_000"\n    PLAIN: web\n    EMPTY: ""\n',
    );
    expect(parse(out, { version: '1.1' })).toEqual({ environment: { on: 'yes', DAY: '2024-01-02', NUM: '1_000', PLAIN: 'web', EMPTY: '' } });
  });

  test('numbers stay plain; strings the emitter cannot leave plain get single quotes', () => {
    expect(toYaml({ threshold: 3, summary: 'a: b', x: "it's" })).toBe("threshold: 3\nsummary: 'a: b'\nx: it's\n");
  });
});
