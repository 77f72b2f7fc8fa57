/**
 * One HTTP/1.1 exchange over a unix socket, for the Pebble client's ordinary requests.
 *
 * Why not node:http: a hook makes about ten Pebble requests and each reply is read whole, so all
 * it needs is a request line, a few headers and a body. node:http costs a hook about 5 ms of CPU
 * to load (its client, server, agent and parser modules), and a ClientRequest, an IncomingMessage
 * and a parser per request on top; node:net is loaded anyway (node:child_process uses it). The
 * request asks for `Connection: close`, so the reply ends when Pebble closes the connection
 * (RFC 9112 §9.6); its body is framed by Transfer-Encoding: chunked (§7.1) or Content-Length
 * (§6.3), as Go's net/http writes either. Streaming requests (logs with follow, exec's websockets)
 * keep their own transports.
 */
import type { Socket } from 'node:net';

export interface Http1Response {
  status: number;
  statusText: string;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface Http1Request {
  socketPath: string;
  method: string;
  /** Path and query, already encoded. */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  /** The error to fail with when no reply is complete within timeoutMs. */
  onTimeout: () => Error;
}

/** Send the request, read the reply to the end; network errors reject with node's own errors. */
export async function exchange(req: Http1Request): Promise<Http1Response> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket: Socket = net.connect(req.socketPath);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (err: Error | undefined, res?: Http1Response) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    socket.setTimeout(req.timeoutMs, () => done(req.onTimeout()));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => done(e));
    socket.on('end', () => {
      try {
        done(undefined, parseResponse(Buffer.concat(chunks)));
      } catch (e) {
        done(e as Error);
      }
    });
    // Not end(): Go's net/http reads a half-closed connection as a client gone away and cancels
    // the request's context, which would cut short a change's /wait.
    socket.write(Buffer.concat([Buffer.from(head(req), 'latin1'), req.body ?? Buffer.alloc(0)]));
  });
}

function head(req: Http1Request): string {
  const headers: Record<string, string> = { Host: 'localhost', ...req.headers, Connection: 'close' };
  if (req.body) headers['Content-Length'] = String(req.body.length);
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${req.method} ${req.target} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

/** A whole reply, as read until the server closed the connection. */
export function parseResponse(raw: Buffer): Http1Response {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Http1Error('the reply ended before its headers did');
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine!);
  if (!m) throw new Http1Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine!.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Http1Error(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = raw.subarray(end + 4);
  return { status: Number(m[1]), statusText: m[2] ?? '', headers, body: bodyOf(rest, headers) };
}

function bodyOf(rest: Buffer, headers: Record<string, string>): Buffer {
  if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) return dechunk(rest);
  const length = headers['content-length'];
  if (length === undefined) return rest;
  if (!/^\d+$/.test(length)) throw new Http1Error(`invalid Content-Length ${JSON.stringify(length)}`);
  if (rest.length < Number(length)) throw new Http1Error(`the reply ended after ${rest.length} of its ${length} bytes`);
  return rest.subarray(0, Number(length));
}

/** The body of a chunked reply: size line (hex, extensions ignored), data, CRLF; up to size 0. */
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) throw new Http1Error('the reply ended inside its chunked body');
    const size = parseInt(data.subarray(at, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Http1Error('malformed chunk size in the reply');
    if (size === 0) return Buffer.concat(parts);
    const start = eol + 2;
    if (data.length < start + size + 2) throw new Http1Error('the reply ended inside a chunk');
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** A reply that is not well-formed HTTP/1.1. */
export class Http1Error extends Error {
  override name = 'Http1Error';
}
