/**
 * The local OpenCTI platform as the synchronizer sees it: a GraphQL client (graphql-request) that
 * sends only the static documents of documents.ts and sorts every failure into what the caller
 * should do with it (stop, retry, skip).
 */
import { ClientError, GraphQLClient } from 'graphql-request';
import { z } from 'zod';
import * as D from './documents.js';
import type { StixObject } from './events.js';
import { nodeFetch } from './http-fetch.js';

/**
 * - `auth`: the token or URL is wrong; fatal, a person must fix the configuration.
 * - `transient`: 5xx, timeouts, connection errors, lock errors; retry without advancing.
 * - `not-found`: an unknown id on merge or delete; log, count and skip.
 * - `functional`: any other GraphQL error; bounded retries, then reported and skipped.
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
const registerSchema = z.object({ registerConnector: z.object({ id: z.string(), connector_state: z.string().nullable().optional(), connector_user_id: z.string().nullable().optional() }).nullable() });
const pingSchema = z.object({ pingConnector: z.object({ id: z.string(), connector_state: z.string().nullable().optional() }).nullable() });
const pushSchema = z.object({ stixBundlePush: z.boolean().nullable() });
const mergeSchema = z.object({ stixEdit: z.object({ merge: z.object({ id: z.string() }).nullable() }).nullable() });
const stixSchema = z.object({ stix: z.string().nullable() });
const stixIdSchema = z.looseObject({ id: z.string() });
const coreObjectsSchema = z.object({ stixCoreObjects: z.object({ edges: z.array(z.object({ node: z.object({ standard_id: z.string() }) })) }).nullable() });

/** STIX types that are not core objects (stixCoreObjects does not list them). */
const NON_CORE_PREFIXES = ['relationship--', 'sighting--'];
/** Ids per stixCoreObjects query: one page each, kept well below the platform's search window. */
const IDS_PER_QUERY = 500;
const deleteSchema = z.object({ stixEdit: z.object({ delete: z.string().nullable() }).nullable() });

export interface LocalOptions {
  url: string;
  token: string;
  timeoutMs: number;
  synchronizedUpsert: boolean;
}

export interface PushOptions {
  /** The object's previous standard id, when this update changed it (pitfall 5). */
  previousStandard?: string | undefined;
  signal?: AbortSignal | undefined;
  /** `bundlePushBody(connectorId, objects)`, when the caller prepared it ahead (the same objects, in order). */
  body?: Buffer | undefined;
}

/**
 * A byte buffer written string by string, grown by doubling. A string of n UTF-16 units takes at
 * most 3n bytes in UTF-8, so a write never has to be measured first.
 */
class ByteWriter {
  #buf: Buffer;
  #pos = 0;
  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(capacity, 256));
  }
  write(s: string): void {
    const worst = s.length * 3;
    if (this.#buf.length - this.#pos < worst) {
      const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + worst));
      this.#buf.copy(next, 0, 0, this.#pos);
      this.#buf = next;
    }
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
  }
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}

/**
 * The HTTP body of one stixBundlePush, as UTF-8 bytes: `{"query":…,"variables":{"connectorId":…,
 * "bundle":"…"}}`, where `bundle` is a STIX 2.1 bundle of the given objects, in order, as a JSON
 * string. It is written object by object: each object's text is escaped on its own (JSON.stringify
 * of a string, the escaping a whole-body JSON.stringify applies) straight into one buffer. Built the
 * usual way, a bundle of megabytes would exist three times: its text, the escaped body text, and
 * the bytes http encodes from it, the two texts on the V8 heap.
 */
export function bundlePushBody(connectorId: string, objects: readonly StixObject[]): Buffer {
  let size = 256;
  for (const o of objects) size += o.json.length;
  const w = new ByteWriter(size + (size >>> 3));
  const head = JSON.stringify(`{"type":"bundle","id":"bundle--${crypto.randomUUID()}","spec_version":"2.1","objects":[`);
  w.write(`{"query":${JSON.stringify(D.BUNDLE_PUSH)},"variables":{"connectorId":${JSON.stringify(connectorId)},"bundle":${head.slice(0, -1)}`);
  for (let i = 0; i < objects.length; i++) {
    if (i > 0) w.write(',');
    w.write(JSON.stringify((objects[i] as StixObject).json).slice(1, -1));
  }
  w.write(']}"}}');
  return w.bytes();
}

