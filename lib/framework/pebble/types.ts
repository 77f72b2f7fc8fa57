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
import { z } from 'zod';

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
  summary: z.string().optional(),
  description: z.string().optional(),
  startup: StartupSchema.optional(),
  override: OverrideSchema.optional(),
  command: z.string().optional(),
  after: z.array(z.string()).optional(),
  before: z.array(z.string()).optional(),
  requires: z.array(z.string()).optional(),
  workload: z.string().optional(),
  environment: StringMap.optional(),
  'user-id': z.number().int().optional(),
  user: z.string().optional(),
  'group-id': z.number().int().optional(),
  group: z.string().optional(),
  'working-dir': z.string().optional(),
  'on-success': OnSuccessActionSchema.optional(),
  'on-failure': OnFailureActionSchema.optional(),
  'on-check-failure': z.record(z.string(), OnFailureActionSchema).optional(),
  'backoff-delay': DurationSchema.optional(),
  'backoff-factor': z.number().optional(),
  'backoff-limit': DurationSchema.optional(),
  'kill-delay': DurationSchema.optional(),
});
export type Service = z.infer<typeof ServiceSchema>;

export const CheckLevelSchema = z.enum(['alive', 'ready']);
export type CheckLevel = z.infer<typeof CheckLevelSchema>;

export const HttpCheckSchema = z.object({ url: z.string().optional(), headers: StringMap.optional() });
export const TcpCheckSchema = z.object({ port: z.number().int().optional(), host: z.string().optional() });
export const ExecCheckSchema = z.object({
  command: z.string().optional(),
  'service-context': z.string().optional(),
  environment: StringMap.optional(),
  'user-id': z.number().int().optional(),
  user: z.string().optional(),
  'group-id': z.number().int().optional(),
  group: z.string().optional(),
  'working-dir': z.string().optional(),
});

/** One health check. Exactly one of `http`, `tcp` or `exec` must be set in the combined plan. */
export const CheckSchema = z.object({
  override: OverrideSchema.optional(),
  level: CheckLevelSchema.optional(),
  startup: StartupSchema.optional(),
  period: DurationSchema.optional(),
  timeout: DurationSchema.optional(),
  threshold: z.number().int().optional(),
  http: HttpCheckSchema.optional(),
  tcp: TcpCheckSchema.optional(),
  exec: ExecCheckSchema.optional(),
});
export type Check = z.infer<typeof CheckSchema>;

export const LogTargetSchema = z.object({
  override: OverrideSchema.optional(),
  type: z.enum(['loki', 'opentelemetry', 'syslog']).optional(),
  location: z.string().optional(),
  services: z.array(z.string()).optional(),
  labels: StringMap.optional(),
});
export type LogTarget = z.infer<typeof LogTargetSchema>;

/**
 * A layer as a charm writes it. `override` is required on every service, check and log target
 * (Pebble answers 400 without it), so the type asks for it too.
 */
export const LayerSchema = z.object({
  summary: z.string().optional(),
  description: z.string().optional(),
  services: z.record(z.string(), ServiceSchema.extend({ override: OverrideSchema })).optional(),
  checks: z.record(z.string(), CheckSchema.extend({ override: OverrideSchema })).optional(),
  'log-targets': z.record(z.string(), LogTargetSchema.extend({ override: OverrideSchema })).optional(),
});
export type Layer = z.infer<typeof LayerSchema>;

/** The combined plan, as GET /v1/plan returns it (without defaults). Missing sections are {}. */
export const PlanSchema = z.object({
  services: z.record(z.string(), ServiceSchema).default({}),
  checks: z.record(z.string(), CheckSchema).default({}),
  'log-targets': z.record(z.string(), LogTargetSchema).default({}),
});
export type Plan = z.infer<typeof PlanSchema>;

// ---------------------------------------------------------------------------------------------
// API results

export const SystemInfoSchema = z
  .object({
    'boot-id': z.string().optional(),
    version: z.string(),
    'http-address': z.string().optional(),
    'https-address': z.string().optional(),
  })
  .transform((v) => ({
    bootId: v['boot-id'] ?? '',
    version: v.version,
    httpAddress: v['http-address'],
    httpsAddress: v['https-address'],
  }));
export type SystemInfo = z.infer<typeof SystemInfoSchema>;

