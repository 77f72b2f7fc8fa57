/**
 * The synchronizer: remote live stream -> bounded queue -> batches -> local platform, with the
 * stream position advancing only after the local platform accepted the work.
 *
 * Position rules (opencti-stream.md §2.2, §6):
 * - ids are not unique per message (dependency creates share the id of the event that needs them),
 *   so the saved position only moves past an id once every message carrying it was accepted: it is
 *   the id before the current run, unless the next message or a heartbeat shows the run is over;
 * - a heartbeat is queued as a marker, so it only advances the position once everything received
 *   before it was accepted;
 * - the position is saved with pingConnector at most every SYNC_STATE_SAVE_INTERVAL_MS and on
 *   shutdown; a replay after a crash is harmless because every apply is idempotent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SyncConfig } from './config.js';
import { classifyEvent, type StixObject, type Work } from './events.js';
import { createLogger, type Logger } from './log.js';
import { LocalError, LocalPlatform, bundlePushBody, classifyLocalError } from './local.js';
import { START_OF_STREAM, readConnectorState, streamIdDate, writeConnectorState, compareStreamIds } from './position.js';
import { BoundedQueue } from './queue.js';
import { RemoteStream, type ConnectedInfo } from './remote.js';
import { redactorFromConfig, type Redactor } from './redact.js';
import { HEALTHY_STATES, newCounters, renderMetrics, renderStatusJson, writeStatusFile, type Counters, type SyncState, type SyncStatus } from './status.js';

/** Process exit codes (documented in docs/sync.md). */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  CONFIG: 2,
  LOCAL_AUTH: 3,
  REMOTE_AUTH: 4,
  LOCAL_UNSUPPORTED: 5,
} as const;

export interface SyncExit {
  code: number;
  reason: string;
}

export interface SyncHandle {
  /** Resolves once the synchronizer has stopped, with the exit code the process should use. */
  readonly done: Promise<SyncExit>;
  /** The port /healthz and /metrics listen on (useful with SYNC_HTTP_PORT=0). */
  readonly httpPort: number | undefined;
  status(): SyncStatus;
  /** Stop: finish (or after SYNC_STOP_GRACE_MS abandon) the in-flight batch, save the position. */
  stop(reason?: string): Promise<SyncExit>;
}

export interface StartOptions {
  /** Applied to the status file, /healthz and /metrics, and to the default logger (default: from the config's secrets). */
  redactor?: Redactor;
  logger?: Logger;
  /** Serve /healthz and /metrics (default true). */
  http?: boolean;
}

type Item = { id: string; gen: number; work: Work | { kind: 'marker' } };

/** A deferred operation, run after the batch's bundle; the ops of one batch touch disjoint ids. */
type Deferred =
  | { kind: 'merge'; targetId: string; sourceIds: string[]; eventId: string }
  | { kind: 'delete'; id: string; type: string; eventId: string }
  | Rename;
type Rename = { kind: 'rename'; object: StixObject; previousStandard: string; eventId: string };

interface Batch {
  /** The stream connection generation the items came from. */
  gen: number;
  items: Item[];
  objects: StixObject[];
  bytes: number;
  deferred: Deferred[];
  /** Ids touched by `deferred`: a later upsert of one of them must wait for the next batch. */
  touched: Set<string>;
  /** The stixBundlePush body of `objects`, built while the previous batch was being applied. */
  body?: Buffer;
  /** Ids of the bundle's items (only tracked when deletes and merges travel in the bundle). */
  ids: Set<string> | undefined;
  /** Delete operations carried in the bundle (OpenCTI >= 6.2). */
  bundleDeletes: number;
  /** Merge operations carried in the bundle (OpenCTI >= 6.2). */
  bundleMerges: number;
  /**
   * Merges carried in the bundle: the merge targets' post-merge states, upserted at the head of the
   * next bundle, and the index in `items` of the first merge event. That event and the ones after it
   * are accepted with the next batch, so the position never passes a merge whose target state is
   * not applied yet.
   */
  carry: { from: number; objects: StixObject[] } | undefined;
}

/** Work handed from a batch to the next one: see `Batch.carry`. */
interface Carry {
  gen: number;
  items: Item[];
  objects: StixObject[];
}

/**
 * A delete as a bundle item (OpenCTI >= 6.2 workers, opencti-stream.md §3.5): the deleted object's
 * JSON with `opencti_operation` last, so it wins over a key of the same name in the data.
 */
export function deleteItemJson(objectJson: string): string {
  return `${objectJson.slice(0, -1)},"opencti_operation":"delete"}`;
}

/**
 * A merge as a bundle item (OpenCTI >= 6.2 workers, opencti-stream.md §3.5), the way the platform's
 * own synchronizer hands a merge event to its worker: the target's data with `opencti_operation`,
 * `merge_target_id` and `merge_source_ids` last. The worker only merges; it does not apply the data.
 */
