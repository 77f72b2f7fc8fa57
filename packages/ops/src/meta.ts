/**
 * Charm metadata: what the charm declares (endpoints, containers, storage, config options,
 * actions). Read at dispatch from the charm directory, as ops does: `metadata.yaml` plus the
 * optional `config.yaml` and `actions.yaml` of a packed charm, or the unified `charmcraft.yaml` of
 * a source tree.
 *
 * Start-up cost matters (every hook is a process): the build embeds the exact text of those files
 * and their parsed form in the bundle. At dispatch the files are still read, and the embedded parse
 * is used only when every text is identical; otherwise the YAML parser is loaded and the files are
 * parsed as they are. Validation uses zod's tree-shakable build (zod/mini) for the same reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { MetadataError } from './errors.js';

export const CONFIG_TYPES = ['string', 'int', 'float', 'boolean', 'secret'] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

const endpointSchema = z.looseObject({
  interface: z.string(),
  limit: z.optional(z.int().check(z.positive())),
  optional: z.optional(z.boolean()),
  scope: z.optional(z.enum(['global', 'container'])),
});

const configOptionSchema = z.looseObject({
  type: z.enum(CONFIG_TYPES),
  description: z.optional(z.string()),
  default: z.optional(z.nullable(z.union([z.string(), z.number(), z.boolean()]))),
  /** Not part of Juju's schema: the OpenCTI connector charms mark required options with `optional: false`. */
  optional: z.optional(z.boolean()),
});

const actionSchema = z.looseObject({
  description: z.optional(z.string()),
  params: z.optional(z.record(z.string(), z.record(z.string(), z.unknown()))),
  required: z.optional(z.array(z.string())),
  additionalProperties: z.optional(z.boolean()),
});

