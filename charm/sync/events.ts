/**
 * The live stream's event payloads (opencti-stream.md §2.3-2.4) and how each one maps to work on
 * the local platform. Parsing never throws: a payload that does not fit becomes a `skip` with a
 * reason, so the caller can count it and move on.
 */
export const DATA_EVENT_TYPES = ['create', 'update', 'merge', 'delete'] as const;
export type DataEventType = (typeof DATA_EVENT_TYPES)[number];

/**
 * A STIX object on its way to the local platform: its id and type, and its JSON text (the form a
 * bundle carries). Queued events hold this rather than the parsed object: one string per event
 * instead of a tree of small objects keeps the garbage collector's copying work small.
 */
export interface StixObject {
  id: string;
  type: string;
  /** JSON.stringify of the object; '' when the caller did not ask for it (nothing to apply). */
  json: string;
}

type Obj = Record<string, unknown>;

/** The fields of a payload this process relies on, checked. */
interface Payload {
  version: string;
  scope: string | undefined;
  data: Obj & { id: string; type: string };
  reversePatch: Obj[] | undefined;
  sources: { id: string }[] | undefined;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * Check a payload by hand (this runs for every event, so no schema library on the hot path): the
 * first problem found, as `<path> <what is wrong>`, or the checked fields. Unknown keys are kept
 * (the object goes to the local platform as it came).
 */
function checkPayload(p: unknown): Payload | string {
  if (!isObj(p)) return '(root) must be an object';
  const version = p['version'];
  if (typeof version !== 'string' && typeof version !== 'number') return 'version must be a string or a number';
  for (const k of ['type', 'scope'] as const) if (p[k] !== undefined && typeof p[k] !== 'string') return `${k} must be a string`;
  const data = p['data'];
  if (!isObj(data)) return 'data must be an object';
  if (!nonEmpty(data['id'])) return 'data.id must be a non-empty string';
  if (!nonEmpty(data['type'])) return 'data.type must be a non-empty string';
  const context = p['context'];
  let reversePatch: Obj[] | undefined;
  let sources: { id: string }[] | undefined;
  if (context !== undefined) {
    if (!isObj(context)) return 'context must be an object';
    const rp = context['reverse_patch'];
    if (rp !== undefined) {
      if (!Array.isArray(rp)) return 'context.reverse_patch must be an array';
      for (let i = 0; i < rp.length; i++) {
        const op: unknown = rp[i];
        if (!isObj(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') return `context.reverse_patch.${i} must be {op, path[, value]}`;
      }
      reversePatch = rp as Obj[];
    }
    const src = context['sources'];
    if (src !== undefined) {
      if (!Array.isArray(src)) return 'context.sources must be an array';
      for (let i = 0; i < src.length; i++) {
        const o: unknown = src[i];
        if (!isObj(o) || !nonEmpty(o['id'])) return `context.sources.${i}.id must be a non-empty string`;
      }
      sources = src as { id: string }[];
    }
  }
  return { version: String(version), scope: p['scope'] as string | undefined, data: data as Payload['data'], reversePatch, sources };
}

/** The end (index of the closing quote) of the JSON string whose opening quote is at `open`. */
function stringEnd(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  for (;;) {
    if (q < 0) return -1;
    let k = q - 1;
    while (text.charCodeAt(k) === 92 /* \ */) k--;
    if ((q - 1 - k) % 2 === 0) return q; // an even run of backslashes: this quote is not escaped
    q = text.indexOf('"', q + 1);
  }
}

/**
 * The text of the value of the top-level key `data` in `text`, which JSON.parse has accepted: the
 * object's JSON exactly as it came, without building it again with JSON.stringify (which cost
 * about twice this scan, and a new string per event). The last occurrence wins, as in JSON.parse.
 * Undefined when there is no such key (the caller then falls back to JSON.stringify).
 */
export function topLevelDataText(text: string): string | undefined {
  let depth = 0;
  let keyNext = false;
  let start = -1;
  let found: string | undefined;
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      if (depth === 1 && keyNext && end - i === 5 && text.startsWith('data', i + 1)) {
        let k = end + 1;
        while (text.charCodeAt(k) !== 58 /* : */) k++;
        k++;
        while (text.charCodeAt(k) <= 32) k++;
        start = k;
        i = k - 1;
      } else i = end;
      keyNext = false;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      keyNext = c === 123 && depth === 1;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (start >= 0 && depth === 1) {
        found = text.slice(start, i + 1);
        start = -1;
      }
    } else if (c === 44 /* , */ && depth === 1) {
      if (start >= 0) {
        found = text.slice(start, i).trimEnd();
        start = -1;
      }
      keyNext = true;
    }
  }
  return found;
}

export type SkipReason = 'unknown-type' | 'old-version' | 'internal-scope' | 'malformed';

export type Work =
  | { kind: 'upsert'; object: StixObject; previousStandard: string | undefined; bytes: number }
  | { kind: 'merge'; object: StixObject; sourceIds: string[]; bytes: number }
  | { kind: 'delete'; object: StixObject; bytes: number }
  | { kind: 'skip'; reason: SkipReason; detail: string };

export function isDataEventType(t: string): t is DataEventType {
  return (DATA_EVENT_TYPES as readonly string[]).includes(t);
}

/**
 * Turn one SSE message (`event:` name and `data:` text) into work. Synthetic creates (dependencies,
 * recovery) have no `type` in their payload and are upserts like any create (§2.4). `withJson`:
 * keep the object's JSON text for a bundle (false when nothing will be applied).
 */
export function classifyEvent(eventName: string, dataText: string, withJson = true): Work {
  if (!isDataEventType(eventName)) return { kind: 'skip', reason: 'unknown-type', detail: `unknown event type "${eventName.slice(0, 40)}"` };
  let json: unknown;
  try {
    json = JSON.parse(dataText);
  } catch {
    return { kind: 'skip', reason: 'malformed', detail: `${eventName} event data is not JSON` };
  }
  const p = checkPayload(json);
  if (typeof p === 'string') return { kind: 'skip', reason: 'malformed', detail: `${eventName} event: ${p}` };
  const version = Number.parseInt(p.version, 10);
  if (!Number.isFinite(version) || version < 4) return { kind: 'skip', reason: 'old-version', detail: `event version "${p.version}" is below 4` };
  if (p.scope === 'internal') return { kind: 'skip', reason: 'internal-scope', detail: 'internal-scope event' };
  const bytes = dataText.length;
  const object: StixObject = { id: p.data.id, type: p.data.type, json: withJson ? (topLevelDataText(dataText) ?? JSON.stringify(p.data)) : '' };
  switch (eventName) {
    case 'create':
    case 'update': {
      const prev = p.reversePatch?.find((op) => op['path'] === '/id' && typeof op['value'] === 'string')?.['value'];
      const previousStandard = typeof prev === 'string' && prev !== p.data.id ? prev : undefined;
      return { kind: 'upsert', object, previousStandard, bytes };
    }
    case 'merge':
      return { kind: 'merge', object, sourceIds: (p.sources ?? []).map((s) => s.id).filter((id) => id !== p.data.id), bytes };
    case 'delete':
      return { kind: 'delete', object, bytes };
  }
}
