/**
 * The metadata loader's errors: each names the key path, what it must be and what it is (zod/mini
 * only says "Invalid input"), so a charm author can fix charmcraft.yaml from the message alone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetadataError } from './errors.js';
import { CharmMeta } from './meta.js';

/** The message of the MetadataError a call throws. */
function error(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof MetadataError) return e.message;
    throw e;
  }
  throw new Error('no MetadataError');
}

const withOptions = (options: unknown) => () => CharmMeta.fromCharmcraft({ name: 'c', config: { options } }, 'c/charmcraft.yaml');

test('a config option type that is not one of charmcraft\'s names the option and the allowed types', () => {
  expect(error(withOptions({ x: { type: 'text' } }))).toBe('c/charmcraft.yaml: config option "x": type "text" is not one of string, int, float, boolean, secret');
});

test('type: integer says charmcraft does not document it and to use int', () => {
  expect(error(withOptions({ 'connector-queue-threshold': { type: 'integer', default: 500 } }))).toBe(
    'c/charmcraft.yaml: config option "connector-queue-threshold": type "integer" is not one of string, int, float, boolean, secret; ' +
      'charmcraft\'s documented option types do not include "integer" (the original OpenCTI connectors declare one option that way): use int',
  );
});

test('a missing type, a bad default, a bad description: one line each, under one header', () => {
  expect(error(withOptions({ a: { description: 'no type' }, b: { type: 'int', default: [1] }, c: { type: 'string', description: 3 }, d: 'text' }))).toBe(
    [
      'c/charmcraft.yaml has 4 problems:',
      '  - config option "a": type is missing: one of string, int, float, boolean, secret',
      '  - config option "b": default must be a string, a number or a boolean (got a list)',
      '  - config option "c": description must be a string (got 3)',
      '  - config option "d" must be a mapping (got "text")',
    ].join('\n'),
  );
  expect(error(withOptions(['x']))).toBe('c/charmcraft.yaml: config options must be a mapping (got a list)');
});

test('metadata errors name the key path and what it must be', () => {
  const bad = { name: 'My_Charm', requires: { db: { interface: 3, limit: -1, scope: 'app' } }, containers: ['c'], subordinate: 'yes' };
  expect(error(() => CharmMeta.fromCharmcraft(bad, 'c/charmcraft.yaml'))).toBe(
    [
      'c/charmcraft.yaml has 6 problems:',
      '  - name must be lower-case letters, digits and hyphens (got "My_Charm")',
      '  - requires.db.interface must be a string (got 3)',
      '  - requires.db.limit must be > 0 (got -1)',
      '  - requires.db.scope "app" is not one of global, container',
      '  - containers must be a mapping (got a list)',
      '  - subordinate must be true or false (got "yes")',
    ].join('\n'),
  );
  expect(error(() => new CharmMeta({ summary: 'no name' }, undefined, undefined, 'm.yaml'))).toBe('m.yaml: name is missing: it must be a string');
  expect(error(() => CharmMeta.fromCharmcraft({ name: 'c', requires: { db: { interface: 'x', limit: 1.5 } } }))).toBe('charmcraft.yaml: requires.db.limit must be a whole number (got 1.5)');
});

test('action errors name the action', () => {
  expect(error(() => CharmMeta.fromCharmcraft({ name: 'c', actions: { go: { params: 3 }, stop: 'now' } }, 'c/charmcraft.yaml'))).toBe(
    ['c/charmcraft.yaml has 2 problems:', '  - action "go": params must be a mapping (got 3)', '  - action "stop" must be a mapping (got "now")'].join('\n'),
  );
});

test('a packed charm\'s errors name the file they are in: config.yaml, not metadata.yaml', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-'));
  try {
    fs.writeFileSync(path.join(dir, 'metadata.yaml'), 'name: packed\n');
    fs.writeFileSync(path.join(dir, 'config.yaml'), 'options:\n  level:\n    type: integer\n');
    const e = await CharmMeta.load(dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MetadataError);
    expect((e as Error).message).toMatch(new RegExp(`^${path.join(dir, 'config.yaml')}: config option "level": type "integer" is not one of .*: use int$`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('valid metadata still loads', () => {
  const m = CharmMeta.fromCharmcraft({ name: 'c', requires: { db: { interface: 'pg', limit: 1 } }, config: { options: { n: { type: 'int', default: 1 } } }, actions: { go: null } });
  expect([m.name, m.relation('db').limit, m.config.get('n')?.type, [...m.actions.keys()]]).toEqual(['c', 1, 'int', ['go']]);
});
