// The emulator's HTTP API: routes, methods, envelopes and error texts of Pebble's daemon
// (pebble-charmcraft.md 1.2-1.4, 1.9). Request bodies are validated with zod; answers are written
// with Pebble's field order and always as application/json (except a file read).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { encodeMultipart, newBoundary, parseHeaderParams, parseMultipart, MultipartError } from '@juju-ts/ops';
import { GoJsonError, decodeGoJson, goBool, goInt, goString, goStrings, type GoType } from './gojson.js';
import { formatGoDuration, parseGoDuration, statusText } from './gotext.js';
import type { Change } from './changes.js';
import { ChecksNotFound } from './checks.js';
import { fileErrorStatus, toFileError, type ContainerFiles, type FileResult } from './files.js';
import type { PlanModel } from './layers.js';
import { renderPlanObject, renderPlanYaml } from './plan-yaml.js';
import { runtimeRoutes } from './api-runtime.js';
import { execRoutes, type ExecRegistry } from './api-exec.js';
import type { NoticeStore } from './notices.js';
import type { OutputBuffer } from './processes.js';
import type { CheckManager } from './checks.js';
import type { ServiceManager } from './services.js';
import type { StateEngine } from './changes.js';

/** What the API needs from the emulator. */
export interface ApiBackend {
  readonly version: string;
  readonly bootId: string;
  readonly engine: StateEngine;
  readonly serviceManager: ServiceManager;
  readonly checkManager: CheckManager;
  readonly files: ContainerFiles;
  readonly notices: NoticeStore;
  /** Exec executions in progress and their processes. */
  readonly execs: ExecRegistry;
  /** Each started service's output buffer (GET /v1/logs). */
  logBuffers(): Map<string, OutputBuffer>;
  currentPlan(): PlanModel;
  addLayer(label: string, layerYaml: string, combine: boolean): void;
  /** Build the change for a service action; throws ApiError for a bad request. */
  servicesAction(action: string, services: string[]): Change;
}

/** An error answer: status, Pebble's message and optional kind. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly kind?: string,
  ) {
    super(message);
  }
}

export const bad = (message: string, kind?: string) => new ApiError(400, message, kind);

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function envelope(type: 'sync' | 'async' | 'error', status: number, fields: { change?: string; result?: unknown }): Reply {
  // Field order of Pebble's respJSON: type, status-code, status, change, result.
  const body: Record<string, unknown> = { type, 'status-code': status, status: statusText(status) };
  if (fields.change !== undefined) body['change'] = fields.change;
  if ('result' in fields) body['result'] = fields.result;
  return { status, body };
}

export const syncReply = (result: unknown, status = 200): Reply => envelope('sync', status, { result });
export const asyncReply = (change: string, result: unknown = null): Reply => envelope('async', 202, { change, result });
export function errorReply(status: number, message: string, kind?: string, value?: unknown): Reply {
  const result: Record<string, unknown> = { message };
  if (status === 401 && !kind) kind = 'login-required';
  if (kind) result['kind'] = kind;
  if (value !== undefined) result['value'] = value;
  return envelope('error', status, { result });
}

export function writeJson(res: ServerResponse, reply: Reply): void {
  const data = Buffer.from(JSON.stringify(reply.body), 'utf8');
  res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Decode a body as Pebble's json.Decoder does into the Go payload type `go` (Go's error texts
 * after `prefix`), then give it its TypeScript shape and defaults with the zod schema.
 */
export function decodeJson<S extends z.ZodType>(body: Buffer, schema: S, prefix: string, go: GoType): z.infer<S> {
  try {
    return schema.parse(decodeGoJson(body, go));
  } catch (e) {
    if (e instanceof GoJsonError) throw bad(`${prefix}: ${e.message}`);
    throw e;
  }
}

