/**
 * The OpenCTI emulator pair: a remote platform's live stream (a real SSE server) and a local
 * platform that ingests as OpenCTI does (GraphQL, queues on a real RabbitMQ, concurrent workers:
 * platform/). Used by the tests, the demo and the benchmark.
 *
 *   const emu = await startOpenctiEmulator({ heartbeatMs: 200, amqpUrl });   // amqpUrl: a broker
 *   emu.seed(1000);                     // realistic events on the remote
 *   ... run the synchronizer against emu.remoteUrl / emu.localUrl ...
 *   emu.compare().equal                 // local store == remote final state?
 *   await emu.stop();
 */
import { LocalPlatform, type LocalPlatformOptions } from './platform/index.js';
import { RemoteStreamEmulator, type RemoteEmulatorOptions } from './remote.js';
import { compareTables, type StoreComparison } from './stix.js';

export { LocalPlatform, PROFILES, type LocalPlatformOptions, type ProfileName, type PlatformProfile, type ConnectorRecord, type GraphqlFault, type WriteFault } from './platform/index.js';
export { RemoteStreamEmulator, convertStreamParameter, type RemoteEmulatorOptions, type RecordedStreamRequest } from './remote.js';
export { StixEventGenerator, type GeneratorOptions } from './generator.js';
export { compareTables, applyEventToTable, hashUuid, OCTI_EXT, type Stix, type StreamEventData, type StoreComparison } from './stix.js';
export { EMULATOR_SDL } from './schema.js';

export const DEFAULT_REMOTE_TOKEN = 'remote-token';
export const DEFAULT_LOCAL_TOKEN = 'local-token';

export interface OpenctiEmulatorOptions {
  /** 0 (default) picks a free port. */
  remotePort?: number;
  localPort?: number;
  host?: string;
  remoteToken?: string;
  localToken?: string;
  heartbeatMs?: number;
  tls?: { key: string; cert: string };
  remote?: Omit<RemoteEmulatorOptions, 'port' | 'host' | 'heartbeatMs' | 'tls'>;
  local?: Omit<LocalPlatformOptions, 'port' | 'host' | 'connectorToken' | 'amqpUrl'>;
  /** The broker the local platform queues through. Default: OPENCTI_TEST_AMQP_URL (the test run's broker). */
  amqpUrl?: string;
}

export interface OpenctiEmulator {
  readonly remote: RemoteStreamEmulator;
  readonly local: LocalPlatform;
  /** Base URL for REMOTE_OPENCTI_URL. */
  readonly remoteUrl: string;
  /** Base URL for OPENCTI_URL. */
  readonly localUrl: string;
  readonly remoteToken: string;
  readonly localToken: string;
  /** Append `count` realistic events to the remote log (`churn` > 1: more id changes, deletes, merges). */
  seed(count: number, seed?: number, churn?: number): { firstId: string | undefined; lastId: string | undefined };
  /** Compare the local store with the remote's final state. */
  compare(): StoreComparison;
  /** Compare the contents of the files the remote's current objects list with those the local platform received. */
  compareFiles(): { total: number; same: number; missing: number; different: number };
  /**
   * The remote's data events whose write the local platform never recorded as applied (stream id,
   * event type, object id); at most `limit`. Empty when no event was skipped.
   */
  unapplied(limit?: number): { id: string; type: string; stixId: string }[];
  stop(): Promise<void>;
}

export async function startOpenctiEmulator(opts: OpenctiEmulatorOptions = {}): Promise<OpenctiEmulator> {
  const remoteToken = opts.remoteToken ?? DEFAULT_REMOTE_TOKEN;
  const localToken = opts.localToken ?? DEFAULT_LOCAL_TOKEN;
  const host = opts.host ?? '127.0.0.1';
  const remote = new RemoteStreamEmulator({
    tokens: { [remoteToken]: { bypass: true } },
    ...opts.remote,
    port: opts.remotePort ?? 0,
    host,
    heartbeatMs: opts.heartbeatMs ?? 5000,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  const amqpUrl = opts.amqpUrl ?? process.env.OPENCTI_TEST_AMQP_URL;
  if (!amqpUrl) throw new Error('the local platform emulator needs a RabbitMQ broker: pass amqpUrl (startBroker() in lib/rabbitmq/broker.ts starts a private one), or run under jest, whose global setup sets OPENCTI_TEST_AMQP_URL');
  const local = new LocalPlatform({ ...opts.local, port: opts.localPort ?? 0, host, connectorToken: localToken, amqpUrl });
  await remote.start();
  try {
    await local.start();
  } catch (e) {
    await remote.stop();
    throw e;
  }
  return {
    remote,
    local,
    remoteUrl: remote.url,
    localUrl: local.url,
    remoteToken,
    localToken,
    seed: (count, seed, churn) => remote.seed(count, seed, churn),
    compare: () => compareTables(remote.table(), local.store.objects()),
    compareFiles: () => {
      const r = { total: 0, same: 0, missing: 0, different: 0 };
      for (const f of remote.currentFiles()) {
        r.total++;
        const here = local.files.get(`${f.stixId} ${f.name}`);
        if (!here) r.missing++;
        else if (here.equals(f.bytes)) r.same++;
        else r.different++;
      }
      return r;
    },
    unapplied: (limit = 20) => {
      const out: { id: string; type: string; stixId: string }[] = [];
      for (const e of remote.dataEvents()) {
        if (!local.applied.has(`${e.id} ${e.stixId}`)) out.push(e);
        if (out.length >= limit) break;
      }
      return out;
    },
    async stop() {
      await Promise.all([remote.stop(), local.stop()]);
    },
  };
}
