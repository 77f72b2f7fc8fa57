/**
 * Conformance of the fake secret-* tools, run as a charm runs them: executables on PATH talking
 * to the fake unit agent (docs/hook-tools.md).
 */
import fs from 'node:fs';
import type { State } from '../state.js';
import { MODEL_UUID, ok, RELATIONS, runError, ToolHarness, usageError } from './conformance.harness.js';

let h: ToolHarness;
beforeAll(async () => {
  h = await ToolHarness.start();
});
afterAll(() => h.stop());

const GRANTED = '9m4e2mr0ui3e8a215n4g';
const APP = 'cq1ohbgui3e8a215n4g0';
const UNIT = 'cq1ohbgui3e8a215n5g0';
const secrets = [
  { id: `secret:${GRANTED}`, label: 'tok', trackedRevision: 1, revisions: [{ revision: 1, content: { token: 'one' } }, { revision: 2, content: { token: 'two' } }] },
  { id: `secret:${APP}`, owner: 'app' as const, label: 'mine', description: 'd', revisions: [{ revision: 1, content: { pass: 'p1' } }], grants: { '3': ['pg'] } },
  { id: `secret:${UNIT}`, owner: 'unit' as const, revisions: [{ revision: 1, content: { key: 'k1' } }, { revision: 2, content: { key: 'k2' } }] },
];
const leader = { leader: true, relations: RELATIONS, secrets };
const follower = { leader: false, relations: RELATIONS, secrets };
const find = (s: Readonly<State>, id: string) => s.secrets.find((x) => x.id === `secret:${id}`);

