/**
 * The synchronizer's configuration: the seed README's environment variables plus our own optional
 * SYNC_* tuning knobs, validated with zod in one pass so every problem is reported at once.
 */
// zod/mini (the tree-shakable build): the charm imports this module to validate its config in a
// hook, and the classic build would add ~150 KiB to the charm bundle and to every hook's start-up.
import * as z from 'zod/mini';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const APPLY_MODES = ['batch', 'per-event', 'none'] as const;
export const QUEUE_PROTOCOLS = ['amqp', 'api'] as const;

/** A trimmed string turned into T, or an issue with `message` when `fn` gives undefined. */
const parsed = <T>(fn: (v: string) => T | undefined, message: (v: string) => string) =>
  z.pipe(
    z.string().check(z.trim()),
    z.transform((v: string, ctx) => {
      const out = fn(v);
      if (out !== undefined) return out;
      ctx.issues.push({ code: 'custom', message: message(v), input: v });
      return z.NEVER;
    }),
  );

/** `true/false` in any case (the charm may render Python-style `True`/`False`), plus 1/0 and yes/no. */
const boolish = parsed(
  (v) => {
    const s = v.toLowerCase();
    return ['true', '1', 'yes'].includes(s) ? true : ['false', '0', 'no'].includes(s) ? false : undefined;
  },
  (v) => `must be true or false (got "${v}")`,
);

const httpUrl = z.pipe(
  z.string().check(
    z.trim(),
    z.minLength(1, 'must not be empty'),
    z.refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    }, 'must be an http(s) URL, e.g. https://opencti.example.com'),
  ),
  z.transform((v: string) => v.replace(/\/+$/, '')),
);

const secret = z.string().check(z.minLength(1, 'must not be empty'));

const int = (min: number, max: number) =>
  z.pipe(
    z.pipe(z.string().check(z.trim(), z.regex(/^\d+$/, `must be an integer between ${min} and ${max}`)), z.transform(Number)),
    z.int().check(z.gte(min, `must be at least ${min}`), z.lte(max, `must be at most ${max}`)),
  );

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * REMOTE_OPENCTI_START_TIMESTAMP: an ISO date, epoch milliseconds or seconds, or a stream id
 * `<ms>-<seq>`. Normalised to a stream id `<ms>-0` (pitfall 10: never append `-0` to an ISO date).
 */
export function startTimestampToStreamId(raw: string): string | undefined {
  const v = raw.trim();
  if (/^\d+-\d+$/.test(v)) return v;
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    // 10 digits or fewer is epoch seconds (until year 2286); more is milliseconds.
    const ms = v.length <= 10 ? n * 1000 : n;
    return Number.isSafeInteger(ms) ? `${ms}-0` : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : `${ms}-0`;
}

/** What REMOTE_OPENCTI_RECOVER asks of a first run: the date to recover until, now, or no recovery. */
export type RecoverSetting = { kind: 'now' } | { kind: 'date'; iso: string } | { kind: 'off' };

/** pycti's words for "no recovery" (CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE), and ours. */
const RECOVER_OFF = new Set(['off', 'no', 'none', 'false']);

export function parseRecover(raw: string): RecoverSetting | undefined {
  const v = raw.trim();
  if (v.toLowerCase() === 'now') return { kind: 'now' };
  if (RECOVER_OFF.has(v.toLowerCase())) return { kind: 'off' };
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : { kind: 'date', iso: new Date(ms).toISOString() };
}

const recoverSetting = parsed(parseRecover, (v) => `must be \`now\`, an ISO date (2024-06-15T10:00:00Z) or \`off\` (got "${v}")`);

const startTimestamp = parsed(
  startTimestampToStreamId,
  (v) => `must be an ISO date (2024-06-15T10:00:00Z), epoch milliseconds/seconds, or a stream id <ms>-<seq> (got "${v}")`,
);

/** Empty strings count as unset: Pebble layers and .env files often render `VAR=`. */
function blankToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) out[k] = v === undefined || v.trim() === '' ? undefined : v;
  return out;
}

const trimmed = () => z.string().check(z.trim());

const MIB = 1024 * 1024;

