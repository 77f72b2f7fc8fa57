/**
 * The local platform emulator's GraphQL schema: a subset of OpenCTI's schema covering the operations
 * the synchronizer (and pycti-style tests) use. Every field and argument keeps the real signature
 * of shared/opencti/schema.graphql (schema.test.ts checks it when that file is present), so a
 * document valid here is valid against the real platform.
 */
export const EMULATOR_SDL = /* GraphQL */ `
scalar DateTime
scalar Any
enum FilterMode {
  and
  or
}
enum FilterOperator {
  eq
  not_eq
  lt
  lte
  gt
  gte
  match
  wildcard
  contains
  not_contains
  ends_with
  not_ends_with
  starts_with
  not_starts_with
  script
  nil
  not_nil
  search
}
input Filter {
  key: [String!]!
  values: [Any!]!
  operator: FilterOperator
  mode: FilterMode
}
input FilterGroup {
  mode: FilterMode!
  filters: [Filter!]!
  filterGroups: [FilterGroup!]!
}
type PageInfo {
  startCursor: String!
  endCursor: String!
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  globalCount: Int!
}

type AppInfo {
  version: String!
}

type Capability {
  id: ID!
  name: String!
}

type MeUser {
  id: ID!
  name: String!
  user_email: String!
  capabilities: [Capability!]!
}

type Settings {
  id: ID!
  platform_title: String
}

enum ConnectorType {
  EXTERNAL_IMPORT
  INTERNAL_IMPORT_FILE
  INTERNAL_ENRICHMENT
  INTERNAL_ANALYSIS
  INTERNAL_EXPORT_FILE
  STREAM
}

input RegisterConnectorInput {
  id: ID!
  name: String!
  type: ConnectorType!
  scope: [String!]
  auto: Boolean
  only_contextual: Boolean
  playbook_compatible: Boolean
}

input ConnectorInfoInput {
  run_and_terminate: Boolean!
  buffering: Boolean!
  queue_threshold: Float!
  queue_messages_size: Float!
  next_run_datetime: DateTime
  last_run_datetime: DateTime
}

type RabbitMQConnection {
  host: String!
  vhost: String!
  use_ssl: Boolean!
  port: Int!
  user: String!
  pass: String!
}

type ConnectorConfig {
  connection: RabbitMQConnection!
  listen: String!
  listen_routing: String!
  listen_exchange: String!
  push: String!
  push_routing: String!
  push_exchange: String!
}

type Connector {
  id: ID!
  name: String!
  active: Boolean
  auto: Boolean
  only_contextual: Boolean
  connector_type: String
  connector_scope: [String!]
  connector_state: String
  connector_state_reset: Boolean
  connector_user_id: ID
  updated_at: DateTime
  created_at: DateTime
  config: ConnectorConfig
}

interface StixObject {
  id: ID!
  standard_id: String!
  entity_type: String!
}

type Indicator implements StixObject & StixCoreObject {
  id: ID!
  standard_id: String!
  entity_type: String!
}

type Malware implements StixObject & StixCoreObject {
  id: ID!
  standard_id: String!
  entity_type: String!
}

type Organization implements StixObject & StixCoreObject {
  id: ID!
  standard_id: String!
  entity_type: String!
}

type Report implements StixObject & StixCoreObject {
  id: ID!
  standard_id: String!
  entity_type: String!
}

interface StixCoreObject {
  id: ID!
  standard_id: String!
  entity_type: String!
}
type StixCoreObjectEdge {
  cursor: String!
  node: StixCoreObject!
}
type StixCoreObjectConnection {
  pageInfo: PageInfo!
  edges: [StixCoreObjectEdge!]!
}
type StixCoreRelationship implements StixObject {
  id: ID!
  standard_id: String!
  entity_type: String!
}

type StixEditMutations {
  delete: ID
  merge(stixObjectsIds: [String]!): StixObject
}

type StixCoreObjectEditMutations {
  delete: ID
}

type Query {
  stix(id: String!): String
  about: AppInfo
  settings: Settings!
  me: MeUser!
  connector(id: String!): Connector
  connectors: [Connector!]
  stixCoreObjectRaw(id: String!): String
  stixCoreObjects(first: Int, after: ID, filters: FilterGroup): StixCoreObjectConnection
}

type Mutation {
  pingConnector(id: ID!, state: String, connectorInfo: ConnectorInfoInput): Connector
  registerConnector(input: RegisterConnectorInput): Connector
  resetStateConnector(id: ID!): Connector
  deleteConnector(id: ID!): ID!
  stixEdit(id: ID!): StixEditMutations
  stixCoreObjectEdit(id: ID!): StixCoreObjectEditMutations
  stixBundlePush(connectorId: String!, bundle: String!): Boolean
}
`;

/** GraphQL type name used for a merge answer, by STIX type. */
export function graphqlTypeFor(stixType: string): string {
  switch (stixType) {
    case 'indicator':
      return 'Indicator';
    case 'malware':
      return 'Malware';
    case 'identity':
      return 'Organization';
    case 'report':
      return 'Report';
    default:
      return 'StixCoreRelationship';
  }
}