// The Go payload types (P:internals/daemon/api_*.go); anonymous structs have no name.
export const anon = (fields: Record<string, GoType>): GoType => ({ kind: 'struct', name: '', fields });
const GoOwnership = { permissions: goString, 'user-id': goInt, user: goString, 'group-id': goInt, group: goString };
const GO_LAYERS = anon({ action: goString, combine: goBool, inner: goBool, label: goString, format: goString, layer: goString });
const GO_SERVICES = anon({ action: goString, services: goStrings });
const GO_CHECKS = anon({ action: goString, checks: goStrings });
const GO_CHANGE = anon({ action: goString });
const GO_FILES = anon({
  action: goString,
  dirs: { kind: 'slice', name: '[]daemon.makeDirsItem', elem: { kind: 'struct', name: 'makeDirsItem', fields: { path: goString, 'make-parents': goBool, ...GoOwnership } } },
  paths: { kind: 'slice', name: '[]daemon.removePathsItem', elem: { kind: 'struct', name: 'removePathsItem', fields: { path: goString, recursive: goBool } } },
});
const GO_WRITE = anon({
  action: goString,
  files: { kind: 'slice', name: '[]daemon.writeFilesItem', elem: { kind: 'struct', name: 'writeFilesItem', fields: { path: goString, 'make-dirs': goBool, ...GoOwnership } } },
});

