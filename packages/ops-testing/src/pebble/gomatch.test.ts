// Go's path.Match semantics (the cases follow Go's documented pattern grammar).
import { BadPatternError, goPathMatch } from './gomatch.js';

describe('goPathMatch', () => {
  test.each([
    ['*.yaml', 'config.yaml', true],
    ['*.yaml', 'config.yml', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*', 'a/b', false],
    ['?at', 'cat', true],
    ['?at', 'at', false],
    ['[a-c]x', 'bx', true],
    ['[^a-c]x', 'bx', false],
    ['[\\]]', ']', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['é?', 'éü', true],
    ['', '', true],
    ['', 'x', false],
  ])('%j matches %j: %s', (pattern, name, want) => {
    expect(goPathMatch(pattern, name)).toBe(want);
  });

  test.each([
    ['[', 'x'],
    ['[]', 'x'],
    ['[a-', 'a'],
    ['x\\', 'x'],
    // The mismatch happens first, but the rest of the pattern is still checked.
    ['b[', 'a'],
    ['a*[', 'abc'],
  ])('malformed %j is an error against %j', (pattern, name) => {
    expect(() => goPathMatch(pattern, name)).toThrow(BadPatternError);
    expect(() => goPathMatch(pattern, name)).toThrow('syntax error in pattern');
  });

  test('a trailing star ends matching before the rest is checked, as in Go', () => {
    expect(goPathMatch('a*', 'abc')).toBe(true);
  });
});
