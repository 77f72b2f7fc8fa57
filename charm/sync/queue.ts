/**
 * A bounded FIFO between the stream reader and the applier. The reader is only asked for more data
 * while `length < capacity`, so memory stays bounded whatever the stream's size.
 */
export class BoundedQueue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #roomWaiters: (() => void)[] = [];
  #itemWaiters: (() => void)[] = [];

  /**
   * @param capacity at most this many items before the reader is paused
   * @param maxBytes at most this many bytes (as reported by `sizeOf`) before the reader is paused
   */
  constructor(
    readonly capacity: number,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
    readonly sizeOf: (item: T) => number = () => 0,
  ) {}

  get length(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #hasRoom(): boolean {
    return this.length < this.capacity && this.#bytes < this.maxBytes;
  }

  push(item: T): void {
    this.#bytes += this.sizeOf(item);
    this.#items.push(item);
    const w = this.#itemWaiters;
    this.#itemWaiters = [];
    for (const f of w) f();
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head++;
    if (item !== undefined) this.#bytes -= this.sizeOf(item);
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (this.#hasRoom()) this.#wakeRoom();
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#wakeRoom();
  }

  #wakeRoom(): void {
    const w = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when there is room (or the signal aborts). */
  waitForRoom(signal?: AbortSignal): Promise<void> {
    if (this.#hasRoom() || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#roomWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Resolves when an item is available, or after `timeoutMs` (then false), or on abort (false). */
  waitForItem(timeoutMs: number | undefined, signal?: AbortSignal): Promise<boolean> {
    if (this.length > 0) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (v: boolean) => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onItem = () => finish(true);
      const onAbort = () => {
        this.#itemWaiters = this.#itemWaiters.filter((f) => f !== onItem);
        finish(false);
      };
      this.#itemWaiters.push(onItem);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#itemWaiters = this.#itemWaiters.filter((f) => f !== onItem);
          finish(false);
        }, Math.max(0, timeoutMs));
      }
    });
  }
}
