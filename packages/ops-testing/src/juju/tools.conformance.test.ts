/**
 * Conformance of the other fake hook tools (config, leadership, goal state, status, logs, version,
 * controller state, actions, ports, network, resources, stubs), run as a charm runs them:
 * executables on PATH talking to the fake unit agent; plus the Node client (docs/hook-tools.md).
 */
import { ok, RELATIONS, runError, ToolHarness, usageError } from './conformance.harness.js';
import { HOOK_TOOLS } from './server.js';

let h: ToolHarness;
beforeAll(async () => {
  h = await ToolHarness.start();
});
afterAll(() => h.stop());

describe('config-get', () => {
  beforeEach(() => h.use({ config: { name: 'x', password: 'secret:9m4e2mr0ui3e8a215n4g' } }));

  test('argv from the backend: set values plus non-null defaults, sorted, typed', async () => {
    expect(await h.run('config-get', ['--format=json'])).toEqual(ok('{"debug":false,"name":"x","password":"secret:9m4e2mr0ui3e8a215n4g","port":8080,"ratio":0.5}\n'));
    expect(await h.run('config-get', [])).toEqual(ok('debug: false\nname: x\npassword: secret:9m4e2mr0ui3e8a215n4g\nport: 8080\nratio: 0.5\n'));
  });

  test('--all adds unset options as null; a single key (missing: null, nothing in smart format)', async () => {
    h.use({});
    expect(await h.run('config-get', ['--format=json', '--all'])).toEqual(ok('{"debug":false,"name":null,"password":null,"port":8080,"ratio":0.5}\n'));
    expect(await h.run('config-get', ['--format=json', '-a'])).toEqual(ok('{"debug":false,"name":null,"password":null,"port":8080,"ratio":0.5}\n'));
    expect(await h.run('config-get', ['port', '--format=json'])).toEqual(ok('8080\n'));
    expect(await h.run('config-get', ['port'])).toEqual(ok('8080\n'));
    expect(await h.run('config-get', ['debug'])).toEqual(ok('False\n'));
    expect(await h.run('config-get', ['name', '--format=json'])).toEqual(ok('null\n'));
    expect(await h.run('config-get', ['name'])).toEqual(ok(''));
  });

  test('argv rejected: exit 2', async () => {
    expect(await h.run('config-get', ['--all', 'port'])).toEqual(usageError('cannot use argument --all together with key "port"'));
    expect(await h.run('config-get', ['port', 'name'])).toEqual(usageError('unrecognized args: ["name"]'));
  });
});

describe('is-leader and goal-state', () => {
  test('is-leader: JSON true/false; Python-style True/False by default', async () => {
    h.use({ leader: true });
    expect(await h.run('is-leader', ['--format=json'])).toEqual(ok('true\n'));
    expect(await h.run('is-leader', [])).toEqual(ok('True\n'));
    h.use({});
    expect(await h.run('is-leader', ['--format=json'])).toEqual(ok('false\n'));
    expect(await h.run('is-leader', [])).toEqual(ok('False\n'));
    expect(await h.run('is-leader', ['x'])).toEqual(usageError('unrecognized args: ["x"]'));
  });

  test('goal-state: one entry per planned unit with an RFC 3339 "since"; relations by endpoint; YAML by default', async () => {
    h.use({ plannedUnits: 2, relations: RELATIONS.slice(0, 1) });
    const since = '2025-01-02 03:04:05Z';
    const json = await h.run('goal-state', ['--format=json']);
    expect(json).toEqual(ok(`{"units":{"web/0":{"status":"active","since":"${since}"},"web/1":{"status":"active","since":"${since}"}},"relations":{"db":{"pg":{"status":"joined","since":"${since}"},"pg/0":{"status":"active","since":"${since}"},"pg/1":{"status":"active","since":"${since}"}}}}\n`));
    expect((await h.run('goal-state', [])).stdout).toMatch(/^units:\n {2}web\/0:\n {4}status: active\n {4}since: 2025-01-02 03:04:05Z\n/);
    // goal-state knows only yaml and json.
    expect(await h.run('goal-state', ['--format=smart'])).toEqual(usageError('invalid value "smart" for option --format: unknown format "smart"'));
  });
});

