/**
 * The production backend (HookToolBackend over either tool runner: the shell that hooks use, and
 * one process spawned per call) against fake hook-tool
 * executables on PATH. The fakes record argv and stdin and answer canned output, so each tool's
 * exact argv form (juju-hooks.md 2.2), the parsing of its output and the mapping of its failures
 * are checked independently of our own Juju agent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessToolRunner, HookToolBackend } from './backend.js';
import { ShellToolRunner } from './shell-runner.js';
import { ModelError, RelationNotFoundError, SecretNotFoundError } from './errors.js';

const TOOLS = [
  'relation-ids', 'relation-list', 'relation-get', 'relation-set', 'config-get', 'is-leader', 'status-get', 'status-set',
  'application-version-set', 'goal-state', 'juju-log', 'secret-get', 'secret-info-get', 'secret-add', 'secret-set',
  'secret-grant', 'secret-revoke', 'secret-remove', 'secret-ids', 'open-port', 'close-port', 'opened-ports', 'action-get',
  'action-set', 'action-log', 'action-fail', 'state-get', 'state-set', 'state-delete', 'network-get', 'resource-get',
];

const FAKE = `#!/usr/bin/env bash
tool=$(basename "$0")
dir="$FAKE_TOOLS_DIR"
n=$(( $(cat "$dir/count" 2>/dev/null || echo 0) + 1 )); echo $n > "$dir/count"
printf '%s\\0' "$tool" "$@" > "$dir/call-$n.argv"
cat > "$dir/call-$n.stdin"
for a in "$@"; do case "$a" in *'#file='*) printf '%s=%s\\0' "\${a%%#file=*}" "$(cat "\${a#*#file=}")" >> "$dir/call-$n.files";; esac; done
[ -f "$dir/resp/$tool.stdout" ] && cat "$dir/resp/$tool.stdout"
[ -f "$dir/resp/$tool.stderr" ] && cat "$dir/resp/$tool.stderr" >&2
exit $(cat "$dir/resp/$tool.exit" 2>/dev/null || echo 0)
`;

const RUNNERS = [
  ['ShellToolRunner', ShellToolRunner],
  ['ProcessToolRunner', ProcessToolRunner],
] as const;

describe.each(RUNNERS)('%s', (_name, Runner) => {
  let dir: string;
  let backend: HookToolBackend;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-tools-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'resp'));
    for (const t of TOOLS) fs.writeFileSync(path.join(dir, 'bin', t), FAKE, { mode: 0o755 });
    const env = { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, FAKE_TOOLS_DIR: dir };
    backend = new HookToolBackend(new Runner({ env }), { modelUuid: 'uuid-1' });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function answer(tool: string, stdout: string, exit = 0, stderr = ''): void {
    fs.writeFileSync(path.join(dir, 'resp', `${tool}.stdout`), stdout);
    fs.writeFileSync(path.join(dir, 'resp', `${tool}.exit`), String(exit));
    fs.writeFileSync(path.join(dir, 'resp', `${tool}.stderr`), stderr);
  }

  interface Call {
    argv: string[];
    stdin: string;
    files: Record<string, string>;
  }
  function calls(): Call[] {
    const n = Number(fs.existsSync(path.join(dir, 'count')) ? fs.readFileSync(path.join(dir, 'count'), 'utf8') : 0);
    return Array.from({ length: n }, (_, i) => {
      const base = path.join(dir, `call-${i + 1}`);
      const files = fs.existsSync(`${base}.files`)
        ? Object.fromEntries(fs.readFileSync(`${base}.files`, 'utf8').split('\0').filter(Boolean).map((kv) => kv.split(/=(.*)/s).slice(0, 2)))
        : {};
      return { argv: fs.readFileSync(`${base}.argv`, 'utf8').split('\0').slice(0, -1), stdin: fs.readFileSync(`${base}.stdin`, 'utf8'), files };
    });
  }
  const argvs = () => calls().map((c) => c.argv);

  describe('argv forms and output parsing', () => {
    test('relation tools', async () => {
      answer('relation-ids', '["db:1","db:5"]\n');
      expect(await backend.relationIds('db')).toEqual([1, 5]);
      answer('relation-list', '["pg/0","pg/1"]\n');
      expect(await backend.relationList('db', 5)).toEqual(['pg/0', 'pg/1']);
      answer('relation-list', '"pg"\n');
      expect(await backend.relationRemoteApp('db', 5)).toBe('pg');
      answer('relation-get', '{"url":"x"}\n');
      expect(await backend.relationGet('db', 5, 'pg', true)).toEqual({ url: 'x' });
      expect(await backend.relationGet('db', 5, 'pg/0', false)).toEqual({ url: 'x' });
      await backend.relationSet('db', 5, { a: '1', gone: '' }, true);
      expect(argvs()).toEqual([
        ['relation-ids', 'db', '--format=json'],
        ['relation-list', '--format=json', '-r', 'db:5'],
        ['relation-list', '--format=json', '--app', '-r', 'db:5'],
        ['relation-get', '--format=json', '-r', 'db:5', '--app', '-', 'pg'],
        ['relation-get', '--format=json', '-r', 'db:5', '-', 'pg/0'],
        ['relation-set', '-r', 'db:5', '--app', '--file', '-'],
      ]);
      expect(JSON.parse(calls()[5]!.stdin)).toEqual({ a: '1', gone: '' });
    });

    test('config, leadership, status, goal state, log, version', async () => {
      answer('config-get', '{"port":8080,"debug":true,"name":"x"}\n');
      expect(await backend.configGet()).toEqual({ port: 8080, debug: true, name: 'x' });
      expect(await backend.configGet()).toEqual({ port: 8080, debug: true, name: 'x' }); // cached: one call
      answer('is-leader', 'true\n');
      // Asked twice at once (a reconcile's reads run concurrently): one call, shared.
      expect(await Promise.all([backend.isLeader(), backend.isLeader()])).toEqual([true, true]);
      expect(await backend.isLeader()).toBe(true); // cached like ops (30 s)
      answer('status-get', '{"status":"active","message":"ok","status-data":{}}\n');
      expect(await backend.statusGet(false)).toEqual({ status: 'active', message: 'ok', 'status-data': {} });
      answer('status-get', '{"application-status":{"status":"blocked","message":"m","status-data":{}},"units":{}}\n');
      expect((await backend.statusGet(true)).status).toBe('blocked');
      await backend.statusSet('waiting', '', false);
      await backend.statusSet('active', 'all good', true);
      answer('goal-state', '{"units":{"a/0":{"status":"active","since":"2023-05-23 17:05:05Z"},"a/1":{"status":"dying","since":"2023-05-23 17:05:05Z"}},"relations":{}}\n');
      expect(Object.keys((await backend.goalState()).units)).toEqual(['a/0', 'a/1']);
      await backend.jujuLog('INFO', 'hello -- world');
      await backend.applicationVersionSet('1.2');
      expect(argvs()).toEqual([
        ['config-get', '--format=json'],
        ['is-leader', '--format=json'],
        ['status-get', '--include-data', '--format=json', '--application=false'],
        ['status-get', '--include-data', '--format=json', '--application=true'],
        ['status-set', '--application=False', 'waiting', '--', ''],
        ['status-set', '--application=True', 'active', '--', 'all good'],
        ['goal-state', '--format=json'],
        ['juju-log', '--log-level', 'INFO', '--', 'hello -- world'],
        ['application-version-set', '--', '1.2'],
      ]);
      expect(backend.callCount).toBe(9);
    });

    test('secrets: content travels in files that exist only during the call', async () => {
      answer('secret-add', 'secret:cdefghijklmnopqrstuv\n');
      expect(await backend.secretAdd({ token: 'hunter2', user: 'me' }, { owner: 'application', label: 'L', rotate: 'daily' })).toBe('secret:cdefghijklmnopqrstuv');
      answer('secret-get', '{"token":"hunter2"}\n');
      expect(await backend.secretGet({ id: 'cdefghijklmnopqrstuv', refresh: true })).toEqual({ token: 'hunter2' });
      await backend.secretGet({ label: 'L', peek: true });
      answer('secret-info-get', '{"secret:cdefghijklmnopqrstuv":{"revision":3,"label":"L"}}\n');
      expect(await backend.secretInfoGet({ label: 'L' })).toEqual({ id: 'secret:cdefghijklmnopqrstuv', revision: 3, label: 'L' });
      await backend.secretSet('secret:cdefghijklmnopqrstuv', { content: { token: 'new' } });
      await backend.secretGrant('secret:cdefghijklmnopqrstuv', 5, 'pg/0');
      await backend.secretRevoke('secret:cdefghijklmnopqrstuv', 5);
      await backend.secretRemove('secret:cdefghijklmnopqrstuv', 2);
      const c = calls();
      expect(c[0]!.argv.slice(0, 7)).toEqual(['secret-add', '--label', 'L', '--rotate', 'daily', '--owner', 'application']);
      expect(c[0]!.argv.slice(7).map((a) => a.replace(/=.*/, '='))).toEqual(['token#file=', 'user#file=']);
      expect(c[0]!.files).toEqual({ token: 'hunter2', user: 'me' });
      expect(JSON.stringify(c.map((x) => x.argv))).not.toMatch(/hunter2/);
      for (const f of c[0]!.argv.slice(7)) expect(fs.existsSync(f.split('#file=')[1]!)).toBe(false);
      expect(c.slice(1).map((x) => (x.argv[0] === 'secret-set' ? x.argv.slice(0, 4) : x.argv))).toEqual([
        ['secret-get', '--format=json', 'secret://uuid-1/cdefghijklmnopqrstuv', '--refresh'],
        ['secret-get', '--format=json', '--label', 'L', '--peek'],
        ['secret-info-get', '--format=json', '--label', 'L'],
        ['secret-set', '--owner', 'application', 'secret:cdefghijklmnopqrstuv'],
        ['secret-grant', '--relation', '5', '--unit', 'pg/0', 'secret:cdefghijklmnopqrstuv'],
        ['secret-revoke', '--relation', '5', 'secret:cdefghijklmnopqrstuv'],
        ['secret-remove', 'secret:cdefghijklmnopqrstuv', '--revision', '2'],
      ]);
      expect(c[4]!.files).toEqual({ token: 'new' });
    });

    test('ports, actions, controller state, network, resources', async () => {
      await backend.openPort({ protocol: 'tcp', port: 8080 });
      await backend.closePort({ protocol: 'icmp' });
      answer('opened-ports', '["80/tcp","53/udp","icmp","8000-8010/tcp"]\n');
      expect(await backend.openedPorts()).toEqual([{ protocol: 'tcp', port: 80 }, { protocol: 'udp', port: 53 }, { protocol: 'icmp' }, { protocol: 'tcp', port: 8000 }]);
      answer('action-get', '{"who":"world"}\n');
      expect(await backend.actionGet()).toEqual({ who: 'world' });
      await backend.actionSet({ 'out.value': 'x', status: 'done' });
      await backend.actionLog('working');
      await backend.actionFail('');
      answer('state-get', '{"k":"v"}\n');
      expect(await backend.stateGet()).toEqual({ k: 'v' });
      await backend.stateSet({ k: 'w' });
      await backend.stateDelete('k');
      answer('network-get', '{"bind-addresses":[{"addresses":[{"value":"10.0.0.1"}]}]}\n');
      expect((await backend.networkGet('db', 3))['bind-addresses'][0]!.addresses[0]!.value).toBe('10.0.0.1');
      answer('resource-get', '/var/lib/juju/res/image\n');
      expect(await backend.resourceGet('image')).toBe('/var/lib/juju/res/image');
      expect(argvs()).toEqual([
        ['open-port', '8080/tcp'],
        ['close-port', 'icmp'],
        ['opened-ports', '--format=json'],
        ['action-get', '--format=json'],
        ['action-set', 'out.value=x', 'status=done'],
        ['action-log', '--', 'working'],
        ['action-fail', '--', ''],
        ['state-get', '--format=json'],
        ['state-set', '--file', '-'],
        ['state-delete', 'k'],
        ['network-get', '--format=json', '-r', '3', 'db'],
        ['resource-get', 'image'],
      ]);
    });
  });

  describe('failures map to typed errors carrying tool, argv, exit code and stderr', () => {
    test('relation not found', async () => {
      answer('relation-get', '', 2, 'ERROR invalid value "db:3" for option -r: relation not found\n');
      const err = await backend.relationGet('db', 3, 'pg', true).catch((e) => e);
      expect(err).toBeInstanceOf(RelationNotFoundError);
      expect(err.details).toEqual({ tool: 'relation-get', argv: ['--format=json', '-r', 'db:3', '--app', '-', 'pg'], exitCode: 2, stderr: 'ERROR invalid value "db:3" for option -r: relation not found\n' });
      expect(err.message).toMatch(/^ERROR invalid value "db:3" for option -r: relation not found \[relation-get --format=json/);
    });

    test('secret not found', async () => {
      answer('secret-get', '', 1, 'ERROR secret "123" not found\n');
      const err = await backend.secretGet({ id: 'secret:123' }).catch((e) => e);
      expect(err).toBeInstanceOf(SecretNotFoundError);
      expect(err.details.exitCode).toBe(1);
    });

    test('anything else is ModelError; values of key=value arguments are redacted', async () => {
      answer('action-set', '', 1, 'ERROR boom\n');
      const err = await backend.actionSet({ password: 'hunter2' }).catch((e) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect(err).not.toBeInstanceOf(RelationNotFoundError);
      expect(err.details.argv).toEqual(['password=<redacted>']);
      expect(err.message).not.toMatch(/hunter2/);
    });

    test('a permission refusal is logged as a security event before the error is raised', async () => {
      answer('relation-set', '', 1, 'ERROR cannot write relation settings\n');
      const err = await backend.relationSet('db', 1, { a: 'b' }, true).catch((e) => e);
      expect(err).toBeInstanceOf(ModelError);
      const log = calls().find((c) => c.argv[0] === 'juju-log')!;
      expect(log.argv.slice(1, 4)).toEqual(['--log-level', 'TRACE', '--']);
      expect(JSON.parse(log.argv[4]!)).toMatchObject({ type: 'security', level: 'WARN', description: 'relation-set: ERROR cannot write relation settings' });
    });

    test('unparseable output and a tool missing from PATH are clear errors', async () => {
      answer('is-leader', 'maybe\n');
      await expect(backend.isLeader()).rejects.toThrow(/is-leader printed output that is not JSON: maybe/);
      const bare = new HookToolBackend(new Runner({ env: { PATH: dir } }), { modelUuid: 'u' });
      await expect(bare.configGet()).rejects.toThrow(/hook tool "config-get" not found on PATH; charms must run under Juju or the simulator/);
    });

    test('a tool that cannot be started, or dies of a signal, is a clear error naming it', async () => {
      const tools = path.join(dir, 'odd');
      fs.mkdirSync(tools);
      fs.writeFileSync(path.join(tools, 'config-get'), '#!/bin/sh\necho {}\n', { mode: 0o644 });
      fs.writeFileSync(path.join(tools, 'is-leader'), '#!/bin/sh\nkill -TERM $$\n', { mode: 0o755 });
      const odd = new HookToolBackend(new Runner({ env: { PATH: tools } }), { modelUuid: 'u' });
      await expect(odd.configGet()).rejects.toThrow(/hook tool "config-get" could not be started \((EACCES|Permission denied)\)/);
      await expect(odd.isLeader()).rejects.toThrow(/hook tool "is-leader" was killed by SIGTERM/);
    });

    test('juju-log splits messages longer than Juju accepts', async () => {
      await backend.jujuLog('DEBUG', 'x'.repeat(131071 + 10));
      expect(argvs().map((a) => a[4]!.length)).toEqual([131071, 10]);
    });
  });

  describe('secret values never leave the charm in a message', () => {
    test('what secret-get returned, and values the charm adds, are redacted from status-set, juju-log, action-log and action-fail argv', async () => {
      answer('secret-get', '{"token":"tok-from-juju-secret","user":"me"}\n');
      await backend.secretGet({ id: 'secret:cdefghijklmnopqrstuv' });
      backend.redactor.addUrl('https://sync:url-password@remote.example');
      const leaky = 'server said: tok-from-juju-secret is invalid (url-password, https://sync:url-password@remote.example)';
      await backend.statusSet('blocked', leaky, false);
      await backend.jujuLog('ERROR', leaky);
      await backend.actionLog(leaky);
      await backend.actionFail(leaky);
      // Action results go to the operator who asked: an action may return a secret on purpose.
      await backend.actionSet({ token: 'tok-from-juju-secret' });
      const redacted = 'server said: [redacted] is invalid ([redacted], https://[redacted]@remote.example)';
      expect(argvs().slice(1)).toEqual([
        ['status-set', '--application=False', 'blocked', '--', redacted],
        ['juju-log', '--log-level', 'ERROR', '--', redacted],
        ['action-log', '--', redacted],
        ['action-fail', '--', redacted],
        ['action-set', 'token=tok-from-juju-secret'],
      ]);
    });
  });
});
