/**
 * The apply pipeline: one stream event from the moment it is read to the moment it is settled.
 *
 *   add ─▶ scheduler (per-id order) ─▶ batcher ─▶ sender (a Work per batch) ─▶ tracker (Works)
 *                 ▲                                                               │
 *                 └──────── done: dependents released ◀── settled ◀──────────────┘
 *
 * An event settles when every step of it was applied (its Work says so, or for the steps no worker
 * reports, the platform's state shows it), or when the platform refused it for good for a reason
 * about the event itself (named in the log and counted). Any other outcome keeps it: a failed step
 * is retried with backoff, a step whose outcome is unknown (its Work lost, closed early, over its
 * error cap) is sent again, alone if need be. The acceptance log settles with it, so the position
 * never passes an event that is not settled.
 */
import { setMaxListeners } from 'node:events';
import type { AcceptanceLog, Entry } from './acceptance.js';
import { Batcher, type BatchLimits } from './batcher.js';
import type { Work } from './classify.js';
import { judgeFailure } from './failures.js';
import { filesToFetch, withFileContents, type RemoteFiles } from './files.js';
import type { LocalPlatform, WorkView } from './local.js';
import type { Logger } from './log.js';
import type { EventType } from './messages.js';
import { DependencyScheduler, type Footprint } from './scheduler.js';
import type { Sender } from './senders.js';
import { mergeStep, planSteps, postMergeStep, type Step } from './steps.js';
import type { WritePath } from './write-path.js';

/** Errors kept per Work by the platform: with as many, a failure may have gone unreported. */
const WORK_ERROR_CAP = 100;

export interface PipelineOptions {
  batch: BatchLimits;
  /** Messages on the platform not yet confirmed by their Works, at most. */
  maxQueuedMessages: number;
  /** Between two polls of the Works in flight. */
  pollMs: number;
  /**
   * A Work whose processed count does not move for this long is reported (the pipeline is failing,
   * so /healthz turns 503 after SYNC_UNHEALTHY_AFTER_MS). Its steps are sent again only if its
   * messages are known to be gone (the connector's queue was recreated since): a message that is
   * merely late must not be applied after a newer write of the same object.
   */
  workStallMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** `none` sends events as they come, without waiting for the ones they race with (demonstrations only). */
  ordering: 'per-id' | 'none';
  /** Where the content of the objects' files comes from (the remote's storage); none: not inlined. */
  files?: RemoteFiles | undefined;
}

export interface PipelineCounters {
  applied: number;
  /** Events left unapplied because a later event deletes what they write (see #failed). */
  superseded: number;
  refused: number;
  retries: number;
  resent: number;
  works: number;
  messages: number;
  queuedMax: number;
}

type Applied = Exclude<Work, { kind: 'skip' }>;

/** One stream event in the pipeline. */
interface EventState {
  streamId: string;
  eventType: EventType;
  work: Applied;
  entry: Entry;
  steps: Step[];
  next: number;
  attempts: number;
  /** Rounds sent without a verdict; from the second one, it goes alone. */
  unknown: number;
  /** Times a partly failed merge was resolved against the platform's state. */
  mergeRounds: number;
  /** A delete's id was looked up on the platform before sending (see #deleteUnlessMergedAway). */
  deleteChecked: boolean;
  /** The object's files were fetched and put inline, or it has none (see #inlineFiles). */
  filesDone: boolean;
}

/** Relationships and sightings are never merged, so their ids never become another object's. */
const NEVER_MERGED = new Set(['relationship', 'sighting']);

/** Resolutions of a partly failed merge before it is retried with backoff like any failure. */
const MERGE_ROUNDS = 3;

/**
 * A controller whose signal every request in flight listens to (one abort listener each): dozens
 * at once are normal here (lookups before deletes, Work reads), so Node's leak warning above 10
 * listeners would be a false alarm.
 */
function sharedController(): AbortController {
  const ctl = new AbortController();
  setMaxListeners(0, ctl.signal);
  return ctl;
}

/** A step waiting in the batcher. */
interface Pending {
  ev: EventState;
  bytes: number;
  solo: boolean;
  stateConfirmed: boolean;
}

