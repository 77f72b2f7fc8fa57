import { type Args, type CommandSpec, helpText, nearest, parseCommand, UsageError, usageLine } from './args.js';

const SPEC: CommandSpec = {
  name: 'demo',
  usage: 'npm start -- [options]',
  summary: 'Runs the demo.',
  options: {
    events: { type: 'string', default: '10000', value: 'N', help: 'events to seed' },
    profile: { type: 'string', default: '7.x', help: 'the local platform' },
    ratio: { type: 'string', default: '1', help: 'a share' },
    only: { type: 'string', default: 'a,b', help: 'runs' },
    param: { type: 'string', multiple: true, value: 'K=V', help: 'a parameter' },
    verbose: { type: 'boolean', short: 'v', help: 'every hook' },
  },
};

function args(...argv: string[]): Args {
  const p = parseCommand(SPEC, argv);
  if (p.kind !== 'args') throw new Error('expected arguments, got the help text');
  return p.args;
}

/** The UsageError a call throws, as the one line the user sees. */
function mistake(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return usageLine(SPEC, e);
    throw e;
  }
  throw new Error('no UsageError');
}

test('--help and -h give the help text: usage, summary, every option with its default', () => {
  for (const flag of ['--help', '-h']) {
    const p = parseCommand(SPEC, ['--events', '5', flag]);
    expect(p.kind).toBe('help');
    const text = (p as { text: string }).text;
    expect(text).toMatch(/^usage: npm start -- \[options\]\n\nRuns the demo\.\n\noptions:\n/);
    expect(text).toMatch(/ {6}--events N +events to seed \(default: 10000\)\n/);
    expect(text).toMatch(/ {2}-v, --verbose +every hook\n/);
    expect(text).toMatch(/--param K=V +a parameter \(repeatable\)/);
    expect(text).toMatch(/-h, --help +print this help and exit$/);
  }
});

test('positionals are listed when the command takes them, refused when it does not', () => {
  const spec = { ...SPEC, positionals: [{ name: '<charm>', help: 'the charm folder' }] };
  expect(helpText(spec)).toMatch(/\n\narguments:\n {2}<charm> +the charm folder\n\noptions:/);
  const p = parseCommand(spec, ['x']);
  expect(p.kind === 'args' && p.args.positionals).toEqual(['x']);
  expect(mistake(() => parseCommand(SPEC, ['x']))).toBe('demo: unexpected argument "x": this command takes options only (see --help)');
});

test('an unknown option is one line naming it, with the near option when there is one', () => {
  expect(mistake(() => args('--x'))).toBe('demo: unknown option --x (see --help)');
  expect(mistake(() => args('--event', '5'))).toBe('demo: unknown option --event; did you mean --events? (see --help)');
  expect(mistake(() => args('--verb'))).toBe('demo: unknown option --verb; did you mean --verbose? (see --help)');
  expect(mistake(() => args('-z'))).toBe('demo: unknown option -z (see --help)');
});

test('a missing value, or a value for a flag, names the option', () => {
  expect(mistake(() => args('--events'))).toBe('demo: --events needs a value (see --help)');
  expect(mistake(() => args('--events', '--verbose'))).toBe('demo: --events needs a value; one that starts with "-" goes as --events=VALUE (see --help)');
  expect(mistake(() => args('--verbose=yes'))).toBe('demo: --verbose takes no value (see --help)');
});

test('readers apply defaults and refuse bad values, naming the option, the range and the value', () => {
  const a = args('--verbose', '--param', 'a=1', '--param', 'b=2');
  expect([a.int('events', 1, 5_000_000), a.choice('profile', ['5.12', '6.9', '7.x']), a.number('ratio', 0), a.subset('only', ['a', 'b', 'c'])]).toEqual([10000, '7.x', 1, ['a', 'b']]);
  expect([a.flag('verbose'), a.strings('param'), a.string('missing')]).toEqual([true, ['a=1', 'b=2'], undefined]);
  expect(args('--events', '42').int('events', 1)).toBe(42);
  expect(args('--ratio', '0.5').number('ratio', 0)).toBe(0.5);

  expect(mistake(() => args('--events', 'many').int('events', 1, 5_000_000))).toBe('demo: --events must be a whole number from 1 to 5000000 (got many) (see --help)');
  expect(mistake(() => args('--events', '1.5').int('events', 1))).toBe('demo: --events must be a whole number >= 1 (got 1.5) (see --help)');
  expect(mistake(() => args('--events', '0').int('events', 1))).toMatch(/--events must be a whole number >= 1 \(got 0\)/);
  expect(mistake(() => args('--events=').int('events', 1))).toMatch(/--events must be a whole number >= 1 \(got an empty value\)/);
  expect(mistake(() => args('--events', '0x10').int('events', 1))).toMatch(/\(got 0x10\)/);
  expect(mistake(() => args('--profile', '9.9').choice('profile', ['5.12', '6.9', '7.x']))).toBe('demo: --profile must be one of 5.12, 6.9, 7.x (got 9.9) (see --help)');
  expect(mistake(() => args('--ratio', 'lots').number('ratio', 0))).toBe('demo: --ratio must be a number >= 0 (got lots) (see --help)');
  expect(mistake(() => args('--only', 'a,d').subset('only', ['a', 'b', 'c']))).toBe('demo: --only must be a comma-separated list of a, b, c (got a,d) (see --help)');
});

test('a UsageError for input the help cannot fix leaves out the pointer to --help', () => {
  expect(usageLine(SPEC, new UsageError('state.yaml is invalid', false))).toBe('demo: state.yaml is invalid');
});

test('nearest: a typo or a prefix of a known name; nothing for a stranger', () => {
  expect(nearest('outptu', ['output', 'node'])).toBe('output');
  expect(nearest('out', ['output', 'node'])).toBe('output');
  expect(nearest('banana', ['output', 'node'])).toBeUndefined();
});
