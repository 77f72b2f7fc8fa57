/**
 * The messages this synchronizer puts on the local platform's push queue, as bytes.
 *
 * - An event message is the platform's own synchronizer's (opencti-ingestion.md §3; F@5b43e1fe8
 *   syncManager.js): `{type: 'event', event_id, synchronized, previous_standard, update: true,
 *   applicant_id, content}`, where content is the base64 of `{id, type, data, context}` (the stream
 *   id, the event type, the object, and for a merge the sources' ids), plus `work_id` so the Work
 *   says when it was applied.
 * - A bundle message is pycti's (send_stix2_bundle): `{type: 'bundle', ..., content}` with a STIX
 *   bundle of one object, or of one item carrying `opencti_operation` for a delete or a merge.
 *
 * The worker turns `synchronized`, `event_id`, `previous_standard` and `applicant_id` into the API
 * headers of its writes, whatever the message type (push_handler.py#handle_message).
 */
export interface Envelope {
  workId: string;
  /** The stream event's id: the opencti-event-id guard against stale writes, and content.id. */
  eventId: string;
  applicantId: string | undefined;
  synchronized: boolean;
  previousStandard?: string | undefined;
}

export type EventType = 'create' | 'update' | 'delete' | 'merge';

/**
 * The message: its fields, then `content`, the base64 of the given bytes. Written into one buffer
 * (base64 needs no escaping), rather than joined into a string first and encoded again.
 */
function envelope(type: 'event' | 'bundle', env: Envelope, content: Buffer): Buffer {
  const head: Record<string, unknown> = { type, event_id: env.eventId, synchronized: env.synchronized, update: true, applicant_id: env.applicantId, work_id: env.workId };
  if (env.previousStandard !== undefined) head.previous_standard = env.previousStandard;
  const json = JSON.stringify(head);
  const b64 = content.toString('base64');
  const open = `${json.slice(0, -1)},"content":"`;
  const out = Buffer.allocUnsafe(Buffer.byteLength(open) + b64.length + 2);
  let at = out.write(open);
  at += out.write(b64, at, 'latin1');
  out.write('"}', at, 'latin1');
  return out;
}

/** Texts written one after the other into one buffer (UTF-8). */
function joined(parts: readonly string[]): Buffer {
  let n = 0;
  for (const p of parts) n += Buffer.byteLength(p);
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (const p of parts) at += out.write(p, at);
  return out;
}

/** The sync manager's event message for one stream event (`data` is the object's JSON text). */
export function eventMessage(type: EventType, data: string, env: Envelope, sourceIds?: readonly string[]): Buffer {
  const context = type === 'merge' ? `,"context":{"sources":${JSON.stringify((sourceIds ?? []).map((id) => ({ id })))}}` : '';
  return envelope('event', env, joined([`{"id":${JSON.stringify(env.eventId)},"type":"${type}","data":`, data, `${context}}`]));
}

/** A bundle message of the given items (JSON texts). */
export function bundleMessage(items: readonly string[], env: Envelope): Buffer {
  return envelope('bundle', env, joined([`{"type":"bundle","id":"bundle--${crypto.randomUUID()}","spec_version":"2.1","objects":[`, items.join(','), ']}']));
}

/** A delete as a bundle item: the object with `opencti_operation` (pycti 6.2+ reads it at the top level too). */
export function deleteItem(data: string): string {
  return `${data.slice(0, -1)},"opencti_operation":"delete"}`;
}

/** A merge as a bundle item: the target with the operation and the ids to merge into it. */
export function mergeItem(targetData: string, targetId: string, sourceIds: readonly string[]): string {
  return `${targetData.slice(0, -1)},"opencti_operation":"merge","merge_target_id":${JSON.stringify(targetId)},"merge_source_ids":${JSON.stringify(sourceIds)}}`;
}
