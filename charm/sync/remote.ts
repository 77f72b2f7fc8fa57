/**
 * The remote live stream: `eventsource` over a small node:http(s) fetch of our own, so that we
 * control the request headers (Bearer token, Last-Event-ID, stream flags), TLS verification, and
 * backpressure (the response body is only read while the consumer has room: TCP does the rest).
 *
 * One RemoteStream runs a loop of connections. Each connection starts from the position the
 * consumer gives (always the last *accepted* position, sent as the Last-Event-ID header and never
 * as `from`, pitfall 9); it ends on a network error, end of stream, heartbeat stall, or an explicit
 * reconnect, or an event larger than SYNC_MAX_EVENT_BYTES. Reconnects back off exponentially with
 * jitter. 401/403/404/410 are fatal.
 *
 * The URL may carry credentials in its userinfo; they are used for the request only. Every URL
 * this module shows (streamUrl, messages) has its userinfo redacted.
 */
import http from 'node:http';
import https from 'node:https';
import { EventSource, type ErrorEvent, type FetchLike, type FetchLikeResponse } from 'eventsource';
import { z } from 'zod';
import { redactUrlUserinfo } from './redact.js';

export interface RemoteOptions {
  url: string;
  token: string;
  streamId: string;
  sslVerify: boolean;
  heartbeatTimeoutMs: number;
  /** SYNC_MAX_EVENT_BYTES: a larger event ends the connection (an error, retried with backoff). */
  maxEventBytes: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  noDependencies: boolean;
  listenDelete: boolean;
}

export const connectedInfoSchema = z.looseObject({
  connectionId: z.string().optional(),
  lastEventId: z.string().optional(),
  firstEventId: z.string().optional(),
  streamSize: z.number().optional(),
});
export type ConnectedInfo = z.infer<typeof connectedInfoSchema>;

export interface RemoteHooks {
  /** Every SSE message, synchronously, in order. `id` is '' when the message has none. */
  onMessage(type: string, id: string, data: string): void;
  /** Resolves when the consumer has room for more messages (backpressure). */
  waitForRoom(signal: AbortSignal): Promise<void>;
  /** Called before each (re)connection; resolves to the position to resume from. */
  /** Where the next connection starts, and the recover date to send with it (the stream's recovery mode), if any. */
  beforeConnect(): Promise<{ position: string; recover: string | undefined }>;
  onConnected(info: ConnectedInfo): void;
  onState(state: 'connecting' | 'streaming' | 'backoff', detail?: string): void;
  onFatal(status: number, message: string): void;
  onWarn(message: string, fields?: Record<string, string | number>): void;
}

export const FATAL_STATUSES = new Set([401, 403, 404, 410]);

export function fatalRemoteMessage(status: number, opts: Pick<RemoteOptions, 'url' | 'streamId'>): string {
  const o = { url: redactUrlUserinfo(opts.url), streamId: opts.streamId };
  switch (status) {
    case 401:
      return `remote OpenCTI ${o.url} answered HTTP 401 for stream "${o.streamId}": REMOTE_OPENCTI_TOKEN is not valid there, or its user may not read this stream (live needs the BYPASS capability, a collection needs TAXIIAPI), or REMOTE_OPENCTI_LIVE_STREAM_ID names no stream collection; fix the token or the stream id`;
    case 403:
      return `remote OpenCTI ${o.url} answered HTTP 403 for stream "${o.streamId}": the user of REMOTE_OPENCTI_TOKEN lacks access to this stream; grant it the capability or use another token`;
    case 404:
      return `remote OpenCTI ${o.url} answered HTTP 404 for /stream/${o.streamId}: REMOTE_OPENCTI_URL must be the platform's base URL (without /stream or /graphql)`;
    case 410:
      return `remote live stream "${o.streamId}" on ${o.url} is stopped (HTTP 410): start it on the remote platform (Data sharing > Live streams) or set REMOTE_OPENCTI_LIVE_STREAM_ID to a running stream`;
    default:
      return `remote OpenCTI ${o.url} answered HTTP ${status}`;
  }
}