describe('status-get and status-set', () => {
  test('status-set: argv from the backend; applied at once, even if the hook then fails', async () => {
    h.use({ leader: true });
    expect(await h.run('status-set', ['--application=False', 'active', '--', ''])).toEqual(ok());
    expect(await h.run('status-set', ['--application=True', 'blocked', '--', 'app says -- no'])).toEqual(ok());
    expect(await h.run('status-set', ['maintenance'])).toEqual(ok());
    const failed = h.agent.finish(false);
    expect(failed.unitStatus).toEqual({ name: 'maintenance', message: '' });
    expect(failed.appStatus).toEqual({ name: 'blocked', message: 'app says -- no' });
    expect(h.agent.statusHistory.unit).toEqual([{ name: 'unknown', message: '' }, { name: 'active', message: '' }]);
  });

  test('status-set: a non-leader may not set the application status; argv rejected with Juju\'s texts', async () => {
    h.use({});
    expect(await h.run('status-set', ['--application=True', 'active', '--', 'x'])).toEqual(runError('this unit is not the leader'));
    expect(h.agent.finish(false).appStatus).toEqual({ name: 'unknown', message: '' });
    expect(await h.run('status-set', [])).toEqual(usageError('invalid args, require <status> [message]'));
    expect(await h.run('status-set', ['error', 'x'])).toEqual(usageError('invalid status "error", expected one of [maintenance blocked waiting active]'));
    expect(await h.run('status-set', ['active', 'a', 'b'])).toEqual(usageError('unrecognized args: ["b"]'));
  });

  test('status-get: argv from the backend, with status-data; the app form nests the units', async () => {
    h.use({ leader: true, unitStatus: { name: 'active', message: 'ok' }, appStatus: { name: 'blocked', message: 'no' } });
    expect(await h.run('status-get', ['--include-data', '--format=json', '--application=false'])).toEqual(ok('{"message":"ok","status":"active","status-data":{}}\n'));
    expect(await h.run('status-get', ['--include-data', '--format=json', '--application=true'])).toEqual(
      ok('{"application-status":{"message":"no","status":"blocked","status-data":{},"units":{"web/0":{"message":"ok","status":"active","status-data":{}}}}}\n'),
    );
    expect(await h.run('status-get', [])).toEqual(ok('active\n'));
    expect(await h.run('status-get', ['--application'])).toEqual(ok('blocked\n'));
    expect(await h.run('status-get', ['--format=json'])).toEqual(ok('{"status":"active"}\n'));
  });

  test('status-get --application by a non-leader: exit 1 with Juju\'s text', async () => {
    h.use({});
    expect(await h.run('status-get', ['--include-data', '--format=json', '--application=true'])).toEqual(runError('finding application status: this unit is not the leader'));
  });
});

describe('application-version-set and juju-log', () => {
  test('application-version-set: argv from the backend; applied at once', async () => {
    h.use({});
    expect(await h.run('application-version-set', ['--', '6.4.1'])).toEqual(ok());
    expect(h.agent.finish(false).workloadVersion).toBe('6.4.1');
    expect(await h.run('application-version-set', [])).toEqual(usageError('no version specified'));
    expect(await h.run('application-version-set', ['1', '2'])).toEqual(usageError('unrecognized args: ["2"]'));
  });

  test('juju-log: any level ops sends; message words joined; an unknown level is logged at INFO after a warning', async () => {
    h.use({});
    expect(await h.run('juju-log', ['--log-level', 'WARNING', '--', 'hello -- world'])).toEqual(ok());
    expect(await h.run('juju-log', ['-l', 'TRACE', 'a', 'b'])).toEqual(ok());
    expect(await h.run('juju-log', ['--debug', 'dbg'])).toEqual(ok());
    expect(await h.run('juju-log', ['--log-level', 'LOUD', '--', 'x'])).toEqual(ok());
    expect(await h.run('juju-log', ['--format', 'json', 'fmt'])).toEqual({ exitCode: 0, stdout: '', stderr: '--format flag deprecated for command "juju-log"' });
    expect(h.agent.logs).toEqual([
      { level: 'WARNING', message: 'hello -- world' },
      { level: 'TRACE', message: 'a b' },
      { level: 'DEBUG', message: 'dbg' },
      { level: 'WARNING', message: 'Specified log level of "LOUD" is not valid' },
      { level: 'INFO', message: 'x' },
      { level: 'INFO', message: 'fmt' },
    ]);
    expect(await h.run('juju-log', ['--log-level', 'INFO', '--'])).toEqual(usageError('no message specified'));
  });
});

