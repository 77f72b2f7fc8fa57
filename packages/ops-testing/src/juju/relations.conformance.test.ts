/**
 * Conformance of the fake relation-* tools and of the option parsing every tool shares, run as a
 * charm runs them: executables on PATH talking to the fake unit agent (docs/hook-tools.md).
 */
import fs from 'node:fs';
import { ok, RELATIONS, runError, ToolHarness, usageError } from './conformance.harness.js';

let h: ToolHarness;
beforeAll(async () => {
  h = await ToolHarness.start();
});
afterAll(() => h.stop());

const leader = { leader: true, relations: RELATIONS };

describe('option parsing (gnuflag as Juju uses it)', () => {
  beforeEach(() => h.use(leader));

  test.each([
    ['relation-ids', ['db', '--xyz'], 'option provided but not defined: --xyz'],
    ['relation-ids', ['db', '-x'], 'option provided but not defined: -x'],
    // gnuflag names a one-letter option with one dash, however it was spelled.
    ['relation-ids', ['db', '--x'], 'option provided but not defined: -x'],
    // After one dash every letter is an option of its own.
    ['relation-list', ['-app', '-r', 'db:3'], 'option provided but not defined: -a'],
    ['relation-ids', ['-format=json', 'db'], 'option provided but not defined: -f'],
    ['relation-list', ['-r'], 'option needs an argument: -r'],
    ['relation-get', ['--relation'], 'option needs an argument: --relation'],
    ['relation-ids', ['db', '--format'], 'option needs an argument: --format'],
    ['relation-ids', ['db', '--format=xml'], 'invalid value "xml" for option --format: unknown format "xml"'],
    ['relation-list', ['-r', 'db:3', '--app=maybe'], 'invalid value "maybe" for option --app: strconv.ParseBool: parsing "maybe": invalid syntax'],
    ['relation-ids', ['--=x'], 'empty option in argument "--=x"'],
    ['status-set', ['--application=yes', 'active'], 'invalid value "yes" for option --application: strconv.ParseBool: parsing "yes": invalid syntax'],
    ['secret-remove', ['secret:9m4e2mr0ui3e8a215n4g', '--revision', 'two'], 'invalid value "two" for option --revision: strconv.ParseInt: parsing "two": invalid syntax'],
  ])('%s %j is refused: exit 2', async (tool, args, message) => {
    expect(await h.run(tool, args)).toEqual(usageError(message));
  });

  test('options may follow positionals, take their value in any of gnuflag\'s forms, and -- ends them', async () => {
    for (const args of [['db', '--format=json'], ['--format', 'json', 'db'], ['db', '--format', 'json']]) {
      expect(await h.run('relation-ids', args)).toEqual(ok('["db:3"]\n'));
    }
    // A one-letter option may be spelled with two dashes, or glued to its value.
    expect(await h.run('relation-list', ['--r', 'db:3', '--format=json'])).toEqual(ok('["pg/0","pg/1"]\n'));
    expect(await h.run('relation-list', ['-rdb:3', '--format=json'])).toEqual(ok('["pg/0","pg/1"]\n'));
    // `-r=3` gives the value "=3": Juju still reads the number after the last colon... there is none.
    expect(await h.run('relation-list', ['-r=3'])).toEqual(usageError('invalid value "=3" for option -r: invalid relation id'));
    expect(await h.run('juju-log', ['--', '--format=json', '-x'])).toEqual(ok());
    expect(h.agent.logs.at(-1)).toEqual({ level: 'INFO', message: '--format=json -x' });
  });

  test('--help and -h print usage on stdout and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await h.run('relation-get', [flag]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^Usage: relation-get \[options\] <key> <unit id>\n/);
      expect(r.stderr).toBe('');
    }
  });

  test('-o/--output writes the output to a file instead of stdout', async () => {
    const target = h.file('out.json', '');
    expect(await h.run('relation-ids', ['db', '--format=json', '-o', target])).toEqual(ok());
    expect(fs.readFileSync(target, 'utf8')).toBe('["db:3"]\n');
  });
});

