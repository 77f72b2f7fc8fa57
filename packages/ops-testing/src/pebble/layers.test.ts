// The layer language: strict decoding, Go Merge rules, plan validation, ordering and rendering.
import { buildPlan, combineLayers, FormatError, startOrder, stopOrder } from './layers.js';
import { parseLayer } from './layer-yaml.js';
import { renderPlanYaml } from './plan-yaml.js';
import { formatGoDuration, parseGoDuration, parseServiceCommand, shlexSplit } from './gotext.js';

function parseError(label: string, yaml: string): string {
  try {
    buildPlan([parseLayer(label, yaml)]);
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    return (e as Error).message;
  }
  throw new Error('expected a FormatError');
}

describe('Go durations', () => {
  test.each([
    ['500ms', 500e6],
    ['1.5s', 1.5e9],
    ['1m30s', 90e9],
    ['2h', 7200e9],
    ['0', 0],
    ['1us', 1e3],
  ])('parses %s', (text, ns) => expect(parseGoDuration(text)).toBe(ns));

  test.each([
    ['', 'time: invalid duration ""'],
    ['5', 'time: missing unit in duration "5"'],
    ['5x', 'time: unknown unit "x" in duration "5x"'],
    ['.s', 'time: invalid duration ".s"'],
  ])('rejects %j with Go text', (text, msg) => expect(() => parseGoDuration(text)).toThrow(msg));

  test.each([
    [0, '0s'],
    [500e6, '500ms'],
    [1.5e9, '1.5s'],
    [30e9, '30s'],
    [90e9, '1m30s'],
    [3600e9, '1h0m0s'],
    [1500, '1.5µs'],
  ])('formats %d ns as %s', (ns, text) => expect(formatGoDuration(ns)).toBe(text));
});

describe('command splitting', () => {
  test('shell-style words, quotes and escapes', () => {
    expect(shlexSplit(`node /opt/a.js "two words" 'single $x' back\\ slash # comment`)).toEqual([
      'node',
      '/opt/a.js',
      'two words',
      'single $x',
      'back slash',
    ]);
  });

  test('default arguments group', () => {
    expect(parseServiceCommand('s', 'srv --x [ --port 80 ]')).toEqual({ base: ['srv', '--x'], extra: ['--port', '80'] });
    expect(() => parseServiceCommand('s', '[ a ]')).toThrow('cannot parse service "s" command: cannot start command with [ ... ] group');
    expect(() => parseServiceCommand('s', 'a "open')).toThrow('EOF found when expecting closing quote');
  });
});

describe('strict layer decoding', () => {
  test('unknown fields are rejected with line numbers relative to the section', () => {
    const msg = parseError('L', 'services:\n  a:\n    override: replace\n    command: x\n    colour: red\n');
    expect(msg).toBe(
      'cannot parse layer "L" section "services": yaml: unmarshal errors:\n  line 4: field colour not found in type plan.Service',
    );
  });

  test('unknown top-level section', () => {
    expect(parseError('L', 'servicez: {}\n')).toBe('cannot parse layer "L": unknown section "servicez"');
  });

  test('durations must be Go duration strings', () => {
    expect(parseError('L', 'services:\n  a:\n    override: replace\n    command: x\n    backoff-delay: 5\n')).toBe(
      'cannot parse layer "L" section "services": invalid duration "5"',
    );
    expect(parseError('L', 'services:\n  a:\n    override: replace\n    command: x\n    kill-delay: [1s]\n')).toBe(
      'cannot parse layer "L" section "services": duration must be a YAML string',
    );
  });

  test('type errors name the Go type', () => {
    expect(parseError('L', 'services:\n  a:\n    override: replace\n    command: x\n    after: b\n')).toContain(
      'cannot unmarshal !!str `b` into []string',
    );
  });

  test('per-layer validation messages', () => {
    expect(parseError('L', 'services:\n  a:\n')).toBe('service object cannot be null for service "a"');
    expect(parseError('L', 'services:\n  pebble:\n    override: replace\n    command: x\n')).toBe(
      'cannot use reserved service name "pebble"',
    );
    expect(parseError('pebble-x', 'summary: x\n')).toBe('cannot use reserved label prefix "pebble-"');
    expect(parseError('L', 'services:\n  a:\n    override: replace\n    command: x\n    on-failure: explode\n')).toBe(
      'plan service "a" on-failure action "explode" invalid',
    );
  });

  test('override is required on every service, check and log target', () => {
    expect(parseError('L', 'services:\n  a:\n    command: x\n')).toBe('layer "L" must define "override" for service "a"');
    expect(parseError('L', 'checks:\n  c:\n    tcp: {port: 1}\n')).toBe('layer "L" must define "override" for check "c"');
    expect(parseError('L', 'services:\n  a:\n    override: maybe\n    command: x\n')).toBe(
      'layer "L" has invalid "override" value for service "a"',
    );
  });

  test('plan validation: command, check type, unknown requires, cycles', () => {
    expect(parseError('L', 'services:\n  a:\n    override: replace\n')).toBe('plan must define "command" for service "a"');
    expect(parseError('L', 'checks:\n  c:\n    override: replace\n')).toBe(
      'plan must specify one of "http", "tcp", or "exec" for check "c"',
    );
    expect(parseError('L', 'services:\n  a:\n    override: replace\n    command: x\n    requires: [ghost]\n')).toBe(
      'service "ghost" does not exist',
    );
    expect(
      parseError(
        'L',
        'services:\n  a:\n    override: replace\n    command: x\n    after: [b]\n  b:\n    override: replace\n    command: y\n    after: [a]\n',
      ),
    ).toBe('services in before/after loop: a, b');
  });
});

