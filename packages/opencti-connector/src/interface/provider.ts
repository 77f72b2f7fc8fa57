/**
 * The provider side of opencti-connector: a connector charm. It publishes who it is
 * (`connector_charm_name`, `connector_type`, and a `connector_id` generated once) and reads where
 * OpenCTI is and the token to use.
 */
import type { CharmBase } from '@juju-ts/ops';
import type { Relation } from '@juju-ts/ops';
import { randomUuid } from './uuid.js';
import { checkDatabag, RequirerAppDataSchema, TOKEN_SECRET_KEY, type ConnectorType } from './schema.js';

export const ENDPOINT = 'opencti-connector';

/** What the OpenCTI side sent, once it is complete and valid. */
export interface OpenctiConnection {
  url: string;
  /** The id of the Juju secret holding the token (never the token itself). */
  tokenSecretId: string;
}

/** The OpenCTI side's data: complete, not there yet, or present but malformed. */
export type RequirerDataResult =
  | { state: 'ready'; connection: OpenctiConnection }
  | { state: 'incomplete'; missing: string[] }
  | { state: 'invalid'; problems: string[] };

export class OpenctiConnectorProvider {
  constructor(
    private readonly charm: CharmBase,
    readonly endpoint = ENDPOINT,
  ) {}

  /** The relation to OpenCTI, if any (the endpoint allows one). */
  relation(): Promise<Relation | undefined> {
    return this.charm.model.getRelation(this.endpoint);
  }

  /**
   * Leader only: publish this connector's name and type, and its id, generated the first time and
   * kept afterwards so OpenCTI sees the same connector across restarts. Returns the id.
   */
  async publish(relation: Relation, details: { charmName: string; type: ConnectorType }): Promise<string> {
    const bag = relation.data.localApp;
    const id = (await bag.get('connector_id')) || randomUuid();
    // One relation-set with whatever changed (none when nothing did).
    await bag.update({ connector_charm_name: details.charmName, connector_type: details.type, connector_id: id });
    return id;
  }

  /** Leader only: the connector id kept in our application databag, if published. */
  connectorId(relation: Relation): Promise<string | undefined> {
    return relation.data.localApp.get('connector_id');
  }

  /** Read and check what the OpenCTI side published. */
  async requirerData(relation: Relation): Promise<RequirerDataResult> {
    const data = (await relation.data.remoteApp?.read()) ?? {};
    const missing = ['opencti_url', 'opencti_token'].filter((k) => !data[k]);
    if (missing.length) return { state: 'incomplete', missing };
    const checked = checkDatabag(RequirerAppDataSchema, data);
    if (!checked.ok) return { state: 'invalid', problems: checked.problems };
    return { state: 'ready', connection: { url: checked.value.opencti_url, tokenSecretId: checked.value.opencti_token } };
  }

  /** The token, from the latest revision of the secret OpenCTI granted us (tracked from now on). */
  async token(connection: OpenctiConnection): Promise<string> {
    const secret = await this.charm.model.getSecret({ id: connection.tokenSecretId, refresh: true });
    const content = await secret.getContent();
    const token = content[TOKEN_SECRET_KEY];
    if (!token) throw new Error(`secret ${connection.tokenSecretId} has no "${TOKEN_SECRET_KEY}" key (it has: ${Object.keys(content).join(', ') || 'nothing'})`);
    return token;
  }
}
