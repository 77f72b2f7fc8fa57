/**
 * Every GraphQL document the synchronizer sends to the local platform: named, static, and only
 * fields and arguments present in the target schema (shared/opencti/schema.graphql, §5 of the
 * reference). documents.test.ts validates each one against that schema and the emulator's.
 */

export const ABOUT = /* GraphQL */ `query SyncAbout { about { version } }`;

export const ME = /* GraphQL */ `query SyncMe { me { id name capabilities { name } } }`;

export const REGISTER_CONNECTOR = /* GraphQL */ `mutation SyncRegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) { id connector_state connector_user_id }
}`;

export const PING_CONNECTOR = /* GraphQL */ `mutation SyncPingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) { id connector_state }
}`;

export const BUNDLE_PUSH = /* GraphQL */ `mutation SyncBundlePush($connectorId: String!, $bundle: String!) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle)
}`;

export const MERGE = /* GraphQL */ `mutation SyncMerge($id: ID!, $sourceIds: [String]!) {
  stixEdit(id: $id) { merge(stixObjectsIds: $sourceIds) { id } }
}`;

export const DELETE = /* GraphQL */ `mutation SyncDelete($id: ID!) {
  stixEdit(id: $id) { delete }
}`;

export const STIX = /* GraphQL */ `query SyncStix($id: String!) { stix(id: $id) }`;

/**
 * The core objects any of the given ids resolves to (`ids` is the platform's special filter key:
 * internal id, standard id or any x_opencti_stix_ids), with their standard id.
 */
export const CORE_OBJECTS_BY_IDS = /* GraphQL */ `query SyncCoreObjectsByIds($first: Int!, $ids: [Any!]!) {
  stixCoreObjects(first: $first, filters: { mode: and, filters: [{ key: ["ids"], values: $ids, operator: eq, mode: or }], filterGroups: [] }) {
    edges { node { standard_id } }
  }
}`;

/** All documents by operation name, for validation. */
export const DOCUMENTS: Readonly<Record<string, string>> = {
  SyncAbout: ABOUT,
  SyncMe: ME,
  SyncRegisterConnector: REGISTER_CONNECTOR,
  SyncPingConnector: PING_CONNECTOR,
  SyncBundlePush: BUNDLE_PUSH,
  SyncMerge: MERGE,
  SyncDelete: DELETE,
  SyncStix: STIX,
  SyncCoreObjectsByIds: CORE_OBJECTS_BY_IDS,
};
