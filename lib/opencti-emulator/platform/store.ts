/**
 * The local platform's knowledge: STIX objects by standard id, found by any of their ids, written
 * with the platform's upsert rules (opencti-ingestion.md §4, read from F = f0r3ns1cat0r/opencti
 * @5b43e1fe8, 7.260817.0, and Z = Zeeeepa/opencti tags):
 *
 * - references must resolve: an object whose `*_ref`/`*_refs` name an unknown id is refused with
 *   MISSING_REFERENCE_ERROR (the built-in TLP markings always exist, as on a platform);
 * - `previous-standard` joins the lookup of the existing object when an entity (not a relationship)
 *   is created (middleware.ts#internalCreateEntityRaw, 6.0.4+), so an id change updates it; more
 *   than one object found is refused;
 * - `synchronized-upsert` replaces every attribute and reference (upsert-utils.js
 *   #buildAttributeUpdate with isFullSync); without it an upsert only adds values to lists and sets
 *   values, and what was removed remotely stays (pitfall 6);
 * - `opencti-event-id`: each write stamps the attributes it sets with the event's time (its ms part;
 *   `i_attributes[].updated_at`), and a later upsert whose event time is older than a key's stamp
 *   leaves that key alone (upsert-utils.js#isOutdatedUpdate, 6.5+); deletes and merges ignore it;
 * - a merge keeps the sources' ids (and their own alternative ids) on the target
 *   (middleware.js#mergeEntities) and points their relationships at the target; a delete removes the
 *   object's relationships with it.
 */
import { missingReference, functional } from './api-errors.js';
import { OCTI_EXT, type ApiCall } from './pycti.js';
import type { Stix } from '../stix.js';

