// The server side of the WebSocket opening handshake (RFC 6455 section 4.2) for the emulator's
// task websockets; the frames are the client's codec (WebSocketConnection, unmasked here).
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WEBSOCKET_GUID, WebSocketConnection } from '@juju-ts/ops';

/**
 * Answer 101 to a valid opening and return the connection, or return why the request is not one
 * (gorilla/websocket's Upgrader texts; the caller refuses it with 400 as the Upgrader does).
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer): WebSocketConnection | string {
  const tokens = (h: string | undefined) => (h ?? '').toLowerCase().split(',').map((t) => t.trim());
  if (!tokens(req.headers['connection']).includes('upgrade')) {
    return "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header";
  }
  if (!tokens(req.headers['upgrade']).includes('websocket')) {
    return "websocket: the client is not using the websocket protocol: 'websocket' token not found in 'Upgrade' header";
  }
  if (req.headers['sec-websocket-version'] !== '13') return "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header";
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16) {
    return "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte length";
  }
  const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  return new WebSocketConnection(socket, false, head);
}
