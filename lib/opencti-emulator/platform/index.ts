/**
 * The local OpenCTI platform emulator, ingesting as OpenCTI does (opencti-ingestion.md): a GraphQL
 * API that registers connectors (their queues on a real RabbitMQ), keeps Works, and queues
 * `stixBundlePush` bundles rather than applying them; workers that consume every push queue
 * concurrently and apply messages with the headers their fields carry; a knowledge store with the
 * platform's upsert rules. Version profiles (5.12, 6.9, 7.x) set what each part does.
 *
 *   const platform = await new LocalPlatform({ amqpUrl, profile: '6.9' }).start();
 *   platform.url; platform.connectorToken;   // OPENCTI_URL, OPENCTI_TOKEN for a connector
 *   platform.store.objects();                // what was applied
 *   await platform.stop();
 */
import { randomBytes } from 'node:crypto';
import type { Stix } from '../stix.js';
import { PlatformApiError } from './api-errors.js';
import { CodedError, GraphqlHttp, type GraphqlFault, type RecordedRequest, type RequestContext } from './graphql-http.js';
import { PROFILES, type PlatformProfile, type ProfileName } from './profiles.js';
import { handlePushMessage } from './push-handler.js';
import { takeInlineFiles } from './files.js';
import { PYCTI_RETRIES, Pycti, type ApiCall, type KnowledgeApi, type RetryPolicy } from './pycti.js';
import { PlatformQueues, type ConnectorConfig } from './queues.js';
import { platformSdl } from './schema.js';
import { KnowledgeStore } from './store.js';
import { WorkerPool } from './workers.js';
import { Works, type WorkDoc } from './works.js';

export { PROFILES, type PlatformProfile, type ProfileName } from './profiles.js';
export { KnowledgeStore, BUILTIN_MARKINGS } from './store.js';
export { Works, MAX_WORK_ERRORS, type WorkDoc } from './works.js';
export { splitBundle } from './push-handler.js';
export type { GraphqlFault, RecordedRequest } from './graphql-http.js';

export interface LocalPlatformOptions {
  /** The broker the platform and its workers use (amqp://user:pass@host:port/vhost). */
  amqpUrl: string;
  /** Version profile. Default 7.x. */
  profile?: ProfileName;
  port?: number;
  host?: string;
  /** The token of the connector's user. Default `local-token`. */
  connectorToken?: string;
  /** Whether the connector's user has BYPASS. Default false: connector charms' users are in the Connectors group. */
  connectorBypass?: boolean;
  /** Worker processes consuming every push queue. Default 3. */
  workers?: number;
  /** Each delivery waits uniform [0, latencyMs] ms first. Default 5. */
  latencyMs?: number;
  /** Seed of the workers' random latencies and pauses. Default 1. */
  seed?: number;
  /** pycti's retries inside the workers (default: 4 attempts for missing references, 1-3 s apart). */
  retries?: Partial<RetryPolicy>;
  /** The connector manager's period (closeOldWorks). Default 60 s, as the platform; 0 = never. */
  connectorManagerMs?: number;
  /** Queue name prefix (the platform's rabbitmq:queue_prefix). Default: a random one, so emulators can share a broker. */
  queuePrefix?: string;
}

interface User {
  id: string;
  name: string;
  capabilities: string[];
}

export interface ConnectorRecord {
  id: string;
  name: string;
  type: string;
  scope: string[];
  state: string | null;
  stateReset: boolean;
  userId: string;
  createdAt: string;
  updatedAt: string;
  pings: number;
}

/** A write fault: the next matching writes by the workers fail with this platform error. */
export interface WriteFault {
  code: string;
  message: string;
  times?: number;
  /** Only writes of this object (by id). */
  id?: string;
}

const ADMIN_ID = '88ec0c6a-13ce-5e39-b486-354fe4a7084f';
const CONNECTOR_USER_ID = '4d8e5b1c-0a7f-4e6b-9c2d-3f1a5b7c9e0d';

