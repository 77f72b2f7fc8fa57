/**
 * The live stream's event payloads (opencti-stream.md §2.3-2.4) and how each one maps to work on
 * the local platform. Parsing never throws: a payload that does not fit becomes a `skip` with a
 * reason, so the caller can count it and move on.
 */
import { z } from 'zod';

export const DATA_EVENT_TYPES = ['create', 'update', 'merge', 'delete'] as const;
export type DataEventType = (typeof DATA_EVENT_TYPES)[number];

const stixObject = z.looseObject({ id: z.string().min(1), type: z.string().min(1) });

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

const patchOp = z.looseObject({ op: z.string(), path: z.string(), value: z.unknown().optional() });

const eventPayload = z.looseObject({
  version: z.union([z.string(), z.number()]).transform(String),
  type: z.string().optional(),
  scope: z.string().optional(),
  data: stixObject,
  context: z
    .looseObject({
      reverse_patch: z.array(patchOp).optional(),
      sources: z.array(z.looseObject({ id: z.string().min(1) })).optional(),
    })
    .optional(),
});

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
  const r = eventPayload.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { kind: 'skip', reason: 'malformed', detail: `${eventName} event: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid payload'}` };
  }
  const p = r.data;
  const version = Number.parseInt(p.version, 10);
  if (!Number.isFinite(version) || version < 4) return { kind: 'skip', reason: 'old-version', detail: `event version "${p.version}" is below 4` };
  if (p.scope === 'internal') return { kind: 'skip', reason: 'internal-scope', detail: 'internal-scope event' };
  const bytes = dataText.length;
  const object: StixObject = { id: p.data.id, type: p.data.type, json: withJson ? JSON.stringify(p.data) : '' };
  switch (eventName) {
    case 'create':
    case 'update': {
      const prev = p.context?.reverse_patch?.find((op) => op.path === '/id' && typeof op.value === 'string')?.value;
      const previousStandard = typeof prev === 'string' && prev !== p.data.id ? prev : undefined;
      return { kind: 'upsert', object, previousStandard, bytes };
    }
    case 'merge':
      return { kind: 'merge', object, sourceIds: (p.context?.sources ?? []).map((s) => s.id).filter((id) => id !== p.data.id), bytes };
    case 'delete':
      return { kind: 'delete', object, bytes };
  }
}