const envSchema = z.object({
  OPENCTI_URL: httpUrl,
  OPENCTI_TOKEN: secret,
  CONNECTOR_ID: trimmed().check(z.regex(UUID_RE, 'must be a UUID (e.g. from `uuidgen`)')),
  CONNECTOR_TYPE: parsed(
    (v) => (v.toUpperCase() === 'STREAM' ? ('STREAM' as const) : undefined),
    () => 'must be STREAM (this connector reads a live stream)',
  ),
  CONNECTOR_NAME: trimmed().check(z.minLength(2, 'must be at least 2 characters (the platform requires it)')),
  CONNECTOR_SCOPE: z.pipe(
    trimmed().check(z.minLength(1, 'must not be empty (use `synchronizer`)')),
    z.transform((v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== '')),
  ),
  CONNECTOR_CONFIDENCE_LEVEL: int(0, 100),
  CONNECTOR_LOG_LEVEL: z.pipe(trimmed().check(z.toLowerCase()), z.enum(LOG_LEVELS, { error: 'must be one of debug, info, warn, error' })),
  REMOTE_OPENCTI_URL: httpUrl,
  REMOTE_OPENCTI_LIVE_STREAM_ID: z._default(
    trimmed().check(z.regex(/^[A-Za-z0-9_-]+$/, 'must be `live` or a stream collection id (letters, digits, - and _)')),
    'live',
  ),
  REMOTE_OPENCTI_SSL_VERIFY: boolish,
  REMOTE_OPENCTI_TOKEN: secret,
  REMOTE_OPENCTI_START_TIMESTAMP: z.optional(startTimestamp),
  // A first run copies every object the remote holds (the stream's recovery mode), then follows the
  // stream: what OpenCTI's own synchronizer and pycti do (opencti-stream.md §1.4, §2.4).
  REMOTE_OPENCTI_RECOVER: z._default(recoverSetting, { kind: 'now' } as RecoverSetting),
  // The options of OpenCTI's own synchronizer (its Synchronizer type; opencti-stream.md §1.3, §3.4).
  REMOTE_OPENCTI_LISTEN_DELETE: z._default(boolish, true),
  REMOTE_OPENCTI_NO_DEPENDENCIES: z.optional(boolish),
  REMOTE_OPENCTI_SYNCHRONIZED: z.optional(boolish),
  REMOTE_OPENCTI_APPLICANT_ID: z.optional(trimmed().check(z.regex(UUID_RE, 'must be the UUID of a user of the local platform (Settings > Security > Users)'))),

  SYNC_HTTP_PORT: z._default(int(0, 65535), 8080),
  // Loopback by default: the Pebble check runs in the pod and needs nothing more (docs/sync.md,
  // Security); 0.0.0.0 exposes /healthz and /metrics to the pod network, e.g. for a scraper.
  SYNC_HTTP_HOST: z._default(trimmed(), '127.0.0.1'),
  SYNC_STATUS_FILE: z.optional(trimmed()),
  SYNC_APPLY_MODE: z._default(z.enum(APPLY_MODES, { error: 'must be batch, per-event or none' }), 'batch'),
  SYNC_BATCH_MAX_EVENTS: z._default(int(1, 100_000), 500),
  SYNC_BATCH_MAX_BYTES: z._default(int(1024, 512 * 1024 * 1024), 4 * 1024 * 1024),
  SYNC_BATCH_MAX_WAIT_MS: z._default(int(0, 60_000), 200),
  SYNC_BATCH_IDLE_MS: z._default(int(0, 60_000), 10),
  SYNC_QUEUE_MAX_EVENTS: z._default(int(1, 1_000_000), 2000),
  SYNC_QUEUE_MAX_BYTES: z._default(int(1024 * 1024, 16 * 1024 * 1024 * 1024), 64 * 1024 * 1024),
  // pycti's variable: amqp (default) publishes to the platform's broker as its own synchronizer does;
  // api posts stixBundlePush instead, losing what docs/sync.md lists.
  CONNECTOR_QUEUE_PROTOCOL: z._default(z.pipe(trimmed().check(z.toLowerCase()), z.enum(QUEUE_PROTOCOLS, { error: 'must be amqp or api' })), 'amqp'),
  // per-id (default): an event waits for the earlier events it could race with on concurrent
  // workers. none: no ordering, to show the race it prevents (tests only; never in production).
  SYNC_ORDERING: z._default(z.enum(['per-id', 'none'], { error: 'must be per-id (or none, for demonstrations only)' }), 'per-id'),
  SYNC_MAX_QUEUED_MESSAGES: z._default(int(1, 1_000_000), 2000),
  SYNC_WORK_POLL_MS: z._default(int(1, 60_000), 20),
  SYNC_WORK_STALL_MS: z._default(int(100, 86_400_000), 300_000),
  SYNC_UNHEALTHY_AFTER_MS: z._default(int(0, 86_400_000), 300_000),
  // A restart waits this long before sending: messages of the previous run that a worker already
  // took may still land (pycti retries a missing reference for up to 4 x 3 s).
  SYNC_RESTART_GRACE_MS: z._default(int(0, 600_000), 15_000),
  SYNC_HEARTBEAT_TIMEOUT_MS: z._default(int(100, 3_600_000), 45_000),
  SYNC_RECONNECT_BASE_MS: z._default(int(1, 600_000), 1000),
  SYNC_RECONNECT_MAX_MS: z._default(int(1, 3_600_000), 60_000),
  SYNC_LOCAL_TIMEOUT_MS: z._default(int(100, 3_600_000), 30_000),
  SYNC_LOCAL_RETRY_BASE_MS: z._default(int(1, 600_000), 1000),
  SYNC_LOCAL_RETRY_MAX_MS: z._default(int(1, 3_600_000), 60_000),
  SYNC_STATE_SAVE_INTERVAL_MS: z._default(int(100, 3_600_000), 5000),
  SYNC_PROGRESS_INTERVAL_MS: z._default(int(0, 3_600_000), 30_000),
  SYNC_STOP_GRACE_MS: z._default(int(0, 600_000), 3000),
  // The earlier names of REMOTE_OPENCTI_SYNCHRONIZED and REMOTE_OPENCTI_NO_DEPENDENCIES, still read.
  SYNC_SYNCHRONIZED_UPSERT: z.optional(boolish),
  SYNC_NO_DEPENDENCIES: z.optional(boolish),
  // A real event can carry a bundle with files (base64), so the default is generous; the bound is
  // what a remote can make us buffer. At most 256 MiB: eventsource holds an event as one string,
  // built by concatenation, and V8's strings stop at 512 MiB.
  SYNC_MAX_EVENT_BYTES: z._default(int(MIB, 256 * MIB), 64 * MIB),
});

