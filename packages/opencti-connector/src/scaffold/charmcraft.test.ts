/** Reading config options from a charmcraft.yaml (--from-charmcraft): order, fixes, bad input. */
import { readCharmcraft, ScaffoldError } from './index.js';

const YAML = `
name: x
config:
  options:
    zeta-url:
      type: string
      default: https://z.example
      optional: false
      description: "  The Z URL.  "
    alpha-score:
      type: integer
      description: A score.
    beta-flag:
      type: boolean
      default: true
requires:
  logging:
    interface: loki_push_api
  opensearch-client:
    interface: opensearch_client
    limit: 1
`;

test('options keep the file order, types and defaults; type integer becomes int with a note; optional absent means not required', () => {
  const read = readCharmcraft(YAML, 'x.yaml');
  expect(Object.keys(read.options)).toEqual(['zeta-url', 'alpha-score', 'beta-flag']);
  expect(read.options).toEqual({
    'zeta-url': { type: 'string', default: 'https://z.example', description: 'The Z URL.', optional: false },
    'alpha-score': { type: 'int', description: 'A score.', optional: true },
    'beta-flag': { type: 'boolean', default: true, description: 'beta-flag', optional: true },
  });
  expect(read.fixes).toEqual(['option `alpha-score` was declared `type: integer`, which charmcraft does not document: it is `type: int` here']);
  expect(read.requires).toEqual({ 'opensearch-client': { interface: 'opensearch_client', limit: 1 } });
});

test('bad input: every problem, naming the file and the option', () => {
  const bad = `config:\n  options:\n    a: {type: list}\n    b: {type: int, default: "x"}\n    c: {type: string, optional: "no"}\n`;
  let error: unknown;
  try {
    readCharmcraft(bad, 'bad.yaml');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ScaffoldError);
  expect((error as ScaffoldError).problems).toEqual([
    'bad.yaml: option "a" has type "list": use one of string, int, boolean, float',
    'bad.yaml: option "b": default "x" is not a int',
    'bad.yaml: option "c": optional must be true or false',
  ]);
  expect(() => readCharmcraft('name: x\n', 'none.yaml')).toThrow('none.yaml has no config.options mapping');
});