interface Flight {
  workId: string;
  items: Pending[];
  reported: boolean;
  sentAt: number;
  lastProcessed: number;
  lastProgressAt: number;
  /** Reported as stalled already (once per flight). */
  stalled: boolean;
}

function footprint(w: Applied): Footprint {
  switch (w.kind) {
    case 'upsert':
      return w.previousStandard === undefined ? { writes: [w.id], reads: w.refs, structural: false } : { writes: [w.id, w.previousStandard], reads: w.refs.filter((r) => r !== w.previousStandard), structural: true };
    case 'merge':
      return { writes: [w.id, ...w.sourceIds], reads: w.refs.filter((r) => !w.sourceIds.includes(r)), structural: true };
    case 'delete':
      // What it refers to is read: a delete of a relationship goes before a later delete of its
      // endpoint, which would otherwise remove it first (a cascade) and leave it nothing to delete.
      return { writes: [w.id], reads: w.refs, structural: true };
  }
}

/** The object id a Work error names: the reported item, the bundle's object, or the event's data. */
export function reportedId(source: string): string | undefined {
  try {
    const v = JSON.parse(source) as { id?: unknown; type?: unknown; objects?: { id?: unknown }[]; data?: { id?: unknown } };
    if (v.type === 'bundle' && Array.isArray(v.objects)) return typeof v.objects[0]?.id === 'string' ? v.objects[0].id : undefined;
    if (v.data && typeof v.data.id === 'string') return v.data.id;
    return typeof v.id === 'string' ? v.id : undefined;
  } catch {
    return undefined;
  }
}

export class ApplyPipeline {
  readonly counters: PipelineCounters = { applied: 0, superseded: 0, refused: 0, retries: 0, resent: 0, works: 0, messages: 0, queuedMax: 0 };
  readonly #scheduler = new DependencyScheduler<EventState>((ev) => this.#ready(ev));
  readonly #batcher: Batcher<Pending>;
  readonly #flights: Flight[] = [];
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  #queued = 0;
  #roomWaiters: (() => void)[] = [];
  #flightWaiters: (() => void)[] = [];
  #dispatching: Promise<void> | undefined;
  #polling: Promise<void> | undefined;
  #ctl = sharedController();
  /** Stops the sending only (a stop lets what was sent be confirmed first). */
  #sendCtl = sharedController();
  #bytes = 0;
  /** Events that failed and are not settled yet, with the time of their first failure. */
  readonly #failing = new Map<EventState, number>();
  /** The stages' own failures (sending, reading Works): since when, until the next success. */
  #stageFailingSince: number | undefined;
  lastFailure: string | undefined;
  /** Ids with a delete event in the pipeline, and how many. */
  readonly #deletesPending = new Map<string, number>();
  /** When the connector was last registered again (its queue recreated, the old one's messages lost). */
  queueRecreatedAt: number | undefined;

  constructor(
    private readonly opts: PipelineOptions,
    private readonly log: AcceptanceLog,
    readonly sender: Sender,
    private readonly local: LocalPlatform,
    private readonly path: WritePath,
    private readonly logger: Logger,
    private readonly onSettled: () => void,
  ) {
    this.#batcher = new Batcher<Pending>(opts.batch);
  }

  /** Events read and not settled (what the reader's backpressure counts). */
  get unsettled(): number {
    return this.#scheduler.size;
  }

  /** Bytes of stream data held for the events not settled. */
  get unsettledBytes(): number {
    return this.#bytes;
  }

  /** Messages on the platform not yet confirmed (the local queue this synchronizer is responsible for). */
  get queuedMessages(): number {
    return this.#queued;
  }