/** mulberry32: a small seeded generator. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class LocalPlatform {
  readonly profile: PlatformProfile;
  readonly store: KnowledgeStore;
  readonly works: Works;
  readonly queues: PlatformQueues;
  readonly workers: WorkerPool;
  readonly connectors = new Map<string, ConnectorRecord>();
  /** `<event_id> <stix id>` of every write a worker applied: the tests' per-event oracle. */
  readonly applied = new Set<string>();
  /** The applicant (opencti-applicant-id) of the last write to each object id, as the platform records who changed it. */
  readonly applicants = new Map<string, string>();
  /** File contents the imported objects carried inline, by `<stix id> <file name>` (files.ts). */
  readonly files = new Map<string, Buffer>();
  /** Messages the workers could not read (nacked without requeue, so gone from the broker). */
  readonly deadLetters: { queue: string; body: string }[] = [];
  /** Exceptions the emulator's own worker code threw (a bug here, not a platform behaviour). */
  readonly internalErrors: unknown[] = [];
  readonly connectorToken: string;
  readonly adminToken = `admin-${randomBytes(6).toString('hex')}`;
  readonly #opts: LocalPlatformOptions;
  readonly #http: GraphqlHttp;
  readonly #users = new Map<string, User>();
  #writeFaults: (WriteFault & { remaining: number })[] = [];
  #manager: NodeJS.Timeout | undefined;
  /**
   * Registering and deleting connectors, one at a time: each is several broker operations (queues,
   * bindings, consumers), and one interleaved with another left a re-registered connector's queue
   * deleted, or without consumers, for good. The platform's workers would find such a queue again
   * on their next scan of the connectors; the emulator's only look when a connector registers.
   */
  #lifecycle: Promise<unknown> = Promise.resolve();

  #serially<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#lifecycle.then(op, op);
    this.#lifecycle = next.catch(() => undefined);
    return next;
  }

  constructor(opts: LocalPlatformOptions) {
    this.#opts = opts;
    this.profile = PROFILES[opts.profile ?? '7.x'];
    this.connectorToken = opts.connectorToken ?? 'local-token';
    this.#users.set(this.adminToken, { id: ADMIN_ID, name: 'admin', capabilities: ['BYPASS'] });
    this.#users.set(this.connectorToken, {
      id: CONNECTOR_USER_ID,
      name: 'connector-synchronizer',
      capabilities: opts.connectorBypass ? ['BYPASS'] : ['CONNECTORAPI', 'KNOWLEDGE', 'KNOWLEDGE_KNUPDATE', 'KNOWLEDGE_KNUPDATE_KNDELETE'],
    });
    this.store = new KnowledgeStore({ eventIdGuard: this.profile.eventIdGuard, previousStandard: this.profile.previousStandard });
    this.works = new Works({ alivenessCheck: this.profile.deadWork !== 'processed' });
    this.queues = new PlatformQueues(opts.amqpUrl, opts.queuePrefix ?? `emu${randomBytes(4).toString('hex')}_`);
    const rand = prng(opts.seed ?? 1);
    const pycti = new Pycti(this.profile, this.#workerApi(), this.works, { ...PYCTI_RETRIES, ...opts.retries }, rand);
    this.workers = new WorkerPool({
      amqpUrl: opts.amqpUrl,
      processes: opts.workers ?? 3,
      latencyMs: opts.latencyMs ?? 5,
      rand,
      handle: (body, requeue) => handlePushMessage(body, { profile: this.profile, api: this.#workerApi(), works: this.works, pycti, requeue }),
      onNack: (queue, body) => {
        this.deadLetters.push({ queue, body: body.toString('utf8') });
      },
      onError: (e) => this.internalErrors.push(e),
    });
    this.#http = new GraphqlHttp(platformSdl(this.profile), (ctx) => this.#root(ctx));
  }

  get url(): string {
    return this.#http.url(this.#opts.host ?? '127.0.0.1');
  }

  /** The object any of its ids resolves to. */
  get(id: string): Stix | undefined {
    return this.store.get(id);
  }

  /** Every GraphQL request, in order, with the headers the platform reads. */
  get requests(): readonly RecordedRequest[] {
    return this.#http.requests;
  }

  async start(): Promise<this> {
    await this.queues.start();
    await this.workers.start();
    await this.#http.listen(this.#opts.port ?? 0, this.#opts.host ?? '127.0.0.1');
    const every = this.#opts.connectorManagerMs ?? 60_000;
    if (every > 0) this.#manager = setInterval(() => this.runConnectorManager(), every);
    return this;
  }

  async stop(): Promise<void> {
    if (this.#manager) clearInterval(this.#manager);
    await this.#http.close();
    await this.workers.stop();
    await this.queues.stop();
  }

  /** The connector manager's pass (closeOldWorks for every connector); the ids of the Works it closed. */
  runConnectorManager(): string[] {
    return [...this.works.connectorIds()].flatMap((c) => this.works.closeOldWorks(c));
  }

  injectFault(f: GraphqlFault): void {
    this.#http.injectFault(f);
  }

  /** The next matching worker writes fail with a platform error (reported to their Work, as any). */
  injectWriteFault(f: WriteFault): void {
    this.#writeFaults.push({ ...f, remaining: f.times ?? 1 });
  }

  #takeWriteFault(id: string): void {
    const f = this.#writeFaults.find((x) => x.remaining > 0 && (x.id === undefined || x.id === id));
    if (!f) return;
    f.remaining--;
    this.#writeFaults = this.#writeFaults.filter((x) => x.remaining > 0);
    throw new PlatformApiError(f.code, f.message);
  }

  /** The store as the workers' calls reach it (their user is the admin), with faults and the applied record. */
  #workerApi(): KnowledgeApi {
    const record = (call: ApiCall, id: string) => {
      if (call.trace !== undefined) this.applied.add(`${call.trace} ${id}`);
      if (call.applicantId !== undefined) this.applicants.set(id, call.applicantId);
    };
    return {
      upsert: (item: Stix, call: ApiCall) => {
        this.#takeWriteFault(item.id);
        const { stored, files } = takeInlineFiles(item);
        this.store.upsert(stored, call);
        for (const f of files) this.files.set(`${item.id} ${f.name}`, f.bytes);
        record(call, item.id);
      },
      delete: (id: string, call: ApiCall) => {
        this.#takeWriteFault(id);
        this.store.delete(id);
        record(call, id);
      },
      merge: (targetId: string, sourceIds: readonly string[], call: ApiCall) => {
        this.#takeWriteFault(targetId);
        this.store.merge(targetId, sourceIds);
        record(call, targetId);
      },
    };
  }

  // ------------------------------------------------------------------ GraphQL
  #user(ctx: RequestContext): User | undefined {
    const user = ctx.token === undefined ? undefined : this.#users.get(ctx.token);
    if (!user) return undefined;
    // 7.260326.0: synchronized-upsert from a user without BYPASS fails its authentication.
    if (this.profile.synchronizedNeedsBypass && ctx.header('synchronized-upsert') === 'true' && !user.capabilities.includes('BYPASS')) return undefined;
    return user;
  }

  #connectorView(c: ConnectorRecord, withConnection: boolean): Record<string, unknown> {
    const config: ConnectorConfig = this.queues.config(c.id);
    return {
      // Connector.works(status): the connector's Works, those of a status when one is given.
      works: ({ status }: { status?: string | null }) => [...this.works.docs.values()].filter((w) => w.connectorId === c.id && (!status || w.status === status)).map((w) => this.#workView(w)),
      id: c.id,
      name: c.name,
      active: true,
      auto: false,
      only_contextual: false,
      connector_type: c.type,
      connector_scope: c.scope,
      connector_state: c.state,
      connector_state_reset: c.stateReset,
      connector_user_id: c.userId,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      config: withConnection ? config : { ...config, connection: null },
    };
  }

  #workView(w: WorkDoc): Record<string, unknown> {
    return {
      id: w.id,
      name: w.name,
      timestamp: w.timestamp,
      status: w.status,
      event_source_id: null,
      received_time: w.receivedTime,
      processed_time: w.processedTime,
      completed_time: w.completedTime,
      completed_number: w.completedNumber,
      messages: w.messages,
      errors: w.errors,
      tracking: this.works.tracking(w),
    };
  }

  #root(ctx: RequestContext): Record<string, unknown> {
    const user = this.#user(ctx);
    const auth = (...caps: string[]): User => {
      if (!user) throw new CodedError('You must be logged in to do this.', 'AUTH_REQUIRED');
      if (caps.length > 0 && !user.capabilities.includes('BYPASS') && !caps.some((c) => user.capabilities.includes(c))) throw new CodedError('You are not allowed to do this.', 'FORBIDDEN_ACCESS');
      return user;
    };
    const connector = (id: string): ConnectorRecord => {
      const c = this.connectors.get(id);
      if (!c) throw new CodedError(`Connector ${id} not found`, 'FUNCTIONAL_ERROR');
      return c;
    };
    const apiError = (e: unknown): never => {
      if (e instanceof PlatformApiError) throw new CodedError(e.message, e.code);
      throw e;
    };
    return {
      about: () => (auth(), { version: this.profile.version }),
      settings: () => (auth(), { id: 'settings', platform_title: 'OpenCTI platform emulator' }),
      me: () => {
        const u = auth();
        return { id: u.id, name: u.name, user_email: `${u.name}@opencti.invalid`, capabilities: u.capabilities.map((name) => ({ id: `cap-${name}`, name })) };
      },
      stix: ({ id }: { id: string }) => (auth(), this.store.get(id) ? JSON.stringify(this.store.get(id)) : null),
      stixCoreObjectRaw: ({ id }: { id: string }) => (auth(), this.store.get(id) ? JSON.stringify(this.store.get(id)) : null),
      stixCoreObjects: ({ first, filters }: { first?: number | null; filters?: { filters: { key: string[]; values: unknown[] }[] } | null }) => {
        auth();
        const f = filters?.filters[0];
        if (filters && (filters.filters.length !== 1 || f?.key.length !== 1 || f.key[0] !== 'ids')) throw new CodedError('The emulator supports only the ids filter key', 'UNSUPPORTED_ERROR');
        const ids = f?.values.filter((v): v is string => typeof v === 'string');
        const edges = this.store.coreObjects(ids, first ?? 500).map((o) => ({ cursor: o.id, node: { __typename: 'Malware', id: o.id, standard_id: o.id, entity_type: o.type } }));
        return { edges, pageInfo: { startCursor: '', endCursor: '', hasNextPage: false, hasPreviousPage: false, globalCount: edges.length } };
      },
      connector: ({ id }: { id: string }) => {
        const u = auth();
        const c = this.connectors.get(id);
        return c ? this.#connectorView(c, u.capabilities.some((x) => x === 'BYPASS' || x === 'CONNECTORAPI')) : null;
      },
      connectors: () => (auth(), [...this.connectors.values()].map((c) => this.#connectorView(c, false))),
      registerConnector: async ({ input }: { input: { id: string; name: string; type: string; scope?: string[] | null } | null }) => {
        const u = auth('CONNECTORAPI');
        if (!input) throw new CodedError('registerConnector needs an input', 'FUNCTIONAL_ERROR');
        await this.#serially(async () => {
          await this.queues.register(input.id, input.name, input.type, input.scope ?? []);
          await this.workers.consume(this.queues.pushQueue(input.id), this.queues.workerExchange, this.queues.pushRouting(input.id));
        });
        const now = new Date().toISOString();
        let c = this.connectors.get(input.id);
        if (c) Object.assign(c, { name: input.name, type: input.type, scope: input.scope ?? [], updatedAt: now });
        else this.connectors.set(input.id, (c = { id: input.id, name: input.name, type: input.type, scope: input.scope ?? [], state: null, stateReset: false, userId: u.id, createdAt: now, updatedAt: now, pings: 0 }));
        return this.#connectorView(c, true);
      },
      pingConnector: async ({ id, state }: { id: string; state?: string | null }) => {
        auth('CONNECTORAPI');
        const c = connector(id);
        if (this.profile.name === '7.x') await this.queues.register(c.id, c.name, c.type, c.scope);
        c.pings++;
        c.updatedAt = new Date().toISOString();
        if (c.stateReset) c.stateReset = false; // the stored '' is answered once: the client must restart
        else if (state !== undefined) c.state = state;
        return this.#connectorView(c, true);
      },
      resetStateConnector: async ({ id }: { id: string }) => {
        auth('CONNECTORAPI');
        const c = connector(id);
        c.state = '';
        c.stateReset = true;
        await this.queues.purge(id);
        return this.#connectorView(c, true);
      },
      deleteConnector: async ({ id }: { id: string }) => {
        auth('CONNECTORAPI');
        connector(id);
        this.connectors.delete(id);
        await this.#serially(async () => {
          await this.workers.forget(this.queues.pushQueue(id));
          await this.queues.unregister(id);
        });
        return id;
      },
      stixBundlePush: async ({ connectorId, bundle, work_id }: { connectorId: string; bundle: string; work_id?: string | null }) => {
        const u = auth('CONNECTORAPI');
        const c = connector(connectorId);
        let parsed: { type?: unknown; objects?: unknown };
        try {
          parsed = JSON.parse(bundle) as typeof parsed;
        } catch {
          throw new CodedError('Invalid bundle: not JSON', 'VALIDATION_ERROR');
        }
        if (parsed.type !== 'bundle' || !Array.isArray(parsed.objects) || parsed.objects.length === 0) throw new CodedError('Invalid bundle: type must be bundle with objects', 'VALIDATION_ERROR');
        // sendStixBundle: a Work when none is given (one expectation for a single object: a bigger
        // bundle gets its expectations from the worker that splits it); the request's headers are not
        // carried into the message.
        let workId = work_id ?? undefined;
        if (!workId) {
          workId = this.works.create(c.id, u.id, `${c.name} bundle push`, true).id;
          if (parsed.objects.length === 1) this.works.addExpectations(workId, 1);
        }
        const message = { type: 'bundle', applicant_id: u.id, content: Buffer.from(bundle).toString('base64'), work_id: workId, update: true };
        await this.queues.publish(this.queues.workerExchange, this.queues.pushRouting(c.id), Buffer.from(JSON.stringify(message)));
        return true;
      },
      workAdd: ({ connectorId, friendlyName }: { connectorId: string; friendlyName?: string | null }) => {
        const u = auth('CONNECTORAPI');
        const c = connector(connectorId);
        return this.#workView(this.works.create(c.id, u.id, friendlyName ?? `${c.name} run`, true));
      },
      workEdit: ({ id }: { id: string }) => {
        auth('CONNECTORAPI');
        return {
          delete: () => (this.works.delete(id), id),
          ping: () => (this.works.ping(id), id),
          reportExpectation: ({ error }: { error?: { error?: string | null; source?: string | null } | null }) => (this.works.reportExpectation(id, error ?? null), id),
          addExpectations: ({ expectations }: { expectations?: number | null }) => (this.works.addExpectations(id, expectations ?? 0), id),
          toReceived: ({ message }: { message?: string | null }) => (this.works.toReceived(id, message), id),
          toProcessed: ({ message, inError }: { message?: string | null; inError?: boolean | null }) => (this.works.toProcessed(id, message, inError === true), id),
        };
      },
      work: ({ id }: { id: string }) => {
        auth('CONNECTORAPI');
        const w = this.works.get(id);
        return w ? this.#workView(w) : null;
      },
      stixEdit: ({ id }: { id: string }) => {
        const deleteCaps = this.profile.name === '5.12' ? ['SETTINGS'] : ['KNOWLEDGE_KNUPDATE_KNDELETE'];
        const mergeCaps = this.profile.name === '5.12' ? ['SETTINGS'] : ['KNOWLEDGE_KNUPDATE_KNMERGE'];
        return {
          delete: () => {
            auth(...deleteCaps);
            try {
              return this.store.delete(id);
            } catch (e) {
              return apiError(e);
            }
          },
          merge: ({ stixObjectsIds }: { stixObjectsIds: readonly (string | null)[] }) => {
            auth(...mergeCaps);
            try {
              const t = this.store.merge(id, stixObjectsIds.filter((s): s is string => typeof s === 'string'));
              return { __typename: 'Malware', id: t.id, standard_id: t.id, entity_type: t.type };
            } catch (e) {
              return apiError(e);
            }
          },
        };
      },
      stixCoreObjectEdit: ({ id }: { id: string }) => ({
        delete: () => {
          auth('KNOWLEDGE_KNUPDATE_KNDELETE');
          try {
            return this.store.delete(id);
          } catch (e) {
            return apiError(e);
          }
        },
      }),
    };
  }
}
