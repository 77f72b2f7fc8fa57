// Service user and group (P:internals/osutil/user.go NormalizeUidGid, servstate startInternal):
// resolution with Go's error texts, a start that fails on an unknown user or a group without a
// user, and really running as the user when the emulator is root (EPERM otherwise, as Go's
// forkExec fails to switch user).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { jest } from '@jest/globals';
import { ChangeError } from '@juju-ts/ops';
import { FakeClock } from './clock.js';
import { emulatorFixture, eventually, postJson } from './test-helpers.js';
import { UserDb, normalizeUidGid } from './users.js';

const pebble = emulatorFixture();

describe('normalizeUidGid', () => {
  const db = () => {
    const passwd = path.join(pebble.dir, 'passwd');
    const group = path.join(pebble.dir, 'group');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n');
    writeFileSync(group, 'root:x:0:\napps:x:1001:\nother:x:2000:\n');
    return new UserDb(passwd, group);
  };

  test('names resolve; a missing group is the user primary group; nothing given is null', () => {
    expect(normalizeUidGid(db(), null, null, '', '')).toBeNull();
    expect(normalizeUidGid(db(), null, null, 'app', '')).toEqual({ uid: 1000, gid: 1001 });
    expect(normalizeUidGid(db(), 1000, null, '', '')).toEqual({ uid: 1000, gid: 1001 });
    expect(normalizeUidGid(db(), null, null, 'app', 'other')).toEqual({ uid: 1000, gid: 2000 });
    expect(normalizeUidGid(db(), 1000, 2000, 'app', 'other')).toEqual({ uid: 1000, gid: 2000 });
  });

  test.each([
    [null, null, 'ghost', '', 'user: unknown user ghost'],
    [null, null, 'app', 'ghosts', 'group: unknown group ghosts'],
    [4242, null, '', '', 'user: unknown userid 4242'],
    [1, null, 'app', '', 'user "app" UID (1000) does not match user-id (1)'],
    [null, 5, 'app', 'other', 'group "other" GID (2000) does not match group-id (5)'],
    [null, null, '', 'other', 'must specify user, not just group'],
    [null, 2000, '', '', 'must specify user, not just group'],
  ] as const)('uid %j gid %j user %j group %j: %s', (uid, gid, user, group, message) => {
    expect(() => normalizeUidGid(db(), uid, gid, user, group)).toThrow(message);
  });
});

describe('services with a user', () => {
  const startErr = async (service: Record<string, unknown>, mode: 'fake' | 'run' = 'fake') => {
    const { c } = await pebble.start({ mode, clock: new FakeClock() });
    await c.addLayer('l', { services: { s: { override: 'replace', command: 'sleep 10', ...service } } });
    const e = await c.start('s').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ChangeError);
    return (e as ChangeError).err;
  };

  test('an unknown user or a group without a user fails the start with Pebble text', async () => {
    expect(await startErr({ user: 'no-such-user-xyz' })).toBe(
      'cannot perform the following tasks:\n- Start service "s" (user: unknown user no-such-user-xyz)',
    );
    expect(await startErr({ group: 'root' })).toBe('cannot perform the following tasks:\n- Start service "s" (must specify user, not just group)');
  });

  test('not root: running as another user fails as the fork cannot switch user', async () => {
    const spy = jest.spyOn(process, 'getuid').mockReturnValue(1000);
    try {
      expect(await startErr({ 'user-id': 0, 'group-id': 0 }, 'run')).toMatch(
        /\(cannot start service: fork\/exec \/\S*\/sleep: operation not permitted\)$/,
      );
    } finally {
      spy.mockRestore();
    }
  });

  const asRoot = process.getuid?.() === 0 ? test : test.skip;
  asRoot('as root: the process runs as the user, HOME and USER from its passwd entry', async () => {
    const { emu, c } = await pebble.start({ mode: 'run', okayDelayMs: 50 });
    await c.addLayer('l', {
      services: { s: { override: 'replace', command: `sh -c 'id -u; id -g; echo "$HOME $USER"; sleep 10'`, user: 'nobody' } },
    });
    await c.start('s');
    await eventually(() => emu.serviceOutput('s').split('\n').length >= 4, 'the service printed its ids');
    const nobody = new UserDb().user('nobody')!;
    expect(emu.serviceOutput('s')).toBe(`${nobody.id}\n${nobody.gid}\n${nobody.home} nobody\n`);
  });

  test('an exec check with an unknown user is refused at layer time', async () => {
    const { emu } = await pebble.start();
    const r = await postJson(emu.socketPath, '/v1/layers', {
      action: 'add',
      label: 'l',
      format: 'yaml',
      layer: 'checks:\n  c:\n    override: replace\n    exec:\n      command: "true"\n      user: no-such-user-xyz\n',
    });
    expect((r.json as { result: { message: string } }).result.message).toBe(
      'cannot parse layer YAML: plan check "c" has invalid user/group: user: unknown user no-such-user-xyz',
    );
  });
});
