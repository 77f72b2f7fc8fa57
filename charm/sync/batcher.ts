/**
 * The batcher stage: steps ready to go wait here, and leave as batches (one Work each) bounded by
 * count and bytes, once the batch is full, the oldest has waited `maxWaitMs`, or nothing new came
 * for `idleMs` (the stream paused: caught up). A step marked `solo` leaves alone (a step whose
 * failure could not be told apart from its batch's, isolated to get its own verdict).
 *
 * Steps a worker reports and steps confirmed by reading the platform's state never share a Work.
 */
export interface Batchable {
  bytes: number;
  solo: boolean;
  /** Confirmed by reading the platform's state (no worker reports it). */
  stateConfirmed: boolean;
}

export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
  maxWaitMs: number;
  idleMs: number;
}

export class Batcher<T extends Batchable> {
  #reported: T[] = [];
  #state: T[] = [];
  #wake: (() => void) | undefined;

  constructor(private readonly limits: BatchLimits) {}

  get length(): number {
    return this.#reported.length + this.#state.length;
  }

  push(item: T): void {
    (item.stateConfirmed ? this.#state : this.#reported).push(item);
    this.#wake?.();
  }

  /** Everything waiting, removed (a reset). */
  drain(): T[] {
    const all = [...this.#reported, ...this.#state];
    this.#reported = [];
    this.#state = [];
    return all;
  }

  #waitForItem(ms: number | undefined, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  /** The next batch, or undefined once `signal` aborts. */
  async next(signal: AbortSignal): Promise<{ items: T[]; stateConfirmed: boolean } | undefined> {
    while (this.length === 0) {
      if (signal.aborted) return undefined;
      await this.#waitForItem(undefined, signal);
    }
    const began = Date.now();
    for (;;) {
      if (signal.aborted) return undefined;
      const source = this.#reported.length > 0 ? this.#reported : this.#state;
      const full = this.#take(source, true) !== undefined;
      const waited = Date.now() - began;
      if (full || waited >= this.limits.maxWaitMs) break;
      const before = this.length;
      await this.#waitForItem(Math.min(this.limits.idleMs, this.limits.maxWaitMs - waited), signal);
      if (this.length === before) break; // the stream paused: send what there is
    }
    const source = this.#reported.length > 0 ? this.#reported : this.#state;
    const n = this.#take(source, false) ?? source.length;
    return { items: source.splice(0, n), stateConfirmed: source === this.#state };
  }

  /** How many items of `source` make the next batch; undefined when it could take more (`probe`). */
  #take(source: T[], probe: boolean): number | undefined {
    if (source.length === 0) return probe ? undefined : 0;
    if (source[0]?.solo) return 1;
    let bytes = 0;
    for (let i = 0; i < source.length; i++) {
      const it = source[i] as T;
      if (it.solo || i >= this.limits.maxItems || (i > 0 && bytes + it.bytes > this.limits.maxBytes)) return i;
      bytes += it.bytes;
    }
    return probe ? undefined : source.length;
  }
}
