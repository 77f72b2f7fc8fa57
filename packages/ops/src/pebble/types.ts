// Typed shapes of what Pebble sends and accepts, as zod schemas with z.infer types.
//
// Two families live here:
// - The layer language (Layer, Service, Check, LogTarget, Plan). Keys stay kebab-case because that
//   is the YAML a charm author writes and `pebble plan` prints.
// - API results (SystemInfo, ServiceInfo, CheckInfo, Change, Task, FileInfo). They arrive as JSON
//   with kebab-case keys and are transformed to camelCase TypeScript objects.
//
// Response schemas strip unknown keys instead of rejecting them, so a newer Pebble that adds a
// field does not break the charm. Enumerations that the framework branches on stay strict.
// zod/mini (the tree-shakable build of zod) keeps this out of the hot path of every hook.
import * as z from 'zod/mini';

// ---------------------------------------------------------------------------------------------
// The layer language

export const OverrideSchema = z.enum(['merge', 'replace']);
export type Override = z.infer<typeof OverrideSchema>;

export const StartupSchema = z.enum(['enabled', 'disabled']);
export type Startup = z.infer<typeof StartupSchema>;

/** Actions for `on-success`; `failure-shutdown` is valid only here. */
export const OnSuccessActionSchema = z.enum(['restart', 'shutdown', 'ignore', 'failure-shutdown']);
/** Actions for `on-failure` and `on-check-failure`; `success-shutdown` is valid only here. */
export const OnFailureActionSchema = z.enum(['restart', 'shutdown', 'ignore', 'success-shutdown']);
export type OnSuccessAction = z.infer<typeof OnSuccessActionSchema>;
export type OnFailureAction = z.infer<typeof OnFailureActionSchema>;

/** A Go duration string such as "500ms", "30s" or "1m30s". Pebble rejects bare numbers. */
export const DurationSchema = z.string();

const StringMap = z.record(z.string(), z.string());

/** One service of a layer or of the combined plan. Every field is optional in a single layer. */
export const ServiceSchema = z.object({
  summary: z.optional(z.string()),
  description: z.optional(z.string()),
  startup: z.optional(StartupSchema),
  override: z.optional(OverrideSchema),
  command: z.optional(z.string()),
  after: z.optional(z.array(z.string())),
  before: z.optional(z.array(z.string())),
  requires: z.optional(z.array(z.string())),
  workload: z.optional(z.string()),
  environment: z.optional(StringMap),
  'user-id': z.optional(z.int()),
  user: z.optional(z.string()),
  'group-id': z.optional(z.int()),
  group: z.optional(z.string()),
  'working-dir': z.optional(z.string()),
  'on-success': z.optional(OnSuccessActionSchema),
  'on-failure': z.optional(OnFailureActionSchema),
  'on-check-failure': z.optional(z.record(z.string(), OnFailureActionSchema)),
  'backoff-delay': z.optional(DurationSchema),
  'backoff-factor': z.optional(z.number()),
  'backoff-limit': z.optional(DurationSchema),
  'kill-delay': z.optional(DurationSchema),
});
export type Service = z.infer<typeof ServiceSchema>;

export const CheckLevelSchema = z.enum(['alive', 'ready']);
export type CheckLevel = z.infer<typeof CheckLevelSchema>;

export const HttpCheckSchema = z.object({ url: z.optional(z.string()), headers: z.optional(StringMap) });
export const TcpCheckSchema = z.object({ port: z.optional(z.int()), host: z.optional(z.string()) });
export const ExecCheckSchema = z.object({
  command: z.optional(z.string()),
  'service-context': z.optional(z.string()),
  environment: z.optional(StringMap),
  'user-id': z.optional(z.int()),
  user: z.optional(z.string()),
  'group-id': z.optional(z.int()),
  group: z.optional(z.string()),
  'working-dir': z.optional(z.string()),
});

/** One health check. Exactly one of `http`, `tcp` or `exec` must be set in the combined plan. */
export const CheckSchema = z.object({
  override: z.optional(OverrideSchema),
  level: z.optional(CheckLevelSchema),
  startup: z.optional(StartupSchema),
  period: z.optional(DurationSchema),
  timeout: z.optional(DurationSchema),
  threshold: z.optional(z.int()),
  http: z.optional(HttpCheckSchema),
  tcp: z.optional(TcpCheckSchema),
  exec: z.optional(ExecCheckSchema),
});
export type Check = z.infer<typeof CheckSchema>;

export const LogTargetSchema = z.object({
  override: z.optional(OverrideSchema),
  type: z.optional(z.enum(['loki', 'opentelemetry', 'syslog'])),
  location: z.optional(z.string()),
  services: z.optional(z.array(z.string())),
  labels: z.optional(StringMap),
});
export type LogTarget = z.infer<typeof LogTargetSchema>;

