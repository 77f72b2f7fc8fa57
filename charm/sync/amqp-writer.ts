/**
 * Publishing to the local platform's broker, as the platform's own synchronizer does
 * (F@5b43e1fe8 rabbitmq.js#publishWithConfirm): a confirm channel, persistent messages to the push
 * exchange with the connector's routing key, each resolved only once the broker confirms it.
 * Messages are also `mandatory`: one the broker cannot route (the connector's queue is gone: the
 * connector was deleted on the platform) comes back, and the batch fails instead of vanishing.
 */
import net from 'node:net';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';

/** The broker socket's write buffer before amqplib waits for 'drain' (Node's default is 16 KiB). */
const SOCKET_HIGH_WATER_MARK = 16 * 1024 * 1024;

export interface QueueTarget {
  connection: { host: string; port: number; vhost: string; use_ssl: boolean; user: string; pass: string };
  /** The connector's push queue (the one the routing key reaches). */
  pushQueue: string;
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
  /** Messages the broker returned as unroutable during the current batch. */
  #returned = 0;

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
        // A high-water mark above a batch: amqplib stops handing frames to a socket over it (and
        // then writes them one by one on 'drain'), which would undo the corking in publish().
        // (net.connect takes it from the socket options amqplib passes on; amqplib's types do not list it.)
        const socketOptions = { timeout: this.#timeoutMs, writableHighWaterMark: SOCKET_HIGH_WATER_MARK };
        const conn = await amqp.connect(brokerUrl(this.#target.connection), socketOptions);
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
        ch.on('return', () => {
          this.#returned++;
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

  /**
   * Publish every message; resolves once the broker confirmed all of them and routed each to a
   * queue. One batch at a time (the caller awaits each): the messages all carry one routing key, so
   * a return during the batch means the connector's queue is gone.
   */
  async publish(messages: readonly Buffer[]): Promise<void> {
    const ch = await this.#channel();
    this.#returned = 0;
    // amqplib writes each frame to the socket on its own (three per message); corked, the batch goes
    // out in a few large writes instead (a fifth of this process's CPU per event otherwise). Its
    // writer is scheduled (setImmediate) once the channel's stream turns readable (a nextTick), so
    // the uncork waits two turns, to come after it.
    const socket = this.#socket();
    socket?.cork();
    // amqplib buffers what the socket cannot take yet; the confirms pace the batches.
    for (const body of messages) ch.publish(this.#target.pushExchange, this.#target.pushRouting, body, { deliveryMode: 2, mandatory: true });
    if (socket) setImmediate(() => setImmediate(() => socket.uncork()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishError('timeout', `the broker did not confirm ${messages.length} message(s) within ${this.#timeoutMs} ms (SYNC_LOCAL_TIMEOUT_MS)`)), this.#timeoutMs);
    });
    try {
      await Promise.race([ch.waitForConfirms(), timeout]);
    } catch (e) {
      // A channel that lost confirms, had one refused, or timed out is not trusted again.
      this.#dropChannel();
      if (e instanceof PublishError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      if (/nack/i.test(message)) throw new PublishError('nacked', 'the broker refused a message (nack)');
      throw new PublishError('unreachable', `the broker connection failed while publishing (${message})`);
    } finally {
      clearTimeout(timer);
    }
    if (this.#returned > 0) throw new PublishError('unroutable', `the broker had no queue for ${this.#returned} message(s) sent to ${this.#target.pushExchange} with routing key ${this.#target.pushRouting}: the connector's queue is gone (was the connector deleted on the local platform?)`);
  }

  /** amqplib's socket (its connection's `stream`), when it is the net.Socket we expect. */
  #socket(): { cork(): void; uncork(): void } | undefined {
    const stream = (this.#conn as unknown as { connection?: { stream?: unknown } } | undefined)?.connection?.stream;
    return stream instanceof net.Socket ? stream : undefined;
  }

  /** Remove the messages waiting in the connector's push queue (not those a worker already took); how many. */
  async purge(): Promise<number> {
    const ch = await this.#channel();
    return (await ch.purgeQueue(this.#target.pushQueue)).messageCount;
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
