import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, isObjectType, parse, validate, type GraphQLSchema } from 'graphql';
import { EMULATOR_SDL } from '../../lib/testing/opencti/schema.js';
import { DOCUMENTS } from './documents.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const realSchemaPath = path.resolve(here, '../../../shared/opencti/schema.graphql');
const realSchema: GraphQLSchema | undefined = existsSync(realSchemaPath) ? buildSchema(readFileSync(realSchemaPath, 'utf8')) : undefined;
if (!realSchema) process.stderr.write(`NOTE: ${realSchemaPath} is absent: the real-schema checks are skipped (the emulator schema checks still run)\n`);
const emulatorSchema = buildSchema(EMULATOR_SDL);
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
        for (const a of field.args) if (realArgs[a.name] !== String(a.type)) mismatches.push(`${root}.${name}(${a.name}: ${String(a.type)}) vs real ${realArgs[a.name] ?? 'absent'}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
