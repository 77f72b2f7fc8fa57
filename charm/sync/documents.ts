/**
 * Every GraphQL document the synchronizer sends to the local platform: named, static, and only
 * fields and arguments present in the target schema (shared/opencti/schema.graphql, §5 of the
 * reference). documents.test.ts validates each one against that schema and the emulator's.
 */

export const ABOUT = /* GraphQL */ `query SyncAbout { about { version } }`;

export const ME = /* GraphQL */ `query SyncMe { me { id name capabilities { name } } }`;

export const REGISTER_CONNECTOR = /* GraphQL */ `mutation SyncRegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id connector_state connector_user_id
    config { connection { host port vhost use_ssl user pass } push push_exchange push_routing }
  }
}`;

export const PING_CONNECTOR = /* GraphQL */ `mutation SyncPingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) { id connector_state }
}`;

/**
 * stixBundlePush with the Work to report to (OpenCTI 6.5.7+, for CONNECTOR_QUEUE_PROTOCOL=api).
 * shared/opencti/schema.graphql predates the work_id argument; documents.test.ts validates this one
 * against the emulator's 6.9 schema instead.
 */
export const BUNDLE_PUSH_WORK = /* GraphQL */ `mutation SyncBundlePushWork($connectorId: String!, $bundle: String!, $workId: String) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $workId)
}`;

export const WORK_ADD = /* GraphQL */ `mutation SyncWorkAdd($connectorId: String!, $name: String) {
  workAdd(connectorId: $connectorId, friendlyName: $name) { id }
}`;

export const WORK_EXPECTATIONS = /* GraphQL */ `mutation SyncWorkExpectations($id: ID!, $expectations: Int) {
  workEdit(id: $id) { addExpectations(expectations: $expectations) }
}`;

const WORK_FIELDS = 'id status completed_number tracking { import_expected_number import_processed_number } errors { message source }';

/** Two Works per request: the platform allows each Query field twice per document. */
export const WORKS = /* GraphQL */ `query SyncWorks($a: ID!, $b: ID!) {
  a: work(id: $a) { ${WORK_FIELDS} }
  b: work(id: $b) { ${WORK_FIELDS} }
}`;

/** The connector's Works still in progress (a previous run's, at start). */
export const CONNECTOR_WORKS = /* GraphQL */ `query SyncConnectorWorks($id: String!) {
  connector(id: $id) { id works(status: "progress") { id } }
}`;

export const WORK_DELETE = /* GraphQL */ `mutation SyncWorkDelete($id: ID!) {
  workEdit(id: $id) { delete }
}`;

export const STIX = /* GraphQL */ `query SyncStix($id: String!) { stix(id: $id) }`;

/** All documents by operation name, for validation. */
export const DOCUMENTS: Readonly<Record<string, string>> = {
  SyncAbout: ABOUT,
  SyncMe: ME,
  SyncRegisterConnector: REGISTER_CONNECTOR,
  SyncPingConnector: PING_CONNECTOR,
  SyncWorkAdd: WORK_ADD,
  SyncWorkExpectations: WORK_EXPECTATIONS,
  SyncWorks: WORKS,
  SyncConnectorWorks: CONNECTOR_WORKS,
  SyncWorkDelete: WORK_DELETE,
  SyncStix: STIX,
};
