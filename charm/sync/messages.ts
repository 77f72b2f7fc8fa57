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

function envelope(type: 'event' | 'bundle', env: Envelope, content: string): Buffer {
  const head: Record<string, unknown> = { type, event_id: env.eventId, synchronized: env.synchronized, update: true, applicant_id: env.applicantId, work_id: env.workId };
  if (env.previousStandard !== undefined) head.previous_standard = env.previousStandard;
  // content is base64, which needs no escaping: appended as it is.
  const json = JSON.stringify(head);
  return Buffer.from(`${json.slice(0, -1)},"content":"${content}"}`);
}

/** The sync manager's event message for one stream event (`data` is the object's JSON text). */
export function eventMessage(type: EventType, data: string, env: Envelope, sourceIds?: readonly string[]): Buffer {
  const context = type === 'merge' ? `,"context":{"sources":${JSON.stringify((sourceIds ?? []).map((id) => ({ id })))}}` : '';
  const content = `{"id":${JSON.stringify(env.eventId)},"type":"${type}","data":${data}${context}}`;
  return envelope('event', env, Buffer.from(content).toString('base64'));
}

/** A bundle message of the given items (JSON texts). */
export function bundleMessage(items: readonly string[], env: Envelope): Buffer {
  const bundle = `{"type":"bundle","id":"bundle--${crypto.randomUUID()}","spec_version":"2.1","objects":[${items.join(',')}]}`;
  return envelope('bundle', env, Buffer.from(bundle).toString('base64'));
}

/** A delete as a bundle item: the object with `opencti_operation` (pycti 6.2+ reads it at the top level too). */
export function deleteItem(data: string): string {
  return `${data.slice(0, -1)},"opencti_operation":"delete"}`;
}

/** A merge as a bundle item: the target with the operation and the ids to merge into it. */
export function mergeItem(targetData: string, targetId: string, sourceIds: readonly string[]): string {
  return `${targetData.slice(0, -1)},"opencti_operation":"merge","merge_target_id":${JSON.stringify(targetId)},"merge_source_ids":${JSON.stringify(sourceIds)}}`;
}
