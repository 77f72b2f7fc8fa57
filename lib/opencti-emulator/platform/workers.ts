/**
 * The platform's workers on the real broker: several worker processes (three by default, as the
 * Juju OpenCTI charm runs), each with one consumer per connector push queue, prefetch 1
 * (opencti-worker/src/message_queue_consumer.py: basic_qos(prefetch_count=1)), so up to that many
 * messages of one queue are handled at once and finish in any order. Each delivery waits a seeded
 * random latency first (the worker's own pace, and the order-shuffling the tests need), then goes
 * to the push handler; the answer is acked, or nacked without requeue (discarded by the broker: the
 * platform's queues have no dead-letter exchange; the emulator keeps a copy for tests to read).
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Verdict } from './push-handler.js';

export interface WorkerPoolOptions {
  amqpUrl: string;
  /** Worker processes (each consumes every push queue once). */
  processes: number;
  /** Each delivery waits uniform [0, latencyMs] ms before it is handled. */
  latencyMs: number;
  /** Random source for the latency (seeded by the caller). */
  rand: () => number;
  /** The push handler: the message, and how to publish a piece to the tail of its own queue. */
  handle(body: Buffer, requeue: (body: Buffer) => Promise<void>): Promise<Verdict>;
  /** A message the handler could not read (nacked, so gone from the broker). */
  onNack(queue: string, body: Buffer): void;
  /** A handler that threw: a bug in the emulator, reported rather than swallowed. */
  onError(err: unknown): void;
}

interface Consumer {
  ch: Channel;
  tag: string;
  onMessage: (msg: ConsumeMessage | null) => void;
}

interface WorkerProcess {
  conn: ChannelModel;
  publisher: ConfirmChannel;
  consumers: Map<string, Consumer>;
}

export class WorkerPool {
  readonly #opts: WorkerPoolOptions;
  readonly #procs: WorkerProcess[] = [];
  readonly stats = { delivered: 0, acked: 0, nacked: 0, busy: 0, maxBusy: 0 };
  #stopping = false;
  #paused = false;

  constructor(opts: WorkerPoolOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.#opts.processes; i++) {
      const conn = await amqp.connect(this.#opts.amqpUrl);
      conn.on('error', () => undefined);
      const publisher = await conn.createConfirmChannel();
      publisher.on('error', () => undefined);
      this.#procs.push({ conn, publisher, consumers: new Map() });
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#procs.map((p) => p.conn.close().catch(() => undefined)));
    this.#procs.length = 0;
  }

  /** Every worker process starts consuming `queue` (a no-op for a queue it consumes already). */
  async consume(queue: string, exchange: string, routingKey: string): Promise<void> {
    for (const p of this.#procs) {
      if (p.consumers.has(queue)) continue;
      const ch = await p.conn.createChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => p.consumers.delete(queue));
      await ch.prefetch(1);
      const requeue = (body: Buffer) =>
        new Promise<void>((resolve, reject) => {
          p.publisher.publish(exchange, routingKey, body, { deliveryMode: 2, contentEncoding: 'utf-8' }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
        });
      const onMessage = (msg: ConsumeMessage | null) => {
        // The broker cancelled the consumer (its queue was deleted): forget it, so the queue's next
        // registration starts a consumer again, as a worker's next scan of the queues would.
        if (msg === null && p.consumers.get(queue) === consumer) {
          p.consumers.delete(queue);
          void ch.close().catch(() => undefined);
        }
        void this.#deliver(queue, ch, msg, requeue);
      };
      const consumer: Consumer = { ch, tag: '', onMessage };
      p.consumers.set(queue, consumer);
      if (!this.#paused) consumer.tag = (await ch.consume(queue, onMessage, { noAck: false })).consumerTag;
    }
  }

  /**
   * Stop taking new messages (the workers are busy elsewhere, or down); what is being handled
   * finishes. For tests of a platform whose workers lag.
   */
  async pause(): Promise<void> {
    this.#paused = true;
    for (const p of this.#procs) for (const c of p.consumers.values()) await c.ch.cancel(c.tag).catch(() => undefined);
  }

  /** Take messages again after pause(). */
  async resume(): Promise<void> {
    this.#paused = false;
    for (const p of this.#procs) {
      for (const [queue, c] of p.consumers) {
        const { consumerTag } = await c.ch.consume(queue, c.onMessage, { noAck: false });
        c.tag = consumerTag;
      }
    }
  }

  /** Stop consuming `queue` (its connector was deleted). */
  async forget(queue: string): Promise<void> {
    for (const p of this.#procs) {
      const c = p.consumers.get(queue);
      if (!c) continue;
      p.consumers.delete(queue);
      await c.ch.close().catch(() => undefined);
    }
  }

  async #deliver(queue: string, ch: Channel, msg: ConsumeMessage | null, requeue: (body: Buffer) => Promise<void>): Promise<void> {
    if (msg === null) return; // the broker cancelled the consumer (queue deleted)
    this.stats.delivered++;
    this.stats.busy++;
    this.stats.maxBusy = Math.max(this.stats.maxBusy, this.stats.busy);
    try {
      const wait = this.#opts.rand() * this.#opts.latencyMs;
      if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
      let verdict: Verdict;
      try {
        verdict = await this.#opts.handle(msg.content, requeue);
      } catch (e) {
        this.#opts.onError(e);
        verdict = 'ack';
      }
      if (this.#stopping) return;
      if (verdict === 'ack') {
        ch.ack(msg);
        this.stats.acked++;
      } else {
        ch.nack(msg, false, false);
        this.stats.nacked++;
        this.#opts.onNack(queue, msg.content);
      }
    } catch {
      // The channel closed under us (queue deleted, pool stopping): the broker redelivers or drops it.
    } finally {
      this.stats.busy--;
    }
  }
}