describe('relation-ids', () => {
  test('argv from the backend: JSON list of "<endpoint>:<id>", sorted as strings', async () => {
    h.use({ relations: [...RELATIONS, { id: 10, endpoint: 'db', remoteAppName: 'pg2' }, { id: 9, endpoint: 'db', remoteAppName: 'pg3' }] });
    expect(await h.run('relation-ids', ['db', '--format=json'])).toEqual(ok('["db:10","db:3","db:9"]\n'));
    expect(await h.run('relation-ids', ['nothing', '--format=json'])).toEqual(ok('[]\n'));
  });

  test('default (smart) output is one id per line; nothing at all for none', async () => {
    h.use(leader);
    expect(await h.run('relation-ids', ['db'])).toEqual(ok('db:3\n'));
    expect(await h.run('relation-ids', ['nothing'])).toEqual(ok(''));
    expect(await h.run('relation-ids', ['db', '--format=yaml'])).toEqual(ok('- db:3\n'));
  });

  test('the endpoint defaults to the hook relation\'s; outside a relation hook it is required', async () => {
    h.use(leader, { relationId: 5 });
    expect(await h.run('relation-ids', ['--format=json'])).toEqual(ok('["cluster:5"]\n'));
    h.use(leader);
    expect(await h.run('relation-ids', ['--format=json'])).toEqual(usageError('no endpoint name specified'));
    expect(await h.run('relation-ids', ['db', 'extra'])).toEqual(usageError('unrecognized args: ["extra"]'));
  });
});

describe('relation-list', () => {
  beforeEach(() => h.use(leader));

  test('argv from the backend: the remote units; on a peer relation the other units of our app', async () => {
    expect(await h.run('relation-list', ['--format=json', '-r', 'db:3'])).toEqual(ok('["pg/0","pg/1"]\n'));
    expect(await h.run('relation-list', ['--format=json', '-r', 'cluster:5'])).toEqual(ok('["web/1"]\n'));
    expect(await h.run('relation-list', ['--format=json', '-r', 'website:12'])).toEqual(ok('[]\n'));
    expect(await h.run('relation-list', ['-r', 'db:3'])).toEqual(ok('pg/0\npg/1\n'));
  });

  test('in -relation-departed the departing unit is no longer listed, its databag still readable; in -relation-broken no unit is', async () => {
    h.use(leader, { hook: 'db-relation-departed', relationId: 3, remoteUnit: 'pg/1' });
    expect(await h.run('relation-list', ['--format=json'])).toEqual(ok('["pg/0"]\n'));
    expect(await h.run('relation-get', ['--format=json', '-', 'pg/1'])).toEqual(ok('{"host":"pg-1"}\n'));
    // Other relations keep their members.
    expect(await h.run('relation-list', ['--format=json', '-r', 'cluster:5'])).toEqual(ok('["web/1"]\n'));
    h.use(leader, { hook: 'db-relation-broken', relationId: 3 });
    expect(await h.run('relation-list', ['--format=json'])).toEqual(ok('[]\n'));
    expect(await h.run('relation-list', ['--format=json', '--app'])).toEqual(ok('"pg"\n'));
    h.use(leader, { hook: 'db-relation-changed', relationId: 3, remoteUnit: 'pg/1' });
    expect(await h.run('relation-list', ['--format=json'])).toEqual(ok('["pg/0","pg/1"]\n'));
  });

  test('--app: the remote application as a JSON string (our own app on a peer relation)', async () => {
    expect(await h.run('relation-list', ['--format=json', '--app', '-r', 'db:3'])).toEqual(ok('"pg"\n'));
    expect(await h.run('relation-list', ['--format=json', '--app', '-r', 'website:12'])).toEqual(ok('"proxy"\n'));
    expect(await h.run('relation-list', ['--format=json', '--app', '-r', 'cluster:5'])).toEqual(ok('"web"\n'));
    expect(await h.run('relation-list', ['--app', '-r', 'db:3'])).toEqual(ok('pg\n'));
  });

  test('an unknown relation is refused while parsing -r: exit 2 with Juju\'s text', async () => {
    for (const ref of ['db:4', '4', 'website:3']) {
      expect(await h.run('relation-list', ['--format=json', '-r', ref])).toEqual(usageError(`invalid value "${ref}" for option -r: relation not found`));
    }
    expect(await h.run('relation-list', ['--relation', 'db:99'])).toEqual(usageError('invalid value "db:99" for option --relation: relation not found'));
    expect(await h.run('relation-list', ['-r', 'db:x'])).toEqual(usageError('invalid value "db:x" for option -r: invalid relation id'));
    // Juju reads only the number; the fake also refuses a mismatched endpoint (deliberate).
    expect(await h.run('relation-list', ['-r', 'cluster:3'])).toEqual(usageError('invalid value "cluster:3" for option -r: relation not found'));
    // A bare number is accepted, as Juju accepts it.
    expect(await h.run('relation-list', ['-r', '3', '--format=json'])).toEqual(ok('["pg/0","pg/1"]\n'));
  });

  test('-r defaults to the hook relation; elsewhere it is required; no positional arguments', async () => {
    h.use(leader, { relationId: 3 });
    expect(await h.run('relation-list', ['--format=json'])).toEqual(ok('["pg/0","pg/1"]\n'));
    h.use(leader);
    expect(await h.run('relation-list', ['--format=json'])).toEqual(usageError('no relation id specified'));
    expect(await h.run('relation-list', ['-r', 'db:3', 'pg/0'])).toEqual(usageError('unrecognized args: ["pg/0"]'));
  });
});

