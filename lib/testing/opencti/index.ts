/**
 * The OpenCTI emulator pair: a remote platform's live stream and a local platform's GraphQL API,
 * both real HTTP servers. Used by the tests, the demo and the benchmark.
 *
 *   const emu = await startOpenctiEmulator({ heartbeatMs: 200 });
 *   emu.seed(1000);                     // realistic events on the remote
 *   ... run the synchronizer against emu.remoteUrl / emu.localUrl ...
 *   emu.compare().equal                 // local store == remote final state?
 *   await emu.stop();
 */
import { LocalPlatformEmulator, type LocalEmulatorOptions } from './local.js';
import { RemoteStreamEmulator, type RemoteEmulatorOptions } from './remote.js';
import { compareTables, type StoreComparison } from './stix.js';

export { LocalPlatformEmulator, type LocalEmulatorOptions, type LocalFault, type RecordedLocalRequest, type ConnectorRecord, type WorkError } from './local.js';
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
  local?: Omit<LocalEmulatorOptions, 'port' | 'host' | 'token'>;
}

export interface OpenctiEmulator {
  readonly remote: RemoteStreamEmulator;
  readonly local: LocalPlatformEmulator;
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
  const local = new LocalPlatformEmulator({ ...opts.local, port: opts.localPort ?? 0, host, token: localToken });
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
    compare: () => compareTables(remote.table(), local.store),
    async stop() {
      await Promise.all([remote.stop(), local.stop()]);
    },
  };
}