describe('state-get, state-set, state-delete', () => {
  beforeEach(() => h.use({ controllerState: { a: '1', 'MyCharm/StoredStateData[_stored]': 'x: 1\n' } }));

  test('raw form (what JujuStorage uses): the stored string; nothing at all for a missing key', async () => {
    expect(await h.run('state-get', ['MyCharm/StoredStateData[_stored]'])).toEqual(ok('x: 1\n\n'));
    expect(await h.run('state-get', ['a'])).toEqual(ok('1\n'));
    expect(await h.run('state-get', ['missing'])).toEqual(ok(''));
    expect(await h.run('state-get', ['missing', '--strict'])).toEqual(runError('"missing" not found'));
  });

  test('--format=json: the whole map, or one value ("" for a missing key, as Juju writes it)', async () => {
    expect(await h.run('state-get', ['--format=json'])).toEqual(ok('{"MyCharm/StoredStateData[_stored]":"x: 1\\n","a":"1"}\n'));
    expect(await h.run('state-get', ['--format=json', '-'])).toEqual(ok('{"MyCharm/StoredStateData[_stored]":"x: 1\\n","a":"1"}\n'));
    expect(await h.run('state-get', ['--format=json', 'a'])).toEqual(ok('"1"\n'));
    expect(await h.run('state-get', ['--format=json', 'missing'])).toEqual(ok('""\n'));
    h.use({});
    expect(await h.run('state-get', ['--format=json'])).toEqual(ok('null\n'));
    expect(await h.run('state-get', [])).toEqual(ok(''));
  });

  test('state-set --file - (JSON and YAML, as JujuStorage writes it) and key=value; applied on success only', async () => {
    expect(await h.run('state-set', ['--file', '-'], '{"b": "2"}')).toEqual(ok());
    expect(await h.run('state-set', ['--file', '-'], "Charm/on/x[1]: |\n  a: 1\n")).toEqual(ok());
    expect(await h.run('state-set', ['c=3', 'empty='])).toEqual(ok());
    expect(await h.run('state-get', ['--format=json', 'b'])).toEqual(ok('"2"\n'));
    expect(h.agent.finish(false).controllerState).toEqual({ a: '1', 'MyCharm/StoredStateData[_stored]': 'x: 1\n' });
    expect(h.agent.finish(true).controllerState).toEqual({ a: '1', 'MyCharm/StoredStateData[_stored]': 'x: 1\n', b: '2', 'Charm/on/x[1]': 'a: 1\n', c: '3', empty: '' });
    expect(await h.run('state-set', ['novalue'])).toEqual(usageError('expected "key=value", got "novalue"'));
    expect(await h.run('state-set', ['--file', '-'], '[1]')).toEqual(runError('yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]string'));
  });

  test('state-delete: applied on success only; no key is not an error; extra arguments are', async () => {
    expect(await h.run('state-delete', ['a'])).toEqual(ok());
    expect(await h.run('state-delete', ['never-there'])).toEqual(ok());
    expect(await h.run('state-delete', [])).toEqual(ok());
    expect(await h.run('state-delete', ['a', 'b'])).toEqual(usageError('unrecognized args: ["b"]'));
    expect(h.agent.finish(false).controllerState.a).toBe('1');
    expect(h.agent.finish(true).controllerState.a).toBeUndefined();
  });
});

describe('action-get, action-set, action-log, action-fail', () => {
  const action = { name: 'backup', params: { target: 's3', nested: { depth: 2, list: ['a'] } } };

  test('argv from the backend; dotted keys read nested params', async () => {
    h.use({}, { action });
    expect(await h.run('action-get', ['--format=json'])).toEqual(ok('{"nested":{"depth":2,"list":["a"]},"target":"s3"}\n'));
    expect(await h.run('action-get', ['target'])).toEqual(ok('s3\n'));
    expect(await h.run('action-get', ['nested.depth', '--format=json'])).toEqual(ok('2\n'));
    expect(await h.run('action-get', ['nested.missing', '--format=json'])).toEqual(ok('null\n'));
    expect(await h.run('action-get', ['a', 'b'])).toEqual(usageError('unrecognized args: ["b"]'));
    expect(await h.run('action-set', ['out.value=x=y', 'status=done'])).toEqual(ok());
    expect(await h.run('action-log', ['--', 'working'])).toEqual(ok());
    expect(await h.run('action-fail', ['--', ''])).toEqual(ok());
    expect(h.agent.action).toEqual({ results: { 'out.value': 'x=y', status: 'done' }, logs: ['working'], failure: '' });
  });

  test('argv rejected (exit 2) before the action check; outside an action: exit 1', async () => {
    h.use({}, { action });
    expect(await h.run('action-set', ['Bad=1'])).toEqual(usageError('key "Bad" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods'));
    expect(await h.run('action-set', ['stdout=1'])).toEqual(usageError('cannot set reserved action key "stdout"'));
    expect(await h.run('action-set', ['novalue'])).toEqual(usageError('argument "novalue" must be of the form key...=value'));
    expect(await h.run('action-fail', ['a', 'b'])).toEqual(usageError('unrecognized args: ["b"]'));
    expect(await h.run('action-log', [])).toEqual(usageError('no message specified'));
    expect(await h.run('action-fail', [])).toEqual(ok());
    expect(h.agent.action.failure).toBe('action failed without reason given, check action for errors');
    h.use({});
    for (const [tool, args] of [['action-get', []], ['action-set', ['a=1']], ['action-log', ['m']], ['action-fail', ['m']]] as const) {
      expect(await h.run(tool, [...args])).toEqual(runError('not running an action'));
    }
  });
});

