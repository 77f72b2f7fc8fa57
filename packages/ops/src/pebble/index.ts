// The framework's Pebble client: see docs/pebble.md.
export * from './types.js';
export * from './errors.js';
export { ExecProcess, type ExecOptions } from './exec.js';
export { PebbleClient, type PebbleClientOptions, type WaitOptions, type PushOptions, type MakeDirOptions } from './client.js';
export {
  Container,
  PebbleNotFoundError,
  pebbleSocketPath,
  CHARM_CONTAINERS_DIR_ENV,
  DEFAULT_CONTAINERS_DIR,
  type ContainerOptions,
} from './container.js';
export { encodeMultipart, parseMultipart, parseHeaderParams, newBoundary, MultipartError, type MultipartPart } from './multipart.js';
export {
  WebSocketConnection,
  WebSocketHandshakeError,
  connectWebSocket,
  webSocketAccept,
  WEBSOCKET_GUID,
  CLOSE_ABNORMAL,
  type WsMessage,
} from './websocket.js';
