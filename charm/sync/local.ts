/**
 * The local OpenCTI platform as the synchronizer sees it: a GraphQL client (graphql-request) that
 * sends only the static documents of documents.ts and sorts every failure into what the caller
 * should do with it (stop, retry, skip).
 */
import { ClientError, GraphQLClient } from 'graphql-request';
import { z } from 'zod';
import * as D from './documents.js';
import { nodeFetch } from './http-fetch.js';

/**
 * - `auth`: the token or URL is wrong; fatal, a person must fix the configuration.
 * - `transient`: 5xx, timeouts, connection errors, lock errors; retry without advancing.
 * - `not-found`: an unknown id (a connector, an object).
 * - `functional`: any other GraphQL error. At start-up the platform refused us (fatal); later,
 *   retried with backoff like a transient one: nothing is skipped on an error we do not know.
 */
export type LocalErrorKind = 'auth' | 'transient' | 'not-found' | 'functional';

export class LocalError extends Error {
  override readonly name = 'LocalError';
  constructor(
    readonly kind: LocalErrorKind,
    readonly operation: string,
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(`local platform ${operation}: ${message}`);
  }
}

const graphqlErrorShape = z.looseObject({
  message: z.string().default(''),
  name: z.string().optional(),
  extensions: z.looseObject({ code: z.string().optional() }).optional(),
});

const AUTH_CODES = new Set(['AUTH_REQUIRED', 'FORBIDDEN_ACCESS', 'AUTH_FAILURE', 'UNAUTHENTICATED', 'FORBIDDEN']);
const TRANSIENT_CODES = new Set(['LOCK_ERROR', 'DATABASE_ERROR', 'ENGINE_ERROR', 'TIMEOUT_ERROR']);
const NOT_FOUND_RE = /cannot be found|Cannot access all entities|same ID detected|not found/i;
const TRANSIENT_RE = /Bad Gateway|Request timed out|ECONNRESET|socket hang up|Service Unavailable/i;