/** A GraphQL answer as graphql-request reads one: errors, or a non-2xx status, become a ClientError. */
function graphqlAnswer(res: Response, text: string, query: string): unknown {
  const { status, ok, headers } = res;
  let result: unknown;
  try {
    result = JSON.parse(text);
  } catch (err) {
    if (ok) throw err;
    throw new ClientError({ status, headers, body: text }, { query });
  }
  const r = (result && typeof result === 'object' ? result : {}) as { data?: unknown; errors?: unknown[]; extensions?: unknown };
  const hasErrors = Array.isArray(r.errors) && r.errors.length > 0;
  // The request in the error is the document only: the variables (a whole bundle) are left out.
  if (!ok || hasErrors) throw new ClientError({ ...(r as object), status, headers, body: text } as ConstructorParameters<typeof ClientError>[0], { query });
  return r.data;
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

  /**
   * One request whose body is already built (stixBundlePush, see bundlePushBody), posted the way
   * graphql-request posts one, its answer read the way graphql-request reads one.
   */
  #post<T>(operation: string, document: string, body: Buffer, schema: z.ZodType<T>, headers: Record<string, string>, outer?: AbortSignal): Promise<T> {
    return this.#timed(operation, schema, outer, async (signal) => {
      const res = await nodeFetch(this.#endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#opts.token}`, accept: 'application/graphql-response+json, application/json', 'content-type': 'application/json', ...headers },
        body,
        signal,
      });
      return graphqlAnswer(res, await res.text(), document);
    });
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

  /** registerConnector; returns the saved connector state (survives restarts, §4.1). */
  async register(input: { id: string; name: string; type: 'STREAM'; scope: string[] }): Promise<{ state: string | null }> {
    const r = await this.#call('registerConnector', D.REGISTER_CONNECTOR, { input: { ...input, auto: false, only_contextual: false } }, registerSchema);
    if (!r.registerConnector) throw new LocalError('functional', 'registerConnector', 'the platform returned no connector');
    return { state: r.registerConnector.connector_state ?? null };
  }

  /** pingConnector with the state to save; returns the state the platform answered (§4.2). */
  async ping(id: string, state: string, queueSize: number): Promise<{ state: string | null }> {
    const connectorInfo = { run_and_terminate: false, buffering: false, queue_threshold: 0, queue_messages_size: queueSize };
    const r = await this.#call('pingConnector', D.PING_CONNECTOR, { id, state, connectorInfo }, pingSchema);
    if (!r.pingConnector) throw new LocalError('functional', 'pingConnector', 'the platform returned no connector');
    return { state: r.pingConnector.connector_state ?? null };
  }

  /** One stixBundlePush with the given objects, in order. `opts.body` reuses a body built ahead. */
  async pushBundle(connectorId: string, objects: readonly StixObject[], opts: PushOptions = {}): Promise<void> {
    const body = opts.body ?? bundlePushBody(connectorId, objects);
    const headers: Record<string, string> = {};
    if (this.#opts.synchronizedUpsert) headers['synchronized-upsert'] = 'true';
    if (opts.previousStandard) headers['previous-standard'] = opts.previousStandard;
    await this.#post('stixBundlePush', D.BUNDLE_PUSH, body, pushSchema, headers, opts.signal);
  }

  async merge(targetId: string, sourceIds: readonly string[], signal?: AbortSignal): Promise<void> {
    await this.#call('stixEdit.merge', D.MERGE, { id: targetId, sourceIds }, mergeSchema, {}, signal);
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

  /**
   * Which of the given ids are the standard id of an object of their own (not merely an alternative
   * id of another object): one stixCoreObjects query per 500 core-object ids, one stix(id) per
   * relationship or sighting id.
   */
  async ownStandardIds(ids: readonly string[], signal?: AbortSignal): Promise<Set<string>> {
    const own = new Set<string>();
    const core: string[] = [];
    for (const id of ids) {
      if (!NON_CORE_PREFIXES.some((p) => id.startsWith(p))) core.push(id);
      else if ((await this.resolveStandardId(id, signal)) === id) own.add(id);
    }
    for (let i = 0; i < core.length; i += IDS_PER_QUERY) {
      const chunk = core.slice(i, i + IDS_PER_QUERY);
      const r = await this.#call('stixCoreObjects', D.CORE_OBJECTS_BY_IDS, { first: chunk.length, ids: chunk }, coreObjectsSchema, {}, signal);
      const wanted = new Set(chunk);
      for (const e of r.stixCoreObjects?.edges ?? []) if (wanted.has(e.node.standard_id)) own.add(e.node.standard_id);
    }
    return own;
  }

  async delete(id: string, signal?: AbortSignal): Promise<void> {
    await this.#call('stixEdit.delete', D.DELETE, { id }, deleteSchema, {}, signal);
  }
}
