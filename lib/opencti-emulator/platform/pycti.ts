/**
 * What pycti does inside the worker with the items of a message (opencti@d42f66c06
 * client-python/pycti/utils/opencti_stix2.py: import_bundle, import_item_with_retries, import_item,
 * apply_opencti_operation; client-python tags for the older behaviours):
 *
 * - an item carrying `opencti_operation` is that operation (pycti 6.2+; from 6.6.1 read in the
 *   OpenCTI extension first, then at the top level; merge ids likewise from 6.7.0); any other value
 *   is refused with "Not supported opencti_operation";
 * - retries: LOCK_ERROR again and again (1-3 s apart), MISSING_REFERENCE_ERROR 4 attempts in all
 *   (1-3 s apart), anything else not at all; after 100 attempts the item is given up;
 * - with a work id, exactly one reportExpectation per item: `null` on success, `{error, source}`
 *   on failure, where error is pycti's text of the error and source the item's JSON (or "Bundle too
 *   large" from 50,000 characters).
 */
import type { Stix } from '../stix.js';
import { PlatformApiError, PythonError, functional } from './api-errors.js';
import type { PlatformProfile } from './profiles.js';
import type { Works } from './works.js';

export const OCTI_EXT = 'extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba';
const OPERATION_KEYS = ['opencti_operation', 'merge_target_id', 'merge_source_ids'] as const;

/** The headers of one call, as the worker set them from the message's fields. */
export interface ApiCall {
  applicantId: string | undefined;
  eventId: string | undefined;
  synchronized: boolean;
  previousStandard: string | undefined;
  workId: string | undefined;
  /**
   * Not a header: the message's event_id whatever the version reads, for the emulator's record of
   * which events were applied (the tests' per-event oracle).
   */
  trace: string | undefined;
}

/** The platform operations a worker's calls reach (the emulator's store, as the worker's admin user). */
export interface KnowledgeApi {
  upsert(item: Stix, call: ApiCall): void;
  delete(id: string, call: ApiCall): void;
  merge(targetId: string, sourceIds: readonly string[], call: ApiCall): void;
}

export interface RetryPolicy {
  /** Attempts in all for a missing reference (pycti PROCESSING_COUNT: 4). */
  missingReferenceAttempts: number;
  /** The pause between two attempts, drawn in [min, max] ms (pycti: uniform(1, 3) s). */
  minPauseMs: number;
  maxPauseMs: number;
  /** Attempts before an item is given up whatever the error (pycti MAX_PROCESSING_COUNT: 100). */
  maxAttempts: number;
}

export const PYCTI_RETRIES: RetryPolicy = { missingReferenceAttempts: 4, minPauseMs: 1000, maxPauseMs: 3000, maxAttempts: 100 };

const ext = (o: Stix): Record<string, unknown> | undefined => {
  const e = (o.extensions as Record<string, unknown> | undefined)?.[OCTI_EXT];
  return e && typeof e === 'object' ? (e as Record<string, unknown>) : undefined;
};

/** The operation an item asks for, where this pycti looks for it. */
export function itemOperation(item: Stix, where: PlatformProfile['bundleOperations']): string | undefined {
  if (where === 'none') return undefined;
  const inExt = where === 'extension-first' ? ext(item)?.opencti_operation : undefined;
  const op = inExt ?? item.opencti_operation;
  return typeof op === 'string' ? op : undefined;
}

/** The item as an object to import: pycti never hands the operation keys to the API. */
export function withoutOperationKeys(item: Stix): Stix {
  if (!OPERATION_KEYS.some((k) => k in item) && !OPERATION_KEYS.some((k) => k in (ext(item) ?? {}))) return item;
  const out: Stix = { ...item };
  for (const k of OPERATION_KEYS) delete out[k];
  const e = ext(out);
  if (e && OPERATION_KEYS.some((k) => k in e)) {
    const clean = { ...e };
    for (const k of OPERATION_KEYS) delete clean[k];
    out.extensions = { ...(out.extensions as Record<string, unknown>), [OCTI_EXT]: clean };
  }
  return out;
}

/** What pycti reports as an item's `source`. */
export function reportSource(item: Stix): string {
  const text = JSON.stringify(item);
  return text.length < 50_000 ? text : 'Bundle too large';
}

export class Pycti {
  constructor(
    private readonly profile: PlatformProfile,
    private readonly api: KnowledgeApi,
    private readonly works: Works,
    private readonly retries: RetryPolicy,
    private readonly rand: () => number,
  ) {}

  /** import_bundle: each item in turn, each with its retries and its report. */
  async importItems(items: readonly Stix[], call: ApiCall): Promise<void> {
    for (const item of items) await this.importItemWithRetries(item, call);
  }

  /** A pause between two attempts (pycti: uniform(1, 3) s). */
  pause(): Promise<void> {
    const { minPauseMs, maxPauseMs } = this.retries;
    return new Promise((r) => setTimeout(r, minPauseMs + this.rand() * (maxPauseMs - minPauseMs)));
  }

  /** import_item_with_retries: the item applied, retried or given up; one report either way. */
  async importItemWithRetries(item: Stix, call: ApiCall): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.importItem(item, call);
        if (call.workId !== undefined) this.works.reportExpectation(call.workId, null);
        return;
      } catch (e) {
        const err = e instanceof PlatformApiError ? e : new PlatformApiError('INTERNAL_SERVER_ERROR', e instanceof Error ? e.message : String(e));
        const retry = attempt + 1 < this.retries.maxAttempts && (err.code === 'LOCK_ERROR' || (err.code === 'MISSING_REFERENCE_ERROR' && attempt + 1 < this.retries.missingReferenceAttempts));
        if (retry) {
          await this.pause();
          continue;
        }
        if (call.workId !== undefined) this.works.reportExpectation(call.workId, { error: err.pyctiText(), source: reportSource(item) });
        return;
      }
    }
  }

  /** import_item: an operation, or the object itself. */
  importItem(item: Stix, call: ApiCall): void {
    const op = itemOperation(item, this.profile.bundleOperations);
    if (op === undefined) {
      this.api.upsert(withoutOperationKeys(item), call);
      return;
    }
    const e = this.profile.bundleOperations === 'extension-first' ? ext(item) : undefined;
    switch (op) {
      case 'delete':
        this.api.delete(item.id, call);
        return;
      case 'merge': {
        const target = (e?.merge_target_id ?? item.merge_target_id) as unknown;
        const sources = (e?.merge_source_ids ?? item.merge_source_ids) as unknown;
        if (typeof target !== 'string' || !Array.isArray(sources)) throw functional('Merge needs merge_target_id and merge_source_ids');
        this.api.merge(target, sources.filter((s): s is string => typeof s === 'string'), call);
        return;
      }
      default:
        throw new PythonError(`('Not supported opencti_operation', {'operation': '${op}'})`);
    }
  }
}
