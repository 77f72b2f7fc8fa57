/** The OpenCTI connector charm base class (see docs/opencti-connector.md). */
export * from './charm.js';
export { CONNECTOR_TYPES, type ConnectorType } from './interface/schema.js';
export * from './log-forwarder.js';
