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
  /** The merge's target or a source is unknown: make sure the target exists, then merge once more. */
  | { kind: 'merge-needs-target' }
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
    if (/same ID detected/i.test(error)) return { kind: 'applied', why: 'the sources are already merged into the target' };
    if (/Cannot access all entities for merging/i.test(error)) return { kind: 'merge-needs-target' };
  }
  if ((code !== undefined && REFUSING_CODES.has(code)) || REFUSING_TEXT.some((r) => r.test(error))) return { kind: 'refused', reason: shorten(error) };
  return { kind: 'retry', reason: shorten(error) };
}

function shorten(text: string): string {
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}
