/**
 * What a failed step means, from the error a worker reported to its Work.
 *
 * The worker reports `str(ex)` of pycti's error: a Python dict repr `{'name': 'CODE',
 * 'error_message': '...'}` for a platform error, or the text of a pycti ValueError
 * (opencti_api_client.py#query, opencti_stix2.py#import_item_with_retries). Nothing is dropped on a
 * guess: only an error that is about the event itself refuses it; an error that shows the step's
 * effect is already there counts as applied; everything else, unknown errors included, is retried.
 */
export type FailureVerdict =
  /** The platform already holds what the step asks for (a replayed delete or merge). */
  | { kind: 'applied'; why: string }
  /**
   * The merge did not run as a whole: a source is already merged (`same ID detected`) or an entity
   * is missing (`Cannot access all entities`). The platform merges nothing in either case
   * (middleware.js mergeEntities checks all before merging), so the other sources may still be
   * separate: read the platform's state and merge what is left.
   */
  | { kind: 'merge-partial'; why: string }
  /**
   * An object it refers to is not on the platform (pycti already retried 4 times): retried, unless
   * a later event deletes the object this step writes, which makes the step moot (a replay).
   */
  | { kind: 'missing-reference'; reason: string }
  /** The platform refuses this event for good, for a reason about the event itself. */
  | { kind: 'refused'; reason: string }
  /** Anything else: hold the position, retry with backoff. */
  | { kind: 'retry'; reason: string };

/** The platform error code in a reported error text, when it has one. */
export function errorCode(text: string): string | undefined {
  return /'name': '([A-Z_]+)'/.exec(text)?.[1] ?? /"name":\s*"([A-Z_]+)"/.exec(text)?.[1];
}

/** Codes that say the event itself is invalid for the platform (its content, not the platform's state). */
const REFUSING_CODES = new Set(['VALIDATION_ERROR', 'UNSUPPORTED_ERROR']);
/** pycti's own refusals of one element, reported without retry (opencti_stix2.py#import_bundle). */
const REFUSING_TEXT = [/Incompatible element in bundle/, /Too large element in bundle/];

export function judgeFailure(step: { what: string }, error: string): FailureVerdict {
  const code = errorCode(error);
  if (step.what === 'delete' && /cannot be found/i.test(error)) return { kind: 'applied', why: 'the object is already gone' };
  if (step.what === 'merge' || step.what === 'merge-old-id') {
    if (/same ID detected/i.test(error)) return { kind: 'merge-partial', why: 'a source is already merged into the target' };
    if (/Cannot access all entities for merging/i.test(error)) return { kind: 'merge-partial', why: 'the target or a source is missing' };
  }
  if (code === 'MISSING_REFERENCE_ERROR' && step.what !== 'delete') return { kind: 'missing-reference', reason: shorten(error) };
  if ((code !== undefined && REFUSING_CODES.has(code)) || REFUSING_TEXT.some((r) => r.test(error))) return { kind: 'refused', reason: shorten(error) };
  return { kind: 'retry', reason: shorten(error) };
}

function shorten(text: string): string {
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}
