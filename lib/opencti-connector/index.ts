/** The OpenCTI connector charm base class (see docs/opencti-connector.md). */
export * from './charm.js';
export { CONNECTOR_TYPES, type ConnectorType } from '../../interfaces/opencti-connector/schema.js';