/** strutil.MultiCommaSeparatedList: split every value on commas, trim, drop empties. */
export function multiComma(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

const LayersBody = z.object({
  action: z.string().optional().default(''),
  combine: z.boolean().optional().default(false),
  inner: z.boolean().optional().default(false),
  label: z.string().optional().default(''),
  format: z.string().optional().default(''),
  layer: z.string().optional().default(''),
});
const ServicesBody = z.object({
  action: z.string().optional().default(''),
  services: z.array(z.string()).nullable().optional(),
});
const ChecksBody = z.object({
  action: z.string().optional().default(''),
  checks: z.array(z.string()).nullable().optional(),
});
const ChangeBody = z.object({ action: z.string().optional().default('') });
/** Mode and ownership fields shared by write and make-dirs items (ownership is not applied). */
const FileAttrs = {
  path: z.string().optional().default(''),
  permissions: z.string().optional(),
  'user-id': z.number().nullable().optional(),
  user: z.string().optional(),
  'group-id': z.number().nullable().optional(),
  group: z.string().optional(),
};
const FilesJsonBody = z.object({
  action: z.string().optional().default(''),
  dirs: z.array(z.object({ ...FileAttrs, 'make-parents': z.boolean().optional() })).nullable().optional(),
  paths: z
    .array(z.object({ path: z.string().optional().default(''), recursive: z.boolean().optional() }))
    .nullable()
    .optional(),
});
const WriteMeta = z.object({
  action: z.string().optional().default(''),
  files: z.array(z.object({ ...FileAttrs, 'make-dirs': z.boolean().optional() })).nullable().optional(),
});

export type Handler = (req: IncomingMessage, url: URL, params: string[], res: ServerResponse) => Promise<Reply | null>;

export interface Route {
  pattern: RegExp;
  methods: Partial<Record<'GET' | 'POST' | 'PUT', Handler>>;
}

const notImplemented: Handler = async (req, url) =>
  errorReply(500, `${req.method ?? ''} ${url.pathname} is not implemented by the Pebble emulator`);

function fileResult(path: string, err?: unknown): FileResult {
  return err === undefined ? { path } : { path, error: toFileError(err) };
}

/** Build the request listener for a backend. */
export function createApi(b: ApiBackend): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: Route[] = [
    {
      pattern: /^\/v1\/system-info$/,
      methods: { GET: async () => syncReply({ 'boot-id': b.bootId, version: b.version }) },
    },
    {
      pattern: /^\/v1\/health$/,
      methods: {
        GET: async (_req, url) => {
          const level = url.searchParams.get('level') ?? '';
          if (!['', 'alive', 'ready'].includes(level)) throw bad('level must be "alive" or "ready"');
          const names = multiComma(url.searchParams.getAll('names'));
          const plan = b.currentPlan();
          let healthy = true;
          for (const c of b.checkManager.infos()) {
            const checkLevel = plan.checks.get(c.name)?.level ?? c.level ?? '';
            const levelMatch = level === '' || level === checkLevel || (level === 'ready' && checkLevel === 'alive');
            const nameMatch = names.length === 0 || names.includes(c.name);
            if (levelMatch && nameMatch && c.status === 'down') healthy = false;
          }
          return syncReply({ healthy }, healthy ? 200 : 502);
        },
      },
    },
    {
      pattern: /^\/v1\/changes$/,
      methods: {
        GET: async (_req, url) => {
          const select = url.searchParams.get('select') || 'in-progress';
          if (!['all', 'in-progress', 'ready'].includes(select)) throw bad('select should be one of: all,in-progress,ready');
          const wanted = url.searchParams.get('for') ?? '';
          const out = [...b.engine.changes.values()]
            .filter((c) => select === 'all' || (select === 'ready') === c.ready)
            .filter((c) => !wanted || (Array.isArray(c.attrs['service-names']) && (c.attrs['service-names'] as string[]).includes(wanted)))
            .map((c) => c.toJSON());
          // Pebble collects the changes from a Go map, so their order is unspecified; shuffling
          // keeps a client (or a test) from relying on one (P:internals/daemon/api_changes.go).
          return syncReply(shuffle(out));
        },
      },
    },
    {
      pattern: /^\/v1\/changes\/([^/]+)$/,
      methods: {
        GET: async (_req, _url, [id]) => syncReply(findChange(b, id!).toJSON()),
        POST: async (req, _url, [id]) => {
          const change = findChange(b, id!);
          const body = decodeJson(await readBody(req), ChangeBody, 'cannot decode data from request body', GO_CHANGE);
          if (body.action !== 'abort') throw bad(`invalid action ${JSON.stringify(body.action)}`);
          if (change.ready) throw bad(`cannot abort change ${id!} with nothing pending`);
          change.abort();
          b.engine.ensure();
          return syncReply(change.toJSON());
        },
      },
    },
    {
      pattern: /^\/v1\/changes\/([^/]+)\/wait$/,
      methods: {
        GET: async (req, url, [id]) => {
          const change = findChange(b, id!);
          let timeoutNs = 0;
          const raw = url.searchParams.get('timeout') ?? '';
          if (raw !== '') {
            try {
              timeoutNs = parseGoDuration(raw);
            } catch (e) {
              throw bad(`invalid timeout: ${(e as Error).message}`);
            }
          }
          // The wait runs on real time: it is the HTTP client's deadline, not supervision.
          const outcome = await new Promise<'ready' | 'timeout' | 'cancelled'>((resolve) => {
            let timer: NodeJS.Timeout | undefined;
            const finish = (o: 'ready' | 'timeout' | 'cancelled') => {
              if (timer) clearTimeout(timer);
              req.socket.off('close', onClose);
              resolve(o);
            };
            const onClose = () => finish('cancelled');
            req.socket.once('close', onClose);
            if (timeoutNs > 0) timer = setTimeout(() => finish('timeout'), timeoutNs / 1e6);
            void change.whenReady().then(() => finish('ready'));
          });
          if (outcome === 'cancelled') return null;
          if (outcome === 'timeout') {
            return errorReply(504, `timed out waiting for change after ${formatGoDuration(timeoutNs)}`);
          }
          return syncReply(change.toJSON());
        },
      },
    },
    {
      pattern: /^\/v1\/services$/,
      methods: {
        GET: async (_req, url) => syncReply(b.serviceManager.infos(multiComma(url.searchParams.getAll('names')))),
        POST: async (req) => {
          const body = decodeJson(await readBody(req), ServicesBody, 'cannot decode data from request body', GO_SERVICES);
          const change = b.servicesAction(body.action, body.services ?? []);
          return asyncReply(change.id);
        },
      },
    },
    {
      pattern: /^\/v1\/services\/([^/]+)$/,
      methods: {
        GET: async () => errorReply(400, 'not implemented'),
        POST: async () => errorReply(400, 'not implemented'),
      },
    },
    {
      pattern: /^\/v1\/plan$/,
      methods: {
        GET: async (_req, url) => {
          const format = url.searchParams.get('format') ?? '';
          // format=json is an emulator extension; real Pebble accepts only yaml.
          if (format === 'json') return syncReply(renderPlanObject(b.currentPlan()));
          if (format !== 'yaml') throw bad(`invalid format ${JSON.stringify(format)}`);
          return syncReply(renderPlanYaml(b.currentPlan()));
        },
      },
    },
    {
      pattern: /^\/v1\/layers$/,
      methods: {
        POST: async (req) => {
          const body = decodeJson(await readBody(req), LayersBody, 'cannot decode request body', GO_LAYERS);
          if (body.action !== 'add') throw bad(`invalid action ${JSON.stringify(body.action)}`);
          if (body.label === '') throw bad('label must be set');
          if (body.format !== 'yaml') throw bad(`invalid format ${JSON.stringify(body.format)}`);
          b.addLayer(body.label, body.layer, body.combine);
          return syncReply(true);
        },
      },
    },
    {
      pattern: /^\/v1\/files$/,
      methods: {
        GET: async (req, url, _p, res) => {
          const action = url.searchParams.get('action') ?? '';
          if (action === 'read') {
            const paths = url.searchParams.getAll('path');
            if (paths.length === 0) throw bad('must specify one or more paths');
            if (req.headers['accept'] !== 'multipart/form-data') throw bad('must accept multipart/form-data');
            await readFiles(b.files, paths, res);
            return null;
          }
          if (action === 'list') {
            const path = url.searchParams.get('path') ?? '';
            if (path === '') throw bad('must specify path');
            const itself = url.searchParams.get('itself') ?? '';
            if (!['true', 'false', ''].includes(itself)) throw bad('itself parameter must be "true" or "false"');
            if (!path.startsWith('/')) throw bad(`path must be absolute, got ${JSON.stringify(path)}`);
            try {
              return syncReply(await b.files.list(path, url.searchParams.get('pattern') ?? '', itself === 'true'));
            } catch (e) {
              const fe = toFileError(e);
              return errorReply(fileErrorStatus(e), fe.message, fe.kind);
            }
          }
          throw bad(`invalid action ${JSON.stringify(action)}`);
        },
        POST: async (req) => {
          const contentType = req.headers['content-type'] ?? '';
          const { value: mediaType, params } = parseHeaderParams(contentType);
          if (mediaType === 'multipart/form-data') {
            const boundary = params['boundary'] ?? '';
            if (boundary.length < 32) throw bad(`invalid boundary ${JSON.stringify(boundary)}`);
            return writeFiles(b.files, await readBody(req), boundary);
          }
          if (mediaType === 'application/json') {
            const body = decodeJson(await readBody(req), FilesJsonBody, 'cannot decode request body', GO_FILES);
            if (body.action === 'make-dirs') {
              const out: FileResult[] = [];
              for (const dir of body.dirs ?? []) {
                try {
                  await b.files.makeDir(dir);
                  out.push(fileResult(dir.path));
                } catch (e) {
                  out.push(fileResult(dir.path, e));
                }
              }
              return syncReply(out);
            }
            if (body.action === 'remove') {
              const out: FileResult[] = [];
              for (const item of body.paths ?? []) {
                try {
                  await b.files.remove(item);
                  out.push(fileResult(item.path));
                } catch (e) {
                  out.push(fileResult(item.path, e));
                }
              }
              return syncReply(out);
            }
            if (body.action === 'write') throw bad('must use multipart with "write" action');
            throw bad(`invalid action ${JSON.stringify(body.action)}`);
          }
          throw bad(`invalid media type ${JSON.stringify(mediaType)}`);
        },
      },
    },
    {
      pattern: /^\/v1\/checks$/,
      methods: {
        GET: async (_req, url) => {
          const level = url.searchParams.get('level') ?? '';
          if (!['', 'alive', 'ready'].includes(level)) throw bad('level must be "alive" or "ready"');
          const names = multiComma(url.searchParams.getAll('names'));
          const out = b.checkManager
            .infos()
            .filter((c) => level === '' || (c.level ?? '') === level)
            .filter((c) => names.length === 0 || names.includes(c.name));
          return syncReply(out);
        },
        POST: async (req) => {
          const body = decodeJson(await readBody(req), ChecksBody, 'cannot decode data from request body', GO_CHECKS);
          const checks = body.checks ?? [];
          if (checks.length === 0) throw bad(`must specify checks for ${body.action} action`);
          let changed: string[];
          try {
            if (body.action === 'start') changed = b.checkManager.start(checks);
            else if (body.action === 'stop') changed = b.checkManager.stop(checks);
            else throw bad(`invalid action ${JSON.stringify(body.action)}`);
          } catch (e) {
            if (e instanceof ChecksNotFound) throw bad(`cannot ${body.action} checks: ${e.message}`);
            throw e;
          }
          return syncReply({ changed: [...changed].sort() });
        },
      },
    },
    // Known Pebble endpoints the emulator does not implement: they exist (405 for a wrong method).
    { pattern: /^\/v1\/checks\/refresh$/, methods: { POST: notImplemented } },
    ...runtimeRoutes(b),
    ...execRoutes(b),
    { pattern: /^\/v1\/identities$/, methods: { GET: notImplemented, POST: notImplemented } },
    { pattern: /^\/v1\/pairing$/, methods: { POST: notImplemented } },
    { pattern: /^\/v1\/metrics$/, methods: { GET: notImplemented } },
  ];

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handle = async (): Promise<void> => {
      let route: Route | undefined;
      let params: string[] = [];
      for (const r of routes) {
        const m = r.pattern.exec(url.pathname);
        if (m) {
          route = r;
          params = m.slice(1).map((p) => decodeURIComponent(p));
          break;
        }
      }
      if (!route) return writeJson(res, errorReply(404, 'invalid API endpoint requested'));
      const method = req.method ?? 'GET';
      const handler = route.methods[method as 'GET' | 'POST' | 'PUT'];
      if (!handler) return writeJson(res, errorReply(405, `method ${JSON.stringify(method)} not allowed`));
      try {
        const reply = await handler(req, url, params, res);
        if (reply && !res.headersSent) writeJson(res, reply);
      } catch (e) {
        if (res.headersSent) return;
        if (e instanceof ApiError) writeJson(res, errorReply(e.status, e.message, e.kind));
        else writeJson(res, errorReply(500, (e as Error).message));
      }
    };
    void handle().catch(() => {
      if (!res.headersSent) res.destroy();
    });
  };
}

