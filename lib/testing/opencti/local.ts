/**
 * Local OpenCTI emulator: a GraphQL server (graphql-js, the EMULATOR_SDL subset) that applies
 * bundles, merges and deletes to an in-memory store, keeps connector registration and state, and
 * can be told to fail (5xx, hangs, slowness, GraphQL errors). opencti-stream.md §7.2.
 *
 * Assumptions where the reference is silent: stixBundlePush applies the bundle synchronously (the
 * real platform queues it for workers); a bad token answers HTTP 200 with an AUTH_REQUIRED error.
 *
 * Bundle operations (opencti-stream.md §3.5): from version 6.2, a bundle item carrying
 * `opencti_operation` = `delete` or `merge` (top level; from 6.6 also inside the OpenCTI extension)
 * is that operation, not an upsert. Like a worker, an item that fails (an unknown id) does not stop
 * the bundle: the error goes to `workErrors` (the platform's Work errors). Before 6.2 the key means
 * nothing to the workers, so the item is imported as a plain object.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, Kind, buildSchema, execute, parse, specifiedRules, validate, type ASTVisitor, type DocumentNode, type GraphQLSchema, type SelectionSetNode, type ValidationContext } from 'graphql';
import { EMULATOR_SDL, graphqlTypeFor } from './schema.js';
import { OCTI_EXT, octiExt, type Stix } from './stix.js';

export interface LocalEmulatorOptions {
  port?: number;
  host?: string;
  /** Accepted Bearer token. Default `local-token`. */
  token?: string;
  version?: string;
  /** Whether the token's user has BYPASS (synchronized-upsert only works with it). Default true. */
  bypass?: boolean;
}

/** [major, minor] of a version string; 0 where a part is not a number. */
function majorMinor(version: string): [number, number] {
  const [a, b] = version.split('.').map((x) => Number.parseInt(x, 10));
  return [Number.isFinite(a) ? (a as number) : 0, Number.isFinite(b) ? (b as number) : 0];
}
const atLeast = (v: [number, number], major: number, minor: number) => v[0] > major || (v[0] === major && v[1] >= minor);

/** Append to a record kept for assertions, trimmed to its last 1000 entries once it passes 2000. */
function pushBounded<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > 2000) list.splice(0, list.length - 1000);
}

export type LocalFault =
  | { kind: 'status'; status: number; times?: number; operation?: string }
  | { kind: 'hang'; times?: number; operation?: string }
  | { kind: 'delay'; ms: number; times?: number; operation?: string }
  | { kind: 'graphql-error'; message: string; code?: string; times?: number; operation?: string };

export interface RecordedLocalRequest {
  operationName: string | undefined;
  /** The headers the reference says the platform reads (§7.2). */
  headers: { 'synchronized-upsert'?: string; 'previous-standard'?: string; 'opencti-event-id'?: string; 'opencti-applicant-id'?: string };
  status: number;
  at: number;
}

/** An item of a pushed bundle that failed, as the platform's Work would report it. */
export interface WorkError {
  operation: string;
  id: string;
  message: string;
}

export interface ConnectorRecord {
  id: string;
  name: string;
  type: string;
  scope: string[];
  state: string | null;
  stateReset: boolean;
  createdAt: string;
  updatedAt: string;
  pings: number;
}

/**
 * The platform's batching protection (plat src/graphql/graphql.js, graphql-no-alias with its
 * defaults): a document may request each Mutation field at most once and each Query field at most
 * twice, so several mutations cannot be sent in one request through aliases.
 */
const ROOT_FIELD_LIMITS = { query: 2, mutation: 1 } as const;
interface FilterGroupInput {
  mode: 'and' | 'or';
  filters: { key: string[]; values: unknown[]; operator?: string | null; mode?: string | null }[];
  filterGroups: FilterGroupInput[];
}

