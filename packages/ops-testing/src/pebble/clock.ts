// The clock every supervision and check timer of the emulator runs on. Real by default; tests
// pass a FakeClock and move time forward themselves, so a 30 s backoff takes no real time.

/** An opaque timer handle. */
export interface ClockTimer {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

let nextTimerId = 1;

/** Node's own timers. Timers are unref'd so a forgotten one never keeps a process alive. */
export class RealClock implements Clock {
  private readonly handles = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = nextTimerId++;
    const handle = setTimeout(() => {
      this.handles.delete(id);
      fn();
    }, Math.max(0, ms));
    handle.unref();
    this.handles.set(id, handle);
    return { id };
  }

  clearTimeout(timer: ClockTimer): void {
    const handle = this.handles.get(timer.id);
    if (handle) clearTimeout(handle);
    this.handles.delete(timer.id);
  }
}

interface FakeTimer {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
}

/** Let promise chains and I/O callbacks triggered by a timer run before the next one fires. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every due timer in order, setting
 * `now()` to each timer's due time, and lets the event loop settle after each one so that the
 * emulator's reactions (a task finishing, the next timer being armed) happen before the next.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(startMs: number = Date.parse('2025-01-01T00:00:00Z')) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = nextTimerId++;
    this.timers.set(id, { id, due: this.current + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers.delete(timer.id);
  }

  /** Pending timers as delays from now, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].sort((a, b) => a.due - b.due || a.seq - b.seq).map((t) => t.due - this.current);
  }

  private nextDue(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.due > limit) continue;
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  /** Move time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      const t = this.nextDue(target);
      if (!t) break;
      this.timers.delete(t.id);
      this.current = Math.max(this.current, t.due);
      t.fn();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /** Fire the soonest timer (moving time to it); returns the delay advanced, or undefined. */
  async next(): Promise<number | undefined> {
    await settle();
    const t = this.nextDue(Number.POSITIVE_INFINITY);
    if (!t) return undefined;
    const delta = t.due - this.current;
    await this.advance(delta);
    return delta;
  }
}