const anyMap = z.record(z.string(), z.unknown());
const metadataSchema = z.looseObject({
  name: z.string().check(z.regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and hyphens')),
  summary: z.optional(z.string()),
  description: z.optional(z.string()),
  requires: z.optional(z.record(z.string(), endpointSchema)),
  provides: z.optional(z.record(z.string(), endpointSchema)),
  peers: z.optional(z.record(z.string(), endpointSchema)),
  containers: z.optional(z.record(z.string(), z.nullable(anyMap))),
  storage: z.optional(z.record(z.string(), anyMap)),
  resources: z.optional(z.record(z.string(), anyMap)),
  assumes: z.optional(z.array(z.unknown())),
  subordinate: z.optional(z.boolean()),
});

export type ConfigOptionMeta = z.infer<typeof configOptionSchema> & { name: string };
export type ActionMeta = z.infer<typeof actionSchema> & { name: string };

export interface RelationMeta {
  name: string;
  role: 'requires' | 'provides' | 'peer';
  interfaceName: string;
  limit?: number;
  optional: boolean;
  scope: 'global' | 'container';
}

/** The metadata files a build embeds: their exact text and their parsed content. */
export interface EmbeddedMetadata {
  files: Partial<Record<MetadataFile, string>>;
  parsed: Partial<Record<MetadataFile, unknown>>;
}
export const METADATA_FILES = ['metadata.yaml', 'config.yaml', 'actions.yaml'] as const;
export type MetadataFile = (typeof METADATA_FILES)[number];

export class CharmMeta {
  readonly name: string;
  readonly summary: string;
  readonly relations: ReadonlyMap<string, RelationMeta>;
  readonly containers: readonly string[];
  readonly storages: readonly string[];
  readonly resources: readonly string[];
  readonly config: ReadonlyMap<string, ConfigOptionMeta>;
  readonly actions: ReadonlyMap<string, ActionMeta>;

  /**
   * @param metadata the metadata keys (`metadata.yaml` or the same keys of `charmcraft.yaml`)
   * @param config the config document (`config.yaml`, or charmcraft.yaml's `config`): `{ options }`
   * @param actions the actions map
   */
  constructor(metadata: unknown, config?: unknown, actions?: unknown, source = 'metadata', trusted = false) {
    // `trusted`: content the build already validated with these schemas (embedded metadata).
    // A packed charm's config and actions have files of their own, next to metadata.yaml.
    const fileOf = (f: string) => (path.basename(source) === 'metadata.yaml' ? path.join(path.dirname(source), f) : source);
    const check = <S extends z.ZodMiniType>(schema: S, value: unknown, subject: Subject, file = source): z.infer<S> =>
      trusted ? (value as z.infer<S>) : parseOrThrow(schema, value, file, subject);
    const meta = check(metadataSchema, metadata, { whole: 'the metadata' });
    this.name = meta.name;
    this.summary = meta.summary ?? '';
    const rels = new Map<string, RelationMeta>();
    const add = (role: RelationMeta['role'], eps: Record<string, z.infer<typeof endpointSchema>> | undefined) => {
      for (const [name, ep] of Object.entries(eps ?? {})) {
        if (rels.has(name)) throw new MetadataError(`${source}: endpoint "${name}" is declared twice`);
        rels.set(name, { name, role, interfaceName: ep.interface, limit: ep.limit, optional: ep.optional ?? false, scope: ep.scope ?? 'global' });
      }
    };
    add('requires', meta.requires);
    add('provides', meta.provides);
    add('peer', meta.peers);
    this.relations = rels;
    this.containers = Object.keys(meta.containers ?? {});
    this.storages = Object.keys(meta.storage ?? {});
    this.resources = Object.keys(meta.resources ?? {});

    const optionsRaw = (config as { options?: unknown } | null | undefined)?.options ?? {};
    const options = check(z.record(z.string(), configOptionSchema), optionsRaw, { whole: 'config options', item: 'config option' }, fileOf('config.yaml'));
    this.config = new Map(Object.entries(options).map(([name, o]) => [name, { ...o, name }]));
    const acts = check(z.record(z.string(), z.nullable(actionSchema)), actions ?? {}, { whole: 'actions', item: 'action' }, fileOf('actions.yaml'));
    this.actions = new Map(Object.entries(acts).map(([name, a]) => [name, { ...(a ?? {}), name }]));
  }

  relation(name: string): RelationMeta {
    const r = this.relations.get(name);
    if (!r) {
      const known = [...this.relations.keys()].join(', ') || 'none';
      throw new MetadataError(`charm "${this.name}" has no relation endpoint "${name}" (declared: ${known})`);
    }
    return r;
  }

  /**
   * Load from a charm directory: metadata.yaml (+config.yaml, actions.yaml), or charmcraft.yaml
   * when there is no metadata.yaml (a source tree).
   */
  static async load(dir: string, embedded?: EmbeddedMetadata): Promise<CharmMeta> {
    const text = (f: string): string | undefined => {
      try {
        return fs.readFileSync(path.join(dir, f), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    };
    const metadata = text('metadata.yaml');
    if (metadata !== undefined) {
      const texts = { 'metadata.yaml': metadata, 'config.yaml': text('config.yaml'), 'actions.yaml': text('actions.yaml') };
      const same = !!embedded && METADATA_FILES.every((f) => texts[f] === embedded.files[f]);
      const parsed = same ? embedded.parsed : await parseFiles(dir, texts);
      return new CharmMeta(parsed['metadata.yaml'], parsed['config.yaml'], parsed['actions.yaml'], path.join(dir, 'metadata.yaml'), same);
    }
    const unified = text('charmcraft.yaml');
    if (unified === undefined) {
      throw new MetadataError(`${dir} has neither metadata.yaml nor charmcraft.yaml; is JUJU_CHARM_DIR the charm's directory?`);
    }
    const doc = (await parseFiles(dir, { 'charmcraft.yaml': unified }))['charmcraft.yaml'] as Record<string, unknown>;
    return CharmMeta.fromCharmcraft(doc, path.join(dir, 'charmcraft.yaml'));
  }

  /** Build from a parsed unified charmcraft.yaml. */
  static fromCharmcraft(doc: Record<string, unknown>, source = 'charmcraft.yaml'): CharmMeta {
    return new CharmMeta(doc, doc.config, doc.actions, source);
  }
}

async function parseFiles(dir: string, texts: Record<string, string | undefined>): Promise<Record<string, unknown>> {
  const { parse } = await import('yaml');
  const out: Record<string, unknown> = {};
  for (const [f, t] of Object.entries(texts)) {
    if (t === undefined) continue;
    try {
      out[f] = parse(t) ?? {};
    } catch (e) {
      throw new MetadataError(`${path.join(dir, f)}: not valid YAML: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * What a document's key paths are called in errors: `whole` for the document itself, and `item`
 * for its first key when that names one of several entries (`config option "x"`).
 */
interface Subject {
  whole: string;
  item?: string;
}

/**
 * Validate, or throw one MetadataError whose lines each name the key path, what it must be and
 * what it is. zod/mini carries no messages (only "Invalid input", for start-up cost), so they are
 * written here from the issues' codes and the value found at their path.
 */
function parseOrThrow<S extends z.ZodMiniType>(schema: S, value: unknown, source: string, subject: Subject): z.infer<S> {
  const r = z.safeParse(schema, value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => issueText(i, value, subject));
  throw new MetadataError(lines.length === 1 ? `${source}: ${lines[0]}` : `${source} has ${lines.length} problems:\n${lines.map((l) => `  - ${l}`).join('\n')}`);
}

type Issue = z.core.$ZodIssue;

function issueText(issue: Issue, root: unknown, subject: Subject): string {
  const path = issue.path.map(String);
  const received = path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), root);
  let where: string;
  if (path.length === 0) where = subject.whole;
  else if (subject.item) where = `${subject.item} "${path[0]}"${path.length > 1 ? `: ${path.slice(1).join('.')}` : ''}`;
  else where = path.join('.');
  const text = `${where} ${problem(issue, received)}`;
  // The original OpenCTI connectors' charmcraft.yaml declares one option as `type: integer`.
  if (subject.item === 'config option' && path[1] === 'type' && received === 'integer') {
    return `${text}; charmcraft's documented option types do not include "integer" (the original OpenCTI connectors declare one option that way): use int`;
  }
  return text;
}

const EXPECTED: Record<string, string> = { string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', record: 'a mapping', object: 'a mapping', array: 'a list' };

/** What is wrong with the value at the issue's path, after its name: `must be a string (got 3)`. */
function problem(issue: Issue, received: unknown): string {
  const got = received === undefined ? '' : ` (got ${shown(received)})`;
  switch (issue.code) {
    case 'invalid_value': {
      const allowed = issue.values.map(String).join(', ');
      return received === undefined ? `is missing: one of ${allowed}` : `${shown(received)} is not one of ${allowed}`;
    }
    case 'invalid_type':
      return received === undefined ? `is missing: it must be ${EXPECTED[issue.expected] ?? issue.expected}` : `must be ${EXPECTED[issue.expected] ?? issue.expected}${got}`;
    case 'invalid_union': {
      // Listed together, "a boolean" reads better than "true or false".
      const name = (t: string) => (t === 'boolean' ? 'a boolean' : (EXPECTED[t] ?? t));
      const each = issue.errors.flatMap((branch) => branch.flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [name(i.expected)] : [])));
      return `must be ${each.length ? [each.slice(0, -1).join(', '), each.at(-1)].filter(Boolean).join(' or ') : 'something else'}${got}`;
    }
    case 'too_small':
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}${got}`;
    case 'invalid_format':
      return `${issue.message}${got}`;
    default:
      return `is invalid: ${issue.message}${got}`;
  }
}

/** A value as the YAML author wrote it: `"integer"`, `3`, `true`, `null`, `a list`, `a mapping`. */
function shown(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  return JSON.stringify(v) ?? String(v);
}