function batchingProtection(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      const limit = node.operation === 'subscription' ? undefined : ROOT_FIELD_LIMITS[node.operation];
      if (limit === undefined) return;
      const counts = new Map<string, number>();
      const walk = (set: SelectionSetNode) => {
        for (const sel of set.selections) {
          if (sel.kind === Kind.FIELD) counts.set(sel.name.value, (counts.get(sel.name.value) ?? 0) + 1);
          else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
        }
      };
      walk(node.selectionSet);
      const type = node.operation === 'mutation' ? 'Mutation' : 'Query';
      for (const [field, n] of counts) {
        if (n > limit) context.reportError(new GraphQLError(`Allowed number of calls for ${type}.${field} has been exceeded (max: ${limit})`, { nodes: node }));
      }
    },
  };
}

/** The `opencti_operation` of a bundle item: top level, and from 6.6 also in the OpenCTI extension. */
function bundleOperation(o: Stix, inExtension: boolean): string | undefined {
  if (typeof o.opencti_operation === 'string') return o.opencti_operation;
  const ext = inExtension ? octiExt(o) : undefined;
  return ext && typeof ext.opencti_operation === 'string' ? ext.opencti_operation : undefined;
}

/** The item as an object to import, without the operation keys a pre-6.2 worker would not act on. */
function withoutOperation(o: Stix): Stix {
  if (!('opencti_operation' in o)) return o;
  const { opencti_operation: _op, merge_target_id: _t, merge_source_ids: _s, ...rest } = o;
  return rest as Stix;
}

class Functional extends GraphQLError {
  constructor(message: string, code = 'FUNCTIONAL_ERROR') {
    super(message, { extensions: { code } });
  }
}

interface Ctx {
  headers: http.IncomingHttpHeaders;
}

export class LocalPlatformEmulator {
  readonly #opts: Required<LocalEmulatorOptions>;
  readonly schema: GraphQLSchema;
  #server: http.Server | undefined;
  readonly #docs = new Map<string, { doc: DocumentNode; op: string | undefined } | { errors: readonly GraphQLError[] }>();
  /** The store: STIX objects by standard id. */
  readonly store = new Map<string, Stix>();
  /** Alternative ids (x_opencti_stix_ids / extension stix_ids) -> standard id. */
  readonly #alias = new Map<string, string>();
  /** Endpoint id -> ids of relationships from or to it. */
  readonly #rels = new Map<string, Set<string>>();
  readonly connectors = new Map<string, ConnectorRecord>();
  readonly requests: RecordedLocalRequest[] = [];
  readonly counts = { requests: 0, bundles: 0, objects: 0, merges: 0, deletes: 0, errors: 0, bundleOperations: 0 };
  /** Bundle items that failed, like the platform's Work errors (the last 1000 to 2000). */
  readonly workErrors: WorkError[] = [];
  #faults: (LocalFault & { remaining: number })[] = [];
  readonly #hung = new Set<http.ServerResponse>();
  /** Where the configured version's workers look for a bundle item's `opencti_operation`. */
  readonly #operations: 'none' | 'top-level' | 'top-level-and-extension';

  constructor(opts: LocalEmulatorOptions = {}) {
    this.#opts = { port: 0, host: '127.0.0.1', token: 'local-token', version: '6.4.0', bypass: true, ...opts };
    this.schema = buildSchema(EMULATOR_SDL);
    const v = majorMinor(this.#opts.version);
    this.#operations = atLeast(v, 6, 6) ? 'top-level-and-extension' : atLeast(v, 6, 2) ? 'top-level' : 'none';
  }

  get url(): string {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('local emulator not started: call start() first');
    return `http://${this.#opts.host === '0.0.0.0' ? '127.0.0.1' : this.#opts.host}:${a.port}`;
  }

  async start(): Promise<this> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
    const srv = this.#server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.#opts.port, this.#opts.host, () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.#hung) r.destroy();
    this.#hung.clear();
    const srv = this.#server;
    if (!srv) return;
    await new Promise<void>((r) => {
      srv.close(() => r());
      srv.closeAllConnections();
    });
    this.#server = undefined;
  }

  /** Queue a fault; faults apply in order to matching requests (`operation` = operation name). */
  injectFault(f: LocalFault): void {
    this.#faults.push({ ...f, remaining: f.times ?? 1 });
  }
  clearFaults(): void {
    this.#faults = [];
  }