/** Fisher-Yates, in place. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function findChange(b: ApiBackend, id: string): Change {
  const change = b.engine.changes.get(id);
  if (!change) throw new ApiError(404, `cannot find change with id ${JSON.stringify(id)}`);
  return change;
}

/** GET /v1/files?action=read: 200 multipart, one `files` part per file, then `response`. */
async function readFiles(files: ContainerFiles, paths: string[], res: ServerResponse): Promise<void> {
  const boundary = newBoundary();
  const parts: Parameters<typeof encodeMultipart>[1] = [];
  const result: FileResult[] = [];
  for (const p of paths) {
    try {
      const content = await files.read(p);
      parts.push({ name: 'files', filename: p, contentType: 'application/octet-stream', body: content });
      result.push(fileResult(p));
    } catch (e) {
      result.push(fileResult(p, e));
    }
  }
  const meta = { type: 'sync', 'status-code': 200, status: 'OK', result };
  parts.push({ name: 'response', contentType: 'application/json', body: JSON.stringify(meta) + '\n' });
  const body = encodeMultipart(boundary, parts);
  res.writeHead(200, { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length });
  res.end(body);
}

/** POST /v1/files multipart: a `request` part with the metadata, then one `files` part each. */
async function writeFiles(files: ContainerFiles, body: Buffer, boundary: string): Promise<Reply> {
  let parts;
  try {
    parts = parseMultipart(body, boundary);
  } catch (e) {
    if (e instanceof MultipartError) throw bad(`cannot read request metadata: ${e.message}`);
    throw e;
  }
  const [first, ...rest] = parts;
  if (!first) throw bad('cannot read request metadata: EOF');
  if (first.name !== 'request') throw bad(`metadata field name must be "request", got ${JSON.stringify(first.name)}`);
  const meta = decodeJson(first.body, WriteMeta, 'cannot decode request metadata', GO_WRITE);
  if (meta.action !== 'write') throw bad(`multipart action must be "write", got ${JSON.stringify(meta.action)}`);
  const items = meta.files ?? [];
  if (items.length === 0) throw bad('must specify one or more files');
  const infos = new Map(items.map((f) => [f.path, f]));
  const errors = new Map<string, unknown>();
  for (const part of rest) {
    if (part.name !== 'files') throw bad(`field name must be "files", got ${JSON.stringify(part.name)}`);
    const p = part.filename ?? '';
    const info = infos.get(p);
    if (!info) throw bad(`no metadata for path ${JSON.stringify(p)}`);
    try {
      await files.write(info, part.body);
      errors.set(p, undefined);
    } catch (e) {
      errors.set(p, e);
    }
  }
  const result = items.map((f) =>
    errors.has(f.path) ? fileResult(f.path, errors.get(f.path)) : fileResult(f.path, new Error(`no file content for path ${JSON.stringify(f.path)}`)),
  );
  return syncReply(result);
}

