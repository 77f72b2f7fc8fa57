// The small part of RFC 6455 (WebSocket) that Pebble's exec uses, for both ends: the opening
// handshake over a unix socket, unfragmented text and binary messages, ping/pong and close.
// Hand-written rather than the `ws` package: the subset is small, it keeps the charm bundle free
// of a dependency, and the client and the emulator share one codec. No extensions (Pebble's
// gorilla/websocket negotiates none unless asked), no subprotocols.
// node:crypto is loaded only when a handshake needs it (it costs a hook's start-up ~10 M
// instructions); masks come from Web Crypto's getRandomValues, which Node loads on first use.
import type { Duplex } from 'node:stream';

/** RFC 6455 section 1.3: the GUID appended to the client's key. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Status code a peer sees when the connection ended without a close frame. */
export const CLOSE_ABNORMAL = 1006;

export interface WsMessage {
  data: Buffer;
  /** true for a binary message, false for text. */
  binary: boolean;
}

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (section 4.2.2). */
export async function webSocketAccept(key: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** Random bytes from a strong source, as masks and keys need (section 10.3). */
function randomBytes(n: number): Buffer {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(n)));
}

function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = 0x80 | opcode; // FIN: every message goes in one frame
  head[1] = (mask ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  // A client masks every frame with a fresh key (section 5.3).
  const key = randomBytes(4);
  key.copy(head, 2 + lenBytes);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([head, body]);
}

/**
 * One side of an open WebSocket. Messages are read with `receive()` (null once the connection
 * has closed); `closeCode` then says how (1006 when the peer dropped the connection).
 */
export class WebSocketConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentBinary = false;
  private readonly queue: WsMessage[] = [];
  private readonly waiters: Array<(m: WsMessage | null) => void> = [];
  private readonly closeListeners: Array<(code: number) => void> = [];
  private sentClose = false;
  private ended = false;
  /** The close code the peer sent, or 1006 when the connection ended without one. */
  closeCode: number | undefined;

  constructor(
    private readonly socket: Duplex,
    /** Clients mask what they send; servers do not (section 5.1). */
    private readonly mask: boolean,
    head: Buffer = Buffer.alloc(0),
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.finish(CLOSE_ABNORMAL));
    socket.on('error', () => this.finish(CLOSE_ABNORMAL));
    socket.on('end', () => this.finish(CLOSE_ABNORMAL));
    if (head.length) this.onData(head);
  }

  /** Whether the connection has closed (no more messages will arrive, sends are dropped). */
  get closed(): boolean {
    return this.ended;
  }

  /** A string goes as a text message, bytes as a binary message. Dropped once closed. */
  send(data: string | Uint8Array): void {
    if (this.ended || this.sentClose) return;
    const binary = typeof data !== 'string';
    const payload = binary ? Buffer.from(data) : Buffer.from(data, 'utf8');
    this.socket.write(encodeFrame(binary ? OP_BINARY : OP_TEXT, payload, this.mask));
  }

  /** The next message, or null once the connection is closed. */
  receive(): Promise<WsMessage | null> {
    const next = this.queue.shift();
    if (next) return Promise.resolve(next);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Run `fn` once the connection has closed, with the close code. */
  onClose(fn: (code: number) => void): void {
    if (this.ended) fn(this.closeCode ?? CLOSE_ABNORMAL);
    else this.closeListeners.push(fn);
  }

  /** Send a close frame; the connection ends when the peer answers (or drops it). */
  close(code = 1000): void {
    if (this.ended || this.sentClose) return;
    this.sentClose = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code, 0);
    this.socket.write(encodeFrame(OP_CLOSE, payload, this.mask));
    this.socket.end();
  }

  /** Drop the connection without a close frame (the peer sees 1006, as after a crash). */
  destroy(): void {
    this.socket.destroy();
    this.finish(CLOSE_ABNORMAL);
  }

  /** Flush what was sent, then end the connection without a close frame. */
  end(): void {
    this.socket.end();
  }

  private finish(code: number): void {
    if (this.ended) return;
    this.ended = true;
    this.closeCode ??= code;
    for (const w of this.waiters.splice(0)) w(null);
    for (const l of this.closeListeners.splice(0)) l(this.closeCode);
  }

  private deliver(message: WsMessage): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(message);
    else this.queue.push(message);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const frame = this.parseFrame();
      if (!frame) return;
      this.onFrame(frame.fin, frame.opcode, frame.payload);
      if (this.ended) return;
    }
  }

  /** One complete frame off the front of the buffer, or null when more bytes are needed. */
  private parseFrame(): { fin: boolean; opcode: number; payload: Buffer } | null {
    const b = this.buffer;
    if (b.length < 2) return null;
    let len = b[1]! & 0x7f;
    let offset = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      offset = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      len = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    const masked = (b[1]! & 0x80) !== 0;
    const keyOffset = offset;
    if (masked) offset += 4;
    if (b.length < offset + len) return null;
    const payload = Buffer.from(b.subarray(offset, offset + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[keyOffset + (i & 3)]!;
    this.buffer = b.subarray(offset + len);
    return { fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload };
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP_PING:
        if (!this.sentClose) this.socket.write(encodeFrame(OP_PONG, payload, this.mask));
        return;
      case OP_PONG:
        return;
      case OP_CLOSE: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeCode = code;
        if (!this.sentClose) {
          // Echo the close (section 5.5.1), then the connection is over.
          this.sentClose = true;
          this.socket.write(encodeFrame(OP_CLOSE, payload.subarray(0, 2), this.mask));
        }
        this.socket.end();
        this.finish(code);
        return;
      }
      case OP_TEXT:
      case OP_BINARY:
        this.fragments = [payload];
        this.fragmentBinary = opcode === OP_BINARY;
        break;
      case OP_CONTINUATION:
        this.fragments.push(payload);
        break;
      default:
        // An unknown opcode is a protocol error (section 5.2): fail the connection.
        this.destroy();
        return;
    }
    if (fin) {
      const data = Buffer.concat(this.fragments);
      this.fragments = [];
      this.deliver({ data, binary: this.fragmentBinary });
    }
  }
}