export const ServiceStatusSchema = z.enum(['active', 'inactive', 'backoff', 'error']);
/** `backoff` is a real Pebble status even though ops' enum lacks it. */
export type ServiceStatus = z.infer<typeof ServiceStatusSchema>;

export const ServiceInfoSchema = z
  .object({
    name: z.string(),
    startup: StartupSchema,
    current: ServiceStatusSchema,
    'current-since': z.string().optional(),
  })
  .transform((v) => ({
    name: v.name,
    startup: v.startup,
    current: v.current,
    currentSince: v['current-since'],
  }));
export type ServiceInfo = z.infer<typeof ServiceInfoSchema>;

/** True when a service counts as running (Pebble's `active`). */
export function isServiceRunning(info: Pick<ServiceInfo, 'current'>): boolean {
  return info.current === 'active';
}

export const CheckStatusSchema = z.enum(['up', 'down', 'inactive']);
export type CheckStatus = z.infer<typeof CheckStatusSchema>;

export const CheckInfoSchema = z
  .object({
    name: z.string(),
    level: z.union([CheckLevelSchema, z.literal('')]).optional(),
    startup: StartupSchema,
    status: CheckStatusSchema,
    successes: z.number().int().optional(),
    failures: z.number().int().optional(),
    threshold: z.number().int(),
    'change-id': z.string().optional(),
    'prev-change-id': z.string().optional(),
  })
  .transform((v) => ({
    name: v.name,
    level: v.level === '' ? undefined : v.level,
    startup: v.startup,
    status: v.status,
    successes: v.successes ?? 0,
    failures: v.failures ?? 0,
    threshold: v.threshold,
    changeId: v['change-id'],
    prevChangeId: v['prev-change-id'],
  }));
export type CheckInfo = z.infer<typeof CheckInfoSchema>;

/** Change and task status strings (Pebble's state package). */
export const ChangeStatusSchema = z.enum([
  'Default', 'Do', 'Doing', 'Done', 'Wait', 'Abort', 'Undo', 'Undoing', 'Undone', 'Hold', 'Error',
]);
export type ChangeStatus = z.infer<typeof ChangeStatusSchema>;

export const TaskSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    summary: z.string(),
    status: z.string(),
    log: z.array(z.string()).optional(),
    progress: z.object({ label: z.string(), done: z.number(), total: z.number() }),
    'spawn-time': z.string(),
    'ready-time': z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .transform((v) => ({
    id: v.id,
    kind: v.kind,
    summary: v.summary,
    status: v.status,
    log: v.log ?? [],
    progress: v.progress,
    spawnTime: v['spawn-time'],
    readyTime: v['ready-time'],
    data: v.data ?? {},
  }));
export type Task = z.infer<typeof TaskSchema>;

export const ChangeSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    summary: z.string(),
    status: z.string(),
    tasks: z.array(TaskSchema).optional(),
    ready: z.boolean(),
    err: z.string().optional(),
    'spawn-time': z.string(),
    'ready-time': z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .transform((v) => ({
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
  }));
export type Change = z.infer<typeof ChangeSchema>;

export const FileTypeSchema = z.enum(['file', 'directory', 'symlink', 'socket', 'named-pipe', 'device', 'unknown']);
export type FileType = z.infer<typeof FileTypeSchema>;

export const FileInfoSchema = z
  .object({
    path: z.string(),
    name: z.string(),
    type: FileTypeSchema,
    size: z.number().optional(),
    permissions: z.string(),
    'last-modified': z.string(),
    'user-id': z.number().nullable().optional(),
    user: z.string().optional(),
    'group-id': z.number().nullable().optional(),
    group: z.string().optional(),
  })
  .transform((v) => ({
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
  }));
export type FileInfo = z.infer<typeof FileInfoSchema>;

// ---------------------------------------------------------------------------------------------
// Envelopes (P:daemon/response.go)

export const ErrorResultSchema = z.object({
  message: z.string(),
  kind: z.string().optional(),
  value: z.unknown().optional(),
});
export type ErrorResult = z.infer<typeof ErrorResultSchema>;

export const EnvelopeSchema = z.object({
  type: z.enum(['sync', 'async', 'error']),
  'status-code': z.number().int(),
  status: z.string(),
  change: z.string().optional(),
  result: z.unknown().optional(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** One entry of a files API result: the path and, on failure, its error. */
export const FileResultSchema = z.object({
  path: z.string(),
  error: z.object({ message: z.string(), kind: z.string().optional() }).optional(),
});
