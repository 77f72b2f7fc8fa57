/**
 * The platform's side of the broker (opencti@d42f66c06 src/database/rabbitmq.js): two durable direct
 * exchanges, a listen and a push queue per connector bound to them, the connector `config` handed
 * out by registerConnector, and publishing with confirms and persistent messages (deliveryMode 2),
 * as the platform itself publishes.
 *
 * Every name carries the platform's queue prefix (its `rabbitmq:queue_prefix` setting), which is how
 * several emulated platforms share the one broker of a test run without seeing each other.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';

export interface ConnectorConfig {
  connection: { host: string; port: number; vhost: string; use_ssl: boolean; user: string; pass: string };
  push: string;
  push_routing: string;
  push_exchange: string;
  listen: string;
  listen_routing: string;
  listen_exchange: string;
  dead_letter_routing: string;
}

/** The internal queue the worker sends rejected items to (rabbitmq.js CONNECTOR_QUEUE_BUNDLES_TOO_LARGE). */
export const DEAD_LETTER_QUEUE_ID = 'too-large-bundle';

export class PlatformQueues {
  readonly prefix: string;
  readonly connectorExchange: string;
  readonly workerExchange: string;
  readonly #url: URL;
  #conn: ChannelModel | undefined;
  #ch: ConfirmChannel | undefined;
  #opening: Promise<ConfirmChannel> | undefined;
  /** The channel depth() checks queues on (reopened after a check of a missing queue closed it). */
  #checker: Channel | undefined;

  constructor(amqpUrl: string, prefix: string) {
    this.#url = new URL(amqpUrl);
    this.prefix = prefix;
    this.connectorExchange = `${prefix}amqp.connector.exchange`;
    this.workerExchange = `${prefix}amqp.worker.exchange`;
  }

  get url(): string {
    return this.#url.toString();
  }

  pushQueue(connectorId: string): string {
    return `${this.prefix}push_${connectorId}`;
  }
  pushRouting(connectorId: string): string {
    return `${this.prefix}push_routing_${connectorId}`;
  }
  listenQueue(connectorId: string): string {
    return `${this.prefix}listen_${connectorId}`;
  }
  listenRouting(connectorId: string): string {
    return `${this.prefix}listen_routing_${connectorId}`;
  }

  async start(): Promise<void> {
    this.#conn = await amqp.connect(this.url);
    this.#conn.on('error', () => undefined);
    // initializeInternalQueues: the dead-letter queue is a connector queue pair of its own.
    await this.register(DEAD_LETTER_QUEUE_ID, 'Bundle too large for ingestion', 'internal', ['dead letter']);
  }

  async stop(): Promise<void> {
    await this.#conn?.close().catch(() => undefined);
    this.#conn = this.#ch = undefined;
  }

  /**
   * The channel of the platform's queue operations, opened again when the broker has closed it (it
   * closes a channel on any failed operation, e.g. a purge of a queue that is gone). The platform
   * opens a connection per operation (F@5b43e1fe8 rabbitmq.js#amqpExecute), so one failure never
   * spoils the next.
   */
  #channel(): Promise<ConfirmChannel> {
    const conn = this.#conn;
    if (!conn) return Promise.reject(new Error('PlatformQueues: not started'));
    if (this.#ch) return Promise.resolve(this.#ch);
    this.#opening ??= conn
      .createConfirmChannel()
      .then((ch) => {
        ch.on('error', () => undefined);
        ch.on('close', () => {
          if (this.#ch === ch) this.#ch = undefined;
        });
        this.#ch = ch;
        return ch;
      })
      .finally(() => {
        this.#opening = undefined;
      });
    return this.#opening;
  }

  /** registerConnectorQueues: exchanges, the listen and push queues and their bindings; the connector's config. */
  async register(id: string, name: string, type: string, scope: string[]): Promise<ConnectorConfig> {
    const ch = await this.#channel();
    await ch.assertExchange(this.connectorExchange, 'direct', { durable: true });
    await ch.assertExchange(this.workerExchange, 'direct', { durable: true });
    const args = { name, config: { id, type, scope } };
    await ch.assertQueue(this.listenQueue(id), { exclusive: false, durable: true, autoDelete: false, arguments: args });
    await ch.bindQueue(this.listenQueue(id), this.connectorExchange, this.listenRouting(id));
    await ch.assertQueue(this.pushQueue(id), { exclusive: false, durable: true, autoDelete: false, arguments: args });
    await ch.bindQueue(this.pushQueue(id), this.workerExchange, this.pushRouting(id));
    return this.config(id);
  }

  /** connectorConfig(id): what registerConnector answers (`connection` needs CONNECTORAPI). */
  config(id: string): ConnectorConfig {
    return {
      connection: {
        host: this.#url.hostname,
        port: Number(this.#url.port || 5672),
        vhost: decodeURIComponent(this.#url.pathname.slice(1)) || '/',
        use_ssl: this.#url.protocol === 'amqps:',
        user: decodeURIComponent(this.#url.username),
        pass: decodeURIComponent(this.#url.password),
      },
      push: this.pushQueue(id),
      push_routing: this.pushRouting(id),
      push_exchange: this.workerExchange,
      listen: this.listenQueue(id),
      listen_routing: this.listenRouting(id),
      listen_exchange: this.connectorExchange,
      dead_letter_routing: this.listenRouting(DEAD_LETTER_QUEUE_ID),
    };
  }

  /** unregisterConnector: both queues deleted (their messages with them). */
  async unregister(id: string): Promise<void> {
    const ch = await this.#channel();
    await ch.deleteQueue(this.listenQueue(id));
    await ch.deleteQueue(this.pushQueue(id));
  }

  /** The purge on a state reset (purgeConnectorQueues: the management API's queue contents delete). */
  async purge(id: string): Promise<void> {
    const ch = await this.#channel();
    await ch.purgeQueue(this.pushQueue(id));
    await ch.purgeQueue(this.listenQueue(id));
  }

  /** Publish as the platform does (publishWithConfirm): persistent, resolved once the broker confirms. */
  async publish(exchange: string, routingKey: string, body: Buffer): Promise<void> {
    const ch = await this.#channel();
    return new Promise((resolve, reject) => {
      ch.publish(exchange, routingKey, body, { deliveryMode: 2 }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
    });
  }

  /**
   * Messages ready in a queue (the management API's `messages` minus the unacked ones); 0 for a
   * queue that does not exist. On a channel of its own: the broker closes a channel that checks a
   * missing queue.
   */
  async depth(queue: string): Promise<number> {
    if (!this.#conn) throw new Error('PlatformQueues: not started');
    if (!this.#checker) {
      const ch = await this.#conn.createChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => {
        if (this.#checker === ch) this.#checker = undefined;
      });
      this.#checker = ch;
    }
    try {
      return (await this.#checker.checkQueue(queue)).messageCount;
    } catch {
      return 0;
    }
  }
}