type ConnectionEnd = { kind: 'ended' | 'error' | 'stall' | 'forced'; message: string; gotEvents: boolean } | { kind: 'fatal'; status: number; message: string; gotEvents: boolean };

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The size of the SSE event being received: the bytes since the last blank line (an event's end),
 * whatever its lines. Each chunk is scanned backwards, line by line, only as far as its last blank
 * line, so a chunk costs about the length of the event it ends in; a chunk without a newline is
 * not scanned beyond one search for it. Line ends LF and CRLF (OpenCTI sends LF); a server using
 * bare CR line ends would be cut off once SYNC_MAX_EVENT_BYTES have arrived in all.
 */
export class EventSizeMeter {
  #open = 0;
  /** The last two bytes of the previous chunks, -1 before any: a blank line can span chunks. */
  #last = -1;
  #beforeLast = -1;

  /** Count a chunk; returns the bytes of the event still open after it. */
  feed(chunk: Uint8Array): number {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const at = (i: number): number => (i >= 0 ? (b[i] ?? -1) : i === -1 ? this.#last : this.#beforeLast);
    let end = -1;
    // Buffer#lastIndexOf counts a negative offset from the end, so stop explicitly at index 0.
    for (let i = b.lastIndexOf(LF); i >= 0; i = i > 0 ? b.lastIndexOf(LF, i - 1) : -1) {
      const before = at(i - 1);
      if (before === LF || (before === CR && at(i - 2) === LF)) {
        end = i + 1;
        break;
      }
    }
    this.#open = end >= 0 ? b.length - end : this.#open + b.length;
    if (b.length >= 2) [this.#beforeLast, this.#last] = [b[b.length - 2]!, b[b.length - 1]!];
    else if (b.length === 1) [this.#beforeLast, this.#last] = [this.#last, b[0]!];
    return this.#open;
  }
}

export function oversizeMessage(bytes: number, max: number): string {
  return `a remote event exceeds SYNC_MAX_EVENT_BYTES (${max} bytes): ${bytes} bytes received and it has not ended; the connection is dropped and retried from the last accepted position (raise SYNC_MAX_EVENT_BYTES if the remote really holds events this large)`;
}

/**
 * A FetchLike over node:http(s): TLS flag honoured, body read only when the consumer has room,
 * and no chunk handed to eventsource once the event it belongs to exceeds `opts.maxEventBytes`
 * (`onOversize` is told instead): eventsource would buffer an endless event whole.
 */
function makeFetch(
  opts: RemoteOptions,
  extraHeaders: Record<string, string>,
  waitForRoom: (s: AbortSignal) => Promise<void>,
  onPause: (paused: boolean) => void,
  onOversize: (bytes: number) => void,
): FetchLike {
  return (input, init) =>
    new Promise<FetchLikeResponse>((resolve, reject) => {
      const url = new URL(String(input));
      const signal: AbortSignal = init.signal;
      // eventsource's own Last-Event-ID (the last id *seen*) is replaced by the accepted position in extraHeaders.
      const headers: Record<string, string> = { ...init.headers };
      delete headers['Last-Event-ID'];
      Object.assign(headers, extraHeaders);
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { method: 'GET', headers, agent: false, rejectUnauthorized: opts.sslVerify });
      const onAbort = () => req.destroy(abortError());
      if (signal.aborted) return reject(abortError());
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => reject(err));
      req.on('response', (res) => {
        if (res.statusCode !== 200) res.resume();
        const iter = res[Symbol.asyncIterator]();
        const meter = new EventSizeMeter();
        resolve({
          url: url.toString(),
          status: res.statusCode ?? 0,
          redirected: false,
          headers: { get: (name: string) => { const v = res.headers[name.toLowerCase()]; return Array.isArray(v) ? v.join(', ') : (v ?? null); } },
          body: {
            getReader: () => ({
              read: async () => {
                onPause(true);
                try {
                  await waitForRoom(signal);
                  // Yield to the event loop between chunks: with data buffered, the reads would
                  // otherwise chain as microtasks and delay every local answer behind the parsing
                  // of all of it.
                  await new Promise<void>((r) => setImmediate(r));
                } finally {
                  onPause(false);
                }
                if (signal.aborted) throw abortError();
                const r = await iter.next();
                if (r.done) return { done: true as const, value: undefined };
                const chunk = r.value as Uint8Array;
                const open = meter.feed(chunk);
                if (open > opts.maxEventBytes) {
                  onOversize(open);
                  throw abortError();
                }
                return { done: false as const, value: chunk };
              },
              cancel: async () => {
                res.destroy();
              },
            }),
          },
        });
      });
      req.end();
    });
}

/**
 * A copy of a short string that does not keep the text it was cut from alive. The SSE parser cuts
 * an event's id (and name) out of the text it is reading, and V8 keeps such a slice (13 characters
 * or more) as a pointer into that text: an id kept until its event is accepted (and the acceptance
 * log keeps it a while longer) then held the whole event, 68 KB for a merge with many alternative
 * ids, and peak RSS grew with the length of a run. (' ' + s) is a new 1-character-longer string; its
 * slice points into that, not into the event.
 */
function ownCopy(s: string): string {
  return (' ' + s).slice(1);
}

/** eventsource dispatches each message by its event name; this catches every name, known or not. */
class CatchAllEventSource extends EventSource {
  sink: ((type: string, id: string, data: string) => void) | undefined;
  closedByUs = false;
  override dispatchEvent(event: Event): boolean {
    if (event instanceof MessageEvent && !this.closedByUs && this.sink) {
      this.sink(event.type, event.lastEventId, typeof event.data === 'string' ? event.data : String(event.data));
      return true;
    }
    return super.dispatchEvent(event);
  }
}

export class RemoteStream {
  readonly #opts: RemoteOptions;
  readonly #hooks: RemoteHooks;
  #stopped = false;
  #current: { end: (e: ConnectionEnd) => void } | undefined;
  #sleepAbort: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(opts: RemoteOptions, hooks: RemoteHooks) {
    this.#opts = opts;
    this.#hooks = hooks;
  }

  /** The stream's URL as shown (status, logs, messages): userinfo redacted. */
  get streamUrl(): string {
    return redactUrlUserinfo(this.#requestUrl);
  }

  /** The URL requested, with any credentials of REMOTE_OPENCTI_URL. */
  get #requestUrl(): string {
    return `${this.#opts.url}/stream/${encodeURIComponent(this.#opts.streamId)}`;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Drop the current connection and connect again at once (heartbeat stall, state reset). */
  reconnect(reason: string): void {
    this.#current?.end({ kind: 'forced', message: reason, gotEvents: false });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleepAbort?.abort();
    this.#current?.end({ kind: 'forced', message: 'stopping', gotEvents: false });
    await this.#loop;
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      this.#hooks.onState('connecting');
      const { position, recover } = await this.#hooks.beforeConnect();
      if (this.#stopped) break;
      const end = await this.#connect(position, recover);
      if (this.#stopped) break;
      if (end.kind === 'fatal') {
        this.#hooks.onFatal(end.status, end.message);
        break;
      }
      if (end.gotEvents) attempt = 0;
      if (end.kind === 'forced') {
        this.#hooks.onWarn(`reconnecting to the remote stream: ${end.message}`);
        continue;
      }
      const cap = Math.min(this.#opts.reconnectMaxMs, this.#opts.reconnectBaseMs * 2 ** Math.min(attempt, 30));
      const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
      attempt++;
      this.#hooks.onState('backoff', end.message);
      this.#hooks.onWarn(`remote stream ${end.kind}: ${end.message}; reconnecting from the last accepted position`, { retryInMs: delay, attempt });
      this.#sleepAbort = new AbortController();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#sleepAbort?.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
    }
  }

  #connect(position: string, recover: string | undefined): Promise<ConnectionEnd> {
    return new Promise<ConnectionEnd>((resolve) => {
      let gotEvents = false;
      let lastActivity = Date.now();
      let paused = false;
      let finished = false;
      const extraHeaders: Record<string, string> = {
        authorization: `Bearer ${this.#opts.token}`,
        'Cache-Control': 'no-cache',
        'Last-Event-ID': position,
        'listen-delete': String(this.#opts.listenDelete),
        'no-dependencies': String(this.#opts.noDependencies),
        'with-inferences': 'false',
      };
      const onPause = (p: boolean) => {
        paused = p;
        if (!p) lastActivity = Date.now();
      };
      const onOversize = (bytes: number) => end({ kind: 'error', message: oversizeMessage(bytes, this.#opts.maxEventBytes), gotEvents });
      const fetchImpl = makeFetch(this.#opts, extraHeaders, (s) => this.#hooks.waitForRoom(s), onPause, onOversize);
      // recover goes in the query, as pycti sends it; the position only ever as Last-Event-ID (pitfall 9).
      const url = recover === undefined ? this.#requestUrl : `${this.#requestUrl}?recover=${encodeURIComponent(recover)}`;
      const es = new CatchAllEventSource(url, { fetch: fetchImpl });
      const watchdog = setInterval(() => {
        if (!paused && Date.now() - lastActivity > this.#opts.heartbeatTimeoutMs) {
          end({ kind: 'stall', message: `no event or heartbeat for ${this.#opts.heartbeatTimeoutMs} ms (SYNC_HEARTBEAT_TIMEOUT_MS)`, gotEvents });
        }
      }, Math.max(50, Math.min(1000, Math.floor(this.#opts.heartbeatTimeoutMs / 4))));
      const end = (e: ConnectionEnd) => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        es.closedByUs = true;
        es.close();
        if (this.#current === handle) this.#current = undefined;
        resolve({ ...e, gotEvents: e.gotEvents || gotEvents });
      };
      const handle = { end };
      this.#current = handle;
      es.sink = (type, id, data) => {
        lastActivity = Date.now();
        if (type === 'connected') {
          let info: ConnectedInfo = {};
          try {
            const r = connectedInfoSchema.safeParse(JSON.parse(data));
            if (r.success) info = r.data;
          } catch {
            /* a connected event without JSON carries nothing we need */
          }
          this.#hooks.onConnected(info);
          return;
        }
        if (id !== '') gotEvents = true;
        this.#hooks.onMessage(ownCopy(type), ownCopy(id), data);
      };
      es.onopen = () => this.#hooks.onState('streaming');
      es.onerror = (ev: ErrorEvent) => {
        const code = ev.code;
        if (code !== undefined && FATAL_STATUSES.has(code)) {
          end({ kind: 'fatal', status: code, message: fatalRemoteMessage(code, this.#opts), gotEvents });
        } else if (code !== undefined && code !== 200) {
          end({ kind: 'error', message: `HTTP ${code} from ${this.streamUrl}`, gotEvents });
        } else {
          end({ kind: es.readyState === es.CONNECTING ? 'ended' : 'error', message: ev.message ? ev.message.slice(0, 300) : 'connection closed', gotEvents });
        }
      };
    });
  }
}
