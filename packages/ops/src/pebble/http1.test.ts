/**
 * The Pebble client's HTTP/1.1 exchange against a raw server written from RFC 9112: the replies
 * Go's net/http can send (Content-Length, chunked), broken ones, and what the request looks like.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exchange, Http1Error, type Http1Request } from './http1.js';

let dir: string;
let server: net.Server;
let socketPath: string;
/** What the server received, and whether the client half-closed before it replied. */
let received: { request: string; halfClosedBeforeReply: boolean };
let reply: (socket: net.Socket) => void;
const open = new Set<net.Socket>();

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'http1-'));
  socketPath = path.join(dir, 'pebble.socket');
  server = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    let data = '';
    let ended = false;
    socket.on('end', () => (ended = true));
    socket.on('data', (c) => {
      data += c.toString('latin1');
      const headEnd = data.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(data)?.[1] ?? 0);
      if (data.length < headEnd + 4 + length) return;
      // Give a half-close (FIN right behind the request) the time to arrive before answering.
      setTimeout(() => {
        received = { request: data, halfClosedBeforeReply: ended };
        reply(socket);
      }, 50);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterEach(async () => {
  for (const s of open) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

const request = (over: Partial<Http1Request> = {}): Promise<unknown> =>
  exchange({ socketPath, method: 'GET', target: '/v1/system-info', headers: { Accept: 'application/json' }, timeoutMs: 5000, onTimeout: () => new Error('timed out'), ...over });

test('a Content-Length reply; the request asks for Connection: close and never half-closes', async () => {
  reply = (s) => s.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"type":1}\nEXTRA');
  const body = Buffer.from('{"action":"replan"}');
  const res = await request({ method: 'POST', target: '/v1/services?x=1', headers: { 'Content-Type': 'application/json' }, body });
  expect(res).toEqual({ status: 200, statusText: 'OK', headers: { 'content-type': 'application/json', 'content-length': '11' }, body: Buffer.from('{"type":1}\n') });
  expect(received.request).toBe('POST /v1/services?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 19\r\n\r\n{"action":"replan"}');
  expect(received.halfClosedBeforeReply).toBe(false);
});

test('a chunked reply (what Go writes for a body it did not size), extensions and trailers ignored', async () => {
  reply = (s) => s.end('HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nTrailer: x\r\n\r\n');
  expect(await request()).toMatchObject({ status: 404, statusText: 'Not Found', body: Buffer.from('hello, world!!!') });
});

test('a reply without framing runs to the close; a binary body stays binary', async () => {
  const bytes = Buffer.from([0, 255, 13, 10, 13, 10, 128]);
  reply = (s) => s.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), bytes]));
  expect(await request()).toMatchObject({ status: 200, body: bytes });
});

test('broken replies are Http1Errors that say what is wrong', async () => {
  const cases: [string, RegExp][] = [
    ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', /ended after 5 of its 10 bytes/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', /ended inside a chunk/],
    ['HTTP/1.1 200 OK\r\nContent-', /ended before its headers did/],
    ['SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP\/1.1 status line: "SSH-2.0-OpenSSH"/],
  ];
  for (const [raw, why] of cases) {
    reply = (s) => s.end(raw);
    const err = await request().catch((e) => e);
    expect(err).toBeInstanceOf(Http1Error);
    expect((err as Error).message).toMatch(why);
  }
});

test('no socket, and a server that never answers, fail with node\'s error and the timeout error', async () => {
  await expect(request({ socketPath: path.join(dir, 'missing.socket') })).rejects.toMatchObject({ code: 'ENOENT' });
  reply = () => {};
  await expect(request({ timeoutMs: 200, onTimeout: () => new Error('no reply in time') })).rejects.toThrow('no reply in time');
});