describe('secret-get', () => {
  beforeEach(() => h.use(leader));

  test('the id forms secret:X, secret://<uuid>/X and bare X name the same secret', async () => {
    for (const id of [`secret:${GRANTED}`, `secret://${MODEL_UUID}/${GRANTED}`, GRANTED]) {
      expect(await h.run('secret-get', ['--format=json', id])).toEqual(ok('{"token":"one"}\n'));
    }
    // Juju's default format here is YAML.
    expect(await h.run('secret-get', [GRANTED])).toEqual(ok('token: one\n'));
  });

  test('a consumer reads its tracked revision; --refresh moves it at once (saved by the controller); --peek does not', async () => {
    expect(await h.run('secret-get', ['--format=json', GRANTED, '--peek'])).toEqual(ok('{"token":"two"}\n'));
    expect(await h.run('secret-get', ['--format=json', GRANTED])).toEqual(ok('{"token":"one"}\n'));
    expect(await h.run('secret-get', ['--format=json', GRANTED, '--refresh'])).toEqual(ok('{"token":"two"}\n'));
    expect(await h.run('secret-get', ['--format=json', GRANTED])).toEqual(ok('{"token":"two"}\n'));
    expect(find(h.agent.finish(false), GRANTED)).toMatchObject({ trackedRevision: 2 });
  });

  test('a secret this unit never read: the first read gets the latest revision and starts tracking it (at once); --peek tracks nothing', async () => {
    const unread = { ...secrets[0]!, trackedRevision: undefined, revisions: [...secrets[0]!.revisions, { revision: 3, content: { token: 'three' } }] };
    h.use({ ...leader, secrets: [unread] });
    expect(await h.run('secret-get', ['--format=json', GRANTED, '--peek'])).toEqual(ok('{"token":"three"}\n'));
    expect(find(h.agent.finish(false), GRANTED)!.trackedRevision).toBeUndefined();
    expect(await h.run('secret-get', ['--format=json', GRANTED])).toEqual(ok('{"token":"three"}\n'));
    expect(find(h.agent.finish(false), GRANTED)).toMatchObject({ trackedRevision: 3 });
    // Tracking, not latest: a revision added now is not seen without --refresh.
    h.use({ ...leader, secrets: [{ ...unread, trackedRevision: 3, revisions: [...unread.revisions, { revision: 4, content: { token: 'four' } }] }] });
    expect(await h.run('secret-get', ['--format=json', GRANTED])).toEqual(ok('{"token":"three"}\n'));
  });

  test('--label: alone it finds the secret; with an id it records the label (at once, for a consumer)', async () => {
    expect(await h.run('secret-get', ['--format=json', '--label', 'tok'])).toEqual(ok('{"token":"one"}\n'));
    expect(await h.run('secret-get', ['--format=json', '--label', 'mine'])).toEqual(ok('{"pass":"p1"}\n'));
    expect(await h.run('secret-get', ['--format=json', `secret:${GRANTED}`, '--label', 'renamed'])).toEqual(ok('{"token":"one"}\n'));
    expect(find(h.agent.finish(false), GRANTED)).toMatchObject({ label: 'renamed' });
    expect(await h.run('secret-get', ['--format=json', '--label', 'nobody'])).toEqual(runError('consumer label "nobody" not found'));
    // A follower reads its app's secret too (only managing it needs the leader).
    h.use(follower);
    expect(await h.run('secret-get', ['--format=json', '--label', 'mine'])).toEqual(ok('{"pass":"p1"}\n'));
    expect(await h.run('secret-get', ['--format=json', APP])).toEqual(ok('{"pass":"p1"}\n'));
  });

  test('one key: its value; key#base64 its base64; a missing key is an error', async () => {
    expect(await h.run('secret-get', [GRANTED, 'token'])).toEqual(ok('one\n'));
    expect(await h.run('secret-get', ['--format=json', GRANTED, 'token'])).toEqual(ok('"one"\n'));
    expect(await h.run('secret-get', [GRANTED, 'token#base64'])).toEqual(ok('b25l\n'));
    expect(await h.run('secret-get', [GRANTED, 'nope'])).toEqual(runError('secret key value "nope" not found'));
  });

  test('argv rejected: exit 2 with Juju\'s texts; an unknown secret: exit 1, as ops expects', async () => {
    expect(await h.run('secret-get', ['--format=json', GRANTED, '--peek', '--refresh'])).toEqual(usageError('specify one of --peek or --refresh but not both'));
    expect(await h.run('secret-get', ['--format=json'])).toEqual(usageError('require either a secret URI or label'));
    expect(await h.run('secret-get', ['nope'])).toEqual(usageError('secret URI "nope" not valid'));
    expect(await h.run('secret-get', [`secret://not-a-uuid/${GRANTED}`])).toEqual(usageError(`secret URI "secret://not-a-uuid/${GRANTED}" not valid`));
    expect(await h.run('secret-get', [GRANTED, 'token', 'extra'])).toEqual(usageError('unrecognized args: ["extra"]'));
    expect(await h.run('secret-get', ['--format=smart', GRANTED])).toEqual(usageError('invalid value "smart" for option --format: unknown format "smart"'));
    expect(await h.run('secret-get', ['--format=json', 'secret:aaaaaaaaaaaaaaaaaaa0'])).toEqual(runError('secret "secret:aaaaaaaaaaaaaaaaaaa0" not found'));
  });

  test('an owner reads the latest committed revision; its pending update only with --refresh or --peek', async () => {
    expect(await h.run('secret-get', ['--format=json', UNIT])).toEqual(ok('{"key":"k2"}\n'));
    await h.run('secret-set', ['--owner', 'application', `secret:${UNIT}`, 'key=k3']);
    expect(await h.run('secret-get', ['--format=json', UNIT])).toEqual(ok('{"key":"k2"}\n'));
    expect(await h.run('secret-get', ['--format=json', UNIT, '--peek'])).toEqual(ok('{"key":"k3"}\n'));
  });
});

