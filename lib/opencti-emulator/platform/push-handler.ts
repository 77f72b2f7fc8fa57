/**
 * One worker's handling of one message of a push queue, by version profile:
 * opencti@d42f66c06 opencti-worker/src/push_handler.py#handle_message (6.8.7 to the 6.9 line),
 * its post-February-2026 form (event operations fixed, opencti-work-id header) for 7.x, and
 * opencti@9240a4b12 (5.12.33) opencti-worker/src/worker.py#data_handler for 5.12.
 *
 * The answer is what the worker does with the delivery: `ack` for everything it handled, whatever
 * happened to the writes (a failed write is reported to the Work when the message names one, and
 * otherwise leaves no trace); `nack` (no requeue) only for a message it cannot read.
 */
import type { Stix } from '../stix.js';
import { PlatformApiError } from './api-errors.js';
import type { PlatformProfile } from './profiles.js';
import { type ApiCall, type KnowledgeApi, Pycti } from './pycti.js';
import type { Works } from './works.js';

export type Verdict = 'ack' | 'nack';

/** The message envelope: what the sync manager and pycti's send_stix2_bundle put in a message. */
interface Envelope {
  type?: unknown;
  content?: unknown;
  work_id?: unknown;
  applicant_id?: unknown;
  event_id?: unknown;
  synchronized?: unknown;
  previous_standard?: unknown;
  no_split?: unknown;
  update?: unknown;
  [key: string]: unknown;
}

export interface PushContext {
  profile: PlatformProfile;
  api: KnowledgeApi;
  works: Works;
  pycti: Pycti;
  /** Publish a split piece to the tail of the same queue (same exchange and routing key). */
  requeue(body: Buffer): Promise<void>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The API headers the worker sets from the message's fields (only those its version reads). */
function callFrom(env: Envelope, profile: PlatformProfile): ApiCall {
  const reads = new Set(profile.headerFields);
  return {
    applicantId: reads.has('applicant_id') ? str(env.applicant_id) : undefined,
    eventId: reads.has('event_id') ? str(env.event_id) : undefined,
    synchronized: reads.has('synchronized') && env.synchronized === true,
    previousStandard: reads.has('previous_standard') ? str(env.previous_standard) : undefined,
    workId: str(env.work_id),
    trace: str(env.event_id),
  };
}

class Unreadable extends Error {}

function decodeContent(env: Envelope): { raw: string; content: Record<string, unknown> } {
  if (typeof env.content !== 'string') throw new Unreadable('no content');
  const raw = Buffer.from(env.content, 'base64').toString('utf8');
  const content: unknown = JSON.parse(raw);
  if (!content || typeof content !== 'object' || Array.isArray(content)) throw new Unreadable('content is not a JSON object');
  return { raw, content: content as Record<string, unknown> };
}

function isStix(v: unknown): v is Stix {
  return !!v && typeof v === 'object' && typeof (v as Stix).id === 'string' && typeof (v as Stix).type === 'string';
}

/** Handle one delivery; never throws. */
export async function handlePushMessage(body: Buffer, ctx: PushContext): Promise<Verdict> {
  let env: Envelope;
  try {
    env = JSON.parse(body.toString('utf8')) as Envelope;
    if (!env || typeof env !== 'object') return 'nack';
  } catch {
    return 'nack';
  }
  try {
    return ctx.profile.reports === 'message' ? await handle512(env, ctx) : await handle6(env, ctx);
  } catch (e) {
    // Anything escaping the handler (unreadable content, an unsupported type): nacked, discarded.
    if (e instanceof Unreadable || e instanceof SyntaxError || e instanceof TypeError || e instanceof PlatformApiError) return 'nack';
    throw e;
  }
}

/** 6.x and later: headers from fields, the work alive check, split or import, event operations. */
async function handle6(env: Envelope, ctx: PushContext): Promise<Verdict> {
  const call = callFrom(env, ctx.profile);
  // 6.8.7+: a message of a Work that is no longer alive is acked without being processed (7.x: the
  // opencti-work-id header makes every call of it fail, with the same outcome).
  if (call.workId !== undefined && !ctx.works.isAlive(call.workId)) return 'ack';
  const { content } = decodeContent(env);
  const type = env.type ?? 'bundle';
  if (type === 'bundle') {
    const objects = content.objects;
    if (!Array.isArray(objects) || objects.length === 0) throw new Unreadable('JSON data type is not a STIX2 bundle');
    if (!objects.every(isStix)) throw new Unreadable('an object without id or type');
    if (objects.length === 1 || env.no_split === true || !ctx.profile.workerSplits) {
      await ctx.pycti.importItems(objects, call);
      return 'ack';
    }
    const pieces = splitBundle(objects);
    if (call.workId !== undefined) ctx.works.addExpectations(call.workId, pieces.length);
    for (const piece of pieces) {
      const bundle = { type: 'bundle', id: content.id ?? `bundle--${crypto.randomUUID()}`, objects: [piece] };
      await ctx.requeue(Buffer.from(JSON.stringify({ ...env, content: Buffer.from(JSON.stringify(bundle)).toString('base64') })));
    }
    return 'ack';
  }
  if (type === 'event') {
    const data = content.data;
    if (!isStix(data)) throw new Unreadable('event without data');
    switch (content.type) {
      case 'create':
      case 'update':
        await ctx.pycti.importItems([data], call);
        return 'ack';
      case 'merge': {
        const sources = (content.context as { sources?: unknown } | undefined)?.sources;
        if (!Array.isArray(sources)) throw new Unreadable('merge event without context.sources');
        const item: Stix = { ...data, opencti_operation: eventOperation(ctx.profile, 'merge'), merge_target_id: data.id, merge_source_ids: sources.map((s) => (s as { id?: unknown }).id) };
        await ctx.pycti.importItems([item], call);
        return 'ack';
      }
      case 'delete':
      case 'restore':
      case 'delete_force':
        await ctx.pycti.importItems([{ ...data, opencti_operation: eventOperation(ctx.profile, content.type) }], call);
        return 'ack';
      default:
        throw new Unreadable('Unsupported operation type');
    }
  }
  throw new Unreadable('Unsupported event type');
}

/** 6.8.7-6.9.x set the operation to the message's type, the literal "event", which pycti refuses. */
function eventOperation(profile: PlatformProfile, eventType: string): string {
  return profile.eventOperations === 'broken' ? 'event' : eventType;
}

/**
 * 5.12: no alive check, no splitting (the connector helper splits), reports per message: a
 * successful bundle reports once, a successful event never; a failure reports once with the whole
 * content as source.
 */
async function handle512(env: Envelope, ctx: PushContext): Promise<Verdict> {
  const call = callFrom(env, ctx.profile);
  const { raw, content } = decodeContent(env);
  const type = env.type ?? 'bundle';
  const report = (error: PlatformApiError | null) => {
    if (call.workId === undefined) return;
    ctx.works.reportExpectation(call.workId, error ? { error: error.pyctiText(), source: raw.length < 50_000 ? raw : 'Bundle too large' } : null);
  };
  try {
    if (type === 'bundle') {
      const objects = content.objects;
      if (!Array.isArray(objects) || !objects.every(isStix)) throw new Unreadable('JSON data type is not a STIX2 bundle');
      await withRetries512(ctx, () => {
        for (const o of objects) ctx.api.upsert(o, call);
      });
      report(null);
      return 'ack';
    }
    if (type === 'event') {
      const data = content.data;
      if (!isStix(data)) throw new Unreadable('event without data');
      await withRetries512(ctx, () => {
        if (content.type === 'create' || content.type === 'update') ctx.api.upsert(data, call);
        else if (content.type === 'delete') ctx.api.delete(data.id, call);
        else if (content.type === 'merge') {
          const sources = ((content.context as { sources?: { id?: unknown }[] } | undefined)?.sources ?? []).map((s) => s.id).filter((s): s is string => typeof s === 'string');
          ctx.api.merge(data.id, sources, call);
          ctx.api.upsert(data, call);
        }
      });
      return 'ack';
    }
    return 'ack';
  } catch (e) {
    if (!(e instanceof PlatformApiError)) throw e;
    report(e);
    return 'ack';
  }
}

/** The 5.12 worker's own retries: missing references 4 attempts, locks up to 60, 1-3 s apart. */
async function withRetries512(ctx: PushContext, fn: () => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      fn();
      return;
    } catch (e) {
      if (!(e instanceof PlatformApiError)) throw e;
      const again = (e.code === 'MISSING_REFERENCE_ERROR' && attempt + 1 < 4) || (e.code === 'LOCK_ERROR' && attempt + 1 < 60);
      if (!again) throw e;
      await ctx.pycti.pause();
    }
  }
}