/** The parsed environment, field names as in the environment. */
export type SyncEnv = z.output<typeof envSchema>;

/** The configuration the synchronizer runs with (camel-cased, grouped). */
export interface SyncConfig {
  local: {
    url: string;
    token: string;
    timeoutMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    synchronizedUpsert: boolean;
    /** The local user the writes are attributed to; by default the connector's user. */
    applicantId: string | undefined;
    protocol: (typeof QUEUE_PROTOCOLS)[number];
  };
  connector: { id: string; type: 'STREAM'; name: string; scope: string[]; confidenceLevel: number };
  logLevel: (typeof LOG_LEVELS)[number];
  remote: {
    url: string;
    token: string;
    streamId: string;
    sslVerify: boolean;
    /** Normalised `<ms>-<seq>`, or undefined: then the start of the retained stream (`0-0`). */
    startFrom: string | undefined;
    /** The recovery a first run (or a re-copy) asks for. */
    recover: RecoverSetting;
    heartbeatTimeoutMs: number;
    /** The largest single stream event read (SYNC_MAX_EVENT_BYTES); a larger one ends the connection. */
    maxEventBytes: number;
    reconnectBaseMs: number;
    reconnectMaxMs: number;
    noDependencies: boolean;
    /** Whether the remote sends deletions (the listen-delete header). */
    listenDelete: boolean;
  };
  http: { port: number; host: string };
  statusFile: string | undefined;
  apply: {
    mode: (typeof APPLY_MODES)[number];
    /** Events per Work (per batch of messages). */
    batchMaxEvents: number;
    batchMaxBytes: number;
    batchMaxWaitMs: number;
    batchIdleMs: number;
    /** Events read and not yet settled, at most (the reader pauses): count and bytes. */
    queueMaxEvents: number;
    queueMaxBytes: number;
    /** Messages on the local platform's queue not yet confirmed by their Works, at most. */
    maxQueuedMessages: number;
    pollMs: number;
    workStallMs: number;
    ordering: 'per-id' | 'none';
  };
  /** How long a retry or backoff may last before /healthz answers 503. */
  unhealthyAfterMs: number;
  /** A restart (a saved position) waits this long before sending. */
  restartGraceMs: number;
  stateSaveIntervalMs: number;
  progressIntervalMs: number;
  stopGraceMs: number;
}