  /** Find an object by standard id or by one of its alternative ids. */
  get(id: string): Stix | undefined {
    const std = this.store.has(id) ? id : this.#alias.get(id);
    return std === undefined ? undefined : this.store.get(std);
  }

  // ------------------------------------------------------------------ store
  #aliasesOf(o: Stix): string[] {
    const out: string[] = [];
    const ext = octiExt(o);
    if (ext && Array.isArray(ext.stix_ids)) for (const s of ext.stix_ids) if (typeof s === 'string') out.push(s);
    if (Array.isArray(o.x_opencti_stix_ids)) for (const s of o.x_opencti_stix_ids) if (typeof s === 'string') out.push(s);
    return out;
  }
  #endpoints(o: Stix): string[] {
    return o.type === 'relationship' ? [o.source_ref, o.target_ref].filter((x): x is string => typeof x === 'string') : [];
  }
  #put(o: Stix): void {
    const old = this.store.get(o.id);
    if (old) for (const e of this.#endpoints(old)) this.#rels.get(e)?.delete(old.id);
    this.store.set(o.id, o);
    for (const a of this.#aliasesOf(o)) if (a !== o.id) this.#alias.set(a, o.id);
    for (const e of this.#endpoints(o)) {
      let set = this.#rels.get(e);
      if (!set) this.#rels.set(e, (set = new Set()));
      set.add(o.id);
    }
  }
  #remove(id: string): void {
    const o = this.store.get(id);
    if (!o) return;
    this.store.delete(id);
    for (const a of this.#aliasesOf(o)) if (this.#alias.get(a) === id) this.#alias.delete(a);
    for (const e of this.#endpoints(o)) this.#rels.get(e)?.delete(id);
  }
  /** Relationships whose source or target is `id`. */
  #relationsOf(id: string): Stix[] {
    return [...(this.#rels.get(id) ?? [])].map((r) => this.store.get(r)).filter((r): r is Stix => r !== undefined);
  }

  #upsert(input: Stix, synchronized: boolean, previousStandard: string | undefined): void {
    let o = input;
    let existing = this.get(o.id);
    if (!existing && previousStandard) {
      const prev = this.get(previousStandard);
      if (prev) {
        this.#remove(prev.id);
        existing = prev;
      }
    } else if (existing && existing.id !== o.id) {
      // The id is an alternative id of another object (e.g. a merged-away source): the platform
      // upserts into that object, which keeps its own standard id.
      o = { ...o, id: existing.id, extensions: existing.extensions };
    }
    if (existing && existing.id !== o.id) this.#remove(existing.id);
    if (!existing || synchronized) {
      this.#put(o);
      return;
    }
    // A plain upsert only adds or replaces values; removed fields persist (pitfall 6).
    const merged: Stix = { ...existing };
    for (const [k, v] of Object.entries(o)) {
      const old = merged[k];
      merged[k] = Array.isArray(v) && Array.isArray(old) ? [...new Set([...(old as unknown[]), ...v])] : v;
    }
    this.#put(merged);
  }

  #delete(id: string): string {
    const o = this.get(id);
    if (!o) throw new Functional(`Cannot delete the stix element, ${id} cannot be found.`);
    this.#remove(o.id);
    for (const r of this.#relationsOf(o.id)) this.#remove(r.id);
    this.counts.deletes++;
    return o.id;
  }

  #merge(targetId: string, sourceIds: readonly (string | null)[]): { __typename: string; id: string; standard_id: string; entity_type: string } {
    const target = this.get(targetId);
    const sources = sourceIds.map((s) => (s === null ? undefined : this.get(s)));
    if (!target || sources.some((s) => s === undefined)) throw new Functional('Cannot access all entities for merging');
    if (sources.some((s) => s?.id === target.id)) throw new Functional('Cannot merge an entity on itself, same ID detected');
    const next: Stix = structuredClone(target);
    const ext = (octiExt(next) ?? {}) as Record<string, unknown>;
    const ids = Array.isArray(ext.stix_ids) ? [...(ext.stix_ids as string[])] : [];
    for (const s of sources as Stix[]) {
      // Like the platform (middleware.js#mergeEntitiesRaw), the target keeps each source's standard
      // id and the source's own alternative ids, so any id of a merged object still resolves.
      for (const id of [s.id, ...this.#aliasesOf(s)]) if (id !== target.id && !ids.includes(id)) ids.push(id);
      this.#remove(s.id);
      for (const r of this.#relationsOf(s.id)) {
        const moved: Stix = { ...r };
        if (moved.source_ref === s.id) moved.source_ref = target.id;
        if (moved.target_ref === s.id) moved.target_ref = target.id;
        this.#put(moved);
      }
    }
    ext.stix_ids = ids;
    next.extensions = { ...((next.extensions as Record<string, unknown>) ?? {}), [OCTI_EXT]: ext };
    this.#put(next);
    this.counts.merges++;
    const internal = typeof ext.id === 'string' ? ext.id : target.id;
    return { __typename: graphqlTypeFor(target.type), id: internal, standard_id: target.id, entity_type: String(ext.type ?? target.type) };
  }

  /** A bundle item that is an operation: applied like a worker does, a failure recorded, not thrown. */
  #bundleOperation(operation: string, o: Stix): void {
    this.counts.bundleOperations++;
    try {
      if (operation === 'delete') this.#delete(o.id);
      else if (operation === 'merge') {
        const target = typeof o.merge_target_id === 'string' ? o.merge_target_id : o.id;
        const sources = Array.isArray(o.merge_source_ids) ? (o.merge_source_ids as unknown[]).filter((x): x is string => typeof x === 'string') : [];
        this.#merge(target, sources);
      } else throw new Functional(`Unsupported bundle operation ${operation}`);
    } catch (e) {
      pushBounded(this.workErrors, { operation, id: o.id, message: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * stixCoreObjects, for the one filter the synchronizer uses: key `ids`, operator eq, values or-ed.
   * The platform's special key also matches internal ids; the emulator matches standard and
   * alternative ids only (the synchronizer only knows STIX ids). Any other filter is refused with an
   * error that names it rather than silently ignored.
   */
  #coreObjects(first: number, filters: FilterGroupInput | undefined) {
    let wanted: unknown[] | undefined;
    if (filters) {
      if (filters.filterGroups.length > 0 || filters.filters.length !== 1) throw new Functional('The emulator supports one filter (key ids) and no filter groups', 'UNSUPPORTED_ERROR');
      const [f] = filters.filters;
      if (!f || f.key.length !== 1 || f.key[0] !== 'ids' || (f.operator ?? 'eq') !== 'eq' || (f.mode ?? 'or') !== 'or') throw new Functional(`The emulator supports only the ids filter key with operator eq and mode or, not ${JSON.stringify(f)}`, 'UNSUPPORTED_ERROR');
      wanted = f.values;
    }
    const found = new Map<string, Stix>();
    const candidates = wanted === undefined ? this.store.values() : wanted.flatMap((v) => (typeof v === 'string' ? [this.get(v)] : []));
    for (const o of candidates) {
      if (!o || o.type === 'relationship' || o.type === 'sighting') continue;
      found.set(o.id, o);
      if (found.size >= first) break;
    }
    const edges = [...found.values()].map((o) => {
      const ext = octiExt(o);
      const internal = ext && typeof ext.id === 'string' ? ext.id : o.id;
      return { cursor: internal, node: { __typename: graphqlTypeFor(o.type), id: internal, standard_id: o.id, entity_type: String(ext?.type ?? o.type) } };
    });
    return { edges, pageInfo: { startCursor: edges[0]?.cursor ?? '', endCursor: edges.at(-1)?.cursor ?? '', hasNextPage: false, hasPreviousPage: false, globalCount: edges.length } };
  }

  // ------------------------------------------------------------------ resolvers
  #connectorView(c: ConnectorRecord) {
    return {
      id: c.id,
      name: c.name,
      active: true,
      auto: false,
      only_contextual: false,
      connector_type: c.type,
      connector_scope: c.scope,
      connector_state: c.state,
      connector_state_reset: c.stateReset,
      connector_user_id: '88ec0c6a-13ce-5e39-b486-354fe4a7084f',
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      config: {
        connection: { host: 'rabbitmq', vhost: '/', use_ssl: false, port: 5672, user: 'guest', pass: 'guest' },
        listen: `listen_${c.id}`,
        listen_routing: `listen_routing_${c.id}`,
        listen_exchange: 'amqp.connector.exchange',
        push: `push_${c.id}`,
        push_routing: `push_routing_${c.id}`,
        push_exchange: 'amqp.worker.exchange',
      },
    };
  }

  #root(ctx: Ctx) {
    const header = (n: string) => {
      const v = ctx.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const connector = (id: string) => {
      const c = this.connectors.get(id);
      if (!c) throw new Functional(`Connector ${id} not found`, 'NOT_FOUND');
      return c;
    };
    return {
      about: () => ({ version: this.#opts.version }),
      settings: () => ({ id: 'settings', platform_title: 'OpenCTI emulator' }),
      me: () => ({ id: '88ec0c6a-13ce-5e39-b486-354fe4a7084f', name: 'admin', user_email: 'admin@opencti.io', capabilities: this.#opts.bypass ? [{ id: 'cap-bypass', name: 'BYPASS' }] : [{ id: 'cap-knowledge', name: 'KNOWLEDGE' }] }),
      stix: ({ id }: { id: string }) => {
        const o = this.get(id);
        return o ? JSON.stringify(o) : null;
      },
      stixCoreObjectRaw: ({ id }: { id: string }) => {
        const o = this.get(id);
        return o ? JSON.stringify(o) : null;
      },
      stixCoreObjects: ({ first, filters }: { first?: number | null; filters?: FilterGroupInput | null }) => this.#coreObjects(first ?? 500, filters ?? undefined),
      connector: ({ id }: { id: string }) => {
        const c = this.connectors.get(id);
        return c ? this.#connectorView(c) : null;
      },
      connectors: () => [...this.connectors.values()].map((c) => this.#connectorView(c)),
      registerConnector: ({ input }: { input: { id: string; name: string; type: string; scope?: string[] | null } | null }) => {
        if (!input) throw new Functional('registerConnector needs an input');
        const now = new Date().toISOString();
        const c = this.connectors.get(input.id);
        if (c) {
          Object.assign(c, { name: input.name, type: input.type, scope: input.scope ?? [], updatedAt: now });
          return this.#connectorView(c);
        }
        const rec: ConnectorRecord = { id: input.id, name: input.name, type: input.type, scope: input.scope ?? [], state: null, stateReset: false, createdAt: now, updatedAt: now, pings: 0 };
        this.connectors.set(rec.id, rec);
        return this.#connectorView(rec);
      },
      pingConnector: ({ id, state }: { id: string; state?: string | null }) => {
        const c = connector(id);
        c.pings++;
        c.updatedAt = new Date().toISOString();
        if (c.stateReset) c.stateReset = false; // return the stored '' once; the client must restart
        else if (state !== undefined) c.state = state;
        return this.#connectorView(c);
      },
      resetStateConnector: ({ id }: { id: string }) => {
        const c = connector(id);
        c.state = '';
        c.stateReset = true;
        return this.#connectorView(c);
      },
      deleteConnector: ({ id }: { id: string }) => {
        connector(id);
        this.connectors.delete(id);
        return id;
      },
      stixBundlePush: ({ connectorId, bundle }: { connectorId: string; bundle: string }) => {
        connector(connectorId);
        let b: unknown;
        try {
          b = JSON.parse(bundle);
        } catch {
          throw new Functional('Invalid bundle: not JSON', 'VALIDATION_ERROR');
        }
        const objs = (b as { type?: unknown; objects?: unknown }).objects;
        if ((b as { type?: unknown }).type !== 'bundle' || !Array.isArray(objs) || objs.length === 0) throw new Functional('Invalid bundle: type must be bundle with objects', 'VALIDATION_ERROR');
        for (const o of objs) if (!o || typeof o !== 'object' || typeof (o as Stix).id !== 'string' || typeof (o as Stix).type !== 'string') throw new Functional('Invalid bundle: every object needs an id and a type', 'VALIDATION_ERROR');
        const synchronized = this.#opts.bypass && header('synchronized-upsert') === 'true';
        const prev = header('previous-standard');
        for (const o of objs as Stix[]) {
          const operation = this.#operations === 'none' ? undefined : bundleOperation(o, this.#operations === 'top-level-and-extension');
          if (operation === undefined) this.#upsert(withoutOperation(o), synchronized, prev);
          else this.#bundleOperation(operation, o);
        }
        this.counts.bundles++;
        this.counts.objects += objs.length;
        return true;
      },
      stixEdit: ({ id }: { id: string }) => ({
        delete: () => this.#delete(id),
        merge: ({ stixObjectsIds }: { stixObjectsIds: readonly (string | null)[] }) => this.#merge(id, stixObjectsIds),
      }),
      stixCoreObjectEdit: ({ id }: { id: string }) => ({ delete: () => this.#delete(id) }),
    };
  }

  // ------------------------------------------------------------------ http
  #takeFault(op: string | undefined): (LocalFault & { remaining: number }) | undefined {
    const f = this.#faults.find((x) => x.remaining > 0 && (x.operation === undefined || x.operation === op));
    if (f) {
      f.remaining--;
      this.#faults = this.#faults.filter((x) => x.remaining > 0);
    }
    return f;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, op: string | undefined) => {
      pushBounded(this.requests, {
        operationName: op,
        headers: Object.fromEntries(['synchronized-upsert', 'previous-standard', 'opencti-event-id', 'opencti-applicant-id'].filter((h) => typeof req.headers[h] === 'string').map((h) => [h, req.headers[h] as string])),
        status,
        at: Date.now(),
      });
      if (status >= 400) this.counts.errors++;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
      res.end(text);
    };
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/graphql' || req.method !== 'POST') return send(404, 'Not found', undefined);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.counts.requests++;
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return send(400, { errors: [{ message: 'Body is not JSON' }] }, undefined);
    }
    if (typeof body.query !== 'string') return send(400, { errors: [{ message: 'Missing query' }] }, undefined);
    let cached = this.#docs.get(body.query);
    if (!cached) {
      try {
        const doc = parse(body.query);
        const errors = validate(this.schema, doc, [...specifiedRules, batchingProtection]);
        if (errors.length > 0) cached = { errors };
        else {
          const def = doc.definitions.find((d) => d.kind === 'OperationDefinition');
          cached = { doc, op: def && def.kind === 'OperationDefinition' ? def.name?.value : undefined };
        }
      } catch (e) {
        cached = { errors: [e instanceof GraphQLError ? e : new GraphQLError(String(e))] };
      }
      this.#docs.set(body.query, cached);
    }
    if ('errors' in cached) return send(400, { errors: cached.errors.map((e) => ({ message: e.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) }, undefined);
    const op = cached.op;
    const fault = this.#takeFault(op);
    if (fault) {
      if (fault.kind === 'status') return send(fault.status, fault.status >= 500 ? 'Bad Gateway' : 'error', op);
      if (fault.kind === 'hang') {
        this.#hung.add(res);
        res.on('close', () => this.#hung.delete(res));
        return;
      }
      if (fault.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
      if (fault.kind === 'graphql-error') return send(200, { errors: [{ message: fault.message, extensions: { code: fault.code ?? 'FUNCTIONAL_ERROR' } }], data: null }, op);
    }
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${this.#opts.token}`) {
      return send(200, { errors: [{ message: 'You must be logged in to do this.', name: 'AUTH_REQUIRED', extensions: { code: 'AUTH_REQUIRED' } }], data: null }, op);
    }
    const variables = body.variables && typeof body.variables === 'object' ? (body.variables as Record<string, unknown>) : {};
    const result = await execute({ schema: this.schema, document: cached.doc, rootValue: this.#root({ headers: req.headers }), variableValues: variables, operationName: typeof body.operationName === 'string' ? body.operationName : undefined });
    const errors = result.errors?.map((e) => ({ message: e.message, extensions: e.extensions, path: e.path }));
    send(200, errors ? { errors, data: result.data ?? null } : { data: result.data }, op);
  }
}
