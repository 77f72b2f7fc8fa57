/**
 * Publishing to the local platform's broker, as the platform's own synchronizer does
 * (F@5b43e1fe8 rabbitmq.js#publishWithConfirm): a confirm channel, persistent messages to the push
 * exchange with the connector's routing key, each resolved only once the broker confirms it.
 * Messages are also `mandatory`: one the broker cannot route (the connector's queue is gone: the
 * connector was deleted on the platform) comes back, and the batch fails instead of vanishing.
 */
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';

export interface QueueTarget {
  connection: { host: string; port: number; vhost: string; use_ssl: boolean; user: string; pass: string };
  pushExchange: string;
  pushRouting: string;
}

/** Why a batch could not be published: the broker is unreachable or closed the channel, refused a message, or had no queue for it. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly kind: 'unreachable' | 'nacked' | 'unroutable' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

/** The broker URL, without the password when `forDisplay`. */
export function brokerUrl(c: QueueTarget['connection'], forDisplay = false): string {
  const vhost = c.vhost === '/' || c.vhost === '' ? '' : encodeURIComponent(c.vhost);
  const pass = forDisplay ? '[redacted]' : encodeURIComponent(c.pass);
  return `${c.use_ssl ? 'amqps' : 'amqp'}://${encodeURIComponent(c.user)}:${pass}@${c.host}:${c.port}/${vhost}`;
}

export class AmqpWriter {
  readonly #target: QueueTarget;
  readonly #timeoutMs: number;
  #conn: ChannelModel | undefined;
  #ch: ConfirmChannel | undefined;
  #connecting: Promise<ConfirmChannel> | undefined;
  #seq = 0;
  /** Message ids the broker returned as unroutable, until their batch looks. */
  readonly #returned = new Set<string>();

  constructor(target: QueueTarget, opts: { timeoutMs: number }) {
    this.#target = target;
    this.#timeoutMs = opts.timeoutMs;
  }

  /** For logs: where messages go, without the password. */
  get description(): string {
    return `${brokerUrl(this.#target.connection, true)} exchange ${this.#target.pushExchange} routing key ${this.#target.pushRouting}`;
  }

  async #channel(): Promise<ConfirmChannel> {
    if (this.#ch) return this.#ch;
    this.#connecting ??= (async () => {
      try {
        const conn = await amqp.connect(brokerUrl(this.#target.connection), { timeout: this.#timeoutMs });
        const drop = () => {
          if (this.#conn === conn) this.#conn = this.#ch = undefined;
        };
        conn.on('error', drop);
        conn.on('close', drop);
        const ch = await conn.createConfirmChannel();
        ch.on('error', () => undefined);
        ch.on('close', () => {
          if (this.#ch === ch) this.#ch = undefined;
        });
        ch.on('return', (msg) => {
          const id = msg.properties.messageId;
          if (typeof id === 'string') this.#returned.add(id);
        });
        this.#conn = conn;
        this.#ch = ch;
        return ch;
      } catch (e) {
        throw new PublishError('unreachable', `cannot reach the local platform's broker at ${brokerUrl(this.#target.connection, true)} (${e instanceof Error ? e.message : String(e)})`);
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  /** Publish every message; resolves once the broker confirmed all of them and routed each to a queue. */
  async publish(messages: readonly Buffer[]): Promise<void> {
    const ch = await this.#channel();
    const ids: string[] = [];
    const confirms: Promise<void>[] = [];
    for (const body of messages) {
      const messageId = String(++this.#seq);
      ids.push(messageId);
      confirms.push(
        // amqplib buffers what the socket cannot take yet; the confirms pace the batches.
        new Promise<void>((resolve, reject) => {
          ch.publish(this.#target.pushExchange, this.#target.pushRouting, body, { deliveryMode: 2, mandatory: true, messageId }, (err) => (err ? reject(new PublishError('nacked', 'the broker refused a message (nack)')) : resolve()));
        }),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishError('timeout', `the broker did not confirm ${messages.length} message(s) within ${this.#timeoutMs} ms (SYNC_LOCAL_TIMEOUT_MS)`)), this.#timeoutMs);
    });
    try {
      await Promise.race([Promise.all(confirms), timeout]);
    } catch (e) {
      // A channel that lost confirms or timed out is not trusted again.
      this.#dropChannel();
      if (e instanceof PublishError) throw e;
      throw new PublishError('unreachable', `the broker connection failed while publishing (${e instanceof Error ? e.message : String(e)})`);
    } finally {
      clearTimeout(timer);
    }
    const returned = ids.filter((id) => this.#returned.delete(id));
    if (returned.length > 0) throw new PublishError('unroutable', `the broker had no queue for ${returned.length} message(s) sent to ${this.#target.pushExchange} with routing key ${this.#target.pushRouting}: the connector's queue is gone (was the connector deleted on the local platform?)`);
  }

  #dropChannel(): void {
    const conn = this.#conn;
    this.#conn = this.#ch = undefined;
    void conn?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const conn = this.#conn;
    this.#conn = this.#ch = undefined;
    await conn?.close().catch(() => undefined);
  }
}
