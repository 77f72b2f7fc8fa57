/**
 * The live stream's recovery mode (`recover` after `from`), as the platform serves it
 * (OpenCTI-Platform/opencti@7af5740c, opencti-graphql/src/graphql/sseMiddleware.js#liveStreamHandler,
 * with its helpers resolveAndPublishDependencies and resolveAndPublishMissingRefs;
 * filtering-resolution.ts#convertFiltersToQueryOptions; opencti-stream.md §2.4):
 *
 * - the objects whose `updated_at` lies in [from, recover] (both bounds inclusive: `gte`/`lte`),
 *   ordered by `updated_at` then internal id, ascending;
 * - each sent as a `create` whose data has no `type` key, `origin.referer` `init-create`, and the
 *   stream id `<updated_at in epoch ms>-0`, so ids do not increase strictly (objects updated in the
 *   same millisecond share one);
 * - before it, under the same id, the objects it refers to that the connection has not seen yet
 *   (`init-dependencies`, their own references first), and, unless `no-dependencies` is `true`,
 *   the relationships that have it as an end;
 * - a relationship or sighting whose ends cannot be resolved is not sent at all;
 * - a per-connection cache (LRU, 5000 entries) keeps an object from being sent twice.
 *
 * The emulator's `updated_at` of an object is the time of the last stream event that created,
 * changed or merged into it (on the platform they are the same moment); the object's data is sent
 * as the final-state table holds it.
 */
import type { Stix } from './stix.js';

/** app:live_stream:cache_max_size's default. */
export const RECOVERY_CACHE_SIZE = 5000;

export interface RecoveryFrame {
  /** The stream id the frame carries. */
  id: string;
  frame: Buffer;
}

export interface RecoverySource {
  /** Current objects by standard id. */
  table: ReadonlyMap<string, Stix>;
  /** When each current object was last created, changed or merged into (epoch ms). */
  updatedAt: ReadonlyMap<string, number>;
}

/** The ids an object refers to: top-level `*_ref` strings and `*_refs` string arrays. */
function refsOf(o: Stix): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('_ref') && typeof v === 'string') out.push(v);
    else if (k.endsWith('_refs') && Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.push(x);
  }
  return out.filter((id) => id !== o.id);
}

const isRelationship = (o: Stix) => o.type === 'relationship' || o.type === 'sighting';

/** A small LRU set: the connection's cache of objects already sent. */
class SeenCache {
  readonly #ids = new Map<string, true>();
  has(id: string): boolean {
    if (!this.#ids.has(id)) return false;
    this.#ids.delete(id);
    this.#ids.set(id, true);
    return true;
  }
  add(id: string): void {
    this.#ids.set(id, true);
    if (this.#ids.size > RECOVERY_CACHE_SIZE) this.#ids.delete(this.#ids.keys().next().value as string);
  }
}

function createFrame(id: string, o: Stix, referer: 'init-create' | 'init-dependencies'): RecoveryFrame {
  const data = { data: o, message: `creates a ${String(o.type)}`, origin: { referer }, version: '4' };
  return { id, frame: Buffer.from(`id: ${id}\nevent: create\ndata: ${JSON.stringify(data)}\n\n`) };
}

/**
 * The recovery frames for one connection, produced lazily (the table is read as they are sent, as
 * the platform reads its pages while streaming): objects updated in [fromMs, recoverMs].
 */
export function* recoveryFrames(src: RecoverySource, fromMs: number, recoverMs: number, opts: { noDependencies: boolean }): Generator<RecoveryFrame> {
  const selected = [...src.updatedAt].filter(([, at]) => at >= fromMs && at <= recoverMs).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const seen = new SeenCache();
  // The relationships of each object, indexed once (those created later come in the log anyway).
  const relations = new Map<string, string[]>();
  for (const o of src.table.values()) {
    if (!isRelationship(o)) continue;
    for (const end of [o.source_ref, o.target_ref]) if (typeof end === 'string') relations.set(end, [...(relations.get(end) ?? []), o.id]);
  }
  const relationsOf = (id: string) => (relations.get(id) ?? []).flatMap((rid) => src.table.get(rid) ?? []);

  /** The object and what it needs, dependencies first; nothing when a needed end cannot be resolved. */
  function* withDependencies(o: Stix, id: string, referer: 'init-create' | 'init-dependencies', path: Set<string>): Generator<RecoveryFrame, boolean> {
    if (isRelationship(o) && [o.source_ref, o.target_ref].some((end) => typeof end !== 'string' || (!src.table.has(end) && !seen.has(end)))) return false;
    for (const ref of refsOf(o)) {
      if (seen.has(ref) || path.has(ref)) continue;
      const dep = src.table.get(ref);
      if (!dep) continue; // an unknown reference: the object is sent as it is
      path.add(ref);
      yield* withDependencies(dep, id, 'init-dependencies', path);
      path.delete(ref);
    }
    seen.add(o.id);
    yield createFrame(id, o, referer);
    return true;
  }

  for (const [stixId] of selected) {
    const o = src.table.get(stixId);
    const at = src.updatedAt.get(stixId);
    // Deleted, or changed after `recover`, since the query: its own event follows in the log.
    if (!o || at === undefined || at > recoverMs || seen.has(stixId)) continue;
    const id = `${at}-0`;
    const sent = yield* withDependencies(o, id, 'init-create', new Set([stixId]));
    if (!sent || opts.noDependencies) continue;
    for (const rel of relationsOf(stixId)) if (!seen.has(rel.id)) yield* withDependencies(rel, id, 'init-dependencies', new Set([rel.id]));
  }
}
