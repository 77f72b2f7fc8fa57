// OutputBuffer.lastLines against Pebble's servicelog.LastLines (P:internals/servicelog/
// lastlines.go, ringbuffer.go reverseLinePosition): the expectations follow that code by hand.
import { OutputBuffer } from './processes.js';

const TS = '2024-01-02T03:04:05.678Z';
const buffer = (text: string) => {
  const b = new OutputBuffer('svc', () => Date.parse(TS));
  b.write(text);
  return b;
};

describe('OutputBuffer.lastLines', () => {
  test('prefixes stripped, indented; nothing printed gives the bare indent', () => {
    expect(buffer('a\nb\n').lastLines(20, '    ')).toBe('    a\n    b');
    expect(buffer('').lastLines(20, '    ')).toBe('    ');
  });

  test('more than n lines: the last n+1 are taken and "(...)" replaces the first', () => {
    expect(buffer('1\n2\n3\n4\n').lastLines(2, '> ')).toBe('> (...)\n> 3\n> 4');
    expect(buffer('1\n2\n3\n').lastLines(3, '> ')).toBe('> 1\n> 2\n> 3');
  });

  test('an unfinished last line makes it n+2 lines, as the ring buffer counts newlines', () => {
    expect(buffer('1\n2\n3\n4').lastLines(2, '> ')).toBe('> (...)\n> 2\n> 3\n> 4');
  });

  test('empty lines keep their prefix, so only the last one, trimmed, keeps its timestamp', () => {
    // "<ts> [svc] \n<ts> [svc] \n" trimmed as a whole loses the last prefix's space.
    expect(buffer('\n\n').lastLines(20, '')).toBe(`\n${TS} [svc]`);
    expect(buffer('1\n2\n\n\n').lastLines(2, '')).toBe(`(...)\n\n${TS} [svc]`);
  });
});