describe('secret-add', () => {
  beforeEach(() => h.use(leader));

  test('argv from the backend: k#file= is read during the call; prints the new id; applied only on success', async () => {
    const file = h.file('token', 'from-a-file');
    const r = await h.run('secret-add', ['--label', 'L', '--description', 'D', '--rotate', 'daily', '--owner', 'application', `token#file=${file}`]);
    fs.rmSync(file); // ops deletes the file right after the call
    expect(r.exitCode).toBe(0);
    // A Juju id: an xid, 20 characters of base32hex whose last is 0 or g.
    expect(r.stdout).toMatch(/^secret:[0-9a-v]{19}[0g]\n$/);
    const id = r.stdout.trim();
    expect(h.agent.finish(false).secrets.find((s) => s.id === id)).toBeUndefined();
    expect(h.agent.finish(true).secrets.find((s) => s.id === id)).toEqual({
      id,
      owner: 'app',
      label: 'L',
      description: 'D',
      rotate: 'daily',
      revisions: [{ revision: 1, content: { token: 'from-a-file' } }],
      grants: {},
    });
    // This hook can read the secret it just added.
    expect(await h.run('secret-get', ['--format=json', id])).toEqual(ok('{"token":"from-a-file"}\n'));
  });

  test('k=v, k#base64=, --file, --owner unit, --expire as a time or a duration', async () => {
    const yaml = h.file('content.yaml', 'from-yaml: y\n');
    const r = await h.run('secret-add', ['--owner', 'unit', '--expire', '2030-01-02T03:04:05+01:00', 'plain=a=b', 'enc#base64=aGk=', '--file', yaml]);
    expect(r.exitCode).toBe(0);
    const s = h.agent.current.secrets.find((x) => x.id === r.stdout.trim())!;
    expect(s).toMatchObject({ owner: 'unit', expire: '2030-01-02T02:04:05Z', revisions: [{ revision: 1, content: { plain: 'a=b', enc: 'hi', 'from-yaml': 'y' } }] });
    const d = await h.run('secret-add', ['--expire', '1h30m', 'key=v']);
    expect(h.agent.current.secrets.find((x) => x.id === d.stdout.trim())!.expire).toBe('2025-01-02T04:34:05.678Z');
    const noTz = await h.run('secret-add', ['--expire', '2030-01-02T03:04:05', 'key=v']);
    expect(h.agent.current.secrets.find((x) => x.id === noTz.stdout.trim())!.expire).toBe('2030-01-02T03:04:05Z');
  });

  test('argv rejected: exit 2 with Juju\'s texts', async () => {
    expect(await h.run('secret-add', [])).toEqual(usageError('missing secret value or filename'));
    expect(await h.run('secret-add', ['--expire', 'tomorrow', 'key=v'])).toEqual(usageError('expire time or duration "tomorrow" not valid'));
    expect(await h.run('secret-add', ['--expire', '-1h', 'key=v'])).toEqual(usageError('negative expire duration "-1h" not valid'));
    expect(await h.run('secret-add', ['--rotate', 'sometimes', 'key=v'])).toEqual(usageError('rotate policy "sometimes" not valid'));
    expect(await h.run('secret-add', ['--owner', 'model', 'key=v'])).toEqual(usageError('secret owner "model" not valid'));
    expect(await h.run('secret-add', ['key='])).toEqual(usageError('key value "key=" not valid'));
    expect(await h.run('secret-add', ['=v'])).toEqual(usageError('key value "=v" not valid'));
    expect(await h.run('secret-add', ['AB=v'])).toEqual(usageError('key "AB" not valid'));
    expect(await h.run('secret-add', ['tok#file=/nonexistent/f'])).toEqual(usageError('reading content for secret key "tok": open /nonexistent/f: no such file or directory'));
    expect(h.agent.finish(true).secrets).toHaveLength(3);
  });

  test('an application secret needs the leader: "this unit is not the leader", exit 1', async () => {
    h.use(follower);
    expect(await h.run('secret-add', ['key=v'])).toEqual(runError('this unit is not the leader'));
    expect((await h.run('secret-add', ['--owner', 'unit', 'key=v'])).exitCode).toBe(0);
  });
});

describe('secret-set', () => {
  beforeEach(() => h.use(leader));

  test('argv from the backend (--owner application even for a unit secret): a new revision, on success only', async () => {
    const file = h.file('key', 'k3');
    expect(await h.run('secret-set', ['--owner', 'application', `secret:${UNIT}`, `key#file=${file}`])).toEqual(ok());
    expect(await h.run('secret-set', ['--label', 'relabelled', '--owner', 'application', `secret:${APP}`])).toEqual(ok());
    expect(find(h.agent.finish(false), UNIT)!).toMatchObject({ revisions: [{ revision: 1 }, { revision: 2 }] });
    const out = h.agent.finish(true);
    expect(find(out, UNIT)).toMatchObject({ revisions: [{ revision: 1 }, { revision: 2 }, { revision: 3, content: { key: 'k3' } }] });
    expect(find(out, APP)).toMatchObject({ label: 'relabelled', revisions: [{ revision: 1 }] });
  });

  test('argv rejected (exit 2); secrets this unit does not manage (exit 1)', async () => {
    expect(await h.run('secret-set', [])).toEqual(usageError('missing secret URI'));
    expect(await h.run('secret-set', ['bogus', 'a=b'])).toEqual(usageError('secret URI "bogus" not valid'));
    expect(await h.run('secret-set', [`secret:${UNIT}`, '--rotate', 'often'])).toEqual(usageError('rotate policy "often" not valid'));
    expect(await h.run('secret-set', ['secret:aaaaaaaaaaaaaaaaaaa0', 'key=v'])).toEqual(runError('secret "secret:aaaaaaaaaaaaaaaaaaa0" not found'));
    expect(await h.run('secret-set', [`secret:${GRANTED}`, 'key=v'])).toEqual(runError('permission denied'));
    h.use(follower);
    expect(await h.run('secret-set', [`secret:${APP}`, 'pass=p2'])).toEqual(runError('permission denied'));
  });
});