describe('open-port, close-port, opened-ports', () => {
  beforeEach(() => h.use({ openedPorts: [{ protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 22 }] }));

  test('argv from the backend; applied on success only; opened-ports sees this hook\'s changes, sorted', async () => {
    expect(await h.run('open-port', ['8080/tcp'])).toEqual(ok());
    expect(await h.run('open-port', ['icmp'])).toEqual(ok());
    expect(await h.run('open-port', ['443'])).toEqual(ok());
    expect(await h.run('close-port', ['22/TCP'])).toEqual(ok());
    expect(await h.run('opened-ports', ['--format=json'])).toEqual(ok('["icmp","443/tcp","8080/tcp","53/udp"]\n'));
    expect(await h.run('opened-ports', [])).toEqual(ok('icmp\n443/tcp\n8080/tcp\n53/udp\n'));
    expect(await h.run('opened-ports', ['--endpoints'])).toEqual(ok('icmp (*)\n443/tcp (*)\n8080/tcp (*)\n53/udp (*)\n'));
    expect(h.agent.finish(false).openedPorts).toEqual([{ protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 22 }]);
    expect(h.agent.finish(true).openedPorts).toEqual([{ protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 8080 }, { protocol: 'icmp' }, { protocol: 'tcp', port: 443 }]);
  });

  test('argv rejected with Juju\'s texts: exit 2; a range on Kubernetes: exit 1', async () => {
    expect(await h.run('open-port', [])).toEqual(usageError('no port or range specified'));
    expect(await h.run('open-port', ['http'])).toEqual(usageError('invalid port "http": strconv.Atoi: parsing "http": invalid syntax'));
    expect(await h.run('open-port', ['80/sctp'])).toEqual(usageError('invalid protocol "sctp", expected "tcp", "udp", or "icmp"'));
    expect(await h.run('open-port', ['80/icmp'])).toEqual(usageError('protocol "icmp" doesn\'t support any ports; got "80"'));
    expect(await h.run('open-port', ['90-80/udp'])).toEqual(usageError('invalid port range 90-80/udp'));
    expect(await h.run('open-port', ['70000'])).toEqual(usageError('port range bounds must be between 0 and 65535, got 70000-70000'));
    expect(await h.run('open-port', ['1-2-3'])).toEqual(usageError('invalid port range "1-2-3"'));
    expect(await h.run('close-port', ['80', '81'])).toEqual(usageError('unrecognized args: ["81"]'));
    expect(await h.run('open-port', ['8000-8010/tcp'])).toEqual(runError('port ranges are not supported for k8s applications, please specify a single port'));
    expect(await h.run('opened-ports', ['x'])).toEqual(usageError('unrecognized args: ["x"]'));
    expect(await h.run('open-port', ['--format', 'json', '80'])).toEqual({ exitCode: 0, stdout: '', stderr: '--format flag deprecated for command "open-port"' });
  });
});

