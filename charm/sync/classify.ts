/**
 * The live stream's event payloads (opencti-stream.md §2.3-2.4) and what each one asks of the local
 * platform. Parsing never throws: a payload that does not fit becomes a `skip` with a reason that
 * names the field at fault, so the caller can count it, log it and move on.
 *
 * What is sent is exactly what was checked: the object is serialized again from the parsed value
 * (never cut out of the received text, where a key spelled with a JSON escape or given twice could
 * make the text say something else than the parsed value), and keys that the platform's worker would
 * take as commands (`opencti_operation`, `merge_target_id`, `merge_source_ids`, at the top level or
 * in the OpenCTI extension) are removed: an operation comes only from the event type.
 */
export const DATA_EVENT_TYPES = ['create', 'update', 'merge', 'delete'] as const;
export type DataEventType = (typeof DATA_EVENT_TYPES)[number];

/** OpenCTI's STIX extension (opencti-stream.md §2.3). */
export const OCTI_EXTENSION = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';
/** Keys of a bundle item that the platform's worker reads as an operation rather than as data. */
export const OPERATION_KEYS = ['opencti_operation', 'merge_target_id', 'merge_source_ids'] as const;
/** A stream id, `<ms>-<seq>` (opencti-stream.md §2.2). */
export const STREAM_ID = /^\d{1,16}-\d{1,16}$/;

type Obj = Record<string, unknown>;

/** What the local platform is asked to do for one event. `data` is the object's JSON text. */
export type Work =
  | { kind: 'upsert'; id: string; type: string; data: string; previousStandard: string | undefined; refs: string[]; bytes: number; removedKeys: string[]; referer?: string | undefined }
  | { kind: 'merge'; id: string; type: string; data: string; sourceIds: string[]; refs: string[]; bytes: number; removedKeys: string[] }
  | { kind: 'delete'; id: string; type: string; data: string; refs: string[]; bytes: number; removedKeys: string[] }
  | { kind: 'skip'; reason: SkipReason; detail: string };

export type SkipReason = 'unknown-type' | 'old-version' | 'internal-scope' | 'malformed' | 'invalid-id';

/** The fields of a payload this process relies on, checked. */
interface Payload {
  version: string;
  scope: string | undefined;
  data: Obj & { id: string; type: string };
  reversePatch: Obj[] | undefined;
  sources: { id: string }[] | undefined;
  /** origin.referer: `init-create` for a recovered object, `init-dependencies` for a dependency (§2.4). */
  referer: string | undefined;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

function checkContext(context: unknown): Pick<Payload, 'reversePatch' | 'sources'> | string {
  if (context === undefined) return { reversePatch: undefined, sources: undefined };
  if (!isObj(context)) return 'context must be an object';
  const rp = context['reverse_patch'];
  if (rp !== undefined) {
    if (!Array.isArray(rp)) return 'context.reverse_patch must be an array';
    for (let i = 0; i < rp.length; i++) {
      const op: unknown = rp[i];
      if (!isObj(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') return `context.reverse_patch.${i} must be {op, path[, value]}`;
    }
  }
  const src = context['sources'];
  if (src !== undefined) {
    if (!Array.isArray(src)) return 'context.sources must be an array';
    for (let i = 0; i < src.length; i++) {
      const o: unknown = src[i];
      if (!isObj(o) || !nonEmpty(o['id'])) return `context.sources.${i}.id must be a non-empty string`;
    }
  }
  return { reversePatch: rp as Obj[] | undefined, sources: src as { id: string }[] | undefined };
}

/**
 * Check a payload by hand (this runs for every event, so no schema library on the hot path): the
 * first problem found, as `<path> <what is wrong>`, or the checked fields.
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
  const context = checkContext(p['context']);
  if (typeof context === 'string') return context;
  const origin = p['origin'];
  const referer = isObj(origin) && typeof origin['referer'] === 'string' ? origin['referer'] : undefined;
  return { version: String(version), scope: p['scope'] as string | undefined, data: data as Payload['data'], referer, ...context };
}

/** Remove the operation keys from the object and from its OpenCTI extension; the names removed. */
export function removeOperationKeys(data: Obj): string[] {
  const removed: string[] = [];
  for (const k of OPERATION_KEYS) {
    if (k in data) {
      delete data[k];
      removed.push(k);
    }
  }
  const exts = data['extensions'];
  const ext = isObj(exts) ? exts[OCTI_EXTENSION] : undefined;
  if (isObj(ext)) {
    for (const k of OPERATION_KEYS) {
      if (k in ext) {
        delete ext[k];
        removed.push(`extensions.${OCTI_EXTENSION}.${k}`);
      }
    }
  }
  return removed;
}

/**
 * The ids an object refers to (top-level `*_ref` strings and `*_refs` string arrays: author,
 * markings, container contents, relationship ends, ...), without its own id.
 */
export function referencedIds(data: Obj): string[] {
  const out = new Set<string>();
  for (const key in data) {
    if (key.endsWith('_ref')) {
      const v = data[key];
      if (nonEmpty(v)) out.add(v);
    } else if (key.endsWith('_refs')) {
      const v = data[key];
      if (Array.isArray(v)) for (const x of v) if (nonEmpty(x)) out.add(x);
    }
  }
  out.delete(data['id'] as string);
  return [...out];
}

export function isDataEventType(t: string): t is DataEventType {
  return (DATA_EVENT_TYPES as readonly string[]).includes(t);
}

/** The previous standard id an update carries in its reverse patch (pitfall 5), if it changed. */
function previousStandardOf(p: Payload): string | undefined {
  const prev = p.reversePatch?.find((op) => op['path'] === '/id' && typeof op['value'] === 'string')?.['value'];
  return typeof prev === 'string' && prev !== p.data.id ? prev : undefined;
}

/**
 * Turn one SSE message (`event:` name, `id:` and `data:` text) into work. Synthetic creates
 * (dependencies, recovery) have no `type` in their payload and are upserts like any create (§2.4).
 * An id that is not `<ms>-<seq>` is refused: it could never be a resume position.
 */
export function classifyEvent(eventName: string, streamId: string, dataText: string): Work {
  if (!isDataEventType(eventName)) return { kind: 'skip', reason: 'unknown-type', detail: `unknown event type "${eventName.slice(0, 40)}"` };
  if (!STREAM_ID.test(streamId)) return { kind: 'skip', reason: 'invalid-id', detail: `${eventName} event id ${JSON.stringify(streamId.slice(0, 40))} is not <ms>-<seq>` };
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
  const removedKeys = removeOperationKeys(p.data);
  const base = { id: p.data.id, type: p.data.type, data: JSON.stringify(p.data), bytes: dataText.length, removedKeys };
  switch (eventName) {
    case 'create':
    case 'update':
      return { kind: 'upsert', ...base, previousStandard: previousStandardOf(p), refs: referencedIds(p.data), referer: p.referer };
    case 'merge':
      return { kind: 'merge', ...base, sourceIds: [...new Set((p.sources ?? []).map((s) => s.id))].filter((id) => id !== p.data.id), refs: referencedIds(p.data) };
    case 'delete':
      return { kind: 'delete', ...base, refs: referencedIds(p.data) };
  }
}