describe('combining layers (Go Merge rules)', () => {
  const base = parseLayer(
    'base',
    `summary: base summary
services:
  web:
    override: replace
    summary: web server
    command: web --serve
    requires: [db]
    environment: {A: "1", B: "1"}
    kill-delay: 10s
  db:
    override: replace
    command: db
`,
  );

  test('merge appends lists, merges maps, overwrites set scalars, keeps override', () => {
    const over = parseLayer(
      'over',
      `services:
  web:
    override: merge
    requires: [db, cache]
    environment: {B: "2", C: "3"}
    startup: enabled
  cache:
    override: replace
    command: cache
`,
    );
    const plan = buildPlan([base, over]);
    const web = plan.services.get('web')!;
    expect(web.requires).toEqual(['db', 'db', 'cache']);
    expect(web.environment).toEqual({ A: '1', B: '2', C: '3' });
    expect(web.command).toBe('web --serve');
    expect(web.summary).toBe('web server');
    expect(web.startup).toBe('enabled');
    expect(web.override).toBe('replace');
    expect(web.killDelay).toEqual({ set: true, ns: 10e9 });
  });

  test('replace drops the earlier definition', () => {
    const over = parseLayer('over', 'services:\n  web:\n    override: replace\n    command: other\n');
    const web = buildPlan([base, over]).services.get('web')!;
    expect(web.environment).toBeNull();
    expect(web.requires).toEqual([]);
    expect(web.command).toBe('other');
  });

  test('summary and description come from the last layer, even when empty', () => {
    const over = parseLayer('over', 'services: {}\n');
    expect(combineLayers([base, over]).summary).toBe('');
    expect(combineLayers([over, base]).summary).toBe('base summary');
  });

  test('defaults are applied but not rendered; the plan is YAML with 4-space indentation', () => {
    const plan = buildPlan([base]);
    expect(plan.services.get('db')!.backoffDelay).toEqual({ set: false, ns: 500e6 });
    expect(renderPlanYaml(plan)).toBe(
      [
        'services:',
        '    db:',
        '        override: replace',
        '        command: db',
        '    web:',
        '        summary: web server',
        '        override: replace',
        '        command: web --serve',
        '        requires:',
        '            - db',
        '        environment:',
        '            A: "1"',
        '            B: "1"',
        '        kill-delay: 10s',
        '',
      ].join('\n'),
    );
    expect(renderPlanYaml(buildPlan([]))).toBe('{}\n');
  });

  test('a check merged with another type keeps both and fails validation', () => {
    const a = parseLayer('a', 'checks:\n  c:\n    override: replace\n    tcp: {port: 80}\n');
    const b = parseLayer('b', 'checks:\n  c:\n    override: merge\n    http: {url: "http://x/"}\n');
    expect(() => buildPlan([a, b])).toThrow('plan must specify one of "http", "tcp", or "exec" for check "c"');
  });
});

describe('start and stop order', () => {
  const plan = buildPlan([
    parseLayer(
      'L',
      `services:
  web: {override: replace, command: w, requires: [db], after: [db]}
  db: {override: replace, command: d}
  worker: {override: replace, command: k, requires: [db], after: [db]}
  lone: {override: replace, command: l}
`,
    ),
  ]);

  test('start pulls in requirements, ordered by after/before, sharing a lane', () => {
    expect(startOrder(plan, ['web'])).toEqual([['db', 'web']]);
    expect(startOrder(plan, ['web', 'lone'])).toEqual([['db', 'web'], ['lone']]);
  });

  test('stop pulls in dependants, reversed', () => {
    expect(stopOrder(plan, ['db'])).toEqual([['web', 'worker', 'db']]);
  });

  test('unknown names', () => {
    expect(() => startOrder(plan, ['ghost'])).toThrow('service "ghost" does not exist');
  });
});