/**
 * A layer as a charm writes it. `override` is required on every service, check and log target
 * (Pebble answers 400 without it), so the type asks for it too.
 */
export const LayerSchema = z.object({
  summary: z.optional(z.string()),
  description: z.optional(z.string()),
  services: z.optional(z.record(z.string(), z.extend(ServiceSchema, { override: OverrideSchema }))),
  checks: z.optional(z.record(z.string(), z.extend(CheckSchema, { override: OverrideSchema }))),
  'log-targets': z.optional(z.record(z.string(), z.extend(LogTargetSchema, { override: OverrideSchema }))),
});
export type Layer = z.infer<typeof LayerSchema>;

/** The combined plan, as GET /v1/plan returns it (without defaults). Missing sections are {}. */
export const PlanSchema = z.object({
  services: z._default(z.record(z.string(), ServiceSchema), {}),
  checks: z._default(z.record(z.string(), CheckSchema), {}),
  'log-targets': z._default(z.record(z.string(), LogTargetSchema), {}),
});
export type Plan = z.infer<typeof PlanSchema>;

// ---------------------------------------------------------------------------------------------
// API results

export const SystemInfoSchema = z.pipe(
  z.object({
    'boot-id': z.optional(z.string()),
    version: z.string(),
    'http-address': z.optional(z.string()),
    'https-address': z.optional(z.string()),
  }),
  z.transform((v) => ({
    bootId: v['boot-id'] ?? '',
    version: v.version,
    httpAddress: v['http-address'],
    httpsAddress: v['https-address'],
  })),
);
export type SystemInfo = z.infer<typeof SystemInfoSchema>;

export const ServiceStatusSchema = z.enum(['active', 'inactive', 'backoff', 'error']);
/** `backoff` is a real Pebble status even though ops' enum lacks it. */
export type ServiceStatus = z.infer<typeof ServiceStatusSchema>;

export const ServiceInfoSchema = z.pipe(
  z.object({
    name: z.string(),
    startup: StartupSchema,
    current: ServiceStatusSchema,
    'current-since': z.optional(z.string()),
  }),
  z.transform((v) => ({
    name: v.name,
    startup: v.startup,
    current: v.current,
    currentSince: v['current-since'],
  })),
);
export type ServiceInfo = z.infer<typeof ServiceInfoSchema>;

/** True when a service counts as running (Pebble's `active`). */
export function isServiceRunning(info: Pick<ServiceInfo, 'current'>): boolean {
  return info.current === 'active';
}

export const CheckStatusSchema = z.enum(['up', 'down', 'inactive']);
export type CheckStatus = z.infer<typeof CheckStatusSchema>;

export const CheckInfoSchema = z.pipe(
  z.object({
    name: z.string(),
    level: z.optional(z.union([CheckLevelSchema, z.literal('')])),
    startup: StartupSchema,
    status: CheckStatusSchema,
    successes: z.optional(z.int()),
    failures: z.optional(z.int()),
    threshold: z.int(),
    'change-id': z.optional(z.string()),
    'prev-change-id': z.optional(z.string()),
  }),
  z.transform((v) => ({
    name: v.name,
    level: v.level === '' ? undefined : v.level,
    startup: v.startup,
    status: v.status,
    successes: v.successes ?? 0,
    failures: v.failures ?? 0,
    threshold: v.threshold,
    changeId: v['change-id'],
    prevChangeId: v['prev-change-id'],
  })),
);
export type CheckInfo = z.infer<typeof CheckInfoSchema>;

/** Change and task status strings (Pebble's state package). */
export const ChangeStatusSchema = z.enum([
  'Default', 'Do', 'Doing', 'Done', 'Wait', 'Abort', 'Undo', 'Undoing', 'Undone', 'Hold', 'Error',
]);
export type ChangeStatus = z.infer<typeof ChangeStatusSchema>;

export const TaskSchema = z.pipe(
  z.object({
    id: z.string(),
    kind: z.string(),
    summary: z.string(),
    status: z.string(),
    log: z.optional(z.array(z.string())),
    progress: z.object({ label: z.string(), done: z.number(), total: z.number() }),
    'spawn-time': z.string(),
    'ready-time': z.optional(z.string()),
    data: z.optional(z.record(z.string(), z.unknown())),
  }),
  z.transform((v) => ({
    id: v.id,
    kind: v.kind,
    summary: v.summary,
    status: v.status,
    log: v.log ?? [],
    progress: v.progress,
    spawnTime: v['spawn-time'],
    readyTime: v['ready-time'],
    data: v.data ?? {},
  })),
);
export type Task = z.infer<typeof TaskSchema>;

