/**
 * Remote OpenCTI emulator: the live stream server (opencti-stream.md §1.3, §2, §7.1) over a
 * retained, append-only event log, with Bearer auth, heartbeats, the `connected` event, exclusive
 * start from `from` (query > header) or Last-Event-ID, and fault injection.
 *
 * Recovery (`recover` after `from`) replays the current objects first (recovery.ts), then the log
 * after the recover id. Files attached to objects are served by `GET /storage/get/<path>` with the
 * same Bearer auth (plat: the storage route, opencti-stream.md §3.4 and pitfall 7). Not emulated:
 * dependency resolution on live events, collection filters.
 */
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { StixEventGenerator } from './generator.js';
import { recoveryFrames, type RecoveryFrame } from './recovery.js';
import { OCTI_EXT, applyEventToTable, octiExt, type Stix, type StreamEventData } from './stix.js';

export interface RemoteEmulatorOptions {
  port?: number;
  host?: string;
  /** token -> capabilities. Default: `remote-token` with BYPASS. */
  tokens?: Record<string, { bypass: boolean }>;
  /** Heartbeat period in ms (the real default is 5000). */
  heartbeatMs?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Stream collections besides `live`. */
  collections?: Record<string, { live: boolean; public?: boolean }>;
}

export interface RecordedStreamRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased headers; `authorization` is recorded as `Bearer <redacted>` when present. */
  headers: Record<string, string>;
  status: number;
  at: number;
}

interface Entry {
  id: string;
  ms: number;
  seq: number;
  type: string;
  version: number;
  scope: string;
  /** The whole SSE frame, as the bytes written (encoded once, not on every delivery). */
  frame: Buffer;
  /** Fault injection: delivered even if the server would filter it (old version, internal). */
  forced: boolean;
}

interface Conn {
  id: string;
  token: string | undefined;
  res: http.ServerResponse;
  lastId: string | undefined;
  cursor: number;
  sent: number;
  dropAfter: { events: number; partial: boolean } | undefined;
  delayMs: number;
  closed: boolean;
  listenDelete: boolean;
  /** Recovery mode: the frames still to send before the log (undefined once sent, or without recovery). */
  recovery: Generator<RecoveryFrame> | undefined;
}

/** Wait for 'drain' or 'close', removing both listeners afterwards. */
function drainOrClose(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function parseId(id: string): [number, number] {
  const [a = '0', b = '0'] = id.split('-');
  return [Number(a), Number(b)];
}
function idLess(ams: number, aseq: number, bms: number, bseq: number): boolean {
  return ams < bms || (ams === bms && aseq < bseq);
}

/** opencti-stream.md §1.3 #convertParameterToStreamId. Undefined = "now" (live tail only). */
export function convertStreamParameter(v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === '0' || v === '0-0') return '0-0';
  if (/^\d+-\d+$/.test(v)) return v;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) return undefined;
  return `${ms}-0`;
}

export class RemoteStreamEmulator {
  readonly #opts: Required<Omit<RemoteEmulatorOptions, 'tls' | 'collections' | 'tokens'>> & RemoteEmulatorOptions;
  #server: http.Server | https.Server | undefined;
  #log: Entry[] = [];
  readonly #dataEvents: { id: string; type: string; stixId: string }[] = [];
  #table = new Map<string, Stix>();
  /** When each current object was last created, changed or merged into: its `updated_at` for recovery. */
  readonly #updatedAt = new Map<string, number>();
  #lastMs = 0;
  #lastSeq = -1;
  readonly #bus = new EventEmitter();
  readonly #conns = new Set<Conn>();
  #connCounter = 0;
  #stalledUntil = 0;
  #dropPlan: { events: number; partial: boolean; remaining: number } | undefined;
  #failPlan: { status: number; remaining: number } | undefined;
  /** Files served by /storage/get, by path, and requests to fail per path (fault injection). */
  readonly #files = new Map<string, Buffer>();
  readonly #fileFailures = new Map<string, { status: number; remaining: number }>();
  #generator: StixEventGenerator | undefined;
  readonly tokens: Map<string, { bypass: boolean }>;
  readonly collections: Map<string, { live: boolean; public: boolean }>;
  /** Every request received, in order (authorization redacted). */
  readonly requests: RecordedStreamRequest[] = [];
  heartbeatMs: number;

