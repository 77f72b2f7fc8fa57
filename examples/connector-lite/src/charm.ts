import { OpenctiConnectorCharm } from '@juju-ts/opencti-connector';

/** A connector charm is its type; the base class does the rest. */
export default class ConnectorLiteCharm extends OpenctiConnectorCharm {
  readonly connectorType = 'STREAM';
}
