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
import type { AcceptanceLog, Entry } from './acceptance.js';
import { Batcher, type BatchLimits } from './batcher.js';
import type { Work } from './classify.js';
import { judgeFailure } from './failures.js';
import type { LocalPlatform, WorkView } from './local.js';
import type { Logger } from './log.js';
import type { EventType } from './messages.js';
import { DependencyScheduler, type Footprint } from './scheduler.js';
import type { Sender } from './senders.js';
import { planSteps, postMergeStep, type Step } from './steps.js';
import type { WritePath } from './write-path.js';

/** Errors kept per Work by the platform: with as many, a failure may have gone unreported. */
const WORK_ERROR_CAP = 100;

export interface PipelineOptions {
  batch: BatchLimits;
  /** Messages on the platform not yet confirmed by their Works, at most. */
  maxQueuedMessages: number;
  /** Between two polls of the Works in flight. */
  pollMs: number;
  /** A Work whose processed count does not move for this long is taken as lost: its steps are sent again. */
  workStallMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** `none` sends events as they come, without waiting for the ones they race with (demonstrations only). */
  ordering: 'per-id' | 'none';
}

export interface PipelineCounters {
  applied: number;
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
  mergeRetried: boolean;
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
  readonly counters: PipelineCounters = { applied: 0, refused: 0, retries: 0, resent: 0, works: 0, messages: 0, queuedMax: 0 };
  readonly #scheduler = new DependencyScheduler<EventState>((ev) => this.#ready(ev));
  readonly #batcher: Batcher<Pending>;
  readonly #flights: Flight[] = [];
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  #queued = 0;
  #roomWaiters: (() => void)[] = [];
  #flightWaiters: (() => void)[] = [];
  #dispatching: Promise<void> | undefined;
  #polling: Promise<void> | undefined;
  #ctl = new AbortController();
  /** Stops the sending only (a stop lets what was sent be confirmed first). */
  #sendCtl = new AbortController();
  #bytes = 0;
  /** Events that failed and are not settled yet, with the time of their first failure. */
  readonly #failing = new Map<EventState, number>();
  /** The stages' own failures (sending, reading Works): since when, until the next success. */
  #stageFailingSince: number | undefined;
  lastFailure: string | undefined;

  constructor(
    private readonly opts: PipelineOptions,
    private readonly log: AcceptanceLog,
    private readonly sender: Sender,
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

  start(): void {
    this.#dispatching ??= this.#dispatchLoop().catch((e: unknown) => this.#internal(e));
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
    const ev: EventState = { streamId, eventType, work, entry, steps: planSteps(work, eventType, this.path), next: 0, attempts: 0, unknown: 0, mergeRetried: false };
    this.#bytes += work.bytes;
    this.#scheduler.add(ev, this.opts.ordering === 'none' ? { writes: [], reads: [], structural: false } : footprint(work));
  }

  #ready(ev: EventState): void {
    const step = ev.steps[ev.next] as Step;
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
        this.#flights.push({ workId, items: batch.items, reported: !batch.stateConfirmed, sentAt: Date.now(), lastProcessed: 0, lastProgressAt: Date.now() });
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

  /** Wait until `n` more messages fit under the bound (always when nothing is queued). */
  async #room(n: number, signal: AbortSignal): Promise<void> {
    while (this.#queued > 0 && this.#queued + n > this.opts.maxQueuedMessages && !signal.aborted) {
      await new Promise<void>((r) => this.#roomWaiters.push(r));
    }
  }

  // ------------------------------------------------------------------ tracking
  async #pollLoop(): Promise<void> {
    const signal = this.#ctl.signal;
    let failures = 0;
    while (!signal.aborted) {
      if (this.#flights.length === 0) {
        await new Promise<void>((r) => this.#flightWaiters.push(r));
        continue;
      }
      let progressed = false;
      try {
        progressed = await this.#pollOnce();
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
      if (!progressed) await this.#sleep(this.opts.pollMs);
    }
  }

  /** Poll every Work in flight once (two per request); whether any settled. */
  async #pollOnce(): Promise<boolean> {
    const flights = [...this.#flights];
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
    if (view !== null && !complete && now - f.lastProgressAt < this.opts.workStallMs) return false;
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
      const why = view === null ? 'the Work no longer exists' : !complete ? `no progress for ${this.opts.workStallMs} ms (SYNC_WORK_STALL_MS)` : processed < f.items.length ? `the platform closed it with ${processed} of ${f.items.length} processed` : 'its errors do not name every failed object';
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
    if (left.length > 0 && Date.now() - f.lastProgressAt < this.opts.workStallMs) {
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
      case 'merge-needs-target':
        if (!ev.mergeRetried) {
          // The target may be missing locally (a copy started after it was created): upsert it, then merge again.
          ev.mergeRetried = true;
          ev.steps.splice(ev.next, 0, postMergeStep(this.path, ev.work.id, ev.work.data));
          this.#ready(ev);
        } else this.#stepDone(ev); // nothing left to merge: the sources are unknown here
        return;
      case 'refused':
        this.counters.refused++;
        this.logger.error('the local platform refused an event for good: it is not applied', { eventId: ev.streamId, eventType: ev.eventType, stixId: ev.work.id, stixType: ev.work.type, step: step.what, reason: verdict.reason });
        this.#settle(ev);
        return;
      case 'retry': {
        const delay = this.#backoff(ev.attempts++);
        this.counters.retries++;
        if (!this.#failing.has(ev)) this.#failing.set(ev, Date.now());
        this.lastFailure = `${step.what} of ${step.id} (event ${ev.streamId}): ${verdict.reason}`;
        this.logger.warn('the local platform could not apply an event; retrying without advancing the position', { eventId: ev.streamId, stixId: step.id, step: step.what, attempt: ev.attempts, retryInMs: delay, error: verdict.reason });
        const t = setTimeout(() => {
          this.#retryTimers.delete(t);
          if (!this.#sendCtl.signal.aborted) this.#ready(ev);
        }, delay);
        this.#retryTimers.add(t);
      }
    }
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
    this.#sendCtl = new AbortController();
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
