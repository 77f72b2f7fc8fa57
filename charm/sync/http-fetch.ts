/**
 * A small `fetch` over node:http(s) with keep-alive, for graphql-request. Node's built-in fetch
 * (undici + web streams) costs more CPU per request than the whole GraphQL round trip to a local
 * platform; the synchronizer sends many requests with large bodies, so it uses this instead.
 * Only what graphql-request needs: POST/GET, headers, a string (or bytes) body, AbortSignal, and an answer with
 * the members of a Response it reads (status, ok, headers.get, text).
 */
import http from 'node:http';
import https from 'node:https';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });

/**
 * The part of a fetch `Response` graphql-request reads: status, ok, headers.get and text(). A whole
 * undici Response (web streams, Headers) per request cost more CPU than the rest of the client.
 */
class SmallResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  constructor(
    readonly status: number,
    raw: http.IncomingHttpHeaders,
    readonly body: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = {
      get: (name: string) => {
        const v = raw[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
  }
  text(): Promise<string> {
    return Promise.resolve(this.body.toString('utf8'));
  }
  json(): Promise<unknown> {
    return this.text().then((t) => JSON.parse(t) as unknown);
  }
}

function headersToRecord(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v));
  else if (Array.isArray(h)) for (const [k, v] of h as [string, string][]) out[k.toLowerCase()] = v;
  else for (const [k, v] of Object.entries(h as Record<string, string>)) out[k.toLowerCase()] = v;
  return out;
}

export const nodeFetch: typeof fetch = (input, init) =>
  new Promise<Response>((resolve, reject) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) return reject(signal.reason);
    const headers = headersToRecord(init?.headers);
    // A string is written as is (no Buffer copy of it kept until the next GC); bytes as they are.
    const body = typeof init?.body === 'string' || init?.body instanceof Uint8Array ? init.body : undefined;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request(url, { method: init?.method ?? 'GET', headers, agent: secure ? httpsAgent : httpAgent });
    const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => signal?.removeEventListener('abort', onAbort);
    req.on('error', (err) => {
      cleanup();
      if (signal?.aborted) return reject(signal.reason);
      reject(Object.assign(new TypeError('fetch failed'), { cause: err }));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        cleanup();
        reject(signal?.aborted ? signal.reason : Object.assign(new TypeError('fetch failed'), { cause: err }));
      });
      res.on('end', () => {
        cleanup();
        const status = res.statusCode ?? 0;
        // Only the members graphql-request uses (see SmallResponse); not a full Response.
        resolve(new SmallResponse(status < 200 || status > 599 ? 500 : status, res.headers, Buffer.concat(chunks)) as unknown as Response);
      });
    });
    req.end(body);
  });
