/**
 * The platform emulator's GraphQL schema for a version profile: the emulator's subset of OpenCTI's
 * schema (lib/opencti-emulator/schema.ts, whose signatures documents.test.ts checks against
 * shared/opencti/schema.graphql), plus Works, with what the profile's version has:
 * `stixBundlePush` only from 6.2.6, with its `work_id` argument from 6.5.7 (the shared schema, a
 * 6.4-era file, predates that argument).
 */
import { EMULATOR_SDL } from '../schema.js';
import type { PlatformProfile } from './profiles.js';

const WORKS_SDL = /* GraphQL */ `
enum State {
  wait
  progress
  complete
  timeout
}
type WorkMessage {
  timestamp: DateTime
  message: String
  sequence: Int
  source: String
}
type WorkTracking {
  import_expected_number: Int
  import_last_processed: DateTime
  import_processed_number: Int
}
type Work {
  id: ID!
  name: String
  timestamp: DateTime!
  status: State!
  event_source_id: String
  received_time: DateTime
  processed_time: DateTime
  completed_time: DateTime
  completed_number: Int
  messages: [WorkMessage]
  errors: [WorkMessage]
  tracking: WorkTracking
}
input WorkErrorInput {
  error: String
  source: String
}
type WorkEditMutations {
  delete: ID!
  ping: ID!
  reportExpectation(error: WorkErrorInput): ID!
  addExpectations(expectations: Int): ID!
  toReceived(message: String): ID!
  toProcessed(message: String, inError: Boolean): ID!
}
extend type Connector {
  works(status: String): [Work]
}
extend type Query {
  work(id: ID!): Work
}
extend type Mutation {
  workAdd(connectorId: String!, friendlyName: String): Work!
  workEdit(id: ID!): WorkEditMutations
}
`;

const BUNDLE_PUSH = 'stixBundlePush(connectorId: String!, bundle: String!): Boolean';

export function platformSdl(profile: PlatformProfile): string {
  let sdl = EMULATOR_SDL;
  if (!sdl.includes(BUNDLE_PUSH)) throw new Error('the emulator schema no longer declares stixBundlePush as expected');
  if (!profile.bundlePush) sdl = sdl.replace(BUNDLE_PUSH, '');
  else if (profile.bundlePushWorkId) sdl = sdl.replace(BUNDLE_PUSH, 'stixBundlePush(connectorId: String!, bundle: String!, work_id: String): Boolean');
  return sdl + WORKS_SDL;
}