export type ConfigResult = { ok: true; config: SyncConfig } | { ok: false; problems: string[] };

/** How far in the future REMOTE_OPENCTI_START_TIMESTAMP may be: clock skew between us and the remote. */
export const START_TIMESTAMP_MAX_SKEW_MS = 5 * 60_000;

type EnvKey = keyof typeof envSchema.shape;
type Raw = Record<string, string | undefined>;

/** One variable parsed on its own (with its default); undefined when unset without one, or invalid. */
function fieldValue<S extends z.ZodMiniType>(schema: S, value: string | undefined): z.output<S> | undefined {
  const r = z.safeParse(schema, value);
  return r.success ? r.data : undefined;
}

/**
 * Checks that relate variables, or a variable to the clock. Each runs as soon as the variables it
 * reads are valid on their own, so they are reported with every other problem in the first report.
 */
function crossFieldProblems(raw: Raw, now: number): { key: EnvKey; problem: string }[] {
  const out: { key: EnvKey; problem: string }[] = [];
  const atLeast = (max: 'SYNC_RECONNECT_MAX_MS' | 'SYNC_LOCAL_RETRY_MAX_MS', base: 'SYNC_RECONNECT_BASE_MS' | 'SYNC_LOCAL_RETRY_BASE_MS') => {
    const m = fieldValue(envSchema.shape[max], raw[max]);
    const b = fieldValue(envSchema.shape[base], raw[base]);
    if (m !== undefined && b !== undefined && m < b) out.push({ key: max, problem: `must be >= ${base} (${m} < ${b})` });
  };
  atLeast('SYNC_RECONNECT_MAX_MS', 'SYNC_RECONNECT_BASE_MS');
  atLeast('SYNC_LOCAL_RETRY_MAX_MS', 'SYNC_LOCAL_RETRY_BASE_MS');
  const start = fieldValue(envSchema.shape.REMOTE_OPENCTI_START_TIMESTAMP, raw.REMOTE_OPENCTI_START_TIMESTAMP);
  const startMs = start === undefined ? undefined : Number(start.split('-')[0]);
  if (startMs !== undefined && startMs > now + START_TIMESTAMP_MAX_SKEW_MS) {
    // Date cannot render beyond year 275760; such a value is shown as the stream id it became.
    const when = startMs <= 8.64e15 ? new Date(startMs).toISOString() : `stream id ${start}`;
    out.push({
      key: 'REMOTE_OPENCTI_START_TIMESTAMP',
      problem: `is ${when}, more than 5 minutes in the future: the remote stream holds no events after now, so nothing would ever sync; use a past date, or leave it unset to copy the whole retained stream`,
    });
  }
  return out;
}

/**
 * Parse the environment. Never throws; on failure every problem is listed, one per variable,
 * each naming the variable and what to fix. Values of token variables are never echoed.
 * `now` (epoch ms) is what REMOTE_OPENCTI_START_TIMESTAMP is checked against.
 */