  /** Start tracking now, and sending after `delayMs` (a restart's grace, see the supervisor). */
  start(delayMs = 0): void {
    this.#dispatching ??= this.#sleep(delayMs)
      .then(() => this.#dispatchLoop())
      .catch((e: unknown) => this.#internal(e));
    this.#polling ??= this.#pollLoop().catch((e: unknown) => this.#internal(e));
  }

  #internal(e: unknown): void {
    this.logger.error('internal error in the apply pipeline', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    this.#stageFailed(`internal error: ${e instanceof Error ? e.message : String(e)}`);
  }

  /**
   * Since when something has kept the pipeline from moving: the oldest event still failing, or a
   * stage (sending, reading Works) failing since; undefined when nothing is.
   */
  get failingSince(): number | undefined {
    let t = this.#stageFailingSince;
    for (const at of this.#failing.values()) if (t === undefined || at < t) t = at;
    return t;
  }

  /** A data event read from the stream, in stream order. */
  add(streamId: string, eventType: EventType, work: Applied, entry: Entry): void {
    const ev: EventState = { streamId, eventType, work, entry, steps: planSteps(work, eventType, this.path), next: 0, attempts: 0, unknown: 0, mergeRounds: 0, deleteChecked: false, filesDone: work.kind !== 'upsert' || !work.data.includes('"uri"') };
    this.#bytes += work.bytes;
    if (work.kind === 'delete') this.#deletesPending.set(work.id, (this.#deletesPending.get(work.id) ?? 0) + 1);
    this.#scheduler.add(ev, this.opts.ordering === 'none' ? { writes: [], reads: [], structural: false } : footprint(work));
  }

  #ready(ev: EventState): void {
    const step = ev.steps[ev.next] as Step;
    if (!ev.filesDone && this.opts.files) {
      void this.#inlineFiles(ev, step, this.opts.files);
      return;
    }
    if (step.what === 'delete' && !ev.deleteChecked && !NEVER_MERGED.has(ev.work.type)) {
      void this.#deleteUnlessMergedAway(ev, step);
      return;
    }
    this.#batcher.push({ ev, bytes: step.bytes, solo: ev.unknown >= 2, stateConfirmed: step.stateCheck !== undefined });
  }

  // ------------------------------------------------------------------ sending
  async #dispatchLoop(): Promise<void> {
    const signal = this.#sendCtl.signal;
    let failures = 0;
    for (;;) {
      const batch = await this.#batcher.next(signal);
      if (!batch) return;
      await this.#room(batch.items.length, signal);
      if (signal.aborted) return;
      const out = batch.items.map((p) => ({ step: p.ev.steps[p.ev.next] as Step, eventId: p.ev.streamId }));
      try {
        const workId = await this.sender.send(out, !batch.stateConfirmed);
        failures = 0;
        this.#stageFailingSince = undefined;
        this.counters.works++;
        this.counters.messages += out.length;
        this.#queued += out.length;
        this.counters.queuedMax = Math.max(this.counters.queuedMax, this.#queued);
        this.#flights.push({ workId, items: batch.items, reported: !batch.stateConfirmed, sentAt: Date.now(), lastProcessed: 0, lastProgressAt: Date.now(), stalled: false });
        for (const w of this.#flightWaiters.splice(0)) w();
      } catch (e) {
        if (signal.aborted) return;
        const message = e instanceof Error ? e.message : String(e);
        this.#stageFailed(message);
        const delay = this.#backoff(failures++);
        this.logger.warn('could not send a batch to the local platform; retrying without advancing the position', { error: message, events: out.length, retryInMs: delay });
        // The steps go back: what may have reached the platform under the abandoned Work is applied
        // twice at worst (every step is idempotent).
        await this.#sleep(delay);
        for (const p of batch.items) this.#batcher.push(p);
      }
    }
  }

  /** Wait until `n` more messages fit under the bound (always when nothing is queued), and a Work may be added. */
  async #room(n: number, signal: AbortSignal): Promise<void> {
    const full = () => (this.#queued > 0 && this.#queued + n > this.opts.maxQueuedMessages) || (this.path.oneWorkAtATime && this.#flights.length > 0);
    while (full() && !signal.aborted) {
      await new Promise<void>((r) => this.#roomWaiters.push(r));
    }
  }

  // ------------------------------------------------------------------ tracking
  /**
   * Read the Works in flight until none is left. The two oldest are read every round (Works mostly
   * finish in the order they were sent); every Work every eighth round, or when the oldest settled.
   * While nothing settles the pause doubles, from SYNC_WORK_POLL_MS up to eight times it: a Work of
   * hundreds of messages takes a while, and each read costs both sides a request.
   */
  async #pollLoop(): Promise<void> {
    const signal = this.#ctl.signal;
    let failures = 0;
    let idle = 0;
    let round = 0;
    while (!signal.aborted) {
      if (this.#flights.length === 0) {
        await new Promise<void>((r) => this.#flightWaiters.push(r));
        idle = 0;
        continue;
      }
      let progressed = false;
      try {
        progressed = await this.#pollOnce(round++ % 8 === 0 ? this.#flights.length : 2);
        if (failures > 0) this.#stageFailingSince = undefined;
        failures = 0;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        this.#stageFailed(message);
        const delay = this.#backoff(failures++);
        this.logger.warn('could not read the Works on the local platform; retrying', { error: message, retryInMs: delay });
        await this.#sleep(delay);
        continue;
      }
      if (progressed) idle = 0;
      else await this.#sleep(this.#nextPollIn(idle++));
    }
  }

  /**
   * How long to wait before the next read, when the last one settled nothing: about when the
   * oldest Work should be done at the pace its messages are being processed, between
   * SYNC_WORK_POLL_MS and eight times it; doubling from SYNC_WORK_POLL_MS while it has no pace yet.
   */
  #nextPollIn(idle: number): number {
    const min = this.opts.pollMs;
    const max = 8 * min;
    const f = this.#flights[0];
    const elapsed = f ? Date.now() - f.sentAt : 0;
    if (!f || !f.reported || f.lastProcessed === 0 || elapsed <= 0) return Math.min(max, min * 2 ** Math.min(idle, 3));
    const eta = ((f.items.length - f.lastProcessed) * elapsed) / f.lastProcessed;
    return Math.max(min, Math.min(max, Math.round(eta * 0.8)));
  }

  /** Read the `count` oldest Works in flight once (two per request); whether any settled. */
  async #pollOnce(count: number): Promise<boolean> {
    const flights = this.#flights.slice(0, count);
    let progressed = false;
    for (let i = 0; i < flights.length; i += 2) {
      const a = flights[i] as Flight;
      const b = flights[i + 1] ?? a;
      const [va, vb] = await this.local.works(a.workId, b.workId, this.#ctl.signal);
      if (await this.#track(a, va)) progressed = true;
      if (b !== a && (await this.#track(b, vb))) progressed = true;
    }
    return progressed;
  }

  /** Resolve what a Work says about its steps; true when the flight is over. */
  async #track(f: Flight, view: WorkView | null): Promise<boolean> {
    if (!f.reported) return this.#trackStateSteps(f, view);
    const now = Date.now();
    const processed = view?.processed ?? 0;
    if (processed > f.lastProcessed) {
      f.lastProcessed = processed;
      f.lastProgressAt = now;
    }
    const complete = view !== null && (view.status === 'complete' || processed >= f.items.length);
    if (view !== null && !complete && !this.#stalledAndGone(f, now)) return false;
    const errors = view?.errors ?? [];
    const named = new Map<string, string>();
    let unnamed = 0;
    for (const e of errors) {
      const id = reportedId(e.source);
      if (id === undefined) unnamed++;
      else named.set(id, e.message);
    }
    // Conclusive only when every message was processed and every failure can be told apart.
    const conclusive = complete && processed >= f.items.length && errors.length < WORK_ERROR_CAP && unnamed === 0;
    if (!conclusive) {
      const why = view === null ? 'the Work no longer exists' : !complete ? 'its messages were lost with the connector\'s queue' : processed < f.items.length ? `the platform closed it with ${processed} of ${f.items.length} processed` : 'its errors do not name every failed object';
      this.logger.warn('a Work gave no verdict for some of its events; sending them again', { workId: f.workId, events: f.items.length, why });
    }
    this.#land(f);
    for (const p of f.items) {
      const step = p.ev.steps[p.ev.next] as Step;
      const error = named.get(step.id);
      if (error !== undefined) this.#failed(p.ev, step, error);
      else if (conclusive) this.#stepDone(p.ev);
      else this.#unknown(p);
    }
    return true;
  }

  /**
   * Whether a Work that is not complete should be given up: never while its messages may still be
   * applied; once it has made no progress for SYNC_WORK_STALL_MS it is reported (failing), and given
   * up only if the connector's queue was recreated after it was sent (its messages went with it).
   */
  #stalledAndGone(f: Flight, now: number): boolean {
    if (now - f.lastProgressAt < this.opts.workStallMs) return false;
    if (this.queueRecreatedAt !== undefined && this.queueRecreatedAt > f.sentAt) return true;
    if (!f.stalled) {
      f.stalled = true;
      this.#stageFailed(`Work ${f.workId} has made no progress for ${this.opts.workStallMs} ms (SYNC_WORK_STALL_MS): the platform's workers are not taking its messages`);
      this.logger.warn('a Work makes no progress; waiting for it (its messages may still be applied)', { workId: f.workId, events: f.items.length, stallMs: now - f.lastProgressAt });
    }
    return false;
  }

  /** Steps no worker reports: each is done when the platform's state shows it; its Work only brings errors. */
  async #trackStateSteps(f: Flight, view: WorkView | null): Promise<boolean> {
    const named = new Map<string, string>();
    for (const e of view?.errors ?? []) {
      const id = reportedId(e.source);
      if (id !== undefined) named.set(id, e.message);
    }
    const left: Pending[] = [];
    for (const p of f.items) {
      const step = p.ev.steps[p.ev.next] as Step;
      const error = named.get(step.id);
      if (error !== undefined) this.#failed(p.ev, step, error);
      else if (await this.#stateShows(step)) this.#stepDone(p.ev);
      else left.push(p);
    }
    const settled = f.items.length - left.length;
    f.items = left;
    this.#queued -= settled;
    if (settled > 0) f.lastProgressAt = Date.now();
    if (left.length > 0 && !this.#stalledAndGone(f, Date.now())) {
      this.#wakeRoom();
      return settled > 0;
    }
    this.#land(f);
    for (const p of left) this.#unknown(p);
    return true;
  }

  async #stateShows(step: Step): Promise<boolean> {
    const check = step.stateCheck;
    if (!check) return false;
    if (check.kind === 'absent') return (await this.local.resolveStandardId(check.id, this.#ctl.signal)) === null;
    for (const s of check.sourceIds) {
      const now = await this.local.resolveStandardId(s, this.#ctl.signal);
      if (now !== null && now !== check.targetId) return false;
    }
    return (await this.local.resolveStandardId(check.targetId, this.#ctl.signal)) !== null;
  }

  /** The flight is over: its messages no longer count against the bound. */
  #land(f: Flight): void {
    const i = this.#flights.indexOf(f);
    if (i >= 0) this.#flights.splice(i, 1);
    this.#queued -= f.items.length;
    this.#wakeRoom();
  }

  #wakeRoom(): void {
    for (const w of this.#roomWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------------ outcomes
  #stepDone(ev: EventState): void {
    ev.next++;
    ev.attempts = 0;
    ev.unknown = 0;
    if (ev.next < ev.steps.length) {
      this.#ready(ev);
      return;
    }
    this.counters.applied++;
    this.#settle(ev);
  }

  #settle(ev: EventState): void {
    if (ev.work.kind === 'delete') {
      const n = (this.#deletesPending.get(ev.work.id) ?? 1) - 1;
      if (n > 0) this.#deletesPending.set(ev.work.id, n);
      else this.#deletesPending.delete(ev.work.id);
    }
    this.#failing.delete(ev);
    this.#bytes -= ev.work.bytes;
    this.log.settle(ev.entry);
    this.#scheduler.done(ev);
    this.onSettled();
  }

  #unknown(p: Pending): void {
    p.ev.unknown++;
    this.counters.resent++;
    this.#ready(p.ev);
  }

  #failed(ev: EventState, step: Step, error: string): void {
    const verdict = judgeFailure(step, error);
    switch (verdict.kind) {
      case 'applied':
        this.logger.debug('step already applied on the local platform', { eventId: ev.streamId, step: step.what, stixId: step.id, why: verdict.why });
        this.#stepDone(ev);
        return;
      case 'merge-partial':
        if (ev.mergeRounds++ < MERGE_ROUNDS) {
          this.logger.debug('a merge partly failed: merging what is left', { eventId: ev.streamId, step: step.what, stixId: step.id, why: verdict.why });
          void this.#mergeWhatIsLeft(ev, step).catch(() => this.#retryLater(ev, step, verdict.why));
        } else this.#retryLater(ev, step, verdict.why);
        return;
      case 'refused':
        this.counters.refused++;
        this.logger.error('the local platform refused an event for good: it is not applied', { eventId: ev.streamId, eventType: ev.eventType, stixId: ev.work.id, stixType: ev.work.type, step: step.what, reason: verdict.reason });
        this.#settle(ev);
        return;
      case 'missing-reference':
        // A later delete of this very object is in the pipeline (it waits behind this event): the
        // end state has no such object whatever this write does. Typically a replay after a
        // restart: the reference was deleted by an event the previous run had applied.
        if (this.opts.ordering === 'per-id' && (this.#deletesPending.get(ev.work.id) ?? 0) > 0) {
          this.counters.superseded++;
          this.logger.info('an object refers to a missing one and a later event deletes it: this write is moot', { eventId: ev.streamId, stixId: ev.work.id, step: step.what, error: verdict.reason });
          this.#settle(ev);
        } else this.#retryLater(ev, step, verdict.reason);
        return;
      case 'retry':
        this.#retryLater(ev, step, verdict.reason);
    }
  }

  #retryLater(ev: EventState, step: Step, reason: string): void {
    const delay = this.#backoff(ev.attempts++);
    this.counters.retries++;
    if (!this.#failing.has(ev)) this.#failing.set(ev, Date.now());
    this.lastFailure = `${step.what} of ${step.id} (event ${ev.streamId}): ${reason}`;
    this.logger.warn('the local platform could not apply an event; retrying without advancing the position', { eventId: ev.streamId, stixId: step.id, step: step.what, attempt: ev.attempts, retryInMs: delay, error: reason });
    const t = setTimeout(() => {
      this.#retryTimers.delete(t);
      if (this.#sendCtl.signal.aborted) return;
      // A replay may have created the old id of an id change again beside the renamed object:
      // the platform then finds two objects for it. Merge the old one into the new one first.
      if (step.what === 'id-change' && step.previousStandard !== undefined) void this.#mergeIfBothExist(ev, step.previousStandard).catch(() => this.#ready(ev));
      else this.#ready(ev);
    }, delay);
    this.#retryTimers.add(t);
  }

  /**
   * A merge that partly failed merged nothing: find, on the platform, the sources that are still
   * objects of their own, and merge those; upsert the target first where it is missing (a copy
   * started after it was created). Nothing left to merge and the target there: the step is done.
   */
  async #mergeWhatIsLeft(ev: EventState, step: Step): Promise<void> {
    const signal = this.#ctl.signal;
    const target = await this.local.resolveStandardId(step.id, signal);
    const left = new Set<string>();
    for (const source of step.mergeSources ?? []) {
      const now = await this.local.resolveStandardId(source, signal);
      if (now !== null && now !== target) left.add(now);
    }
    const replacement: Step[] = [];
    // The target's post-merge state: where it is missing; and where this path has no step of its
    // own for it (the pre-6.2 worker imports it only after a merge it ran).
    const noPostMergeStep = this.path.deleteMerge === 'event-state' && step.what === 'merge';
    if (target === null || (noPostMergeStep && left.size === 0)) replacement.push(postMergeStep(this.path, ev.work.id, ev.work.data));
    if (left.size > 0) replacement.push(mergeStep(this.path, step.what, step.id, ev.work.data, [...left]));
    if (replacement.length === 0) {
      this.#stepDone(ev);
      return;
    }
    this.logger.info('a merge partly failed: upserting the target where missing, merging the sources still separate', { eventId: ev.streamId, stixId: step.id, targetNow: target, sourcesLeft: [...left] });
    ev.steps.splice(ev.next, 1, ...replacement);
    this.#ready(ev);
  }

  /** Where an id change's old and new ids resolve to two objects, merge the old one into the new one first. */
  async #mergeIfBothExist(ev: EventState, oldId: string): Promise<void> {
    const oldNow = await this.local.resolveStandardId(oldId, this.#ctl.signal);
    const newNow = await this.local.resolveStandardId(ev.work.id, this.#ctl.signal);
    if (oldNow !== null && newNow !== null && oldNow !== newNow) {
      this.logger.info('the old and new ids of an id change name two objects (a replayed create): merging the old one into the new one first', { eventId: ev.streamId, stixId: ev.work.id, previousStandard: oldId, objects: [newNow, oldNow] });
      ev.steps.splice(ev.next, 0, mergeStep(this.path, 'merge-old-id', ev.work.id, ev.work.data, [oldNow]));
    }
    this.#ready(ev);
  }

  /**
   * Fetch the object's files from the remote and put their content inline, as OpenCTI's own
   * synchronizer does (files.ts); then plan its steps again with that data. A file that cannot be
   * fetched holds the event, retried with backoff like any failure: never sent without it.
   */
  async #inlineFiles(ev: EventState, step: Step, files: RemoteFiles): Promise<void> {
    const uris = filesToFetch(JSON.parse(ev.work.data) as Record<string, unknown>);
    const contents = new Map<string, Buffer>();
    for (const uri of uris) {
      try {
        contents.set(uri, await files.fetch(uri, this.#ctl.signal));
      } catch (e) {
        if (this.#ctl.signal.aborted) return;
        this.#retryLater(ev, step, `fetching the file ${uri} from the remote: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
    if (contents.size > 0) {
      const data = withFileContents(ev.work.data, contents);
      this.#bytes += data.length - ev.work.data.length;
      ev.work = { ...ev.work, data, bytes: ev.work.bytes + data.length - ev.work.data.length };
      ev.steps = planSteps(ev.work, ev.eventType, this.path);
    }
    ev.filesDone = true;
    this.#ready(ev);
  }

  /**
   * The platform finds an object by any of its ids, the alternative ones included: a delete of an id
   * that was merged into another object since (a replay after a restart: the merge was applied
   * before the crash) would delete the merge's target. Such an id names no object of its own here
   * any more, which is what the delete asks for: the step is done without sending it.
   */
  async #deleteUnlessMergedAway(ev: EventState, step: Step): Promise<void> {
    let now: string | null;
    try {
      now = await this.local.resolveStandardId(step.id, this.#ctl.signal);
    } catch (e) {
      this.#retryLater(ev, step, `looking up ${step.id} before deleting it: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    ev.deleteChecked = true;
    if (now !== null && now !== step.id) {
      this.logger.info('not deleting an id that is now an alternative id of another object (merged into it): the object it named is gone already', { eventId: ev.streamId, stixId: step.id, object: now });
      this.#stepDone(ev);
      return;
    }
    this.#ready(ev);
  }

  #stageFailed(message: string): void {
    this.lastFailure = message;
    this.#stageFailingSince ??= Date.now();
  }

  #backoff(attempt: number): number {
    const cap = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(attempt, 30));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.#ctl.signal;
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  // ------------------------------------------------------------------ lifecycle
  /** Resolves once nothing sent is unconfirmed (what a stop or a reset waits for), or after `ms`. */
  async drained(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.#flights.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(50, this.opts.pollMs * 2)));
    return this.#flights.length === 0;
  }

  /** Forget every event not settled (the stream restarts from the position): nothing more is sent for them. */
  reset(): void {
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    this.#batcher.drain();
    this.#scheduler.clear();
    this.#bytes = 0;
    this.#failing.clear();
    this.#stageFailingSince = undefined;
  }

  /** Send nothing more; what was sent goes on being tracked. */
  stopSending(): void {
    this.#sendCtl.abort();
    this.#wakeRoom();
  }

  /** Send again after stopSending() (a reset: the stream restarts). */
  async resumeSending(): Promise<void> {
    await this.#dispatching;
    this.#sendCtl = sharedController();
    this.#dispatching = this.#dispatchLoop().catch((e: unknown) => this.#internal(e));
  }

  /** Stop sending and tracking. */
  async stop(): Promise<void> {
    this.#sendCtl.abort();
    this.#ctl.abort();
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    this.#wakeRoom();
    for (const w of this.#flightWaiters.splice(0)) w();
    await Promise.all([this.#dispatching, this.#polling]);
    await this.sender.close();
  }
}