describe('secret-info-get', () => {
  test('argv from the backend: the owner\'s metadata keyed by the bare id, by id or by label', async () => {
    h.use(leader);
    const want = `{"${APP}":{"revision":1,"label":"mine","owner":"application","description":"d","access":[{"target":"application-pg","scope":"relation-3","role":"view"}]}}\n`;
    expect(await h.run('secret-info-get', ['--format=json', `secret://${MODEL_UUID}/${APP}`])).toEqual(ok(want));
    expect(await h.run('secret-info-get', ['--format=json', '--label', 'mine'])).toEqual(ok(want));
    expect(await h.run('secret-info-get', ['--format=json', UNIT])).toEqual(ok(`{"${UNIT}":{"revision":2,"label":"","owner":"unit"}}\n`));
    expect(await h.run('secret-info-get', [UNIT])).toEqual(ok(`${UNIT}:\n  revision: 2\n  label: ""\n  owner: unit\n`));
  });

  test('not ours (a consumer, or a follower asking for an app secret): not found, exit 1; argv rejected: exit 2', async () => {
    h.use(follower);
    expect(await h.run('secret-info-get', ['--format=json', `secret:${APP}`])).toEqual(runError(`secret "${APP}" not found`));
    expect(await h.run('secret-info-get', ['--format=json', `secret:${GRANTED}`])).toEqual(runError(`secret "${GRANTED}" not found`));
    expect(await h.run('secret-info-get', ['--format=json', '--label', 'nope'])).toEqual(runError('secret "nope" not found'));
    expect(await h.run('secret-info-get', ['--format=json'])).toEqual(usageError('require either a secret URI or label'));
    expect(await h.run('secret-info-get', [UNIT, '--label', 'x'])).toEqual(usageError('specify either a secret URI or label but not both'));
    expect(await h.run('secret-info-get', ['x'])).toEqual(usageError('secret URI "x" not valid'));
  });
});