describe('network-get and resource-get', () => {
  test('network-get: argv from the backend (bare -r id), Juju\'s JSON shape; single values with flags', async () => {
    h.use({ relations: RELATIONS });
    const want = '{"bind-addresses":[{"mac-address":"","interface-name":"eth0","addresses":[{"hostname":"","value":"192.0.2.0","cidr":"192.0.2.0/24"}]}],"egress-subnets":["192.0.2.0/24"],"ingress-addresses":["192.0.2.0"]}\n';
    expect(await h.run('network-get', ['--format=json', '-r', '3', 'db'])).toEqual(ok(want));
    expect(await h.run('network-get', ['--format=json', 'db'])).toEqual(ok(want));
    expect(await h.run('network-get', ['db', '--ingress-address'])).toEqual(ok('192.0.2.0\n'));
    expect(await h.run('network-get', ['db', '--bind-address', '--egress-subnets', '--format=json'])).toEqual(ok('{"bind-address":"192.0.2.0","egress-subnets":["192.0.2.0/24"]}\n'));
    expect(await h.run('network-get', ['db', '--primary-address'])).toEqual(ok('192.0.2.0\n'));
  });

  test('network-get: errors with Juju\'s texts; the relation not found case maps to RelationNotFoundError in ops', async () => {
    h.use({ relations: RELATIONS, networks: { 'extra-binding': { 'bind-addresses': [{ addresses: [{ value: '10.0.0.9' }] }] } } });
    expect(await h.run('network-get', ['extra-binding', '--format=json'])).toEqual(ok('{"bind-addresses":[{"mac-address":"","interface-name":"","addresses":[{"hostname":"","value":"10.0.0.9","cidr":""}]}]}\n'));
    expect(await h.run('network-get', ['--format=json', 'x'])).toEqual(runError('no network config found for binding "x"'));
    expect(await h.run('network-get', ['--format=json', '-r', '4', 'db'])).toEqual(usageError('invalid value "4" for option -r: relation not found'));
    expect(await h.run('network-get', [])).toEqual(usageError('no arguments specified'));
    expect(await h.run('network-get', [''])).toEqual(usageError('no binding name specified'));
    expect(await h.run('network-get', ['db', '--primary-address', '--ingress-address'])).toEqual(runError('--primary-address must be the only flag specified'));
  });

  test('resource-get: the path, with no newline (Juju prints it bare); errors', async () => {
    h.use({ resources: { image: '/var/lib/juju/res/image' } });
    expect(await h.run('resource-get', ['image'])).toEqual(ok('/var/lib/juju/res/image'));
    expect(await h.run('resource-get', [])).toEqual(usageError('missing required resource name'));
    expect(await h.run('resource-get', ['image', 'x'])).toEqual(usageError('unrecognized args: ["x"]'));
    expect((await h.run('resource-get', ['other'])).stderr).toMatch(/^ERROR could not download resource: /);
  });
});

describe('every tool on PATH', () => {
  test('tools the simulator does not implement answer "not implemented", exit 1', async () => {
    h.use({});
    const stubs = ['credential-get', 'juju-reboot', 'leader-get', 'leader-set', 'pod-spec-get', 'pod-spec-set', 'relation-model-get', 'storage-add', 'storage-get', 'storage-list', 'unit-get', 'add-metric'];
    expect(stubs.every((t) => HOOK_TOOLS.includes(t))).toBe(true);
    for (const t of stubs) expect(await h.run(t, ['--format=json'])).toEqual(runError(`${t}: not implemented by the simulator`));
  });

  test('the Node client (used without a C compiler) behaves the same over the same framing', async () => {
    const node = await ToolHarness.start({ client: 'node' });
    try {
      expect(node.client).toBe('node');
      node.use({ leader: true, relations: RELATIONS });
      expect(await node.run('relation-list', ['--format=json', '-r', 'db:3'])).toEqual(ok('["pg/0","pg/1"]\n'));
      expect(await node.run('relation-set', ['-r', 'db:3', '--app', '--file', '-'], '{"a": "1"}')).toEqual(ok());
      expect(node.agent.finish(true).relations[0]!.localAppData).toEqual({ mine: 'app', a: '1' });
      expect(await node.run('relation-get', ['-r', 'db:4', '-', 'pg/0'])).toEqual(usageError('invalid value "db:4" for option -r: relation not found'));
      expect(await node.run('resource-get', ['x'])).toMatchObject({ exitCode: 1 });
    } finally {
      await node.stop();
    }
  });

  test('the C client relays large stdin and output intact', async () => {
    h.use({ leader: true, relations: RELATIONS });
    const big = 'v'.repeat(300_000);
    expect(await h.run('relation-set', ['-r', 'db:3', '--file', '-'], JSON.stringify({ big }))).toEqual(ok());
    expect((await h.run('relation-get', ['-r', 'db:3', 'big', 'web/0'])).stdout).toBe(`${big}\n`);
    expect(h.client).toBe('c');
  });
});
