import { contextFromEnv, JujuVersion, parseDispatchPath } from './context.js';
import { JujuContextError } from './errors.js';

const BASE = {
  JUJU_DISPATCH_PATH: 'hooks/install',
  JUJU_HOOK_NAME: 'install',
  JUJU_UNIT_NAME: 'my-app/3',
  JUJU_MODEL_NAME: 'm',
  JUJU_MODEL_UUID: 'u',
  JUJU_VERSION: '3.6.14',
  JUJU_CHARM_DIR: '/charm',
};

const problems = (env: Record<string, string | undefined>): string[] => {
  try {
    contextFromEnv(env, undefined);
  } catch (e) {
    expect(e).toBeInstanceOf(JujuContextError);
    return (e as JujuContextError).problems;
  }
  return [];
};

test('a complete hook environment is read into a typed context', () => {
  const c = contextFromEnv(
    { ...BASE, JUJU_DISPATCH_PATH: 'hooks/db-relation-departed', JUJU_HOOK_NAME: 'db-relation-departed', JUJU_RELATION: 'db', JUJU_RELATION_ID: 'db:7', JUJU_REMOTE_UNIT: 'pg/1', JUJU_DEPARTING_UNIT: 'pg/1', JUJU_CHARM_HTTP_PROXY: 'http://proxy:3128' },
    undefined,
  );
  expect(c).toMatchObject({ eventKind: 'db_relation_departed', family: 'relation', appName: 'my-app', unitNumber: 3, relationId: 7, remoteAppName: 'pg', departingUnitName: 'pg/1', proxy: { http: 'http://proxy:3128' } });
  expect(c.version.atLeast('3.6.0')).toBe(true);
});

test('actions get the _action suffix and need their name and uuid', () => {
  expect(contextFromEnv({ ...BASE, JUJU_DISPATCH_PATH: 'actions/do-backup', JUJU_HOOK_NAME: '', JUJU_ACTION_NAME: 'do-backup', JUJU_ACTION_UUID: '1' }, undefined).eventKind).toBe('do_backup_action');
  expect(problems({ ...BASE, JUJU_DISPATCH_PATH: 'actions/do-backup', JUJU_HOOK_NAME: '' })).toEqual([
    'JUJU_ACTION_NAME is not set (Juju sets it for actions)',
    'JUJU_ACTION_UUID is not set (Juju sets it for actions)',
  ]);
});

test('every missing variable is reported at once, naming the event that needs it', () => {
  expect(problems({ JUJU_DISPATCH_PATH: 'hooks/db-relation-changed', JUJU_HOOK_NAME: 'db-relation-changed', JUJU_UNIT_NAME: 'nope', JUJU_VERSION: 'three' })).toEqual([
    'JUJU_UNIT_NAME is "nope", expected <application>/<number>',
    'JUJU_MODEL_NAME is not set (Juju sets it for every hook)',
    'JUJU_MODEL_UUID is not set (Juju sets it for every hook)',
    'JUJU_VERSION: "three" is not a valid Juju version (expected e.g. 3.6.14)',
    'JUJU_RELATION is not set (Juju sets it for relation events)',
    'JUJU_RELATION_ID is not set (Juju sets it for relation events)',
    'JUJU_REMOTE_APP is not set (Juju sets it for relation events)',
  ]);
  // relation-changed for an application-databag change names no remote unit; joined always does.
  expect(problems({ ...BASE, JUJU_DISPATCH_PATH: 'hooks/db-relation-joined', JUJU_HOOK_NAME: 'db-relation-joined', JUJU_RELATION: 'db', JUJU_RELATION_ID: 'db:1', JUJU_REMOTE_APP: 'pg' })).toEqual([
    'JUJU_REMOTE_UNIT is not set (Juju sets it for relation-joined)',
  ]);
  expect(problems({ ...BASE, JUJU_DISPATCH_PATH: 'hooks/secret-remove', JUJU_HOOK_NAME: 'secret-remove', JUJU_SECRET_ID: 's', JUJU_SECRET_REVISION: 'x' })).toEqual([
    'JUJU_SECRET_REVISION is "x", expected a whole number',
  ]);
  expect(problems({ ...BASE, JUJU_DISPATCH_PATH: 'hooks/web-pebble-check-failed', JUJU_HOOK_NAME: 'web-pebble-check-failed' })).toEqual([
    'JUJU_WORKLOAD_NAME is not set (Juju sets it for Pebble events)',
    'JUJU_PEBBLE_CHECK_NAME is not set (Juju sets it for pebble-check-failed)',
  ]);
});

test('without JUJU_DISPATCH_PATH the legacy hook path the process runs as is used', () => {
  const { JUJU_DISPATCH_PATH: _, ...env } = BASE;
  expect(contextFromEnv(env, '/charm/hooks/install').dispatchPath).toBe('hooks/install');
  expect(problems({ ...env })).toContain('JUJU_DISPATCH_PATH is not set (Juju sets it to hooks/<hook> or actions/<action>)');
  expect(parseDispatchPath('./hooks/upgrade-charm')).toEqual({ dispatchPath: 'hooks/upgrade-charm', name: 'upgrade-charm', isAction: false });
  expect(parseDispatchPath('bin/x')).toBeNull();
});

test('Juju versions compare like Juju does', () => {
  expect(new JujuVersion('3.6-beta1').compare('3.6.0')).toBeLessThan(0);
  expect(new JujuVersion('2.9.44.1').compare('2.9.44')).toBeGreaterThan(0);
  expect(new JujuVersion('2.6.9').hasAppData).toBe(false);
  expect(new JujuVersion('3.5.4').secretSetReplacesContent).toBe(true);
});