describe('secret-grant and secret-revoke', () => {
  beforeEach(() => h.use(leader));

  test('argv from the backend: --relation <id> [--unit u] <id>; applied on success only', async () => {
    expect(await h.run('secret-grant', ['--relation', '3', '--unit', 'pg/1', `secret:${UNIT}`])).toEqual(ok());
    expect(await h.run('secret-grant', ['--relation', '5', `secret:${UNIT}`])).toEqual(ok());
    expect(await h.run('secret-revoke', ['--relation', '3', `secret:${APP}`])).toEqual(ok());
    expect(find(h.agent.finish(false), UNIT)!.grants).toEqual({});
    expect(find(h.agent.finish(true), UNIT)!.grants).toEqual({ '3': ['pg/1'], '5': ['web'] });
    expect(find(h.agent.finish(true), APP)!.grants).toEqual({});
  });

  test('grant: an app grant covers its units; unit grants must go before the app is granted', async () => {
    expect(await h.run('secret-grant', ['-r', 'db:3', '--unit', 'pg/0', `secret:${APP}`])).toEqual(ok());
    expect(find(h.agent.current, APP)!.grants).toEqual({ '3': ['pg'] });
    await h.run('secret-grant', ['-r', '3', '--unit', 'pg/0', `secret:${UNIT}`]);
    expect(await h.run('secret-grant', ['-r', '3', `secret:${UNIT}`])).toEqual(runError('any unit level grants need to be revoked before granting access to the corresponding application'));
  });

  test('grant: argv rejected with Juju\'s texts', async () => {
    expect(await h.run('secret-grant', ['--relation', '9', `secret:${APP}`])).toEqual(usageError('invalid value "9" for option --relation: relation not found'));
    expect(await h.run('secret-grant', [`secret:${APP}`])).toEqual(usageError('no relation id specified'));
    expect(await h.run('secret-grant', ['-r', '3'])).toEqual(usageError('missing secret URI'));
    expect(await h.run('secret-grant', ['-r', '3', '--unit', 'other/0', `secret:${APP}`])).toEqual(usageError('cannot specify unit "other/0" in relation to application "pg"'));
    expect(await h.run('secret-grant', ['-r', '3', '--unit', 'pg', `secret:${APP}`])).toEqual(usageError('unit "pg" not valid'));
    expect(await h.run('secret-grant', ['-r', '3', '--app', 'pg', `secret:${APP}`])).toEqual(usageError('option provided but not defined: --app'));
    expect(await h.run('secret-grant', ['-r', '3', `secret:${GRANTED}`])).toEqual(runError(`secret "${GRANTED}" not found`));
    // In a relation hook the relation defaults to the hook's.
    h.use(leader, { relationId: 3 });
    expect(await h.run('secret-grant', [`secret:${UNIT}`])).toEqual(ok());
    expect(find(h.agent.current, UNIT)!.grants).toEqual({ '3': ['pg'] });
  });

  test('revoke: by relation, application or unit; argv rejected with Juju\'s texts', async () => {
    expect(await h.run('secret-revoke', ['--app', 'pg', `secret:${APP}`])).toEqual(ok());
    expect(find(h.agent.current, APP)!.grants).toEqual({});
    expect(await h.run('secret-revoke', [`secret:${APP}`])).toEqual(usageError('missing relation or application or unit'));
    expect(await h.run('secret-revoke', ['-r', '3', '--app', 'pg', `secret:${APP}`])).toEqual(usageError('do not specify both relation and app'));
    expect(await h.run('secret-revoke', ['--app', 'pg', '--unit', 'pg/0', `secret:${APP}`])).toEqual(usageError('specify only one of application or unit'));
    expect(await h.run('secret-revoke', ['--application', 'Bad!', `secret:${APP}`])).toEqual(usageError('application "Bad!" not valid'));
  });
});

describe('secret-remove and secret-ids', () => {
  beforeEach(() => h.use(leader));

  test('remove one revision or all; applied on success only; recorded for the test', async () => {
    expect(await h.run('secret-remove', [`secret:${UNIT}`, '--revision', '1'])).toEqual(ok());
    expect(await h.run('secret-remove', [`secret:${APP}`])).toEqual(ok());
    expect(h.agent.finish(false).secrets).toHaveLength(3);
    const out = h.agent.finish(true);
    expect(out.secrets.map((s) => s.id)).toEqual([`secret:${GRANTED}`, `secret:${UNIT}`]);
    expect(find(out, UNIT)!.revisions.map((r) => r.revision)).toEqual([2]);
    expect(h.agent.removedSecretRevisions).toEqual([{ id: `secret:${UNIT}`, revision: 1 }, { id: `secret:${APP}`, revision: 'all' }]);
    expect(await h.run('secret-remove', [])).toEqual(usageError('missing secret URI'));
    expect(await h.run('secret-remove', [`secret:${UNIT}`, 'x'])).toEqual(usageError('unrecognized args: ["x"]'));
  });

  test('secret-ids: the bare ids this unit owns (its app\'s too if it leads); JSON null for none', async () => {
    expect(await h.run('secret-ids', ['--format=json'])).toEqual(ok(`["${APP}","${UNIT}"]\n`));
    expect(await h.run('secret-ids', [])).toEqual(ok(`${APP}\n${UNIT}\n`));
    h.use(follower);
    expect(await h.run('secret-ids', ['--format=json'])).toEqual(ok(`["${UNIT}"]\n`));
    h.use({});
    expect(await h.run('secret-ids', ['--format=json'])).toEqual(ok('null\n'));
    expect(await h.run('secret-ids', [])).toEqual(ok(''));
  });
});
