/**
 * STIX objects as the emulator keeps them, the object table that the stream's events describe,
 * and the comparison of two tables (remote final state vs local store).
 */
import { createHash } from 'node:crypto';

export const OCTI_EXT = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';

/** A STIX object: `id` (standard id) and `type` are all the emulator relies on. */
export interface Stix {
  id: string;
  type: string;
  [key: string]: unknown;
}

/** The data event object stored in the remote log (opencti-stream.md §2.3). */
export interface StreamEventData {
  version: string;
  type: 'create' | 'update' | 'merge' | 'delete';
  scope: 'external' | 'internal';
  message: string;
  origin: Record<string, unknown>;
  data: Stix;
  context?: {
    patch?: unknown[];
    reverse_patch?: { op: string; path: string; value?: unknown }[];
    sources?: Stix[];
  };
}

/** A deterministic UUID (v5 layout) from a string. */
export function hashUuid(key: string): string {
  const h = createHash('sha1').update(key).digest('hex');
  const v = ((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${v}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export function octiExt(o: Stix): Record<string, unknown> | undefined {
  const ext = o.extensions;
  if (ext && typeof ext === 'object') {
    const v = (ext as Record<string, unknown>)[OCTI_EXT];
    if (v && typeof v === 'object') return v as Record<string, unknown>;
  }
  return undefined;
}

/** The previous standard id carried by an update's reverse_patch (pitfall 5). */
export function previousStandardOf(ev: StreamEventData): string | undefined {
  const op = ev.context?.reverse_patch?.find((p) => p.path === '/id');
  return typeof op?.value === 'string' && op.value !== ev.data.id ? op.value : undefined;
}

/** Apply one stream event to a table of current objects, as the remote platform's state moves. */
export function applyEventToTable(table: Map<string, Stix>, ev: StreamEventData): void {
  if (ev.scope === 'internal' || Number(ev.version) < 4) return;
  switch (ev.type) {
    case 'create':
    case 'update': {
      const prev = previousStandardOf(ev);
      if (prev) table.delete(prev);
      table.set(ev.data.id, ev.data);
      return;
    }
    case 'merge':
      for (const s of ev.context?.sources ?? []) if (s.id !== ev.data.id) table.delete(s.id);
      table.set(ev.data.id, ev.data);
      return;
    case 'delete':
      table.delete(ev.data.id);
      return;
  }
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Each object's canonical text, computed once: tests compare tables of thousands of objects every
 * few hundred milliseconds while they wait for a copy to converge, and between two comparisons only
 * the objects written since are new. Sound because the tables never change an object in place: the
 * remote's generator and the local store write a new object for every change (copy on write), so an
 * object seen once keeps its text.
 */
const canonicalTexts = new WeakMap<Stix, string>();

function canonicalText(o: Stix): string {
  let text = canonicalTexts.get(o);
  if (text === undefined) canonicalTexts.set(o, (text = canonical(o)));
  return text;
}

/** Whether two objects hold the same data, whatever the order of their keys. */
function sameObject(a: Stix, b: Stix): boolean {
  return a === b || canonicalText(a) === canonicalText(b);
}

export interface StoreComparison {
  equal: boolean;
  /** Objects present and identical on both sides. */
  same: number;
  /** In the expected (remote) table, absent locally. */
  missing: number;
  /** Present locally, absent from the expected table. */
  extra: number;
  /** Present on both sides with different content. */
  different: number;
  /** Up to 10 ids per kind, for test messages. */
  examples: { missing: string[]; extra: string[]; different: string[] };
}

/** Compare the expected table (remote final state) with an actual store (local platform). */
export function compareTables(expected: ReadonlyMap<string, Stix>, actual: ReadonlyMap<string, Stix>): StoreComparison {
  const r: StoreComparison = { equal: true, same: 0, missing: 0, extra: 0, different: 0, examples: { missing: [], extra: [], different: [] } };
  for (const [id, exp] of expected) {
    const act = actual.get(id);
    if (act === undefined) {
      r.missing++;
      if (r.examples.missing.length < 10) r.examples.missing.push(id);
    } else if (sameObject(exp, act)) r.same++;
    else {
      r.different++;
      if (r.examples.different.length < 10) r.examples.different.push(id);
    }
  }
  for (const id of actual.keys()) {
    if (!expected.has(id)) {
      r.extra++;
      if (r.examples.extra.length < 10) r.examples.extra.push(id);
    }
  }
  r.equal = r.missing === 0 && r.extra === 0 && r.different === 0;
  return r;
}
