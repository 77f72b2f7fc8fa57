// The WebSocket codec's corners that exec does not reach, against a raw server written here from
// RFC 6455 (so the codec is not checked against itself): the handshake, client masking, the three
// payload length forms, fragmented messages, ping/pong, the close handshake and a dropped
// connection.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { CLOSE_ABNORMAL, WEBSOCKET_GUID, WebSocketHandshakeError, connectWebSocket, webSocketAccept } from './index.js';

/** One server-side frame, unmasked. */
function frame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = body.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126 && len < 65536) (head[1] = 126), head.writeUInt16BE(len, 2);
  if (len >= 65536) (head[1] = 127), head.writeBigUInt64BE(BigInt(len), 2);
  head[0] = (fin ? 0x80 : 0) | opcode;
  return Buffer.concat([head, body]);
}

/** Frames the server received: opcode, whether masked, unmasked payload. */
function parseFrames(data: Buffer): Array<{ opcode: number; masked: boolean; payload: Buffer }> {
  const out = [];
  let i = 0;
  while (i + 2 <= data.length) {
    let len = data[i + 1]! & 0x7f;
    let off = i + 2;
    if (len === 126) (len = data.readUInt16BE(off)), (off += 2);
    else if (len === 127) (len = Number(data.readBigUInt64BE(off))), (off += 8);
    const masked = (data[i + 1]! & 0x80) !== 0;
    const key = masked ? data.subarray(off, off + 4) : null;
    if (masked) off += 4;
    if (off + len > data.length) break;
    const payload = Buffer.from(data.subarray(off, off + len));
    if (key) for (let j = 0; j < payload.length; j++) payload[j]! ^= key[j & 3]!;
    out.push({ opcode: data[i]! & 0x0f, masked, payload });
    i = off + len;
  }
  return out;
}

let dir: string;
let server: http.Server;
let serverSocket: Promise<Duplex>;
let received: Buffer;
/** Upgraded sockets: server.close() does not end them. */
let upgraded: Duplex[];
const socketPath = () => path.join(dir, 'ws.socket');

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-'));
  received = Buffer.alloc(0);
  upgraded = [];
  let resolve!: (s: Duplex) => void;
  serverSocket = new Promise((r) => (resolve = r));
  server = http.createServer((_req, res) => {
    res.writeHead(403, { 'Content-Type': 'application/json' });
    res.end('{"no":"upgrade"}');
  });
  server.on('upgrade', (req, socket: Duplex) => {
    upgraded.push(socket);
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"not":"here"}');
      return;
    }
    const key = String(req.headers['sec-websocket-key']);
    const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
    socket.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    resolve(socket);
  });
  await new Promise<void>((r) => server.listen(socketPath(), r));
});
afterEach(async () => {
  for (const s of upgraded) s.destroy();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Wait until the server has received frames matching `count`. */
async function framesReceived(count: number) {
  for (;;) {
    const frames = parseFrames(received);
    if (frames.length >= count) return frames;
    await new Promise((r) => setImmediate(r));
  }
}

test('the accept key of RFC 6455 section 1.3', async () => {
  expect(await webSocketAccept('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('messages both ways, masked from the client, in every length form, fragmented, with ping and close', async () => {
  const ws = await connectWebSocket(socketPath(), '/ws', 5000);
  const raw = await serverSocket;

  // Client → server: text and binary of 5, 300 and 70 000 bytes, every frame masked.
  ws.send('hello');
  ws.send(Buffer.alloc(300, 1));
  ws.send(Buffer.alloc(70_000, 2));
  const sent = await framesReceived(3);
  expect(sent.map((f) => [f.opcode, f.masked, f.payload.length])).toEqual([
    [1, true, 5],
    [2, true, 300],
    [2, true, 70_000],
  ]);
  expect(sent[0]!.payload.toString()).toBe('hello');
  expect(sent[2]!.payload.every((b) => b === 2)).toBe(true);

  // Server → client: a text message in three fragments with a ping between them, then a large binary.
  raw.write(Buffer.concat([frame(1, 'frag', false), frame(9, 'are-you-there'), frame(0, 'men', false), frame(0, 'ted')]));
  raw.write(frame(2, Buffer.alloc(66_000, 7)));
  expect(await ws.receive()).toEqual({ data: Buffer.from('fragmented'), binary: false });
  const big = await ws.receive();
  expect([big!.binary, big!.data.length, big!.data.every((b) => b === 7)]).toEqual([true, 66_000, true]);
  const pong = (await framesReceived(4))[3]!;
  expect([pong.opcode, pong.masked, pong.payload.toString()]).toEqual([10, true, 'are-you-there']);

  // The server closes with 1000: the client echoes the close and its receive() ends.
  const closed = new Promise<number>((r) => ws.onClose(r));
  raw.write(frame(8, Buffer.from([0x03, 0xe8])));
  expect(await ws.receive()).toBeNull();
  expect(await closed).toBe(1000);
  const echo = (await framesReceived(5))[4]!;
  expect([echo.opcode, echo.payload.readUInt16BE(0)]).toEqual([8, 1000]);
  expect(ws.closed).toBe(true);
  ws.send('dropped'); // after the close: nothing is sent
});

test('a dropped connection reads as 1006; a refused handshake is an error with the reply', async () => {
  const ws = await connectWebSocket(socketPath(), '/ws', 5000);
  (await serverSocket).destroy();
  expect(await ws.receive()).toBeNull();
  expect(ws.closeCode).toBe(CLOSE_ABNORMAL);

  const refused = await connectWebSocket(socketPath(), '/refuse', 5000).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(WebSocketHandshakeError);
  expect(refused).toMatchObject({ statusCode: 404, contentType: 'application/json' });
  expect((refused as WebSocketHandshakeError).body.toString()).toBe('{"not":"here"}');
});
