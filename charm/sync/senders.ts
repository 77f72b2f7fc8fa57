/**
 * The writer stage: puts a batch of steps on the local platform under a new Work, and resolves once
 * the platform holds them (the broker confirmed every message, or stixBundlePush queued the bundle).
 * Nothing here says they were applied: only the Work will (opencti-ingestion.md §8).
 *
 * A Work is created per batch, its expectations added before the first message is sent (the
 * platform completes a Work when processed reaches expected, domain/work.js#reportExpectation, so
 * expectations added afterwards could come too late), and Works are created at least 2 ms apart:
 * two Works of one connector created in the same millisecond get the same id on the platform.
 */
import { AmqpWriter, PublishError, type QueueTarget } from './amqp-writer.js';
import type { LocalPlatform } from './local.js';
import type { Envelope } from './messages.js';
import type { Step } from './steps.js';

/** One step to send, with what its message envelope needs from its event. */
export interface OutStep {
  step: Step;
  eventId: string;
}

export interface SenderContext {
  local: LocalPlatform;
  connectorId: string;
  applicantId: string | undefined;
  synchronized: boolean;
  signal: AbortSignal;
  /** Register the connector again (its queue is gone); the batch is then sent again. */
  reregister(): Promise<void>;
}

export interface Sender {
  /**
   * Create a Work and put the steps on the platform under it. `reported`: the worker reports each
   * step to the Work (expectations are added); otherwise the Work only collects errors (steps
   * confirmed by reading the platform's state).
   */
  send(steps: readonly OutStep[], reported: boolean): Promise<string>;
  /** For the start-up log: where the messages go. */
  readonly description: string;
  /** Remove what a previous run left waiting on the platform, if the protocol can; how many messages. */
  purge(): Promise<number | undefined>;
  close(): Promise<void>;
}

class WorkCreator {
  #last = 0;
  /** The ids this process was given lately: a busy platform may create two Works in one millisecond. */
  readonly #recent: string[] = [];
  constructor(private readonly ctx: SenderContext) {}

  async create(n: number, expectations: boolean): Promise<string> {
    for (;;) {
      const wait = this.#last + 2 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.#last = Date.now();
      const id = await this.ctx.local.workAdd(this.ctx.connectorId, `Synchronizer batch of ${n} event(s) @ ${new Date().toISOString()}`, this.ctx.signal);
      // The platform names a Work after the millisecond it creates it (work_<connector>_<ISO
      // time>): two requests it handles in the same millisecond (another process of this
      // connector's) get one Work, whose counts would then mix two batches. Such an id is not used
      // again; another Work is asked for.
      if (this.#recent.includes(id)) continue;
      this.#recent.push(id);
      if (this.#recent.length > 256) this.#recent.shift();
      if (expectations) await this.ctx.local.addExpectations(id, n, this.ctx.signal);
      return id;
    }
  }

  envelope(workId: string, s: OutStep): Envelope {
    return { workId, eventId: s.eventId, applicantId: this.ctx.applicantId, synchronized: this.ctx.synchronized, previousStandard: s.step.previousStandard };
  }
}

/** The default: messages on the connector's push queue (the platform's own synchronizer's way). */
export class AmqpSender implements Sender {
  readonly #works: WorkCreator;
  readonly #writer: AmqpWriter;

  readonly #ctx: SenderContext;

  constructor(ctx: SenderContext, target: QueueTarget, timeoutMs: number) {
    this.#ctx = ctx;
    this.#works = new WorkCreator(ctx);
    this.#writer = new AmqpWriter(target, { timeoutMs });
  }

  get description(): string {
    return `AMQP: ${this.#writer.description}`;
  }

  async send(steps: readonly OutStep[], reported: boolean): Promise<string> {
    const workId = await this.#works.create(steps.length, reported);
    try {
      await this.#writer.publish(steps.map((s) => s.step.message(this.#works.envelope(workId, s))));
    } catch (e) {
      if (e instanceof PublishError && e.kind === 'unroutable') await this.#ctx.reregister();
      throw e;
    }
    return workId;
  }

  purge(): Promise<number | undefined> {
    return this.#writer.purge();
  }

  close(): Promise<void> {
    return this.#writer.close();
  }
}

/**
 * CONNECTOR_QUEUE_PROTOCOL=api: one stixBundlePush per batch, reporting to our Work. The worker
 * splits a bundle of several objects and adds their expectations itself; a single object is not
 * split, so its one expectation is ours to add, as the platform adds it when it creates the Work.
 */
export class ApiSender implements Sender {
  readonly #works: WorkCreator;
  readonly #ctx: SenderContext;
  readonly description = 'GraphQL stixBundlePush (CONNECTOR_QUEUE_PROTOCOL=api)';

  constructor(ctx: SenderContext) {
    this.#ctx = ctx;
    this.#works = new WorkCreator(ctx);
  }

  async send(steps: readonly OutStep[]): Promise<string> {
    const workId = await this.#works.create(steps.length, steps.length === 1);
    const items = steps.map((s) => {
      if (s.step.item === undefined) throw new Error(`a ${s.step.what} step has no bundle item (write path mismatch)`);
      return s.step.item;
    });
    const bundle = `{"type":"bundle","id":"bundle--${crypto.randomUUID()}","spec_version":"2.1","objects":[${items.join(',')}]}`;
    await this.#ctx.local.pushBundleToWork(this.#ctx.connectorId, bundle, workId, this.#ctx.signal);
    return workId;
  }

  /** stixBundlePush gives no access to the queue: nothing to purge. */
  async purge(): Promise<number | undefined> {
    return undefined;
  }

  async close(): Promise<void> {}
}
