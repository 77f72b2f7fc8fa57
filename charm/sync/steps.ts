/**
 * The steps one stream event takes on the local platform, for a write path: each step is one
 * message, confirmed before the next is sent.
 *
 * - create/update: the object, with the previous standard id when the update changed it; where the
 *   platform cannot honour previous-standard, the object and then a merge of the old id into it;
 * - delete: the delete;
 * - merge: the merge, then the target's post-merge state (a merge operation only merges: a worker
 *   does not apply the item's data, pycti apply_opencti_operation), except where the pre-6.2 worker
 *   imports it itself after merging.
 *
 * A step is confirmed by its Work (the worker reports it), or, where the worker never reports a
 * success (pre-6.2 event messages), by reading the platform's state.
 */
import type { Work } from './classify.js';
import { bundleMessage, deleteItem, eventMessage, mergeItem, type Envelope, type EventType } from './messages.js';
import type { WritePath } from './write-path.js';

/** What the platform's state shows once a step applied (for steps no worker reports). */
export type StateCheck = { kind: 'absent'; id: string } | { kind: 'merged'; targetId: string; sourceIds: readonly string[] };

export interface Step {
  /** For logs and errors: `upsert`, `delete`, `merge`, `merge-old-id`, `post-merge-state`. */
  what: string;
  /** The id the worker reports the step under (the source of its Work error). */
  id: string;
  /** The message, given the Work it belongs to. */
  message(env: Envelope): Buffer;
  /** The bundle item, for a step a bundle can carry (CONNECTOR_QUEUE_PROTOCOL=api). */
  item?: string;
  /** Set for steps no worker reports on success. */
  stateCheck?: StateCheck;
  /** The previous standard id, sent as the message's previous_standard. */
  previousStandard?: string;
  /** For a merge: the ids merged into the target (to find what is left when it partly failed). */
  mergeSources?: readonly string[];
  bytes: number;
}

type Applied = Exclude<Work, { kind: 'skip' }>;

function upsertStep(path: WritePath, type: EventType, id: string, data: string, previousStandard?: string): Step {
  const message = path.upsert === 'event' ? (env: Envelope) => eventMessage(type, data, env) : (env: Envelope) => bundleMessage([data], env);
  return { what: previousStandard ? 'id-change' : 'upsert', id, message, item: data, previousStandard, bytes: data.length };
}

/** A merge of `sourceIds` into the target whose data is `data`, the way this path does merges. */
export function mergeStep(path: WritePath, what: string, targetId: string, data: string, sourceIds: readonly string[]): Step {
  const bytes = data.length;
  switch (path.deleteMerge) {
    case 'event':
      return { what, id: targetId, message: (env) => eventMessage('merge', data, env, sourceIds), mergeSources: sourceIds, bytes };
    case 'bundle-op': {
      const item = mergeItem(data, targetId, sourceIds);
      return { what, id: targetId, message: (env) => bundleMessage([item], env), item, mergeSources: sourceIds, bytes };
    }
    case 'event-state': {
      const stateCheck: StateCheck = { kind: 'merged', targetId, sourceIds };
      return { what, id: targetId, message: (env) => eventMessage('merge', data, env, sourceIds), stateCheck, mergeSources: sourceIds, bytes };
    }
  }
}

function deleteStep(path: WritePath, id: string, data: string): Step {
  const bytes = data.length;
  switch (path.deleteMerge) {
    case 'event':
      return { what: 'delete', id, message: (env) => eventMessage('delete', data, env), bytes };
    case 'bundle-op': {
      const item = deleteItem(data);
      return { what: 'delete', id, message: (env) => bundleMessage([item], env), item, bytes };
    }
    case 'event-state':
      return { what: 'delete', id, message: (env) => eventMessage('delete', data, env), stateCheck: { kind: 'absent', id }, bytes };
  }
}

/** The object's state after a merge, upserted once the merge is confirmed. */
export function postMergeStep(path: WritePath, id: string, data: string): Step {
  return { ...upsertStep(path, 'update', id, data), what: 'post-merge-state' };
}

export function planSteps(work: Applied, eventType: EventType, path: WritePath): Step[] {
  switch (work.kind) {
    case 'upsert': {
      const prev = work.previousStandard;
      if (prev === undefined || path.previousStandard) return [upsertStep(path, eventType, work.id, work.data, prev)];
      // No previous-standard here: the new object, then the old one merged into it.
      return [upsertStep(path, eventType, work.id, work.data), mergeStep(path, 'merge-old-id', work.id, work.data, [prev])];
    }
    case 'delete':
      return [deleteStep(path, work.id, work.data)];
    case 'merge': {
      if (work.sourceIds.length === 0) return [postMergeStep(path, work.id, work.data)];
      const merge = mergeStep(path, 'merge', work.id, work.data, work.sourceIds);
      // The pre-6.2 worker imports the target's data itself after merging (worker.py data_handler).
      return path.deleteMerge === 'event-state' ? [merge] : [merge, postMergeStep(path, work.id, work.data)];
    }
  }
}