describe('relation-get', () => {
  beforeEach(() => h.use(leader));

  test('argv from the backend: every bag, as a JSON object with sorted keys', async () => {
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', '--app', '-', 'pg'])).toEqual(ok('{"\\u003ctag\\u003e":"a\\u0026b","url":"pg://x"}\n'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', '-', 'pg/1'])).toEqual(ok('{"host":"pg-1"}\n'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', '-', 'web/0'])).toEqual(ok('{"host":"web-0"}\n'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', '--app', '-', 'web'])).toEqual(ok('{"mine":"app"}\n'));
    // Peers: another unit of our app, and the shared app bag.
    expect(await h.run('relation-get', ['--format=json', '-r', 'cluster:5', '-', 'web/1'])).toEqual(ok('{"host":"web-1"}\n'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'cluster:5', '--app', '-', 'web'])).toEqual(ok('{"shared":"yes"}\n'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'website:12', '--app', '-', 'proxy'])).toEqual(ok('{}\n'));
  });

  test('one key: its value, or null (nothing in smart format) when missing', async () => {
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', 'host', 'pg/0'])).toEqual(ok('"pg-0"\n'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', 'nope', 'pg/0'])).toEqual(ok('null\n'));
    expect(await h.run('relation-get', ['-r', 'db:3', 'host', 'pg/0'])).toEqual(ok('pg-0\n'));
    expect(await h.run('relation-get', ['-r', 'db:3', 'nope', 'pg/0'])).toEqual(ok(''));
    expect(await h.run('relation-get', ['-r', 'db:3', '-', 'pg/0'])).toEqual(ok('host: pg-0\n'));
  });

  test('--app with a unit name reads that unit\'s application; defaults come from the hook', async () => {
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', '--app', '-', 'pg/0'])).toEqual(ok('{"\\u003ctag\\u003e":"a\\u0026b","url":"pg://x"}\n'));
    h.use(leader, { relationId: 3, remoteUnit: 'pg/1', remoteApp: 'pg' });
    expect(await h.run('relation-get', ['--format=json'])).toEqual(ok('{"host":"pg-1"}\n'));
    expect(await h.run('relation-get', ['--format=json', '--app'])).toEqual(ok('{"\\u003ctag\\u003e":"a\\u0026b","url":"pg://x"}\n'));
    // relation-broken: no remote unit, so the remote app is the default.
    h.use(leader, { relationId: 3, remoteApp: 'pg' });
    expect(await h.run('relation-get', ['--format=json', 'url'])).toEqual(ok('"pg://x"\n'));
  });

  test('argv rejected: Juju\'s texts and exit 2', async () => {
    expect(await h.run('relation-get', ['-r', 'db:3', '-', 'pg'])).toEqual(usageError('expected unit name, got application name "pg"'));
    expect(await h.run('relation-get', ['-r', 'db:3', '-', 'PG!'])).toEqual(usageError('invalid unit name "PG!"'));
    expect(await h.run('relation-get', ['-r', 'db:3', '-'])).toEqual(usageError('no unit or application specified'));
    expect(await h.run('relation-get', ['-r', 'db:3', '--app', '-'])).toEqual(usageError('no unit or application specified'));
    expect(await h.run('relation-get', ['-r', 'db:3', '-', 'pg/0', 'extra'])).toEqual(usageError('unrecognized args: ["extra"]'));
    expect(await h.run('relation-get', ['-', 'pg/0'])).toEqual(usageError('no relation id specified'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:4', '--app', '-', 'pg'])).toEqual(usageError('invalid value "db:4" for option -r: relation not found'));
  });

  test('our own writes are visible to us; a unit the relation does not have is an error', async () => {
    await h.run('relation-set', ['-r', 'db:3', 'k=v']);
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', '-', 'web/0'])).toEqual(ok('{"host":"web-0","k":"v"}\n'));
    expect((await h.run('relation-get', ['-r', 'db:3', '-', 'pg/7'])).exitCode).toBe(1);
  });

  test('a non-leader gets its own app bag only on a peer relation', async () => {
    h.use({ relations: RELATIONS });
    expect(await h.run('relation-get', ['--format=json', '-r', 'cluster:5', '--app', '-', 'web'])).toEqual(ok('{"shared":"yes"}\n'));
    expect(await h.run('relation-get', ['--format=json', '-r', 'db:3', '--app', '-', 'web'])).toEqual(runError('permission denied'));
  });
});