export function mergeItemJson(targetJson: string, targetId: string, sourceIds: readonly string[]): string {
  return `${targetJson.slice(0, -1)},"opencti_operation":"merge","merge_target_id":${JSON.stringify(targetId)},"merge_source_ids":${JSON.stringify(sourceIds)}}`;
}

/** [major, minor] of a platform version; NaN where a part is not a number. */
function majorMinor(version: string): [number, number] {
  const [major = Number.NaN, minor = Number.NaN] = version.split('.').map((x) => Number.parseInt(x, 10));
  return [major, minor];
}

/** Whether the local platform's workers act on bundle operations (`opencti_operation`, pycti >= 6.2). */
export function supportsBundleOperations(version: string): boolean {
  const [major, minor] = majorMinor(version);
  return major > 6 || (major === 6 && minor >= 2);
}

type StepResult = 'ok' | 'not-found' | 'failed' | 'abandoned';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** At most `n` calls of the returned function run at once; the others wait, first come first served. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < n) active++;
    else await new Promise<void>((r) => waiting.push(r)); // the slot is handed over by a finishing call
    try {
      return await fn();
    } finally {
      const w = waiting.shift();
      if (w) w();
      else active--;
    }
  };
}

function backoff(attempt: number, base: number, max: number): number {
  const cap = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

export async function startSynchronizer(config: SyncConfig, options: StartOptions = {}): Promise<SyncHandle> {
  const redactor = options.redactor ?? redactorFromConfig(config);
  const log = options.logger ?? createLogger(config.logLevel, redactor);
  const cfg = config;
  const local = new LocalPlatform({ url: cfg.local.url, token: cfg.local.token, timeoutMs: cfg.local.timeoutMs, synchronizedUpsert: cfg.local.synchronizedUpsert });
  const counters: Counters = newCounters();
  const queue = new BoundedQueue<Item>(cfg.apply.queueMaxEvents, cfg.apply.queueMaxBytes, (it) => ('bytes' in it.work ? it.work.bytes : 64));
  const configuredStart = cfg.remote.startFrom ?? START_OF_STREAM;
  const startedAt = new Date();
  const stopCtl = new AbortController();
  const applyCtl = new AbortController();

  let remoteState: SyncState = 'starting';
  let localRetrying = false;
  let stopping = false;
  let finalState: 'stopped' | 'failed' | undefined;
  let exitCode: number | null = null;
  let lastError: SyncStatus['lastError'] = null;
  let localVersion: string | null = null;
  /** Deletes and merges go in the bundles as operations (decided from the local version at start-up). */
  let bundleOps = false;
  /** The merges taken into the last batch collected, for the next one (see `Batch.carry`). */
  let pendingCarry: Carry | undefined;
  let registered = false;

  let safe = configuredStart;
  let savedPosition: string | null = null;
  let runId: string | undefined;
  let beforeRun: string | undefined;
  let generation = 0;
  let resetPending = false;
  let saving: Promise<void> | undefined;
  let connectionId: string | null = null;
  let headId: string | null = null;
  let lastReceivedId: string | null = null;
  let firstEventAt: number | null = null;
  let lastAcceptAt: number | null = null;
  let lastState: SyncState | undefined;
  let fatalExit: SyncExit | undefined;
  let resolveDone: (e: SyncExit) => void = () => undefined;
  const done = new Promise<SyncExit>((r) => (resolveDone = r));
  const timers: NodeJS.Timeout[] = [];

  const state = (): SyncState => finalState ?? (stopping ? 'stopping' : localRetrying ? 'retrying' : remoteState);

  const status = (): SyncStatus => {
    const s = state();
    return {
      state: s,
      healthy: HEALTHY_STATES.has(s),
      position: safe,
      positionDate: safe === START_OF_STREAM ? null : (streamIdDate(safe)?.toISOString() ?? null),
      savedPosition,
      lastError,
      exitCode,
      counters: structuredClone(counters),
      queueLength: queue.length,
      remote: { streamUrl: remote.streamUrl, connectionId, lastReceivedId, headId },
      local: { url: cfg.local.url, version: localVersion },
      timing: { startedAt: startedAt.toISOString(), firstEventAt, lastAcceptAt },
      applyMode: cfg.apply.mode,
      pid: process.pid,
      memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed },
    };
  };

  const writeStatus = () => {
    if (!cfg.statusFile) return;
    try {
      writeStatusFile(cfg.statusFile, status(), redactor);
    } catch (err) {
      log.warn('cannot write the status file (SYNC_STATUS_FILE)', { file: cfg.statusFile, error: err instanceof Error ? err.message : String(err) });
    }
  };
  const stateChanged = () => {
    const s = state();
    if (s === lastState) return;
    log.debug('state', { state: s, previous: lastState ?? null });
    lastState = s;
    writeStatus();
  };
  const setError = (kind: string, message: string) => {
    lastError = { kind, message, at: new Date().toISOString() };
  };

  // ---------------------------------------------------------------- remote
  const remote = new RemoteStream(
    {
      url: cfg.remote.url,
      token: cfg.remote.token,
      streamId: cfg.remote.streamId,
      sslVerify: cfg.remote.sslVerify,
      heartbeatTimeoutMs: cfg.remote.heartbeatTimeoutMs,
      maxEventBytes: cfg.remote.maxEventBytes,
      reconnectBaseMs: cfg.remote.reconnectBaseMs,
      reconnectMaxMs: cfg.remote.reconnectMaxMs,
      noDependencies: cfg.remote.noDependencies,
    },
    {
      onMessage(type, id, data) {
        if (type === 'heartbeat') {
          counters.heartbeats++;
          if (id !== '') queue.push({ id, gen: generation, work: { kind: 'marker' } });
          return;
        }
        counters.eventsReceived++;
        firstEventAt ??= Date.now();
        if (id !== '') lastReceivedId = id;
        queue.push({ id, gen: generation, work: classifyEvent(type, data, cfg.apply.mode !== 'none') });
      },
      waitForRoom: (signal) => queue.waitForRoom(signal),
      async beforeConnect() {
        generation++;
        queue.clear();
        const pending = inFlight();
        if (pending) await pending;
        if (resetPending) {
          safe = configuredStart;
          runId = beforeRun = undefined;
          resetPending = false;
          log.warn('connector state was reset on the local platform: restarting from the configured start', { position: safe });
          await saveState();
        }
        counters.remoteConnects++;
        log.info('connecting to the remote stream', { url: remote.streamUrl, lastEventId: safe });
        return safe;
      },
      onConnected(info: ConnectedInfo) {
        connectionId = info.connectionId ?? null;
        headId = info.lastEventId ?? null;
        log.info('remote stream connected', { connectionId, headId, firstEventId: info.firstEventId, streamSize: info.streamSize });
        if (info.firstEventId && safe !== START_OF_STREAM && /^\d+-\d+$/.test(info.firstEventId) && compareStreamIds(safe, info.firstEventId) < 0) {
          log.warn('the resume position is older than the first event the remote still retains: events in between are lost (retention, pitfall 11); a full re-copy needs a state reset', { position: safe, firstEventId: info.firstEventId });
        }
      },
      onState(s, detail) {
        remoteState = s;
        if (s === 'backoff' && detail) setError('remote', detail);
        stateChanged();
      },
      onFatal(httpStatus, message) {
        fatal(EXIT.REMOTE_AUTH, message, `remote HTTP ${httpStatus}`);
      },
      onWarn(message, fields) {
        log.warn(message, fields);
      },
    },
  );

  // ---------------------------------------------------------------- local steps
  async function step(operation: string, fn: (signal: AbortSignal) => Promise<void>, allowNotFound: boolean): Promise<{ r: StepResult; err?: LocalError }> {
    let transient = 0;
    let functional = 0;
    for (;;) {
      if (applyCtl.signal.aborted) return { r: 'abandoned' };
      try {
        counters.localRequests++;
        await fn(applyCtl.signal);
        if (localRetrying) {
          localRetrying = false;
          log.info('local platform accepts requests again', { operation });
          stateChanged();
        }
        return { r: 'ok' };
      } catch (e) {
        if (applyCtl.signal.aborted) return { r: 'abandoned' };
        const le = classifyLocalError(e, operation, cfg.local.url, cfg.local.timeoutMs);
        if (le.kind === 'auth') {
          fatal(EXIT.LOCAL_AUTH, le.message, 'local auth');
          return { r: 'abandoned' };
        }
        if (le.kind === 'not-found' && allowNotFound) return { r: 'not-found', err: le };
        if (le.kind === 'transient') {
          const delay = backoff(transient++, cfg.local.retryBaseMs, cfg.local.retryMaxMs);
          counters.localRetries++;
          setError('local', le.message);
          log.warn('local platform request failed; retrying without advancing the position', { operation, error: le.message, attempt: transient, retryInMs: delay });
          localRetrying = true;
          stateChanged();
          await sleep(delay, stopCtl.signal);
          if (stopCtl.signal.aborted) return { r: 'abandoned' };
          continue;
        }
        functional++;
        setError('local', le.message);
        if (functional > cfg.local.functionalRetries) return { r: 'failed', err: le };
        const delay = backoff(functional - 1, cfg.local.retryBaseMs, cfg.local.retryMaxMs);
        counters.localRetries++;
        log.warn('local platform refused a request; retrying', { operation, error: le.message, attempt: functional, retryInMs: delay });
        await sleep(delay, stopCtl.signal);
        if (stopCtl.signal.aborted) return { r: 'abandoned' };
      }
    }
  }

  function reportFailed(what: string, obj: { id: string; type: string }, err: LocalError | undefined, itemId?: string) {
    counters.eventsSkipped.failed++;
    log.error('the local platform refused an object after retries: skipped (position advances past it)', { operation: what, stixId: obj.id, stixType: obj.type, eventId: itemId, error: err?.message ?? 'unknown' });
  }

  async function push(objects: StixObject[], previousStandard: string | undefined, body?: Buffer): Promise<'done' | 'abandoned'> {
    const res = await step('stixBundlePush', (signal) => local.pushBundle(cfg.connector.id, objects, { previousStandard, signal, body }), false);
    if (res.r === 'abandoned') return 'abandoned';
    if (res.r === 'ok') {
      counters.bundlesPushed++;
      counters.objectsPushed += objects.length;
      return 'done';
    }
    if (objects.length === 1) {
      const o = objects[0];
      if (o) reportFailed('stixBundlePush', o, res.err);
      return 'done';
    }
    log.warn('a bundle was refused; pushing its objects one by one to isolate the failing ones', { objects: objects.length, error: res.err?.message });
    for (const o of objects) {
      const one = await push([o], previousStandard);
      if (one === 'abandoned') return 'abandoned';
    }
    return 'done';
  }

  /**
   * The updates of one batch that changed a standard id: each new state is pushed alone with
   * previous-standard (the header applies to a whole request). Then one query finds the old ids
   * that still exist as their own objects: a replay (at-least-once) re-created the object under its
   * old id, so both ids now exist as two objects. Each such one is merged into the renamed object
   * so the local platform converges.
   */
  async function renameAll(ops: Rename[]): Promise<'done' | 'abandoned'> {
    const pushed = await Promise.all(ops.map((op) => limit(() => push([op.object], op.previousStandard))));
    if (pushed.includes('abandoned')) return 'abandoned';
    let own = new Set<string>();
    const check = await step('stixCoreObjects', async (signal) => {
      own = await local.ownStandardIds(ops.map((op) => op.previousStandard), signal);
    }, true);
    if (check.r === 'abandoned') return 'abandoned';
    if (check.r !== 'ok') return 'done';
    const merges = ops
      .filter((op) => own.has(op.previousStandard))
      .map((op) => {
        log.info('the old standard id still exists as its own object (replayed create): merging it into the renamed object', { previousStandard: op.previousStandard, stixId: op.object.id, eventId: op.eventId });
        return limit(() => applyDeferred({ kind: 'merge', targetId: op.object.id, sourceIds: [op.previousStandard], eventId: op.eventId }));
      });
    return (await Promise.all(merges)).includes('abandoned') ? 'abandoned' : 'done';
  }

  async function applyDeferred(op: Exclude<Deferred, Rename>): Promise<'done' | 'abandoned'> {
    if (op.kind === 'merge') {
      if (op.sourceIds.length === 0) return 'done';
      const res = await step('stixEdit.merge', (signal) => local.merge(op.targetId, op.sourceIds, signal), true);
      if (res.r === 'abandoned') return 'abandoned';
      if (res.r === 'ok') counters.merges++;
      else if (res.r === 'not-found') {
        counters.eventsSkipped['not-found']++;
        log.warn('merge skipped: an id is unknown on the local platform (already merged or never copied)', { target: op.targetId, sources: op.sourceIds, eventId: op.eventId, error: res.err?.message });
      } else reportFailed('stixEdit.merge', { id: op.targetId, type: 'merge' }, res.err, op.eventId);
      return 'done';
    }
    const res = await step('stixEdit.delete', (signal) => local.delete(op.id, signal), true);
    if (res.r === 'abandoned') return 'abandoned';
    if (res.r === 'ok') counters.deletes++;
    else if (res.r === 'not-found') {
      counters.eventsSkipped['not-found']++;
      log.warn('delete skipped: the id is unknown on the local platform', { stixId: op.id, eventId: op.eventId, error: res.err?.message });
    } else reportFailed('stixEdit.delete', { id: op.id, type: op.type }, res.err, op.eventId);
    return 'done';
  }

  // ---------------------------------------------------------------- pipelined apply
  /**
   * Batches are applied as a pipeline of at most SYNC_APPLY_WINDOW batches:
   * - bundles are pushed one at a time, in stream order;
   * - a batch's deferred operations (merges, deletes, id changes) start once its bundle is
   *   accepted, SYNC_APPLY_CONCURRENCY requests at a time over the whole window;
   * - a batch's bundle also waits for every earlier deferred operation still running on an id the
   *   batch touches, so each object sees its events in stream order;
   * - batches are accepted (the position moves) strictly in order, each once all its work and all
   *   earlier batches' work is accepted: a request that keeps failing holds the position before
   *   it, whatever later batches did meanwhile.
   */
  type Outcome = 'done' | 'abandoned';
  /** Batches taken off the queue and not yet accepted, in stream order (the last may still be filling). */
  const unaccepted: Batch[] = [];
  /** The acceptance of every scheduled batch not yet accepted. */
  const stages = new Set<Promise<Outcome>>();
  let lastBundle: Promise<Outcome> = Promise.resolve('done');
  let lastAccepted: Promise<Outcome> = Promise.resolve('done');
  /** Id -> the unfinished deferred operation that touches it (the latest one). */
  const pendingOps = new Map<string, Promise<Outcome>>();
  const limit = limiter(cfg.apply.concurrency);

  /** Settles once every scheduled batch is accepted or abandoned; undefined when none is. */
  function inFlight(): Promise<void> | undefined {
    return stages.size === 0 ? undefined : Promise.all([...stages]).then(() => undefined);
  }

  function deferredIds(op: Deferred): string[] {
    switch (op.kind) {
      case 'merge':
        return [op.targetId, ...op.sourceIds];
      case 'delete':
        return [op.id];
      case 'rename':
        return [op.object.id, op.previousStandard];
    }
  }

  /** An unexpected exception in the pipeline is an internal error: stop, never advance past it. */
  function guard(p: Promise<Outcome>): Promise<Outcome> {
    return p.catch((err: unknown) => {
      fatal(EXIT.INTERNAL, `internal error in the applier: ${err instanceof Error ? err.message : String(err)}`, 'internal');
      return 'abandoned' as const;
    });
  }

  function schedule(b: Batch): Promise<Outcome> {
    const deps = new Set<Promise<Outcome>>([lastBundle]);
    for (const o of b.objects) {
      const p = pendingOps.get(o.id);
      if (p) deps.add(p);
    }
    for (const op of b.deferred) {
      for (const id of deferredIds(op)) {
        const p = pendingOps.get(id);
        if (p) deps.add(p);
      }
    }
    const bundle = guard(
      (async (): Promise<Outcome> => {
        const before = await Promise.all(deps);
        if (before.includes('abandoned') || applyCtl.signal.aborted) return 'abandoned';
        if (b.objects.length === 0) return 'done';
        const r = await push(b.objects, undefined, b.body);
        b.body = undefined; // pushed: do not keep megabytes alive until the batch is accepted
        return r;
      })(),
    );
    lastBundle = bundle;
    const track = (ids: string[], p: Promise<Outcome>) => {
      for (const id of ids) pendingOps.set(id, p);
      void p.then(() => {
        for (const id of ids) if (pendingOps.get(id) === p) pendingOps.delete(id);
      });
      return p;
    };
    // The deferred operations of one batch touch disjoint ids: they run concurrently. Its id
    // changes run as one group, which ends with one check for replayed creates.
    const renames: Rename[] = [];
    const ops: Promise<Outcome>[] = [];
    for (const op of b.deferred) {
      if (op.kind === 'rename') renames.push(op);
      else ops.push(track(deferredIds(op), guard(bundle.then((r) => (r === 'abandoned' ? r : limit(() => applyDeferred(op)))))));
    }
    if (renames.length > 0) ops.push(track(renames.flatMap(deferredIds), guard(bundle.then((r) => (r === 'abandoned' ? r : renameAll(renames))))));
    const applied = Promise.all([bundle, ...ops]).then((rs): Outcome => (rs.includes('abandoned') ? 'abandoned' : 'done'));
    const accepted = guard(
      Promise.all([lastAccepted, applied]).then(([prev, mine]): Outcome => {
        if (prev === 'abandoned' || mine === 'abandoned') return 'abandoned';
        accept(b);
        return 'done';
      }),
    );
    lastAccepted = accepted;
    stages.add(accepted);
    void accepted.then(() => stages.delete(accepted));
    return accepted;
  }

  // ---------------------------------------------------------------- batching
  /**
   * Take the next batch off the queue: consecutive creates/updates become one bundle (bounded by
   * count, bytes and time). From OpenCTI 6.2 deletes and merges are items of that bundle (a merge's
   * post-merge target state opens the next one, see `Batch.carry`); before 6.2 they are deferred to
   * run after the bundle, which keeps the effect of the original order because a later event
   * touching an id that a deferred op touches closes the batch first. An update that changes a
   * standard id is deferred the same way and pushed alone, since its previous-standard header
   * applies to a whole request.
   */
  async function collectBatch(gen: number): Promise<Batch> {
    const b: Batch = { gen, items: [], objects: [], bytes: 0, deferred: [], touched: new Set(), ids: bundleOps ? new Set() : undefined, bundleDeletes: 0, bundleMerges: 0, carry: undefined };
    const carried = pendingCarry;
    pendingCarry = undefined;
    if (carried && carried.gen === gen) {
      // The previous batch's merges: their targets' post-merge states open this bundle, and the
      // merge events (with what followed them there) are accepted with this batch.
      b.items.push(...carried.items);
      for (const o of carried.objects) {
        b.objects.push(o);
        b.ids?.add(o.id);
        b.bytes += o.json.length;
      }
    }
    unaccepted.push(b);
    const batch = await fillBatch(b);
    if (batch.carry) {
      const { from, objects } = batch.carry;
      pendingCarry = { gen: batch.gen, items: batch.items.splice(from), objects };
    }
    if (batch.objects.length > 0 && cfg.apply.mode !== 'none' && gen === generation) batch.body = bundlePushBody(cfg.connector.id, batch.objects);
    return batch;
  }

  async function fillBatch(b: Batch): Promise<Batch> {
    const gen = b.gen;
    const began = Date.now();
    const perEvent = cfg.apply.mode === 'per-event';
    const take = () => {
      const it = queue.shift();
      if (it) b.items.push(it);
      return it;
    };
    const size = () => b.objects.length + b.deferred.length;
    for (;;) {
      const it = queue.peek();
      if (it === undefined) {
        if (size() === 0 && b.items.length > 0) return b;
        const remaining = cfg.apply.batchMaxWaitMs - (Date.now() - began);
        if (remaining <= 0) return b;
        // Wait for more while events keep coming; once the stream pauses for SYNC_BATCH_IDLE_MS
        // (caught up, or a quiet moment) the batch goes out rather than waiting for the time bound.
        const got = await queue.waitForItem(size() > 0 ? Math.min(remaining, cfg.apply.batchIdleMs) : remaining, stopCtl.signal);
        if (!got || gen !== generation) return b;
        continue;
      }
      if (it.gen !== gen) return b;
      const w = it.work;
      if (w.kind === 'marker') {
        take();
        return b; // the server has nothing more for now: flush
      }
      if (w.kind === 'skip') {
        take();
        continue;
      }
      if (size() >= cfg.apply.batchMaxEvents || (size() > 0 && b.bytes + w.bytes > cfg.apply.batchMaxBytes)) return b;
      switch (w.kind) {
        case 'upsert':
          if (b.touched.has(w.object.id)) return b;
          if (w.previousStandard !== undefined) {
            // Its previous-standard header applies to a whole request: pushed alone, after the bundle.
            if (b.touched.has(w.previousStandard) || (perEvent && size() > 0)) return b;
            take();
            b.deferred.push({ kind: 'rename', object: w.object, previousStandard: w.previousStandard, eventId: it.id });
            b.touched.add(w.object.id);
            b.touched.add(w.previousStandard);
            b.bytes += w.bytes;
            continue;
          }
          take();
          b.objects.push(w.object);
          b.ids?.add(w.object.id);
          b.bytes += w.bytes;
          continue;
        case 'merge': {
          const ids = [w.object.id, ...w.sourceIds];
          if (ids.some((id) => b.touched.has(id))) return b;
          if (perEvent && size() > 0) return b;
          if (b.ids && cfg.apply.mode === 'batch') {
            // In the bundle, as the worker's merge item; the target's post-merge state opens the
            // next bundle (the worker's item only merges). One item per id per bundle, as for deletes.
            if (ids.some((id) => b.ids?.has(id))) return b;
            take();
            b.objects.push({ id: w.object.id, type: w.object.type, json: mergeItemJson(w.object.json, w.object.id, w.sourceIds) });
            b.carry ??= { from: b.items.length - 1, objects: [] };
            b.carry.objects.push(w.object);
            for (const id of ids) {
              b.ids.add(id);
              b.touched.add(id);
            }
            b.bundleMerges++;
            b.bytes += w.bytes;
            continue;
          }
          take();
          b.objects.push(w.object); // upsert the target's post-merge state first, then merge the sources into it
          b.ids?.add(w.object.id);
          b.bytes += w.bytes;
          b.deferred.push({ kind: 'merge', targetId: w.object.id, sourceIds: w.sourceIds, eventId: it.id });
          for (const id of ids) b.touched.add(id);
          if (perEvent) return b;
          continue;
        }
        case 'delete':
          if (b.touched.has(w.object.id)) return b;
          if (b.ids) {
            // In the bundle, at its place in the stream; one item per id per bundle, since a worker
            // may apply a bundle's items in parallel.
            if (b.ids.has(w.object.id)) return b;
            take();
            b.objects.push({ id: w.object.id, type: w.object.type, json: deleteItemJson(w.object.json) });
            b.ids.add(w.object.id);
            b.touched.add(w.object.id);
            b.bundleDeletes++;
            b.bytes += w.bytes;
            continue;
          }
          take();
          b.deferred.push({ kind: 'delete', id: w.object.id, type: w.object.type, eventId: it.id });
          b.touched.add(w.object.id);
          b.bytes += w.bytes;
          continue;
      }
    }
  }

  /** A batch that will never be applied (stale connection, empty): forget it. */
  function discard(b: Batch) {
    const i = unaccepted.indexOf(b);
    if (i >= 0) unaccepted.splice(i, 1);
  }

  function accept(b: Batch) {
    for (const it of b.items) {
      const w = it.work;
      if (w.kind === 'marker') {
        if (it.id !== runId) {
          runId = beforeRun = it.id;
        }
        continue;
      }
      if (w.kind === 'skip') {
        counters.eventsSkipped[w.reason]++;
        log.warn('event skipped', { reason: w.reason, detail: w.detail, eventId: it.id || null });
      } else counters.eventsApplied++;
      if (it.id !== '' && it.id !== runId) {
        beforeRun = runId;
        runId = it.id;
      }
    }
    // What follows this batch in the stream: the next batch taken off the queue, or the queue's head.
    counters.deletes += b.bundleDeletes;
    counters.merges += b.bundleMerges;
    const at = unaccepted.indexOf(b);
    if (at >= 0) unaccepted.splice(at, 1);
    const next = (at >= 0 ? unaccepted[at]?.items[0] : undefined) ?? pendingCarry?.items[0] ?? queue.peek();
    let candidate = beforeRun;
    if (runId !== undefined && (runId === beforeRun || (next !== undefined && next.gen === generation && next.id !== '' && next.id !== runId))) candidate = runId;
    if (candidate !== undefined) safe = candidate;
    lastAcceptAt = Date.now();
  }

  /** The next batch off the queue, once there is at least one item; undefined when stopping. */
  async function nextBatch(afterIo = false): Promise<Batch | undefined> {
    // Let the request just started for the previous batch go out before we spend time here.
    if (afterIo) await new Promise<void>((r) => setImmediate(r));
    // Merges carried from the previous batch (their targets' post-merge states) make a batch on
    // their own: they must not wait for the next event or heartbeat, which may be seconds away.
    if (pendingCarry?.gen !== generation) {
      const got = await queue.waitForItem(undefined, stopCtl.signal);
      if (!got) return undefined;
    } else if (stopCtl.signal.aborted) return undefined;
    return collectBatch(generation);
  }

  async function applierLoop(): Promise<void> {
    if (cfg.apply.mode === 'none') {
      // Nothing is applied (the read-rate measurement): no pipeline, accept as soon as collected.
      for (;;) {
        const batch = await nextBatch();
        if (batch === undefined || stopCtl.signal.aborted) return;
        if (batch.gen !== generation || batch.items.length === 0) discard(batch);
        else accept(batch);
      }
    }
    const window: Promise<Outcome>[] = [];
    let ahead = nextBatch();
    for (;;) {
      const batch = await ahead;
      if (batch === undefined || stopCtl.signal.aborted) return;
      if (batch.gen !== generation || (batch.items.length === 0 && batch.objects.length === 0)) {
        discard(batch);
        ahead = nextBatch();
        continue;
      }
      window.push(schedule(batch));
      // Collect (and serialize) the next batch while this one is being applied.
      ahead = nextBatch(true);
      while (window.length >= cfg.apply.window) {
        if ((await window.shift()) === 'abandoned') return;
      }
    }
  }

  // ---------------------------------------------------------------- state saving
  async function saveState(): Promise<void> {
    if (!registered || resetPending) return;
    if (saving) return saving;
    const pos = safe;
    saving = (async () => {
      try {
        const r = await local.ping(cfg.connector.id, writeConnectorState(pos), queue.length);
        counters.stateSaves++;
        savedPosition = pos;
        const back = readConnectorState(r.state);
        if (back.kind === 'empty' && !stopping) {
          counters.resets++;
          resetPending = true;
          remote.reconnect('the connector state was reset on the local platform');
        }
      } catch (e) {
        const le = classifyLocalError(e, 'pingConnector', cfg.local.url, cfg.local.timeoutMs);
        if (le.kind === 'auth' && !stopping) fatal(EXIT.LOCAL_AUTH, le.message, 'local auth');
        else log.warn('could not save the stream position; will retry', { error: le.message, position: pos });
      }
    })();
    try {
      await saving;
    } finally {
      saving = undefined;
    }
  }

  // ---------------------------------------------------------------- lifecycle
  let stopPromise: Promise<SyncExit> | undefined;
  function fatal(code: number, message: string, kind: string) {
    if (fatalExit || stopping) return;
    fatalExit = { code, reason: message };
    exitCode = code;
    setError(kind, message);
    log.error(message, { exitCode: code });
    void stop('fatal error');
  }

  function stop(reason = 'stop requested'): Promise<SyncExit> {
    stopPromise ??= (async () => {
      log.info('stopping', { reason, position: safe });
      stopping = true;
      stateChanged();
      stopCtl.abort();
      const remoteStopped = remote.stop();
      const pending = inFlight();
      if (pending) {
        const outcome = await Promise.race([pending.then(() => 'done' as const), sleep(cfg.stopGraceMs).then(() => 'timeout' as const)]);
        if (outcome === 'timeout') {
          log.warn('abandoning the in-flight batches: they will be replayed on restart', { graceMs: cfg.stopGraceMs });
          applyCtl.abort();
          await pending;
        }
      }
      applyCtl.abort();
      await remoteStopped;
      for (const t of timers) clearInterval(t);
      if (registered && !(fatalExit && fatalExit.code === EXIT.LOCAL_AUTH)) {
        await Promise.race([saveState(), sleep(Math.min(cfg.local.timeoutMs, 5000))]);
      }
      const exit: SyncExit = fatalExit ?? { code: EXIT.OK, reason };
      exitCode = exit.code;
      finalState = fatalExit ? 'failed' : 'stopped';
      stateChanged();
      writeStatus();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server?.closeAllConnections();
      log.info('stopped', { exitCode: exit.code, position: safe, savedPosition });
      resolveDone(exit);
      return exit;
    })();
    return stopPromise;
  }

  async function startup(): Promise<void> {
    let attempt = 0;
    const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
      for (;;) {
        if (stopCtl.signal.aborted) return undefined;
        try {
          return await fn();
        } catch (e) {
          const le = classifyLocalError(e, what, cfg.local.url, cfg.local.timeoutMs);
          if (le.kind === 'auth') {
            fatal(EXIT.LOCAL_AUTH, le.message, 'local auth');
            return undefined;
          }
          if (le.kind !== 'transient') {
            fatal(EXIT.LOCAL_UNSUPPORTED, `${le.message}; the local platform refused ${what}: check that OPENCTI_URL is an OpenCTI >= 5 platform`, 'local');
            return undefined;
          }
          const delay = backoff(attempt++, cfg.local.retryBaseMs, cfg.local.retryMaxMs);
          setError('local', le.message);
          log.warn('local platform not ready; retrying', { operation: what, error: le.message, retryInMs: delay });
          await sleep(delay, stopCtl.signal);
        }
      }
    };
    const version = await retrying('about', () => local.version());
    if (version === undefined) return;
    localVersion = version;
    const [major] = majorMinor(version);
    if (Number.isFinite(major) && major < 5) {
      fatal(EXIT.LOCAL_UNSUPPORTED, `local OpenCTI at ${cfg.local.url} is version ${version}; this synchronizer needs 5.0 or later: upgrade the platform`, 'local');
      return;
    }
    bundleOps = supportsBundleOperations(version);
    log.info('local platform reachable', { url: cfg.local.url, version, deletesAndMerges: bundleOps ? 'in bundles (opencti_operation)' : 'one request each' });
    const me = await retrying('me', () => local.me());
    if (me === undefined) return;
    if (!me.capabilities.includes('BYPASS')) {
      log.warn('the local user lacks the BYPASS capability: synchronized-upsert has no effect, so fields removed remotely persist locally; give the connector user the Administrator role', { user: me.name });
    }
    const reg = await retrying('registerConnector', () => local.register({ id: cfg.connector.id, name: cfg.connector.name, type: cfg.connector.type, scope: cfg.connector.scope }));
    if (reg === undefined) return;
    registered = true;
    const st = readConnectorState(reg.state);
    if (st.kind === 'position') {
      safe = st.position;
      log.info('resuming from the saved connector state', { position: safe, key: st.source });
    } else {
      if (st.kind === 'unusable') log.warn(`ignoring the saved connector state (${st.reason}); starting from the configured start`, {});
      safe = configuredStart;
      log.info('starting from the configured start', { position: safe, source: cfg.remote.startFrom ? 'REMOTE_OPENCTI_START_TIMESTAMP' : 'start of the retained stream' });
    }
    await saveState();
    if (stopCtl.signal.aborted) return;
    timers.push(setInterval(() => void saveState(), cfg.stateSaveIntervalMs));
    if (cfg.progressIntervalMs > 0) {
      let lastApplied = 0;
      let lastAt = Date.now();
      timers.push(
        setInterval(() => {
          const now = Date.now();
          const applied = counters.eventsApplied + Object.values(counters.eventsSkipped).reduce((a, b) => a + b, 0);
          const rate = ((applied - lastApplied) * 1000) / Math.max(1, now - lastAt);
          lastApplied = applied;
          lastAt = now;
          const posDate = streamIdDate(safe);
          const recvDate = lastReceivedId ? streamIdDate(lastReceivedId) : undefined;
          log.info('progress', {
            state: state(),
            eventsPerSec: Math.round(rate),
            applied: counters.eventsApplied,
            skipped: applied - counters.eventsApplied,
            position: safe,
            lagMs: posDate && safe !== START_OF_STREAM ? now - posDate.getTime() : null,
            behindMs: posDate && recvDate ? Math.max(0, recvDate.getTime() - posDate.getTime()) : null,
            queue: queue.length,
          });
          writeStatus();
        }, cfg.progressIntervalMs),
      );
    }
    void applierLoop().catch((err: unknown) => fatal(EXIT.INTERNAL, `internal error in the applier: ${err instanceof Error ? err.message : String(err)}`, 'internal'));
    remote.start();
  }

  // ---------------------------------------------------------------- http
  let server: http.Server | undefined;
  let httpPort: number | undefined;
  if (options.http !== false) {
    server = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && url === '/healthz') {
        const s = status();
        res.writeHead(s.healthy ? 200 : 503, { 'content-type': 'application/json' });
        res.end(renderStatusJson(s, redactor));
      } else if (req.method === 'GET' && url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(renderMetrics(status(), redactor));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /healthz or /metrics\n');
      }
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(cfg.http.port, cfg.http.host, () => resolve());
    });
    httpPort = (srv.address() as AddressInfo).port;
  }

  stateChanged();
  void startup().catch((err: unknown) => fatal(EXIT.INTERNAL, `internal error at start-up: ${err instanceof Error ? err.message : String(err)}`, 'internal'));

  return {
    done,
    httpPort,
    status,
    stop,
  };
}

export { LocalError };