/**
 * OpenCTIStix2Splitter.split_bundle_with_expectations, as far as a sender can see it: one object per
 * id (the last one given), those with fewer dependencies in the bundle first, and relationships
 * without both ends or sightings without their refs dropped without a trace.
 */
export function splitBundle(objects: readonly Stix[]): Stix[] {
  const byId = new Map<string, Stix>();
  for (const o of objects) byId.set(o.id, o);
  const deps = new Map<string, number>();
  const count = (id: string, seen: Set<string>): number => {
    const known = deps.get(id);
    if (known !== undefined) return known;
    const o = byId.get(id);
    if (!o) return 0;
    let n = 1;
    for (const [k, v] of Object.entries(o)) {
      const refs = k.endsWith('_refs') && Array.isArray(v) ? v : k.endsWith('_ref') ? [v] : [];
      for (const r of refs) if (typeof r === 'string' && r !== id && !seen.has(r)) n += count(r, new Set([...seen, r]));
    }
    deps.set(id, n);
    return n;
  };
  const compatible = (o: Stix) =>
    o.type === 'relationship' ? typeof o.source_ref === 'string' && typeof o.target_ref === 'string' : o.type === 'sighting' ? typeof o.sighting_of_ref === 'string' && Array.isArray(o.where_sighted_refs) && o.where_sighted_refs.length > 0 : true;
  const unique = [...byId.values()].filter(compatible);
  for (const o of unique) count(o.id, new Set([o.id]));
  return unique.map((o, i) => ({ o, i, n: deps.get(o.id) ?? 1 })).sort((a, b) => a.n - b.n || a.i - b.i).map((x) => x.o);
}
