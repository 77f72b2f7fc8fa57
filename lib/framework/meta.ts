/**
 * Charm metadata: what the charm declares (endpoints, containers, storage, config options,
 * actions). Read at dispatch from the charm directory, as ops does: `metadata.yaml` plus the
 * optional `config.yaml` and `actions.yaml` of a packed charm, or the unified `charmcraft.yaml` of
 * a source tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MetadataError } from './errors.js';

export const CONFIG_TYPES = ['string', 'int', 'float', 'boolean', 'secret'] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

const endpointSchema = z
  .object({
    interface: z.string(),
    limit: z.number().int().positive().optional(),
    optional: z.boolean().optional(),
    scope: z.enum(['global', 'container']).optional(),
  })
  .passthrough();

const configOptionSchema = z
  .object({
    type: z.enum(CONFIG_TYPES),
    description: z.string().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
    /** Not part of Juju's schema: the OpenCTI connector charms mark required options with `optional: false`. */
    optional: z.boolean().optional(),
  })
  .passthrough();

const actionSchema = z
  .object({
    description: z.string().optional(),
    params: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    required: z.array(z.string()).optional(),
    additionalProperties: z.boolean().optional(),
  })
  .passthrough();

const metadataSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and hyphens'),
    summary: z.string().optional(),
    description: z.string().optional(),
    requires: z.record(z.string(), endpointSchema).optional(),
    provides: z.record(z.string(), endpointSchema).optional(),
    peers: z.record(z.string(), endpointSchema).optional(),
    containers: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()).optional(),
    storage: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    resources: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    assumes: z.array(z.unknown()).optional(),
    subordinate: z.boolean().optional(),
  })
  .passthrough();

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
   * @param config the `config.options` map (from `config.yaml` or charmcraft.yaml's `config`)
   * @param actions the actions map
   */
  constructor(metadata: unknown, config?: unknown, actions?: unknown, source = 'metadata') {
    const meta = parseOrThrow(metadataSchema, metadata, source);
    this.name = meta.name;
    this.summary = meta.summary ?? '';
    const rels = new Map<string, RelationMeta>();
    const add = (role: RelationMeta['role'], eps: Record<string, z.infer<typeof endpointSchema>> | undefined) => {
      for (const [name, ep] of Object.entries(eps ?? {})) {
        if (rels.has(name)) throw new MetadataError(`${source}: endpoint "${name}" is declared twice`);
        rels.set(name, {
          name,
          role,
          interfaceName: ep.interface,
          limit: ep.limit,
          optional: ep.optional ?? false,
          scope: ep.scope ?? 'global',
        });
      }
    };
    add('requires', meta.requires);
    add('provides', meta.provides);
    add('peer', meta.peers);
    this.relations = rels;
    this.containers = Object.keys(meta.containers ?? {});
    this.storages = Object.keys(meta.storage ?? {});
    this.resources = Object.keys(meta.resources ?? {});

    const optionsRaw = (config as { options?: unknown } | undefined)?.options ?? {};
    const options = parseOrThrow(z.record(z.string(), configOptionSchema), optionsRaw ?? {}, `${source} config.options`);
    this.config = new Map(Object.entries(options).map(([name, o]) => [name, { ...o, name }]));
    const acts = parseOrThrow(z.record(z.string(), actionSchema.nullable()), actions ?? {}, `${source} actions`);
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

  /** Load from a charm directory: metadata.yaml (+config.yaml, actions.yaml) or charmcraft.yaml. */
  static fromCharmDir(dir: string): CharmMeta {
    const read = (f: string): unknown => {
      const p = path.join(dir, f);
      if (!fs.existsSync(p)) return undefined;
      try {
        return parseYaml(fs.readFileSync(p, 'utf8')) ?? {};
      } catch (e) {
        throw new MetadataError(`${p}: not valid YAML: ${(e as Error).message}`);
      }
    };
    const metadata = read('metadata.yaml');
    if (metadata !== undefined) {
      return new CharmMeta(metadata, read('config.yaml'), read('actions.yaml'), path.join(dir, 'metadata.yaml'));
    }
    const unified = read('charmcraft.yaml') as Record<string, unknown> | undefined;
    if (unified === undefined) {
      throw new MetadataError(`${dir} has neither metadata.yaml nor charmcraft.yaml; is JUJU_CHARM_DIR the charm's directory?`);
    }
    return CharmMeta.fromCharmcraft(unified, path.join(dir, 'charmcraft.yaml'));
  }

  /** Build from a parsed unified charmcraft.yaml. */
  static fromCharmcraft(doc: Record<string, unknown>, source = 'charmcraft.yaml'): CharmMeta {
    return new CharmMeta(doc, doc.config, doc.actions, source);
  }

  /** Build from a YAML string (charmcraft.yaml format). */
  static fromYaml(text: string, source = 'charmcraft.yaml'): CharmMeta {
    return CharmMeta.fromCharmcraft((parseYaml(text) ?? {}) as Record<string, unknown>, source);
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, source: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(top level)'}: ${i.message}`);
  throw new MetadataError(`${source} is invalid:\n${lines.join('\n')}`);
}