export function classifyLocalError(err: unknown, operation: string, url: string, timeoutMs: number): LocalError {
  if (err instanceof LocalError) return err;
  if (err instanceof ClientError) {
    const status = err.response.status;
    const first = graphqlErrorShape.safeParse(err.response.errors?.[0]);
    const gqlMessage = first.success ? first.data.message.slice(0, 500) : undefined;
    const code = first.success ? (first.data.extensions?.code ?? first.data.name) : undefined;
    if (status === 401 || status === 403 || (code !== undefined && AUTH_CODES.has(code))) {
      return new LocalError('auth', operation, `OPENCTI_TOKEN was rejected by ${url} (${status !== 200 ? `HTTP ${status}` : code}${gqlMessage ? `: ${gqlMessage}` : ''}); set OPENCTI_TOKEN to the API token of a local user allowed to register connectors and import data (ideally with the BYPASS capability)`, status, code);
    }
    if (status === 404) return new LocalError('auth', operation, `${url}/graphql answered HTTP 404; set OPENCTI_URL to the platform's base URL (without /graphql)`, status);
    if (status >= 500 || status === 408 || status === 429) return new LocalError('transient', operation, `HTTP ${status}${gqlMessage ? `: ${gqlMessage}` : ''}`, status, code);
    if (gqlMessage !== undefined) {
      if ((code !== undefined && TRANSIENT_CODES.has(code)) || TRANSIENT_RE.test(gqlMessage)) return new LocalError('transient', operation, gqlMessage, status, code);
      if (NOT_FOUND_RE.test(gqlMessage)) return new LocalError('not-found', operation, gqlMessage, status, code);
      return new LocalError('functional', operation, `${code ? `${code}: ` : ''}${gqlMessage}`, status, code);
    }
    return new LocalError('transient', operation, `HTTP ${status} with an unexpected body`, status);
  }
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return new LocalError('transient', operation, `no answer within ${timeoutMs} ms (SYNC_LOCAL_TIMEOUT_MS)`);
    const cause = (err as Error & { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail = cause && typeof cause.code === 'string' ? cause.code : cause && typeof cause.message === 'string' ? cause.message : err.message;
    if (err.name === 'SyntaxError') return new LocalError('transient', operation, `the answer is not GraphQL JSON (${err.message.slice(0, 200)}); is OPENCTI_URL the platform's base URL?`);
    return new LocalError('transient', operation, `cannot reach ${url} (${detail})`);
  }
  return new LocalError('transient', operation, String(err));
}

const aboutSchema = z.object({ about: z.object({ version: z.string() }).nullable() });
const meSchema = z.object({ me: z.object({ id: z.string(), name: z.string(), capabilities: z.array(z.object({ name: z.string() })) }) });
const connectionSchema = z.object({ host: z.string(), port: z.number(), vhost: z.string(), use_ssl: z.boolean(), user: z.string(), pass: z.string() });
const registerSchema = z.object({
  registerConnector: z
    .object({
      id: z.string(),
      connector_state: z.string().nullable().optional(),
      connector_user_id: z.string().nullable().optional(),
      config: z.object({ connection: connectionSchema.nullable().optional(), push: z.string(), push_exchange: z.string(), push_routing: z.string() }).nullable().optional(),
    })
    .nullable(),
});
const workAddSchema = z.object({ workAdd: z.object({ id: z.string() }) });
const workEditSchema = z.object({ workEdit: z.object({ addExpectations: z.string() }).nullable() });
const workViewSchema = z
  .object({
    id: z.string(),
    status: z.string(),
    completed_number: z.number().nullable().optional(),
    tracking: z.object({ import_expected_number: z.number().nullable().optional(), import_processed_number: z.number().nullable().optional() }).nullable().optional(),
    errors: z.array(z.object({ message: z.string().nullable().optional(), source: z.string().nullable().optional() }).nullable()).nullable().optional(),
  })
  .nullable();
const worksSchema = z.object({ a: workViewSchema, b: workViewSchema });
const connectorWorksSchema = z.object({ connector: z.object({ works: z.array(z.object({ id: z.string() }).nullable()).nullable().optional() }).nullable() });
const workDeleteSchema = z.object({ workEdit: z.object({ delete: z.string() }).nullable() });
const pingSchema = z.object({ pingConnector: z.object({ id: z.string(), connector_state: z.string().nullable().optional() }).nullable() });
const pushSchema = z.object({ stixBundlePush: z.boolean().nullable() });
const stixSchema = z.object({ stix: z.string().nullable() });
const stixIdSchema = z.looseObject({ id: z.string() });

export interface Registration {
  state: string | null;
  userId: string | undefined;
  /** Undefined when the platform gave no broker connection (the user lacks CONNECTORAPI). */
  queue: { connection: z.infer<typeof connectionSchema>; pushQueue: string; pushExchange: string; pushRouting: string } | undefined;
}

/** A Work as the synchronizer reads it. */
export interface WorkView {
  id: string;
  status: string;
  expected: number | null;
  processed: number | null;
  errors: { message: string; source: string }[];
}

function toWorkView(w: z.infer<typeof workViewSchema>): WorkView | null {
  if (!w) return null;
  const complete = w.status === 'complete';
  return {
    id: w.id,
    status: w.status,
    expected: w.tracking?.import_expected_number ?? null,
    processed: (complete ? w.completed_number : w.tracking?.import_processed_number) ?? w.tracking?.import_processed_number ?? null,
    errors: (w.errors ?? []).flatMap((e) => (e ? [{ message: e.message ?? '', source: e.source ?? '' }] : [])),
  };
}

export interface LocalOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

export class LocalPlatform {
  readonly #client: GraphQLClient;
  readonly #opts: LocalOptions;
  readonly #endpoint: string;

  constructor(opts: LocalOptions) {
    this.#opts = opts;
    this.#endpoint = `${opts.url}/graphql`;
    // excludeOperationName: every document holds one named operation, so the body needs no
    // operationName, and graphql-request does not parse the document again on every request.
    this.#client = new GraphQLClient(this.#endpoint, { headers: { authorization: `Bearer ${opts.token}` }, fetch: nodeFetch, excludeOperationName: true });
  }

  /** One request through graphql-request. */
  #call<T>(operation: string, document: string, variables: Record<string, unknown>, schema: z.ZodType<T>, headers: Record<string, string> = {}, outer?: AbortSignal): Promise<T> {
    return this.#timed(operation, schema, outer, (signal) => this.#client.request({ document, variables, requestHeaders: headers, signal }));
  }

  async #timed<T>(operation: string, schema: z.ZodType<T>, outer: AbortSignal | undefined, send: (signal: AbortSignal) => Promise<unknown>): Promise<T> {
    // One controller and one timer per request: cheaper than AbortSignal.timeout + AbortSignal.any.
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new DOMException(`no answer within ${this.#opts.timeoutMs} ms`, 'TimeoutError')), this.#opts.timeoutMs);
    const onOuter = () => ctl.abort(outer?.reason);
    if (outer?.aborted) onOuter();
    else outer?.addEventListener('abort', onOuter, { once: true });
    let raw: unknown;
    try {
      raw = await send(ctl.signal);
    } catch (err) {
      throw classifyLocalError(err, operation, this.#opts.url, this.#opts.timeoutMs);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
    const r = schema.safeParse(raw);
    if (!r.success) throw new LocalError('functional', operation, `unexpected answer shape (${r.error.issues[0]?.message ?? 'invalid'})`);
    return r.data;
  }

  async version(): Promise<string> {
    const r = await this.#call('about', D.ABOUT, {}, aboutSchema);
    if (!r.about) throw new LocalError('functional', 'about', 'no version in the answer');
    return r.about.version;
  }

  async me(): Promise<{ id: string; name: string; capabilities: string[] }> {
    const r = await this.#call('me', D.ME, {}, meSchema);
    return { id: r.me.id, name: r.me.name, capabilities: r.me.capabilities.map((c) => c.name) };
  }

  /**
   * registerConnector: the saved connector state (survives restarts, §4.1), the connector's user,
   * and where its messages go (the broker connection and the push exchange and routing key).
   */
  async register(input: { id: string; name: string; type: 'STREAM'; scope: string[] }): Promise<Registration> {
    const r = await this.#call('registerConnector', D.REGISTER_CONNECTOR, { input: { ...input, auto: false, only_contextual: false } }, registerSchema);
    const c = r.registerConnector;
    if (!c) throw new LocalError('functional', 'registerConnector', 'the platform returned no connector');
    const conn = c.config?.connection;
    return {
      state: c.connector_state ?? null,
      userId: c.connector_user_id ?? undefined,
      queue: c.config && conn ? { connection: conn, pushQueue: c.config.push, pushExchange: c.config.push_exchange, pushRouting: c.config.push_routing } : undefined,
    };
  }

  /** workAdd: a new Work of this connector, in progress. */
  async workAdd(connectorId: string, name: string, signal?: AbortSignal): Promise<string> {
    return (await this.#call('workAdd', D.WORK_ADD, { connectorId, name }, workAddSchema, {}, signal)).workAdd.id;
  }

  async addExpectations(workId: string, expectations: number, signal?: AbortSignal): Promise<void> {
    await this.#call('workEdit.addExpectations', D.WORK_EXPECTATIONS, { id: workId, expectations }, workEditSchema, {}, signal);
  }

  /** Two Works at a time (the second id may repeat the first); null for a Work that no longer exists. */
  async works(a: string, b: string, signal?: AbortSignal): Promise<[WorkView | null, WorkView | null]> {
    const r = await this.#call('work', D.WORKS, { a, b }, worksSchema, {}, signal);
    return [toWorkView(r.a), toWorkView(r.b)];
  }

  /** The connector's Works still in progress. */
  async progressingWorks(connectorId: string, signal?: AbortSignal): Promise<string[]> {
    const r = await this.#call('connector.works', D.CONNECTOR_WORKS, { id: connectorId }, connectorWorksSchema, {}, signal);
    return (r.connector?.works ?? []).flatMap((w) => (w ? [w.id] : []));
  }

  async deleteWork(workId: string, signal?: AbortSignal): Promise<void> {
    await this.#call('workEdit.delete', D.WORK_DELETE, { id: workId }, workDeleteSchema, {}, signal);
  }

  /** stixBundlePush reporting to `workId` (OpenCTI 6.5.7+); false or null from the platform is a failure. */
  async pushBundleToWork(connectorId: string, bundle: string, workId: string, signal?: AbortSignal): Promise<void> {
    const r = await this.#call('stixBundlePush', D.BUNDLE_PUSH_WORK, { connectorId, bundle, workId }, pushSchema, {}, signal);
    if (r.stixBundlePush !== true) throw new LocalError('transient', 'stixBundlePush', `the platform answered ${String(r.stixBundlePush)}, not true: the bundle was not queued`);
  }

  /** pingConnector with the state to save; returns the state the platform answered (§4.2). */
  async ping(id: string, state: string, queueSize: number): Promise<{ state: string | null }> {
    const connectorInfo = { run_and_terminate: false, buffering: false, queue_threshold: 0, queue_messages_size: queueSize };
    const r = await this.#call('pingConnector', D.PING_CONNECTOR, { id, state, connectorInfo }, pingSchema);
    if (!r.pingConnector) throw new LocalError('functional', 'pingConnector', 'the platform returned no connector');
    return { state: r.pingConnector.connector_state ?? null };
  }

  /** The standard id of the object that `id` resolves to (by any of its ids), or null if none. */
  async resolveStandardId(id: string, signal?: AbortSignal): Promise<string | null> {
    const r = await this.#call('stix', D.STIX, { id }, stixSchema, {}, signal);
    if (r.stix === null) return null;
    try {
      const parsed = stixIdSchema.safeParse(JSON.parse(r.stix));
      return parsed.success ? parsed.data.id : null;
    } catch {
      return null;
    }
  }
}