  constructor(opts: RemoteEmulatorOptions = {}) {
    this.#opts = { port: 0, host: '127.0.0.1', heartbeatMs: 5000, ...opts };
    this.heartbeatMs = this.#opts.heartbeatMs;
    this.tokens = new Map(Object.entries(opts.tokens ?? { 'remote-token': { bypass: true } }));
    this.collections = new Map(Object.entries(opts.collections ?? {}).map(([k, v]) => [k, { live: v.live, public: v.public ?? false }]));
    this.#bus.setMaxListeners(0);
  }

  get url(): string {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('remote emulator not started: call start() first');
    return `${this.#opts.tls ? 'https' : 'http'}://${this.#opts.host === '0.0.0.0' ? '127.0.0.1' : this.#opts.host}:${a.port}`;
  }

  async start(): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.#handle(req, res);
    this.#server = this.#opts.tls ? https.createServer({ key: this.#opts.tls.key, cert: this.#opts.tls.cert }, handler) : http.createServer(handler);
    const srv = this.#server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.#opts.port, this.#opts.host, () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const c of this.#conns) {
      c.closed = true;
      c.res.destroy();
    }
    this.#bus.emit('append');
    const srv = this.#server;
    if (!srv) return;
    await new Promise<void>((r) => srv.close(() => r()));
    srv.closeAllConnections();
    this.#server = undefined;
  }

  // ------------------------------------------------------------------ log
  #nextId(): { id: string; ms: number; seq: number } {
    const now = Date.now();
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#lastSeq = 0;
    } else this.#lastSeq++;
    return { id: `${this.#lastMs}-${this.#lastSeq}`, ms: this.#lastMs, seq: this.#lastSeq };
  }

  #push(type: string, version: number, scope: string, json: string, forced: boolean, withId = true): string {
    const { id, ms, seq } = this.#nextId();
    const frame = Buffer.from(withId ? `id: ${id}\nevent: ${type}\ndata: ${json}\n\n` : `event: ${type}\ndata: ${json}\n\n`);
    this.#log.push({ id, ms, seq, type, version, scope, frame, forced });
    this.#bus.emit('append');
    return id;
  }

  /** Append one event; the final-state table follows it. Returns its stream id. */
  append(ev: StreamEventData): string {
    applyEventToTable(this.#table, ev);
    const id = this.#push(ev.type, Number(ev.version), ev.scope, JSON.stringify(ev), false);
    this.#noteUpdated(ev, parseId(id)[0]);
    if (ev.scope !== 'internal' && Number(ev.version) >= 4) this.#dataEvents.push({ id, type: ev.type, stixId: ev.data.id });
    return id;
  }

  /** Keep `updated_at` of the objects an event touched (those it removed are forgotten). */
  #noteUpdated(ev: StreamEventData, ms: number): void {
    const touched = [ev.data.id, ...(ev.context?.sources ?? []).map((s) => s.id)];
    const prev = ev.context?.reverse_patch?.find((op) => op.path === '/id')?.value;
    if (typeof prev === 'string') touched.push(prev);
    for (const id of touched) {
      if (this.#table.has(id)) this.#updatedAt.set(id, ms);
      else this.#updatedAt.delete(id);
    }
  }

  /** The data events appended with append() that a synchronizer must apply, in order (retention ignored). */
  dataEvents(): readonly { id: string; type: string; stixId: string }[] {
    return this.#dataEvents;
  }

  /** Append `count` generated events (create/update/merge/delete, realistic STIX). */
  seed(count: number, seed = 1, churn = 1): { firstId: string | undefined; lastId: string | undefined } {
    this.#generator ??= new StixEventGenerator({ seed, churn });
    let firstId: string | undefined;
    let lastId: string | undefined;
    for (let i = 0; i < count; i++) {
      lastId = this.append(this.#generator.next());
      firstId ??= lastId;
    }
    return { firstId, lastId };
  }

  /**
   * Fault injection: append a message exactly as given, delivered even where the real server would
   * filter it (unknown event names, malformed JSON, version < 4, internal scope).
   */
  appendRaw(event: string, data: string, opts: { withId?: boolean } = {}): string {
    let version = 4;
    let scope = 'external';
    try {
      const j: unknown = JSON.parse(data);
      if (j && typeof j === 'object') {
        const o = j as Record<string, unknown>;
        if (o.version !== undefined) version = Number(o.version);
        if (typeof o.scope === 'string') scope = o.scope;
      }
    } catch {
      /* malformed on purpose */
    }
    return this.#push(event, version, scope, data, true, opts.withId ?? true);
  }

  /** Append an event as the server stores it but does not deliver (version < 4, or internal scope). */
  appendFiltered(ev: StreamEventData): string {
    return this.#push(ev.type, Number(ev.version), ev.scope, JSON.stringify(ev), false);
  }

  /** When a current object was last created, changed or merged into (epoch ms): its recovery id's time. */
  updatedAt(stixId: string): number | undefined {
    return this.#updatedAt.get(stixId);
  }

  /** The remote's final state: current objects by standard id. */
  table(): ReadonlyMap<string, Stix> {
    return this.#table;
  }

  get lastEventId(): string | undefined {
    return this.#log[this.#log.length - 1]?.id;
  }
  get firstEventId(): string | undefined {
    return this.#log[0]?.id;
  }
  get size(): number {
    return this.#log.length;
  }
  /** Ids of the retained log, in order. */
  eventIds(): string[] {
    return this.#log.map((e) => e.id);
  }

  /** The log's events whose text names `id` (as the object, a source, a reference): for diagnosing a test. */
  eventsMentioning(id: string): { id: string; type: string; about: string }[] {
    return this.#log
      .filter((e) => e.frame.includes(id))
      .map((e) => ({ id: e.id, type: e.type, about: /"data":\{"id":"([^"]+)"/.exec(String(e.frame))?.[1] ?? /"id":"([a-z-]+--[0-9a-f-]+)"/.exec(String(e.frame))?.[1] ?? '?' }));
  }

  /** Retention: drop all but the newest `keep` entries (a resume id before them silently skips). */
  trim(keep: number): void {
    this.#log = this.#log.slice(Math.max(0, this.#log.length - keep));
    for (const c of this.#conns) c.cursor = 0;
  }

  // ------------------------------------------------------------------ files
  /** Store a file for `/storage/get/<path>` (an object's files[].uri is `/storage/get/<path>`). */
  putFile(path: string, bytes: Buffer): void {
    this.#files.set(path, bytes);
  }
  /**
   * Attach a file of `size` bytes (deterministic content) to each of up to `count` current reports:
   * the content in the storage, and an update event that lists it in the OpenCTI extension's
   * `files`. Returns the files attached.
   */
  attachFiles(count: number, size: number): { stixId: string; name: string }[] {
    const out: { stixId: string; name: string }[] = [];
    for (const o of [...this.#table.values()].filter((x) => x.type === 'report').slice(0, count)) {
      const name = `${o.id.slice(-12)}.pdf`;
      const path = `import/${o.id}/${name}`;
      const block = createHash('sha256').update(path).digest();
      this.putFile(path, Buffer.alloc(size, block));
      const ext = (octiExt(o) ?? {}) as Record<string, unknown>;
      const files = [{ name, uri: `/storage/get/${path}`, mime_type: 'application/pdf', version: new Date().toISOString() }];
      const data: Stix = { ...o, extensions: { ...(o.extensions as Record<string, unknown> | undefined), [OCTI_EXT]: { ...ext, files } } };
      this.append({ version: '4', type: 'update', scope: 'external', message: `adds the file ${name}`, origin: {}, data });
      out.push({ stixId: o.id, name });
    }
    return out;
  }

  /** The files the current objects list (OpenCTI extension `files`, `x_opencti_files`) that the storage holds. */
  currentFiles(): { stixId: string; name: string; bytes: Buffer }[] {
    const out: { stixId: string; name: string; bytes: Buffer }[] = [];
    for (const o of this.#table.values()) {
      const lists = [octiExt(o)?.files, o.x_opencti_files].filter(Array.isArray) as Record<string, unknown>[][];
      for (const f of lists.flat()) {
        const uri = typeof f.uri === 'string' ? f.uri : '';
        const bytes = this.#files.get(uri.replace(/^\/storage\/get\//, ''));
        if (bytes) out.push({ stixId: o.id, name: String(f.name), bytes });
      }
    }
    return out;
  }

  /** Answer the next `times` requests for the file with `status` (503 by default). */
  failFile(path: string, times: number, status = 503): void {
    this.#fileFailures.set(path, { status, remaining: times });
  }

  // ------------------------------------------------------------------ faults
  /** The next `times` connections are dropped after `events` events (mid-frame when `partial`). */
  dropConnections(opts: { afterEvents: number; times?: number; partial?: boolean }): void {
    this.#dropPlan = { events: opts.afterEvents, partial: opts.partial ?? true, remaining: opts.times ?? 1 };
  }
  /** Drop every open connection now. */
  dropAll(): void {
    for (const c of this.#conns) {
      c.closed = true;
      c.res.socket?.destroy();
    }
  }
  /** Send nothing at all (no events, no heartbeats) for `ms` on every connection. */
  stall(ms: number): void {
    this.#stalledUntil = Date.now() + ms;
  }
  /** Answer the next `times` stream requests with `status` (401, 410, 500, 502, ...). */
  failConnections(status: number, times = 1): void {
    this.#failPlan = { status, remaining: times };
  }
  get activeConnections(): number {
    return this.#conns.size;
  }

  // ------------------------------------------------------------------ http
  #record(req: http.IncomingMessage, url: URL, status: number): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      headers[k] = k === 'authorization' ? (String(v).startsWith('Bearer ') ? 'Bearer <redacted>' : '<redacted>') : Array.isArray(v) ? v.join(', ') : v;
    }
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, status, at: Date.now() });
    if (this.requests.length > 5000) this.requests.splice(0, this.requests.length - 5000);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const reply = (status: number, body: string, type = 'text/plain') => {
      this.#record(req, url, status);
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const user = token !== undefined ? this.tokens.get(token) : undefined;

    const connMatch = /^\/stream\/connection\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'POST' && connMatch) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const conn = [...this.#conns].find((c) => c.id === connMatch[1]);
      if (!conn || conn.token !== token) return reply(401, JSON.stringify({ message: 'Unauthorized' }), 'application/json');
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { delay?: unknown };
        conn.delayMs = typeof body.delay === 'number' ? body.delay : 0;
      } catch {
        return reply(400, 'bad json');
      }
      return reply(200, JSON.stringify({ message: 'ok' }), 'application/json');
    }

    const file = /^\/storage\/get\/(.+)$/.exec(url.pathname);
    if (req.method === 'GET' && file) {
      if (!user) return reply(401, 'Unauthorized');
      const path = decodeURIComponent(file[1] as string);
      const fail = this.#fileFailures.get(path);
      if (fail && fail.remaining > 0) {
        fail.remaining--;
        return reply(fail.status, `injected HTTP ${fail.status}`);
      }
      const bytes = this.#files.get(path);
      if (!bytes) return reply(404, 'Not found');
      this.#record(req, url, 200);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
      res.end(bytes);
      return;
    }

    const m = /^\/stream(?:\/([^/]+))?$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return reply(404, 'Not found');
    const streamId = m[1] ?? 'raw';
    if (this.#failPlan && this.#failPlan.remaining > 0) {
      this.#failPlan.remaining--;
      return reply(this.#failPlan.status, `injected HTTP ${this.#failPlan.status}`);
    }
    if (streamId === 'raw' || streamId === 'live') {
      if (!user?.bypass) return reply(401, 'Unauthorized');
    } else {
      const col = this.collections.get(streamId);
      if (!col) return reply(401, 'Unauthorized');
      if (!col.live) return reply(410, 'This live stream is stopped');
      if (!col.public && !user) return reply(401, 'Unauthorized');
    }
    const param = (q: string, h: string) => url.searchParams.get(q) || (req.headers[h] as string | undefined) || undefined;
    const fromRaw = url.searchParams.get('from') || (req.headers.from as string | undefined) || (req.headers['last-event-id'] as string | undefined) || undefined;
    const recover = streamId === 'raw' ? undefined : param('recover', 'recover') ?? (req.headers['recover-date'] as string | undefined);
    if (recover && !fromRaw) return reply(500, 'Recovery mode is only possible with a start date.');
    const start = convertStreamParameter(fromRaw);
    const recoverId = convertStreamParameter(recover);
    // Recovery only when recover is after from (the dates of both, to the millisecond).
    const recovering = start !== undefined && recoverId !== undefined && parseId(recoverId)[0] > parseId(start)[0];
    const noDependencies = (param('no-dependencies', 'no-dependencies') ?? param('no-relationships', 'no-relationships')) === 'true';
    const listenDelete = param('listen-delete', 'listen-delete') !== 'false';
    const delayMs = Number(param('delay', 'event-delay') ?? 0) || 0;

    this.#record(req, url, 200);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'Access-Control-Allow-Origin': '*',
    });
    res.socket?.setNoDelay(true);
    const conn: Conn = {
      id: `conn-${++this.#connCounter}`,
      token,
      res,
      lastId: undefined,
      cursor: this.#startIndex(recovering ? recoverId : start),
      sent: 0,
      dropAfter: undefined,
      delayMs,
      closed: false,
      listenDelete,
      recovery: recovering ? recoveryFrames({ table: this.#table, updatedAt: this.#updatedAt }, parseId(start)[0], parseId(recoverId)[0], { noDependencies }) : undefined,
    };
    if (this.#dropPlan && this.#dropPlan.remaining > 0) {
      this.#dropPlan.remaining--;
      conn.dropAfter = { events: this.#dropPlan.events, partial: this.#dropPlan.partial };
    }
    this.#conns.add(conn);
    const first = this.#log[0];
    const last = this.#log[this.#log.length - 1];
    const info = {
      lastEventId: last?.id ?? '',
      firstEventId: first?.id ?? '',
      firstEventDate: first ? new Date(first.ms).toISOString() : null,
      lastEventDate: last ? new Date(last.ms).toISOString() : null,
      streamSize: this.#log.length,
      connectionId: conn.id,
    };
    res.write(`event: connected\ndata: ${JSON.stringify(info)}\n\n`);
    const onClose = () => {
      conn.closed = true;
      this.#conns.delete(conn);
      this.#bus.emit('append');
    };
    res.on('close', onClose);
    const hb = setInterval(() => this.#heartbeat(conn), this.heartbeatMs);
    try {
      await this.#pump(conn);
    } finally {
      clearInterval(hb);
      onClose();
    }
  }

  #startIndex(start: string | undefined): number {
    if (start === undefined) return this.#log.length; // "now": live tail only
    const [ms, seq] = parseId(start);
    let lo = 0;
    let hi = this.#log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.#log[mid] as Entry;
      if (idLess(ms, seq, e.ms, e.seq)) hi = mid;
      else lo = mid + 1;
    }
    return lo; // first entry strictly greater than start (XREAD is exclusive)
  }

  #heartbeat(conn: Conn): void {
    if (conn.closed || Date.now() < this.#stalledUntil) return;
    // During recovery the heartbeat carries the last id sent (a recovered object's), never "now".
    if (conn.cursor >= this.#log.length && conn.recovery === undefined) {
      // Idle: the channel's last id moves to <now>-0 (and later events get larger ids).
      const now = Date.now();
      if (now > this.#lastMs) {
        this.#lastMs = now;
        this.#lastSeq = 0;
        conn.lastId = `${now}-0`;
      } else if (this.#log.length > 0) conn.lastId = this.#log[this.#log.length - 1]?.id;
    }
    if (conn.lastId === undefined) return;
    const ms = Number(conn.lastId.split('-')[0]);
    conn.res.write(`id: ${conn.lastId}\nevent: heartbeat\ndata: ${JSON.stringify(new Date(ms).toISOString())}\n\n`);
  }

  #deliverable(e: Entry, conn: Conn): boolean {
    if (e.forced) return true;
    if (e.version < 4 || e.scope === 'internal') return false;
    if (e.type === 'delete' && !conn.listenDelete) return false;
    return true;
  }

  /** The connection's next frame to send: a recovered object's, or the next deliverable log entry. */
  #nextFrame(conn: Conn): { id: string; frame: Buffer } | undefined {
    if (conn.recovery) {
      const r = conn.recovery.next();
      if (!r.done) return r.value;
      conn.recovery = undefined;
    }
    while (conn.cursor < this.#log.length) {
      const e = this.#log[conn.cursor++] as Entry;
      if (this.#deliverable(e, conn)) return e;
    }
    return undefined;
  }

  async #pump(conn: Conn): Promise<void> {
    const res = conn.res;
    while (!conn.closed) {
      const wait = this.#stalledUntil - Date.now();
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
        continue;
      }
      if (conn.recovery === undefined && conn.cursor >= this.#log.length) {
        await once(this.#bus, 'append');
        continue;
      }
      // Up to 64 KiB of frames per write, joined as bytes: the recovery's first, then the log's.
      const frames: Buffer[] = [];
      let size = 0;
      while (size < 65536) {
        const e = this.#nextFrame(conn);
        if (e === undefined) break;
        if (conn.dropAfter && conn.sent >= conn.dropAfter.events) {
          if (conn.dropAfter.partial) frames.push(e.frame.subarray(0, Math.max(1, Math.floor(e.frame.length / 2))));
          res.write(Buffer.concat(frames));
          conn.closed = true;
          await new Promise((r) => setTimeout(r, 20));
          res.socket?.destroy();
          return;
        }
        frames.push(e.frame);
        size += e.frame.length;
        conn.sent++;
        conn.lastId = e.id;
      }
      if (size === 0) continue;
      if (!res.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, size))) await drainOrClose(res);
      if (conn.delayMs > 0) await new Promise((r) => setTimeout(r, conn.delayMs));
      else if (this.#conns.size > 0) await new Promise((r) => setImmediate(r));
    }
  }
}