describe('relation-set', () => {
  beforeEach(() => h.use(leader));

  test('argv from the backend: --file - with a JSON object; "" deletes; applied only by a successful hook', async () => {
    expect(await h.run('relation-set', ['-r', 'db:3', '--app', '--file', '-'], '{"a": "1", "mine": ""}')).toEqual(ok());
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '-'], '{"b": "2"}')).toEqual(ok());
    expect(h.agent.finish(false).relations[0]).toMatchObject({ localAppData: { mine: 'app' }, localUnitData: { host: 'web-0' } });
    expect(h.agent.finish(true).relations[0]).toMatchObject({ localAppData: { a: '1' }, localUnitData: { host: 'web-0', b: '2' } });
  });

  test('--file - with YAML; scalars keep their text as yaml.v2 reads them into strings', async () => {
    const yaml = 'n: 1.0\nhex: 0x10\nyes: yes\nquoted: "q"\nempty:\nnull: ~\nhost: ""\nmulti: |\n  a\n  b\n';
    expect(await h.run('relation-set', ['-r', 'db:3', '--file=-'], yaml)).toEqual(ok());
    expect(h.agent.finish(true).relations[0]!.localUnitData).toEqual({ n: '1.0', hex: '0x10', yes: 'yes', quoted: 'q', multi: 'a\nb\n' });
  });

  test('key=value arguments override the file; values are trimmed; an empty file sets nothing', async () => {
    const file = h.file('settings.yaml', 'a: from-file\nb: from-file\n');
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', file, 'b = arg', 'c=', 'host=']).then((r) => r.exitCode)).toBe(0);
    expect(h.agent.current.relations[0]!.localUnitData).toEqual({ a: 'from-file', b: 'arg' });
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '-'], '')).toEqual(ok());
  });

  test('argv rejected (exit 2) and bad settings files (exit 1), with Juju\'s texts', async () => {
    expect(await h.run('relation-set', ['-r', 'db:3', 'novalue'])).toEqual(usageError('expected "key=value", got "novalue"'));
    expect(await h.run('relation-set', ['-r', 'db:3', '=v'])).toEqual(usageError('expected "key=value", got "=v"'));
    expect(await h.run('relation-set', ['-r', 'db:3', 'a=1', 'a=2'])).toEqual(usageError('key "a" specified more than once'));
    expect(await h.run('relation-set', ['a=1'])).toEqual(usageError('no relation id specified'));
    expect(await h.run('relation-set', ['-r', 'db:4', 'a=1'])).toEqual(usageError('invalid value "db:4" for option -r: relation not found'));
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '-'], '{"a": {"b": "c"}}')).toEqual(runError('yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into string'));
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '-'], 'a: [1]\nb:\n  - 2\n')).toEqual(runError('yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string\n  line 3: cannot unmarshal !!seq into string'));
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '-'], '["a"]')).toEqual(runError('yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]string'));
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '/nonexistent/x.yaml'])).toEqual(runError('open /nonexistent/x.yaml: no such file or directory'));
    expect(h.agent.finish(true).relations[0]!.localUnitData).toEqual({ host: 'web-0' });
  });

  test('--app by a non-leader: "cannot write relation settings", exit 1 (Juju\'s text, which ops recognises)', async () => {
    h.use({ relations: RELATIONS });
    expect(await h.run('relation-set', ['-r', 'db:3', '--app', '--file', '-'], '{"a": "1"}')).toEqual(runError('cannot write relation settings'));
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '-'], '{"a": "1"}')).toEqual(ok());
  });

  test('the deprecated --format is accepted with Juju\'s warning on stderr', async () => {
    expect(await h.run('relation-set', ['-r', 'db:3', '--format', 'json', 'a=1'])).toEqual({ exitCode: 0, stdout: '', stderr: '--format flag deprecated for command "relation-set"' });
  });
});
