/**
 * Per-id ordering for a platform that applies messages concurrently.
 *
 * The local platform's workers take messages off one queue several at a time and in no guaranteed
 * order (opencti-ingestion.md §2, §6): two messages about the same object may be applied in either
 * order, a relationship may be applied before the object it points at, a delete may run before the
 * create it follows. So an event goes out only once the earlier events it could race with are
 * confirmed applied (the acceptance tracker calls `done`):
 *
 * - an event that changes an object (its own id; a merge's target and sources; an id change's new
 *   and old id) waits for the previous event that changed any of those ids;
 * - an event that refers to an object (`created_by_ref`, `object_refs`, `source_ref`, ...) waits for
 *   the previous event that changed it, so the reference resolves;
 * - a delete, merge or id change also waits for every earlier event that still refers to the ids it
 *   removes, so that event is not left pointing at nothing.
 *
 * Events that touch different objects go out together. Dependencies only point backwards in the
 * stream, so there is no cycle; `ready` is called in stream order among events released together.
 */
export interface Footprint {
  /** Ids the event changes. */
  writes: readonly string[];
  /** Ids it refers to and needs to exist (never one of `writes`). */
  reads: readonly string[];
  /** A delete, merge or id change: it also waits for earlier events that refer to the ids it writes. */
  structural: boolean;
}

interface Node<T> {
  item: T;
  fp: Footprint;
  waitingOn: number;
  dependents: Node<T>[];
  done: boolean;
  /** The last add() that made an item wait for this one. */
  linkedTo: number;
}

/**
 * An id's writer not yet done, and the events still reading it. Readers are kept in an array and
 * dropped lazily (a done one is skipped, the array compacted once mostly done): a popular id (a
 * marking, an author) is read by most events in flight, and a hash set that grows and shrinks by
 * thousands per second cost more than the rest of the scheduling.
 */
interface IdState<T> {
  lastWriter: Node<T> | undefined;
  readers: Node<T>[];
  liveReaders: number;
}

export class DependencyScheduler<T> {
  readonly #ids = new Map<string, IdState<T>>();
  readonly #nodes = new Map<T, Node<T>>();
  readonly #ready: (item: T) => void;
  #adds = 0;

  /** @param ready called once per item, when nothing it waits for is left */
  constructor(ready: (item: T) => void) {
    this.#ready = ready;
  }

  /** Items added and not yet done (waiting, or released and not confirmed). */
  get size(): number {
    return this.#nodes.size;
  }

  /** Items still waiting for an earlier one. */
  get waiting(): number {
    let n = 0;
    for (const node of this.#nodes.values()) if (node.waitingOn > 0) n++;
    return n;
  }

  #state(id: string): IdState<T> {
    let s = this.#ids.get(id);
    if (!s) this.#ids.set(id, (s = { lastWriter: undefined, readers: [], liveReaders: 0 }));
    return s;
  }

  /** Add the next item of the stream; `ready` runs at once if it waits for nothing. */
  add(item: T, fp: Footprint): void {
    if (this.#nodes.has(item)) throw new Error('DependencyScheduler: item added twice');
    const node: Node<T> = { item, fp, waitingOn: 0, dependents: [], done: false, linkedTo: 0 };
    // Each earlier node is linked once, however many ids the two share: a node remembers the last
    // add that linked it (a number per add rather than a Set per add, which cost more than the rest).
    const stamp = ++this.#adds;
    const after = (b: Node<T>) => {
      if (b.linkedTo === stamp) return;
      b.linkedTo = stamp;
      b.dependents.push(node);
      node.waitingOn++;
    };
    for (const id of fp.writes) {
      const s = this.#ids.get(id);
      if (!s) continue;
      if (s.lastWriter) after(s.lastWriter);
      if (fp.structural) for (const r of s.readers) if (!r.done) after(r);
    }
    for (const id of fp.reads) {
      const w = this.#ids.get(id)?.lastWriter;
      if (w) after(w);
    }
    for (const id of fp.writes) this.#state(id).lastWriter = node;
    for (const id of fp.reads) {
      const s = this.#state(id);
      s.readers.push(node);
      s.liveReaders++;
    }
    this.#nodes.set(item, node);
    if (node.waitingOn === 0) this.#ready(item);
  }

  /** The item is applied (or settled for good): release what waits for it. */
  done(item: T): void {
    const node = this.#nodes.get(item);
    if (!node) return;
    if (node.waitingOn > 0) throw new Error('DependencyScheduler: an item was done before it was released');
    this.#nodes.delete(item);
    node.done = true;
    for (const id of node.fp.writes) {
      const s = this.#ids.get(id);
      if (s?.lastWriter === node) s.lastWriter = undefined;
      if (s && !s.lastWriter && s.liveReaders === 0) this.#ids.delete(id);
    }
    for (const id of node.fp.reads) {
      const s = this.#ids.get(id);
      if (!s) continue;
      s.liveReaders--;
      if (!s.lastWriter && s.liveReaders === 0) this.#ids.delete(id);
      else if (s.readers.length > 64 && s.liveReaders * 2 < s.readers.length) s.readers = s.readers.filter((r) => !r.done);
    }
    for (const d of node.dependents) {
      d.waitingOn--;
      if (d.waitingOn === 0) this.#ready(d.item);
    }
  }

  /** Forget everything (the stream restarts from the accepted position). */
  clear(): void {
    this.#ids.clear();
    this.#nodes.clear();
  }
}
