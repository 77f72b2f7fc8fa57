import { OpenctiConnectorCharm } from '../../../lib/opencti-connector/index.js';

/** A connector charm is its type; the base class does the rest. */
export default class ConnectorLiteCharm extends OpenctiConnectorCharm {
  readonly connectorType = 'STREAM';
}
