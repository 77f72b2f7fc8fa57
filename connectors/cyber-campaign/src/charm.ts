/**
 * The OpenCTI APT & Cyber Campaign connector charm (EXTERNAL_IMPORT). OpenctiConnectorCharm relates it
 * to OpenCTI over opencti-connector, renders the connector's environment (each config option as
 * its CONSTANT_CASE variable) and runs the connector with Pebble.
 *
 * Override what this connector needs (docs/opencti-connector.md): extraEnvironment() for fixed or
 * derived variables, validateConfig() for rules beyond the option types, checks() and
 * workloadStatus() for the workload's health, booleanStyle if the connector reads True/False.
 */
import { OpenctiConnectorCharm } from '@juju-ts/opencti-connector';

export default class OpenctiCyberCampaignConnectorCharm extends OpenctiConnectorCharm {
  readonly connectorType = 'EXTERNAL_IMPORT';
}
