import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, isObjectType, parse, validate, type GraphQLSchema } from 'graphql';
import { PROFILES } from '../../lib/opencti-emulator/platform/profiles.js';
import { platformSdl } from '../../lib/opencti-emulator/platform/schema.js';
import { BUNDLE_PUSH_WORK, DOCUMENTS } from './documents.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const realSchemaPath = path.resolve(here, '../../../shared/opencti/schema.graphql');
const realSchema: GraphQLSchema | undefined = existsSync(realSchemaPath) ? buildSchema(readFileSync(realSchemaPath, 'utf8')) : undefined;
if (!realSchema) process.stderr.write(`NOTE: ${realSchemaPath} is absent: the real-schema checks are skipped (the emulator schema checks still run)\n`);
// The 6.9 profile's schema: the emulator's subset of the real one, plus stixBundlePush's work_id (6.5.7+).
const emulatorSchema = buildSchema(platformSdl(PROFILES['6.9']));
/** What the emulator's 6.9 schema has that shared/opencti/schema.graphql (a 6.4-era file) lacks. */
const NEWER_THAN_SHARED_SCHEMA = new Set(['Mutation.stixBundlePush(work_id)']);
const realTest = realSchema ? test : test.skip;

describe('GraphQL documents sent by the synchronizer', () => {
  const entries = Object.entries(DOCUMENTS);

  test.each(entries)('%s is one named operation with that name', (name, doc) => {
    const ops = parse(doc).definitions.filter((d) => d.kind === 'OperationDefinition');
    expect(ops).toHaveLength(1);
    expect(ops[0]?.kind === 'OperationDefinition' && ops[0].name?.value).toBe(name);
  });

  test.each(entries)('%s is valid against the emulator schema', (_name, doc) => {
    expect(validate(emulatorSchema, parse(doc)).map((e) => e.message)).toEqual([]);
  });

  realTest.each(entries)('%s is valid against shared/opencti/schema.graphql', (_name, doc) => {
    expect(validate(realSchema as GraphQLSchema, parse(doc)).map((e) => e.message)).toEqual([]);
  });

  test('stixBundlePush with a work_id (CONNECTOR_QUEUE_PROTOCOL=api) is valid against the 6.9 schema; the 5.12 one has no stixBundlePush', () => {
    expect(validate(emulatorSchema, parse(BUNDLE_PUSH_WORK)).map((e) => e.message)).toEqual([]);
    expect(validate(buildSchema(platformSdl(PROFILES['5.12'])), parse(BUNDLE_PUSH_WORK)).length).toBeGreaterThan(0);
  });

  realTest('a document the real schema rejects is caught (forceDelete does not exist there)', () => {
    const bad = parse('mutation Bad($id: ID!) { stixEdit(id: $id) { delete(forceDelete: true) } }');
    expect(validate(realSchema as GraphQLSchema, bad).length).toBeGreaterThan(0);
  });
});

describe('the emulator schema subset', () => {
  realTest('every Query/Mutation field keeps the real argument and return types', () => {
    const real = realSchema as GraphQLSchema;
    const mismatches: string[] = [];
    for (const root of ['Query', 'Mutation'] as const) {
      const mine = emulatorSchema.getType(root);
      const theirs = real.getType(root);
      if (!isObjectType(mine) || !isObjectType(theirs)) throw new Error(`${root} missing`);
      for (const [name, field] of Object.entries(mine.getFields())) {
        const r = theirs.getFields()[name];
        if (!r) {
          mismatches.push(`${root}.${name} does not exist in the real schema`);
          continue;
        }
        if (String(field.type) !== String(r.type)) mismatches.push(`${root}.${name}: ${String(field.type)} vs real ${String(r.type)}`);
        const realArgs = Object.fromEntries(r.args.map((a) => [a.name, String(a.type)]));
        for (const a of field.args) if (realArgs[a.name] !== String(a.type) && !NEWER_THAN_SHARED_SCHEMA.has(`${root}.${name}(${a.name})`)) mismatches.push(`${root}.${name}(${a.name}: ${String(a.type)}) vs real ${realArgs[a.name] ?? 'absent'}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