export const ChangeSchema = z.pipe(
  z.object({
    id: z.string(),
    kind: z.string(),
    summary: z.string(),
    status: z.string(),
    tasks: z.optional(z.array(TaskSchema)),
    ready: z.boolean(),
    err: z.optional(z.string()),
    'spawn-time': z.string(),
    'ready-time': z.optional(z.string()),
    data: z.optional(z.record(z.string(), z.unknown())),
  }),
  z.transform((v) => ({
    id: v.id,
    kind: v.kind,
    summary: v.summary,
    status: v.status,
    tasks: v.tasks ?? [],
    ready: v.ready,
    err: v.err,
    spawnTime: v['spawn-time'],
    readyTime: v['ready-time'],
    data: v.data ?? {},
  })),
);
export type Change = z.infer<typeof ChangeSchema>;

export const FileTypeSchema = z.enum(['file', 'directory', 'symlink', 'socket', 'named-pipe', 'device', 'unknown']);
export type FileType = z.infer<typeof FileTypeSchema>;

export const FileInfoSchema = z.pipe(
  z.object({
    path: z.string(),
    name: z.string(),
    type: FileTypeSchema,
    size: z.optional(z.number()),
    permissions: z.string(),
    'last-modified': z.string(),
    'user-id': z.optional(z.nullable(z.number())),
    user: z.optional(z.string()),
    'group-id': z.optional(z.nullable(z.number())),
    group: z.optional(z.string()),
  }),
  z.transform((v) => ({
    path: v.path,
    name: v.name,
    type: v.type,
    size: v.size,
    /** Permission bits as a number (the API sends a 3-digit octal string). */
    permissions: Number.parseInt(v.permissions, 8),
    lastModified: v['last-modified'],
    userId: v['user-id'] ?? undefined,
    user: v.user ?? '',
    groupId: v['group-id'] ?? undefined,
    group: v.group ?? '',
  })),
);
export type FileInfo = z.infer<typeof FileInfoSchema>;

// ---------------------------------------------------------------------------------------------
// Envelopes (P:daemon/response.go)

export const ErrorResultSchema = z.object({
  message: z.string(),
  kind: z.optional(z.string()),
  value: z.optional(z.unknown()),
});
export type ErrorResult = z.infer<typeof ErrorResultSchema>;

export const EnvelopeSchema = z.object({
  type: z.enum(['sync', 'async', 'error']),
  'status-code': z.int(),
  status: z.string(),
  change: z.optional(z.string()),
  result: z.optional(z.unknown()),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** One entry of a files API result: the path and, on failure, its error. */
export const FileResultSchema = z.object({
  path: z.string(),
  error: z.optional(z.object({ message: z.string(), kind: z.optional(z.string()) })),
});

// ---------------------------------------------------------------------------------------------
// Notices and logs (P:internals/overlord/state/notices.go, internals/daemon/api_logs.go)

/** Notice types Pebble knows; only `custom` can be added through the API. */
export const NoticeTypeSchema = z.enum(['change-update', 'custom', 'warning']);
export type NoticeType = z.infer<typeof NoticeTypeSchema>;

export const PebbleNoticeSchema = z.pipe(
  z.object({
    id: z.string(),
    'user-id': z.optional(z.nullable(z.number())),
    type: z.string(),
    key: z.string(),
    'first-occurred': z.string(),
    'last-occurred': z.string(),
    'last-repeated': z.string(),
    occurrences: z.int(),
    'last-data': z.optional(z.nullable(z.record(z.string(), z.string()))),
    'repeat-after': z.optional(z.string()),
    'expire-after': z.optional(z.string()),
  }),
  z.transform((v) => ({
    id: v.id,
    /** The notice's user; null for a public notice. */
    userId: v['user-id'] ?? null,
    type: v.type,
    key: v.key,
    firstOccurred: v['first-occurred'],
    lastOccurred: v['last-occurred'],
    lastRepeated: v['last-repeated'],
    occurrences: v.occurrences,
    /** As ops: an empty object when the notice has no data. */
    lastData: v['last-data'] ?? {},
    /** Go duration strings ("1h0m0s"), as in layers. */
    repeatAfter: v['repeat-after'],
    expireAfter: v['expire-after'],
  })),
);
/** A Pebble notice (named so, as the framework already has a storage `Notice`). */
export type PebbleNotice = z.infer<typeof PebbleNoticeSchema>;

/** One line of GET /v1/logs. */
export const LogEntrySchema = z.object({ time: z.string(), service: z.string(), message: z.string() });
export type LogEntry = z.infer<typeof LogEntrySchema>;