/** The handshake failed: the server answered with a normal HTTP reply instead of 101. */
export class WebSocketHandshakeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly statusMessage: string,
    readonly contentType: string,
    readonly body: Buffer,
  ) {
    super(`websocket handshake refused: ${statusCode} ${statusMessage}`);
  }
}

/**
 * Open a WebSocket to `path` on the HTTP server at the unix socket `socketPath`. Rejects with
 * WebSocketHandshakeError when the server answers without upgrading, or with the socket error.
 */
export async function connectWebSocket(socketPath: string, path: string, timeoutMs: number): Promise<WebSocketConnection> {
  const http = await import('node:http');
  const key = randomBytes(16).toString('base64');
  const expected = await webSocketAccept(key);
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath,
      host: 'localhost',
      path,
      method: 'GET',
      agent: false,
      timeout: timeoutMs,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
    });
    req.on('timeout', () => req.destroy(new Error(`websocket handshake for ${path} timed out after ${timeoutMs / 1000}s`)));
    req.on('error', reject);
    req.on('upgrade', (res, socket, head) => {
      socket.setTimeout(0);
      if (res.headers['sec-websocket-accept'] !== expected) {
        socket.destroy();
        reject(new Error(`websocket handshake for ${path}: wrong Sec-WebSocket-Accept`));
        return;
      }
      resolve(new WebSocketConnection(socket, true, head));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        reject(new WebSocketHandshakeError(res.statusCode ?? 0, res.statusMessage ?? '', res.headers['content-type'] ?? '', Buffer.concat(chunks))),
      );
    });
    req.end();
  });
}
