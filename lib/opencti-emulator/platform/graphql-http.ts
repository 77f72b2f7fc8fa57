/**
 * The platform emulator's GraphQL endpoint: `POST /graphql` over node:http, every document validated
 * against the profile's schema plus the platform's batching protection, Bearer authentication, the
 * headers the platform reads recorded per request, and faults tests can inject.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, Kind, buildSchema, execute, parse, specifiedRules, validate, type ASTVisitor, type DocumentNode, type GraphQLSchema, type SelectionSetNode, type ValidationContext } from 'graphql';

/**
 * The platform's batching protection (plat src/graphql/graphql.js, graphql-no-alias with its
 * defaults): a document may request each Mutation field at most once and each Query field at most
 * twice, so several mutations cannot be sent in one request through aliases.
 */
const ROOT_FIELD_LIMITS = { query: 2, mutation: 1 } as const;

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

export type GraphqlFault =
  | { kind: 'status'; status: number; times?: number; operation?: string }
  | { kind: 'hang'; times?: number; operation?: string }
  /**
   * Answer after `ms`, or once `until` settles when given (a test holds a request in flight for
   * as long as it needs, whatever the machine's load). `onHold` is called when a request is held.
   */
  | { kind: 'delay'; ms: number; until?: Promise<unknown>; onHold?: () => void; times?: number; operation?: string }
  | { kind: 'graphql-error'; message: string; code?: string; times?: number; operation?: string };

export interface RecordedRequest {
  operationName: string | undefined;
  /** The headers the platform reads (httpAuthenticatedContext). */
  headers: Record<string, string>;
  status: number;
  at: number;
}

const READ_HEADERS = ['synchronized-upsert', 'previous-standard', 'opencti-event-id', 'opencti-applicant-id', 'opencti-work-id', 'opencti-draft-id'];

/** An error the resolvers raise with a platform error code. */
export class CodedError extends GraphQLError {
  constructor(message: string, code: string) {
    super(message, { extensions: { code } });
  }
}

export interface RequestContext {
  headers: http.IncomingHttpHeaders;
  token: string | undefined;
  header(name: string): string | undefined;
}

export class GraphqlHttp {
  readonly schema: GraphQLSchema;
  readonly requests: RecordedRequest[] = [];
  readonly #docs = new Map<string, { doc: DocumentNode; op: string | undefined } | { errors: readonly GraphQLError[] }>();
  readonly #root: (ctx: RequestContext) => Record<string, unknown>;
  #faults: (GraphqlFault & { remaining: number })[] = [];
  readonly #hung = new Set<http.ServerResponse>();
  #server: http.Server | undefined;

  constructor(sdl: string, root: (ctx: RequestContext) => Record<string, unknown>) {
    this.schema = buildSchema(sdl);
    this.#root = root;
  }

  url(host: string): string {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('the platform emulator is not started: call start() first');
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${a.port}`;
  }

  async listen(port: number, host: string): Promise<void> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
    const srv = this.#server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => resolve());
    });
  }

  async close(): Promise<void> {
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

  /** Queue a fault; faults apply in order to matching requests (`operation` = the operation name). */
  injectFault(f: GraphqlFault): void {
    this.#faults.push({ ...f, remaining: f.times ?? 1 });
  }
  clearFaults(): void {
    this.#faults = [];
  }

  #takeFault(op: string | undefined): (GraphqlFault & { remaining: number }) | undefined {
    const f = this.#faults.find((x) => x.remaining > 0 && (x.operation === undefined || x.operation === op));
    if (f) {
      f.remaining--;
      this.#faults = this.#faults.filter((x) => x.remaining > 0);
    }
    return f;
  }

  #compile(query: string): { doc: DocumentNode; op: string | undefined } | { errors: readonly GraphQLError[] } {
    let cached = this.#docs.get(query);
    if (cached) return cached;
    try {
      const doc = parse(query);
      const errors = validate(this.schema, doc, [...specifiedRules, batchingProtection]);
      if (errors.length > 0) cached = { errors };
      else {
        const def = doc.definitions.find((d) => d.kind === 'OperationDefinition');
        cached = { doc, op: def && def.kind === 'OperationDefinition' ? def.name?.value : undefined };
      }
    } catch (e) {
      cached = { errors: [e instanceof GraphQLError ? e : new GraphQLError(String(e))] };
    }
    this.#docs.set(query, cached);
    return cached;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, op: string | undefined) => {
      this.requests.push({ operationName: op, headers: Object.fromEntries(READ_HEADERS.filter((h) => typeof req.headers[h] === 'string').map((h) => [h, req.headers[h] as string])), status, at: Date.now() });
      if (this.requests.length > 4000) this.requests.splice(0, 2000);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if ((req.url ?? '/').split('?')[0] !== '/graphql' || req.method !== 'POST') return send(404, 'Not found', undefined);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return send(400, { errors: [{ message: 'Body is not JSON' }] }, undefined);
    }
    if (typeof body.query !== 'string') return send(400, { errors: [{ message: 'Missing query' }] }, undefined);
    const compiled = this.#compile(body.query);
    if ('errors' in compiled) return send(400, { errors: compiled.errors.map((e) => ({ message: e.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) }, undefined);
    const op = compiled.op;
    const fault = this.#takeFault(op);
    if (fault) {
      if (fault.kind === 'status') return send(fault.status, fault.status >= 500 ? 'Bad Gateway' : 'error', op);
      if (fault.kind === 'hang') {
        this.#hung.add(res);
        res.on('close', () => this.#hung.delete(res));
        return;
      }
      if (fault.kind === 'delay') {
        fault.onHold?.();
        await (fault.until ?? new Promise((r) => setTimeout(r, fault.ms)));
      }
      if (fault.kind === 'graphql-error') return send(200, { errors: [{ message: fault.message, extensions: { code: fault.code ?? 'FUNCTIONAL_ERROR' } }], data: null }, op);
    }
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const header = (n: string) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const variables = body.variables && typeof body.variables === 'object' ? (body.variables as Record<string, unknown>) : {};
    const result = await execute({ schema: this.schema, document: compiled.doc, rootValue: this.#root({ headers: req.headers, token, header }), variableValues: variables });
    const errors = result.errors?.map((e) => ({ message: e.message, name: (e.extensions?.code as string | undefined) ?? undefined, extensions: e.extensions, path: e.path }));
    send(200, errors ? { errors, data: result.data ?? null } : { data: result.data }, op);
  }
}
