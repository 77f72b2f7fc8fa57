/**
 * The supervisor: starts the stages, owns the lifecycle and reports health.
 *
 *   reader (remote.ts) ─▶ classify ─▶ pipeline: scheduler ─▶ batcher ─▶ sender ─▶ Works tracker
 *                                                                    acceptance log ─▶ position
 *
 * At start it learns the local platform's version (and so how to write to it, write-path.ts),
 * registers the connector (which gives the saved position and where the messages go), and starts
 * the pipeline and the reader. It saves the position (pingConnector) periodically and on stop,
 * handles a state reset from the platform's UI, serves /healthz and /metrics, and writes the
 * status file. Failures that keep the position from moving hold it and are retried; once they have
 * lasted SYNC_UNHEALTHY_AFTER_MS, /healthz answers 503.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AcceptanceLog, type Entry } from './acceptance.js';
import { STREAM_ID, classifyEvent, isDataEventType } from './classify.js';
import type { SyncConfig } from './config.js';
import { remoteFiles } from './files.js';
import { LocalError, LocalPlatform, classifyLocalError, type Registration } from './local.js';
import { createLogger, type Logger } from './log.js';
import { ApplyPipeline } from './pipeline.js';
import { START_OF_STREAM, compareStreamIds, readConnectorState, recovering, streamIdDate, writeConnectorState } from './position.js';
import { redactUrlUserinfo, redactorFromConfig, type Redactor } from './redact.js';
import { RemoteStream, type ConnectedInfo } from './remote.js';
import { AmqpSender, ApiSender, type Sender, type SenderContext } from './senders.js';
import { HEALTHY_STATES, newCounters, renderMetrics, renderStatusJson, writeStatusFile, type Counters, type SyncState, type SyncStatus } from './status.js';
import { writePathFor, type WritePath } from './write-path.js';

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
  /** Stop: let what was sent be confirmed (at most SYNC_STOP_GRACE_MS), save the position. */
  stop(reason?: string): Promise<SyncExit>;
}

export interface StartOptions {
  /** Applied to the status file, /healthz and /metrics, and to the default logger (default: from the config's secrets). */
  redactor?: Redactor;
  logger?: Logger;
  /** Serve /healthz and /metrics (default true). */
  http?: boolean;
}