export function parseConfig(env: NodeJS.ProcessEnv, now: number = Date.now()): ConfigResult {
  const raw = blankToUndefined(env);
  const r = envSchema.safeParse(raw);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const issue of r.success ? [] : r.error.issues) {
    const key = String(issue.path[0] ?? '(environment)');
    if (seen.has(key)) continue;
    seen.add(key);
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    problems.push(`${key}: ${missing ? 'is required but not set' : issue.message}`);
  }
  for (const { key, problem } of crossFieldProblems(raw, now)) {
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(`${key}: ${problem}`);
  }
  if (!r.success || problems.length > 0) return { ok: false, problems };
  const e = r.data;
  return {
    ok: true,
    config: {
      local: {
        url: e.OPENCTI_URL,
        token: e.OPENCTI_TOKEN,
        timeoutMs: e.SYNC_LOCAL_TIMEOUT_MS,
        retryBaseMs: e.SYNC_LOCAL_RETRY_BASE_MS,
        retryMaxMs: e.SYNC_LOCAL_RETRY_MAX_MS,
        synchronizedUpsert: e.REMOTE_OPENCTI_SYNCHRONIZED ?? e.SYNC_SYNCHRONIZED_UPSERT ?? true,
        applicantId: e.REMOTE_OPENCTI_APPLICANT_ID,
        protocol: e.CONNECTOR_QUEUE_PROTOCOL,
      },
      connector: {
        id: e.CONNECTOR_ID,
        type: e.CONNECTOR_TYPE,
        name: e.CONNECTOR_NAME,
        scope: e.CONNECTOR_SCOPE,
        confidenceLevel: e.CONNECTOR_CONFIDENCE_LEVEL,
      },
      logLevel: e.CONNECTOR_LOG_LEVEL,
      remote: {
        url: e.REMOTE_OPENCTI_URL,
        token: e.REMOTE_OPENCTI_TOKEN,
        streamId: e.REMOTE_OPENCTI_LIVE_STREAM_ID,
        sslVerify: e.REMOTE_OPENCTI_SSL_VERIFY,
        startFrom: e.REMOTE_OPENCTI_START_TIMESTAMP,
        recover: e.REMOTE_OPENCTI_RECOVER,
        heartbeatTimeoutMs: e.SYNC_HEARTBEAT_TIMEOUT_MS,
        maxEventBytes: e.SYNC_MAX_EVENT_BYTES,
        reconnectBaseMs: e.SYNC_RECONNECT_BASE_MS,
        reconnectMaxMs: e.SYNC_RECONNECT_MAX_MS,
        noDependencies: e.REMOTE_OPENCTI_NO_DEPENDENCIES ?? e.SYNC_NO_DEPENDENCIES ?? false,
        listenDelete: e.REMOTE_OPENCTI_LISTEN_DELETE,
      },
      http: { port: e.SYNC_HTTP_PORT, host: e.SYNC_HTTP_HOST },
      statusFile: e.SYNC_STATUS_FILE,
      apply: applySettings(e),
      unhealthyAfterMs: e.SYNC_UNHEALTHY_AFTER_MS,
      restartGraceMs: e.SYNC_RESTART_GRACE_MS,
      stateSaveIntervalMs: e.SYNC_STATE_SAVE_INTERVAL_MS,
      progressIntervalMs: e.SYNC_PROGRESS_INTERVAL_MS,
      stopGraceMs: e.SYNC_STOP_GRACE_MS,
    },
  };
}

/**
 * The apply settings. `per-event` is the baseline of the benchmark: one message and its Work's
 * confirmation at a time. A Work never holds more messages than may be queued at once.
 */
function applySettings(e: SyncEnv): SyncConfig['apply'] {
  const perEvent = e.SYNC_APPLY_MODE === 'per-event';
  const maxQueued = perEvent ? 1 : e.SYNC_MAX_QUEUED_MESSAGES;
  return {
    mode: e.SYNC_APPLY_MODE,
    batchMaxEvents: perEvent ? 1 : Math.min(e.SYNC_BATCH_MAX_EVENTS, maxQueued),
    batchMaxBytes: e.SYNC_BATCH_MAX_BYTES,
    batchMaxWaitMs: perEvent ? 0 : e.SYNC_BATCH_MAX_WAIT_MS,
    batchIdleMs: perEvent ? 0 : e.SYNC_BATCH_IDLE_MS,
    queueMaxEvents: e.SYNC_QUEUE_MAX_EVENTS,
    queueMaxBytes: e.SYNC_QUEUE_MAX_BYTES,
    maxQueuedMessages: maxQueued,
    pollMs: e.SYNC_WORK_POLL_MS,
    workStallMs: e.SYNC_WORK_STALL_MS,
    ordering: e.SYNC_ORDERING,
  };
}

/** One message listing every problem, for stderr and the status file. */
export function formatConfigProblems(problems: readonly string[]): string {
  return `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}); fix these environment variables:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
}