/** The TLP marking definitions every platform is created with (STIX 2.1's fixed ids). */
export const BUILTIN_MARKINGS: readonly Stix[] = [
  { id: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9', type: 'marking-definition', name: 'TLP:CLEAR' },
  { id: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da', type: 'marking-definition', name: 'TLP:GREEN' },
  { id: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb', type: 'marking-definition', name: 'TLP:GREEN (OpenCTI)' },
  { id: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82', type: 'marking-definition', name: 'TLP:AMBER' },
  { id: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', type: 'marking-definition', name: 'TLP:AMBER (OpenCTI)' },
  { id: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed', type: 'marking-definition', name: 'TLP:RED' },
];

/** Keys never stamped (middleware.ts#updateAttributeMetaResolved excludes them). */
const UNSTAMPED = new Set(['id', 'type', 'spec_version', 'updated_at', 'modified']);
const RELATIONSHIP_TYPES = new Set(['relationship', 'sighting']);

export interface StoreOptions {
  /** Whether writes honour `opencti-event-id` (6.5+). */
  eventIdGuard: boolean;
  /** Whether creates honour `previous-standard` (6.0.4+). */
  previousStandard: boolean;
}

interface Entry {
  data: Stix;
  /** Event time (ms) of the last write of each key. */
  stamps: Map<string, number>;
}

const octi = (o: Stix): Record<string, unknown> | undefined => {
  const e = (o.extensions as Record<string, unknown> | undefined)?.[OCTI_EXT];
  return e && typeof e === 'object' ? (e as Record<string, unknown>) : undefined;
};

/** The ids an object refers to, as the platform resolves its refs. */
export function referencesOf(o: Stix): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('_ref') && typeof v === 'string') out.push(v);
    else if (k.endsWith('_refs') && Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.push(x);
  }
  return out.filter((id) => id !== o.id);
}

function eventTime(eventId: string | undefined): number | undefined {
  if (eventId === undefined) return undefined;
  const ms = Number(eventId.split('-')[0]);
  return Number.isFinite(ms) ? ms : undefined;
}

export class KnowledgeStore {
  readonly #objects = new Map<string, Entry>();
  /** Alternative ids (x_opencti_stix_ids, the extension's stix_ids) -> standard id. */
  readonly #alias = new Map<string, string>();
  /** Endpoint id -> ids of the relationships from or to it. */
  readonly #rels = new Map<string, Set<string>>();
  readonly #opts: StoreOptions;
  readonly counts = { upserts: 0, outdatedKeys: 0, deletes: 0, merges: 0 };

  constructor(opts: StoreOptions) {
    this.#opts = opts;
    for (const m of BUILTIN_MARKINGS) this.#objects.set(m.id, { data: m, stamps: new Map() });
  }

  /** Every object but the built-in markings, by standard id (what a comparison looks at). */
  objects(): Map<string, Stix> {
    const out = new Map<string, Stix>();
    for (const [id, e] of this.#objects) if (!BUILTIN_MARKINGS.some((m) => m.id === id)) out.set(id, e.data);
    return out;
  }

  get size(): number {
    return this.#objects.size - BUILTIN_MARKINGS.length;
  }

  /** The object an id resolves to: its standard id, or one of its alternative ids. */
  get(id: string): Stix | undefined {
    return this.#entry(id)?.data;
  }

  #entry(id: string): Entry | undefined {
    return this.#objects.get(id) ?? this.#objects.get(this.#alias.get(id) ?? '');
  }

  #aliasesOf(o: Stix): string[] {
    const out: string[] = [];
    const ids = octi(o)?.stix_ids;
    if (Array.isArray(ids)) for (const s of ids) if (typeof s === 'string') out.push(s);
    if (Array.isArray(o.x_opencti_stix_ids)) for (const s of o.x_opencti_stix_ids) if (typeof s === 'string') out.push(s);
    return out;
  }

  #endpoints(o: Stix): string[] {
    return o.type === 'relationship' ? [o.source_ref, o.target_ref].filter((x): x is string => typeof x === 'string') : [];
  }

  #put(data: Stix, stamps: Map<string, number>): void {
    const old = this.#objects.get(data.id);
    if (old) this.#unindex(old.data);
    this.#objects.set(data.id, { data, stamps });
    for (const a of this.#aliasesOf(data)) if (a !== data.id) this.#alias.set(a, data.id);
    for (const e of this.#endpoints(data)) {
      let set = this.#rels.get(e);
      if (!set) this.#rels.set(e, (set = new Set()));
      set.add(data.id);
    }
  }

  #unindex(o: Stix): void {
    for (const a of this.#aliasesOf(o)) if (this.#alias.get(a) === o.id) this.#alias.delete(a);
    for (const e of this.#endpoints(o)) this.#rels.get(e)?.delete(o.id);
  }

  #remove(id: string): void {
    const e = this.#objects.get(id);
    if (!e) return;
    this.#objects.delete(id);
    this.#unindex(e.data);
  }

  #relationsOf(id: string): string[] {
    return [...(this.#rels.get(id) ?? [])];
  }

  /** The existing object an upsert of `item` lands on (by its ids, and by previous-standard for entities). */
  #existingFor(item: Stix, call: ApiCall): Entry | undefined {
    const found = new Map<string, Entry>();
    const byId = this.#entry(item.id);
    if (byId) found.set(byId.data.id, byId);
    if (this.#opts.previousStandard && call.previousStandard && !RELATIONSHIP_TYPES.has(item.type)) {
      const prev = this.#entry(call.previousStandard);
      if (prev && prev.data.type === item.type) found.set(prev.data.id, prev);
    }
    if (found.size > 1) throw functional(`Cannot upsert ${item.id}: ${found.size} entities resolved (${[...found.keys()].join(', ')})`);
    return found.values().next().value;
  }

  /** An object written by an import: created, or upserted into the object it resolves to. */
  upsert(item: Stix, call: ApiCall): void {
    const missing = referencesOf(item).filter((r) => !this.#entry(r));
    if (missing.length > 0) throw missingReference(missing);
    const existing = this.#existingFor(item, call);
    const at = (this.#opts.eventIdGuard ? eventTime(call.eventId) : undefined) ?? Date.now();
    this.counts.upserts++;
    if (!existing) {
      const stamps = new Map<string, number>();
      for (const k of Object.keys(item)) if (!UNSTAMPED.has(k)) stamps.set(k, at);
      this.#put(item, stamps);
      return;
    }
    const guard = this.#opts.eventIdGuard && call.eventId !== undefined;
    const current = existing.data;
    // An object found by an alternative id keeps its own standard id (the input id becomes one more alias).
    const id = current.id === item.id || (call.previousStandard !== undefined && current.id === call.previousStandard) ? item.id : current.id;
    const next: Stix = call.synchronized ? { id, type: current.type } : { ...current, id };
    const stamps = new Map(existing.stamps);
    const keys = new Set([...Object.keys(item), ...(call.synchronized ? Object.keys(current) : [])]);
    for (const k of keys) {
      if (k === 'id' || k === 'type') continue;
      const stamp = existing.stamps.get(k);
      if (guard && stamp !== undefined && stamp > at) {
        // Outdated for this key: the value already there stays.
        this.counts.outdatedKeys++;
        if (k in current) next[k] = current[k];
        continue;
      }
      const v = item[k];
      if (v === undefined) {
        // Absent from a synchronized upsert: pycti sends it as null, and full sync writes it.
        delete next[k];
      } else if (!call.synchronized && Array.isArray(v) && Array.isArray(current[k])) {
        next[k] = [...new Set([...(current[k] as unknown[]), ...v])];
      } else next[k] = v;
      if (!UNSTAMPED.has(k)) stamps.set(k, at);
    }
    // Landing on another object through one of its alternative ids (a replayed create of a merged
    // source, say): that object keeps its own ids. Assumed; see docs/sync.md.
    if (current.id !== item.id && id === current.id && current.extensions !== undefined) next.extensions = current.extensions;
    if (id !== current.id) this.#remove(current.id);
    this.#put(next, stamps);
  }

  /** stixEdit.delete / a delete operation: the object and its relationships. */
  delete(id: string): string {
    const e = this.#entry(id);
    if (!e) throw functional(`Cannot delete the stix element, ${id} cannot be found.`);
    this.#remove(e.data.id);
    for (const r of this.#relationsOf(e.data.id)) this.#remove(r);
    this.counts.deletes++;
    return e.data.id;
  }

  /** stixEdit.merge / a merge operation: the sources into the target. */
  merge(targetId: string, sourceIds: readonly string[]): Stix {
    const target = this.#entry(targetId);
    const sources = sourceIds.map((s) => this.#entry(s));
    if (!target || sources.some((s) => s === undefined)) throw functional('Cannot access all entities for merging');
    if (sources.some((s) => s?.data.id === target.data.id)) throw functional('Cannot merge an entity on itself, same ID detected');
    const next: Stix = structuredClone(target.data);
    const ext = (octi(next) ?? {}) as Record<string, unknown>;
    const ids = Array.isArray(ext.stix_ids) ? [...(ext.stix_ids as string[])] : [];
    for (const s of sources as Entry[]) {
      for (const id of [s.data.id, ...this.#aliasesOf(s.data)]) if (id !== target.data.id && !ids.includes(id)) ids.push(id);
      this.#remove(s.data.id);
      for (const rid of this.#relationsOf(s.data.id)) {
        const r = this.#objects.get(rid);
        if (!r) continue;
        const moved: Stix = { ...r.data };
        if (moved.source_ref === s.data.id) moved.source_ref = target.data.id;
        if (moved.target_ref === s.data.id) moved.target_ref = target.data.id;
        this.#put(moved, r.stamps);
      }
    }
    ext.stix_ids = ids;
    next.extensions = { ...((next.extensions as Record<string, unknown>) ?? {}), [OCTI_EXT]: ext };
    this.#put(next, target.stamps);
    this.counts.merges++;
    return next;
  }

  /** Standard ids of the core objects (not relationships) any of `ids` resolves to. */
  coreObjects(ids: readonly string[] | undefined, first: number): Stix[] {
    const found = new Map<string, Stix>();
    const candidates = ids === undefined ? [...this.#objects.values()].map((e) => e.data) : ids.map((i) => this.get(i));
    for (const o of candidates) {
      if (!o || RELATIONSHIP_TYPES.has(o.type) || o.type === 'marking-definition') continue;
      found.set(o.id, o);
      if (found.size >= first) break;
    }
    return [...found.values()];
  }
}