export async function startSynchronizer(config: SyncConfig, options: StartOptions = {}): Promise<SyncHandle> {
  return new Supervisor(config, options).start();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

class Supervisor {
  readonly #cfg: SyncConfig;
  readonly #redactor: Redactor;
  readonly #log: Logger;
  readonly #local: LocalPlatform;
  readonly #remote: RemoteStream;
  readonly #counters: Counters = newCounters();
  readonly #configuredStart: string;
  readonly #acceptance: AcceptanceLog;
  readonly #stopCtl = new AbortController();
  readonly #startedAt = new Date();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #serveHttp: boolean;
  #pipeline: ApplyPipeline | undefined;
  #path: WritePath | undefined;
  #localVersion: string | null = null;
  #registered = false;
  // The reader: the run of messages sharing an id, and the last id whose run is complete (where a
  // reconnection resumes: a dependency create shares the id of the event that needs it).
  #runId: string | undefined;
  #resumeFrom: string;
  /** recover_until: the recovery mode copies objects updated until this date while the position is before it. */
  #recoverUntil: string | undefined;
  /** Messages are ignored until the next connection (a reconnection to re-copy was asked for). */
  #discarding = false;
  #resetPending = false;
  #saving: Promise<void> | undefined;
  #savedPosition: string | null = null;
  #remoteState: SyncState = 'starting';
  #troubleSince: number | undefined;
  #lastError: SyncStatus['lastError'] = null;
  #connectionId: string | null = null;
  #headId: string | null = null;
  #lastReceivedId: string | null = null;
  #firstEventAt: number | null = null;
  #lastAcceptAt: number | null = null;
  #lastState: SyncState | undefined;
  #roomWaiters: (() => void)[] = [];
  #stopping = false;
  #finalState: 'stopped' | 'failed' | undefined;
  #fatalExit: SyncExit | undefined;
  #exitCode: number | null = null;
  #stopPromise: Promise<SyncExit> | undefined;
  #resolveDone: (e: SyncExit) => void = () => undefined;
  readonly #done = new Promise<SyncExit>((r) => (this.#resolveDone = r));
  #server: http.Server | undefined;

  constructor(config: SyncConfig, options: StartOptions) {
    this.#cfg = config;
    this.#redactor = options.redactor ?? redactorFromConfig(config);
    this.#log = options.logger ?? createLogger(config.logLevel, this.#redactor);
    this.#serveHttp = options.http !== false;
    this.#local = new LocalPlatform({ url: config.local.url, token: config.local.token, timeoutMs: config.local.timeoutMs });
    this.#configuredStart = config.remote.startFrom ?? START_OF_STREAM;
    this.#resumeFrom = this.#configuredStart;
    this.#acceptance = new AcceptanceLog(this.#configuredStart);
    const r = config.remote;
    this.#remote = new RemoteStream(
      { url: r.url, token: r.token, streamId: r.streamId, sslVerify: r.sslVerify, heartbeatTimeoutMs: r.heartbeatTimeoutMs, maxEventBytes: r.maxEventBytes, reconnectBaseMs: r.reconnectBaseMs, reconnectMaxMs: r.reconnectMaxMs, noDependencies: r.noDependencies, listenDelete: r.listenDelete },
      {
        onMessage: (type, id, data) => this.#onMessage(type, id, data),
        waitForRoom: (signal) => this.#waitForRoom(signal),
        beforeConnect: () => this.#beforeConnect(),
        onConnected: (info) => this.#onConnected(info),
        onState: (s, detail) => this.#onRemoteState(s, detail),
        onFatal: (status, message) => this.#fatal(EXIT.REMOTE_AUTH, message, `remote HTTP ${status}`),
        onWarn: (message, fields) => this.#log.warn(message, fields),
      },
    );
  }

  async start(): Promise<SyncHandle> {
    const port = this.#serveHttp ? await this.#listen() : undefined;
    this.#stateChanged();
    void this.#startup().catch((err: unknown) => this.#fatal(EXIT.INTERNAL, `internal error at start-up: ${err instanceof Error ? err.message : String(err)}`, 'internal'));
    return { done: this.#done, httpPort: port, status: () => this.status(), stop: (reason) => this.stop(reason) };
  }

  // ------------------------------------------------------------------ status and health
  #state(): SyncState {
    if (this.#finalState) return this.#finalState;
    if (this.#stopping) return 'stopping';
    if (this.#pipeline?.failingSince !== undefined) return 'retrying';
    return this.#remoteState;
  }

  /** Since when the process has not been making progress (the oldest of its troubles), if it is not. */
  #troubledSince(): number | undefined {
    const p = this.#pipeline?.failingSince;
    const r = this.#troubleSince;
    return p === undefined ? r : r === undefined ? p : Math.min(p, r);
  }

  #healthy(s: SyncState): boolean {
    if (HEALTHY_STATES.has(s) && this.#pipeline?.failingSince === undefined && this.#troubleSince === undefined) return true;
    if (s === 'stopping' || s === 'stopped' || s === 'failed') return false;
    const since = this.#troubledSince();
    return since === undefined || Date.now() - since < this.#cfg.unhealthyAfterMs;
  }

  status(): SyncStatus {
    const s = this.#state();
    const position = this.#acceptance.position;
    const pipelineError = this.#pipeline?.failingSince !== undefined ? this.#pipeline.lastFailure : undefined;
    const lastError = pipelineError ? { kind: 'local', message: pipelineError, at: new Date(this.#pipeline?.failingSince ?? Date.now()).toISOString() } : this.#lastError;
    return {
      state: s,
      healthy: this.#healthy(s),
      position,
      positionDate: position === START_OF_STREAM ? null : (streamIdDate(position)?.toISOString() ?? null),
      savedPosition: this.#savedPosition,
      lastError,
      exitCode: this.#exitCode,
      counters: this.#countersNow(),
      queueLength: this.#pipeline?.unsettled ?? 0,
      queuedMessages: { now: this.#pipeline?.queuedMessages ?? 0, max: this.#pipeline?.counters.queuedMax ?? 0, bound: this.#cfg.apply.maxQueuedMessages },
      remote: { streamUrl: redactUrlUserinfo(this.#remote.streamUrl), connectionId: this.#connectionId, lastReceivedId: this.#lastReceivedId, headId: this.#headId },
      local: { url: redactUrlUserinfo(this.#cfg.local.url), version: this.#localVersion, writePath: this.#path ? `${this.#path.protocol}: upserts as ${this.#path.upsert} messages, deletes and merges as ${this.#path.deleteMerge}` : null },
      timing: { startedAt: this.#startedAt.toISOString(), firstEventAt: this.#firstEventAt, lastAcceptAt: this.#lastAcceptAt },
      applyMode: this.#cfg.apply.mode,
      pid: process.pid,
      memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed },
    };
  }

  #countersNow(): Counters {
    const c = structuredClone(this.#counters);
    const p = this.#pipeline?.counters;
    if (p) Object.assign(c, { eventsApplied: c.eventsApplied + p.applied, eventsRefused: p.refused, eventsSuperseded: p.superseded, worksCreated: p.works, messagesSent: p.messages, stepRetries: p.retries, stepsResent: p.resent });
    return c;
  }

  #writeStatus(): void {
    if (!this.#cfg.statusFile) return;
    try {
      writeStatusFile(this.#cfg.statusFile, this.status(), this.#redactor);
    } catch (err) {
      this.#log.warn('cannot write the status file (SYNC_STATUS_FILE)', { file: this.#cfg.statusFile, error: err instanceof Error ? err.message : String(err) });
    }
  }

  #stateChanged(): void {
    const s = this.#state();
    if (s === this.#lastState) return;
    this.#log.debug('state', { state: s, previous: this.#lastState ?? null });
    this.#lastState = s;
    this.#writeStatus();
  }

  #setError(kind: string, message: string): void {
    this.#lastError = { kind, message, at: new Date().toISOString() };
  }

  // ------------------------------------------------------------------ the reader's hooks
  #onMessage(type: string, id: string, data: string): void {
    this.#troubleSince = undefined;
    if (this.#discarding) return; // read before the reconnection asked for: it will come again
    const validId = STREAM_ID.test(id);
    if (validId && id !== this.#runId) {
      if (this.#runId !== undefined) this.#resumeFrom = this.#runId;
      this.#runId = id;
    }
    if (type === 'heartbeat') {
      this.#counters.heartbeats++;
      if (validId) {
        this.#resumeFrom = id;
        this.#acceptance.append(id, true);
      }
      return;
    }
    if (!isDataEventType(type) && !validId) return; // e.g. an unknown event without id: nothing to track
    this.#counters.eventsReceived++;
    this.#firstEventAt ??= Date.now();
    if (validId) this.#lastReceivedId = id;
    const entry = this.#acceptance.append(validId ? id : '');
    if (this.#cfg.apply.mode === 'none') {
      classifyEvent(type, id, data);
      this.#counters.eventsApplied++;
      this.#accepted(entry);
      return;
    }
    const work = classifyEvent(type, id, data);
    if (work.kind === 'skip') {
      this.#counters.eventsSkipped[work.reason]++;
      this.#log.warn('stream message passed: it is no event to apply', { reason: work.reason, detail: work.detail, eventId: id || null, eventType: type.slice(0, 40) });
      this.#accepted(entry);
      return;
    }
    if (work.kind === 'upsert' && work.referer?.startsWith('init-') && recovering(id, this.#recoverUntil)) this.#counters.eventsRecovered++;
    if (work.removedKeys.length > 0) {
      this.#counters.eventsSanitized++;
      this.#log.warn('removed keys a worker would take as commands from a remote object (operations come only from the event type)', { eventId: id, stixId: work.id, keys: work.removedKeys });
    }
    this.#pipeline?.add(id, type as 'create' | 'update' | 'delete' | 'merge', work, entry);
  }

  #accepted(entry: Entry): void {
    this.#acceptance.settle(entry);
    this.#onSettled();
  }

  #onSettled(): void {
    this.#lastAcceptAt = Date.now();
    for (const w of this.#roomWaiters.splice(0)) w();
    this.#stateChanged();
  }

  #hasRoom(): boolean {
    const p = this.#pipeline;
    return !p || (p.unsettled < this.#cfg.apply.queueMaxEvents && p.unsettledBytes < this.#cfg.apply.queueMaxBytes);
  }

  async #waitForRoom(signal: AbortSignal): Promise<void> {
    while (!this.#hasRoom() && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.#roomWaiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Where a (re)connection resumes: after the last complete run read, or the configured start after a reset. */
  async #beforeConnect(): Promise<{ position: string; recover: string | undefined }> {
    if (this.#resetPending) {
      this.#pipeline?.stopSending();
      await this.#pipeline?.drained(this.#cfg.stopGraceMs);
      this.#pipeline?.reset();
      await this.#pipeline?.resumeSending();
      this.#acceptance.reset(this.#configuredStart);
      this.#resumeFrom = this.#configuredStart;
      this.#recoverUntil = this.#configuredRecover();
      this.#runId = undefined;
      this.#resetPending = false;
      this.#log.warn('connector state was reset on the local platform: restarting from the configured start', { position: this.#configuredStart });
      await this.#save();
    }
    this.#counters.remoteConnects++;
    this.#discarding = false;
    // The recover date goes with every connection whose position is before it, as pycti sends it:
    // a restart during the copy resumes the copy; once the position is past it, it would do nothing.
    const recover = recovering(this.#resumeFrom, this.#recoverUntil) ? this.#recoverUntil : undefined;
    this.#log.info('connecting to the remote stream', { url: redactUrlUserinfo(this.#remote.streamUrl), lastEventId: this.#resumeFrom, recover: recover ?? null });
    return { position: this.#resumeFrom, recover };
  }

  /** REMOTE_OPENCTI_RECOVER for a copy starting now: the date to recover until, or none. */
  #configuredRecover(): string | undefined {
    const r = this.#cfg.remote.recover;
    return r.kind === 'now' ? new Date().toISOString() : r.kind === 'date' ? r.iso : undefined;
  }

  #onConnected(info: ConnectedInfo): void {
    this.#connectionId = info.connectionId ?? null;
    this.#headId = info.lastEventId ?? null;
    this.#log.info('remote stream connected', { connectionId: this.#connectionId, headId: this.#headId, firstEventId: info.firstEventId, streamSize: info.streamSize });
    const from = this.#resumeFrom;
    const trimmed = info.firstEventId && from !== START_OF_STREAM && STREAM_ID.test(info.firstEventId) && compareStreamIds(from, info.firstEventId) < 0;
    if (!trimmed || recovering(from, this.#recoverUntil)) return;
    if (this.#cfg.remote.recover.kind === 'off') {
      this.#log.warn('the resume position is older than the first event the remote still retains: events in between are lost (retention, pitfall 11); REMOTE_OPENCTI_RECOVER=off, so they are not copied again', { position: from, firstEventId: info.firstEventId });
      return;
    }
    // Events after the position may have been trimmed: copy again, through the recovery mode,
    // every object updated since the position (then the stream from now on).
    this.#recoverUntil = new Date().toISOString();
    this.#discarding = true;
    this.#log.warn('the resume position is older than the first event the remote still retains (retention, pitfall 11): copying again every object updated since, through the recovery mode', { position: from, firstEventId: info.firstEventId, recoverUntil: this.#recoverUntil });
    void this.#save();
    this.#remote.reconnect('re-copying through the recovery mode');
  }

  #onRemoteState(s: 'connecting' | 'streaming' | 'backoff', detail: string | undefined): void {
    this.#remoteState = s;
    if (s === 'backoff') {
      this.#troubleSince ??= Date.now();
      if (detail) this.#setError('remote', detail);
    }
    this.#stateChanged();
  }

  // ------------------------------------------------------------------ start-up
  /** A start-up request, retried with backoff while the platform is unreachable; undefined once stopping. */
  async #retrying<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (this.#stopCtl.signal.aborted) return undefined;
      try {
        const v = await fn();
        this.#troubleSince = undefined;
        return v;
      } catch (e) {
        const le = classifyLocalError(e, what, this.#cfg.local.url, this.#cfg.local.timeoutMs);
        if (le.kind === 'auth') return void this.#fatal(EXIT.LOCAL_AUTH, le.message, 'local auth');
        if (le.kind !== 'transient') return void this.#fatal(EXIT.LOCAL_UNSUPPORTED, `${le.message}; the local platform refused ${what}: check that OPENCTI_URL is an OpenCTI >= 5 platform and that the connector's user may register connectors (CONNECTORAPI)`, 'local');
        const cap = Math.min(this.#cfg.local.retryMaxMs, this.#cfg.local.retryBaseMs * 2 ** Math.min(attempt, 30));
        const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
        this.#troubleSince ??= Date.now();
        this.#setError('local', le.message);
        this.#log.warn('local platform not ready; retrying', { operation: what, error: le.message, retryInMs: delay });
        this.#stateChanged();
        await sleep(delay, this.#stopCtl.signal);
      }
    }
  }

  async #startup(): Promise<void> {
    const version = await this.#retrying('about', () => this.#local.version());
    if (version === undefined) return;
    this.#localVersion = version;
    const path = writePathFor(version, this.#cfg.local.protocol);
    if ('refused' in path) return this.#fatal(EXIT.LOCAL_UNSUPPORTED, path.refused, 'local');
    this.#path = path;
    for (const w of path.warnings) this.#log.warn(w);
    const me = await this.#retrying('me', () => this.#local.me());
    if (me === undefined) return;
    const reg = await this.#retrying('registerConnector', () => this.#register());
    if (reg === undefined) return;
    this.#registered = true;
    if (this.#cfg.apply.mode !== 'none') {
      const sender = this.#makeSender(path, reg, this.#cfg.local.applicantId ?? reg.userId ?? me.id);
      if (!sender) return;
      this.#log.info('local platform ready', { url: redactUrlUserinfo(this.#cfg.local.url), version, writePath: this.status().local.writePath, to: sender.description });
      this.#pipeline = this.#makePipeline(path, sender);
    }
    const resumed = this.#resumeAt(reg.state);
    await this.#save();
    if (this.#stopCtl.signal.aborted) return;
    this.#timers.push(setInterval(() => void this.#save(), this.#cfg.stateSaveIntervalMs));
    if (this.#cfg.progressIntervalMs > 0) this.#timers.push(setInterval(() => this.#progress(), this.#cfg.progressIntervalMs));
    this.#pipeline?.start(this.#pipeline ? await this.#afterPreviousRun(resumed) : 0);
    this.#remote.start();
  }

  #register(): Promise<Registration> {
    const c = this.#cfg.connector;
    return this.#local.register({ id: c.id, name: c.name, type: c.type, scope: c.scope });
  }

  #makeSender(path: WritePath, reg: Registration, applicantId: string): Sender | undefined {
    const ctx: SenderContext = {
      local: this.#local,
      connectorId: this.#cfg.connector.id,
      applicantId,
      synchronized: this.#cfg.local.synchronizedUpsert,
      signal: this.#stopCtl.signal,
      reregister: () => this.#reregister('the broker had no queue for our messages'),
    };
    if (path.protocol === 'api') return new ApiSender(ctx);
    if (!reg.queue) {
      this.#fatal(EXIT.LOCAL_UNSUPPORTED, 'the local platform gave the connector no broker connection (registerConnector config.connection is empty): give the connector\'s user the CONNECTORAPI capability, or set CONNECTOR_QUEUE_PROTOCOL=api', 'local');
      return undefined;
    }
    return new AmqpSender(ctx, reg.queue, this.#cfg.local.timeoutMs);
  }

  #makePipeline(path: WritePath, sender: Sender): ApplyPipeline {
    const a = this.#cfg.apply;
    const opts = {
      batch: { maxItems: a.batchMaxEvents, maxBytes: a.batchMaxBytes, maxWaitMs: a.batchMaxWaitMs, idleMs: a.batchIdleMs },
      maxQueuedMessages: a.maxQueuedMessages,
      pollMs: a.pollMs,
      workStallMs: a.workStallMs,
      retryBaseMs: this.#cfg.local.retryBaseMs,
      retryMaxMs: this.#cfg.local.retryMaxMs,
      ordering: a.ordering,
      // Files attached to objects, downloaded from the remote's storage with its token (files.ts).
      files: remoteFiles({ url: this.#cfg.remote.url, token: this.#cfg.remote.token, sslVerify: this.#cfg.remote.sslVerify, timeoutMs: this.#cfg.local.timeoutMs }),
    };
    return new ApplyPipeline(opts, this.#acceptance, sender, this.#local, path, this.#log, () => this.#onSettled());
  }

  /**
   * A previous run's messages must not land after this run's newer writes of the same objects.
   * Its Works still in progress are deleted: a 6.8.7+ worker then drops their messages, wherever
   * they are (queued, or still on their way from the dead run's socket). What waits in the queue is
   * removed (this run sends those events again, from the saved position). And what a worker already
   * took gets SYNC_RESTART_GRACE_MS to land before this run sends anything. The delay, in ms.
   */
  async #afterPreviousRun(resumed: boolean): Promise<number> {
    let stale = 0;
    try {
      const works = await this.#local.progressingWorks(this.#cfg.connector.id, this.#stopCtl.signal);
      for (const w of works) await this.#local.deleteWork(w, this.#stopCtl.signal);
      stale = works.length;
      if (stale > 0) this.#log.info('deleted the previous run\'s unfinished Works: the platform\'s workers drop their remaining messages', { works: stale });
    } catch (e) {
      this.#log.warn('could not list or delete the previous run\'s Works; waiting for their messages instead', { error: e instanceof Error ? e.message : String(e) });
    }
    let purged = 0;
    try {
      purged = (await this.#pipeline?.sender.purge()) ?? 0;
      if (purged > 0) this.#log.info('removed the previous run\'s messages still waiting in the queue: their events are sent again from the saved position', { messages: purged });
    } catch (e) {
      this.#log.warn('could not empty the queue of the previous run\'s messages; waiting for them instead', { error: e instanceof Error ? e.message : String(e) });
    }
    if (!resumed && stale === 0 && purged === 0) return 0;
    if (this.#cfg.restartGraceMs > 0) this.#log.info('waiting for the previous run\'s messages already taken by a worker to land before sending', { graceMs: this.#cfg.restartGraceMs });
    return this.#cfg.restartGraceMs;
  }

  /** The position the first connection resumes from: the saved state, or the configured start; whether it resumes. */
  #resumeAt(saved: string | null): boolean {
    const st = readConnectorState(saved);
    let from = this.#configuredStart;
    if (st.kind === 'position') {
      from = st.position;
      this.#recoverUntil = st.recoverUntil;
      this.#log.info('resuming from the saved connector state', { position: from, key: st.source, recoverUntil: st.recoverUntil ?? null });
    } else {
      if (st.kind === 'unusable') this.#log.warn(`ignoring the saved connector state (${st.reason}); starting from the configured start`, {});
      this.#recoverUntil = this.#configuredRecover();
      this.#log.info('starting from the configured start', { position: from, source: this.#cfg.remote.startFrom ? 'REMOTE_OPENCTI_START_TIMESTAMP' : 'start of the stream', recoverUntil: this.#recoverUntil ?? null });
    }
    this.#acceptance.reset(from);
    this.#resumeFrom = from;
    return st.kind === 'position';
  }

  /** The connector is gone on the platform (deleted from the UI): register it again, which recreates its queues. */
  async #reregister(why: string): Promise<void> {
    this.#log.warn(`${why}: registering the connector again (was it deleted on the local platform?)`);
    await this.#register();
    if (this.#pipeline) this.#pipeline.queueRecreatedAt = Date.now();
  }

  #progress(): void {
    const s = this.status();
    this.#log.info('progress', { state: s.state, applied: s.counters.eventsApplied, refused: s.counters.eventsRefused, position: s.position, queue: s.queueLength, queuedMessages: s.queuedMessages.now, lagMs: s.positionDate ? Date.now() - Date.parse(s.positionDate) : null });
    this.#writeStatus();
  }

  // ------------------------------------------------------------------ saving the position
  /**
   * Save the position with pingConnector. A periodic save that finds one in flight returns it; the
   * final save waits for it and then saves the latest position (a stop during a save must not end
   * with the older position saved).
   */
  async #save(final = false): Promise<void> {
    if (!this.#registered || this.#resetPending) return;
    if (this.#saving) {
      if (!final) return this.#saving;
      await this.#saving.catch(() => undefined);
    }
    const pos = this.#acceptance.position;
    this.#saving = this.#ping(pos, final).finally(() => {
      this.#saving = undefined;
    });
    return this.#saving;
  }

  async #ping(pos: string, final: boolean): Promise<void> {
    try {
      const r = await this.#local.ping(this.#cfg.connector.id, writeConnectorState(pos, this.#recoverUntil), this.#pipeline?.queuedMessages ?? 0);
      this.#counters.stateSaves++;
      this.#savedPosition = pos;
      if (readConnectorState(r.state).kind === 'empty' && !this.#stopping && !final) {
        this.#counters.resets++;
        this.#resetPending = true;
        this.#remote.reconnect('the connector state was reset on the local platform');
      }
    } catch (e) {
      const le = classifyLocalError(e, 'pingConnector', this.#cfg.local.url, this.#cfg.local.timeoutMs);
      if (le.kind === 'auth' && !this.#stopping) this.#fatal(EXIT.LOCAL_AUTH, le.message, 'local auth');
      else if (/Connector .* not found/i.test(le.message) && !this.#stopping) await this.#reregister('the local platform does not know this connector any more').catch((err: unknown) => this.#log.warn('could not register the connector again; will retry', { error: err instanceof Error ? err.message : String(err) }));
      else this.#log.warn('could not save the stream position; will retry', { error: le.message, position: pos });
    }
  }

  // ------------------------------------------------------------------ lifecycle
  #fatal(code: number, message: string, kind: string): void {
    if (this.#fatalExit || this.#stopping) return;
    this.#fatalExit = { code, reason: message };
    this.#exitCode = code;
    this.#setError(kind, message);
    this.#log.error(message, { exitCode: code });
    void this.stop('fatal error');
  }

  stop(reason = 'stop requested'): Promise<SyncExit> {
    this.#stopPromise ??= this.#stop(reason);
    return this.#stopPromise;
  }

  async #stop(reason: string): Promise<SyncExit> {
    this.#log.info('stopping', { reason, position: this.#acceptance.position });
    this.#stopping = true;
    this.#stateChanged();
    this.#stopCtl.abort();
    const remoteStopped = this.#remote.stop();
    if (this.#pipeline) {
      this.#pipeline.stopSending();
      if (!(await this.#pipeline.drained(this.#cfg.stopGraceMs))) this.#log.warn('stopping with messages not yet confirmed: their events are sent again on restart', { graceMs: this.#cfg.stopGraceMs });
      await this.#pipeline.stop();
    }
    await remoteStopped;
    for (const t of this.#timers) clearInterval(t);
    if (this.#registered && this.#fatalExit?.code !== EXIT.LOCAL_AUTH) {
      await Promise.race([this.#save(true), new Promise((r) => setTimeout(r, Math.min(this.#cfg.local.timeoutMs, 5000)))]);
    }
    const exit: SyncExit = this.#fatalExit ?? { code: EXIT.OK, reason };
    this.#exitCode = exit.code;
    this.#finalState = this.#fatalExit ? 'failed' : 'stopped';
    this.#stateChanged();
    this.#writeStatus();
    const srv = this.#server;
    await new Promise<void>((r) => (srv ? srv.close(() => r()) : r()));
    srv?.closeAllConnections();
    this.#log.info('stopped', { exitCode: exit.code, position: this.#acceptance.position, savedPosition: this.#savedPosition });
    this.#resolveDone(exit);
    return exit;
  }

  // ------------------------------------------------------------------ http
  async #listen(): Promise<number> {
    const server = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && url === '/healthz') {
        const s = this.status();
        res.writeHead(s.healthy ? 200 : 503, { 'content-type': 'application/json' });
        res.end(renderStatusJson(s, this.#redactor));
      } else if (req.method === 'GET' && url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(renderMetrics(this.status(), this.#redactor));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /healthz or /metrics\n');
      }
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#cfg.http.port, this.#cfg.http.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }
}

export { LocalError };
