/**
 * The synchronizer's externally visible status: the /healthz JSON, the status file (same JSON),
 * and the Prometheus text of /metrics. The JSON shape is a zod schema so readers (the charm, the
 * bench, tests) can parse it at their boundary.
 *
 * Each renderer takes the process's Redactor and applies it to the finished text: `lastError`
 * may quote a server's answer, and URLs may carry a password, so the whole output is redacted
 * rather than the fields we think of as sensitive.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Redactor } from './redact.js';

export const SYNC_STATES = ['starting', 'connecting', 'streaming', 'backoff', 'retrying', 'stopping', 'stopped', 'failed'] as const;
export type SyncState = (typeof SYNC_STATES)[number];

/** States in which /healthz answers 200. */
export const HEALTHY_STATES: ReadonlySet<SyncState> = new Set(['starting', 'connecting', 'streaming']);

export const SKIP_REASONS = ['unknown-type', 'old-version', 'internal-scope', 'malformed', 'not-found', 'failed'] as const;

export const countersSchema = z.object({
  eventsReceived: z.number(),
  eventsApplied: z.number(),
  eventsSkipped: z.record(z.enum(SKIP_REASONS), z.number()),
  heartbeats: z.number(),
  bundlesPushed: z.number(),
  objectsPushed: z.number(),
  merges: z.number(),
  deletes: z.number(),
  localRequests: z.number(),
  localRetries: z.number(),
  remoteConnects: z.number(),
  stateSaves: z.number(),
  resets: z.number(),
});
export type Counters = z.infer<typeof countersSchema>;

export const syncStatusSchema = z.object({
  state: z.enum(SYNC_STATES),
  healthy: z.boolean(),
  /** Last accepted stream position (what a restart resumes from once saved). */
  position: z.string(),
  positionDate: z.string().nullable(),
  /** Last position saved in the local platform's connector state. */
  savedPosition: z.string().nullable(),
  lastError: z.object({ message: z.string(), at: z.string(), kind: z.string() }).nullable(),
  /** Set once the process has decided to exit: 0 after a stop, otherwise the fatal exit code. */
  exitCode: z.number().nullable(),
  counters: countersSchema,
  queueLength: z.number(),
  remote: z.object({ streamUrl: z.string(), connectionId: z.string().nullable(), lastReceivedId: z.string().nullable(), headId: z.string().nullable() }),
  local: z.object({ url: z.string(), version: z.string().nullable() }),
  timing: z.object({ startedAt: z.string(), firstEventAt: z.number().nullable(), lastAcceptAt: z.number().nullable() }),
  applyMode: z.string(),
  pid: z.number(),
  memory: z.object({ rssBytes: z.number(), heapUsedBytes: z.number() }),
});
export type SyncStatus = z.infer<typeof syncStatusSchema>;

export function newCounters(): Counters {
  return {
    eventsReceived: 0,
    eventsApplied: 0,
    eventsSkipped: { 'unknown-type': 0, 'old-version': 0, 'internal-scope': 0, malformed: 0, 'not-found': 0, failed: 0 },
    heartbeats: 0,
    bundlesPushed: 0,
    objectsPushed: 0,
    merges: 0,
    deletes: 0,
    localRequests: 0,
    localRetries: 0,
    remoteConnects: 0,
    stateSaves: 0,
    resets: 0,
  };
}

/** The /healthz body and the status file's content: the status as JSON, redacted. */
export function renderStatusJson(status: SyncStatus, redactor: Redactor, indent?: number): string {
  return redactor.redact(JSON.stringify(status, null, indent));
}

/** Write the status JSON atomically (temp file + rename) so a reader never sees half a file. */
export function writeStatusFile(file: string, status: SyncStatus, redactor: Redactor): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${renderStatusJson(status, redactor, 2)}\n`);
  renameSync(tmp, file);
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition format 0.0.4: counters, gauges and the state name, nothing else. */
export function renderMetrics(s: SyncStatus, redactor: Redactor): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]) => {
    out.push(`# HELP opencti_sync_${name} ${help}`, `# TYPE opencti_sync_${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
      out.push(`opencti_sync_${name}${l ? `{${l}}` : ''} ${Number.isFinite(v) ? v : 0}`);
    }
  };
  const c = s.counters;
  metric('events_received_total', 'counter', 'Data events received from the remote stream (replays included).', [[{}, c.eventsReceived]]);
  metric('events_applied_total', 'counter', 'Events accepted by the local platform.', [[{}, c.eventsApplied]]);
  metric('events_skipped_total', 'counter', 'Events skipped, by reason.', Object.entries(c.eventsSkipped).map(([reason, v]) => [{ reason }, v]));
  metric('heartbeats_total', 'counter', 'Heartbeats received.', [[{}, c.heartbeats]]);
  metric('bundles_pushed_total', 'counter', 'stixBundlePush calls accepted.', [[{}, c.bundlesPushed]]);
  metric('objects_pushed_total', 'counter', 'STIX objects sent in accepted bundles.', [[{}, c.objectsPushed]]);
  metric('merges_total', 'counter', 'Merges applied.', [[{}, c.merges]]);
  metric('deletes_total', 'counter', 'Deletes applied.', [[{}, c.deletes]]);
  metric('local_requests_total', 'counter', 'GraphQL requests sent to the local platform.', [[{}, c.localRequests]]);
  metric('local_retries_total', 'counter', 'Local requests retried after a transient failure.', [[{}, c.localRetries]]);
  metric('remote_connects_total', 'counter', 'Connections opened to the remote stream.', [[{}, c.remoteConnects]]);
  metric('state_saves_total', 'counter', 'Positions saved with pingConnector.', [[{}, c.stateSaves]]);
  metric('state_resets_total', 'counter', 'Connector state resets seen.', [[{}, c.resets]]);
  metric('queue_length', 'gauge', 'Events received and not yet accepted.', [[{}, s.queueLength]]);
  const posMs = Number(s.position.split('-')[0]);
  metric('position_timestamp_seconds', 'gauge', 'Time encoded in the last accepted stream position.', [[{}, posMs / 1000]]);
  metric('lag_seconds', 'gauge', 'Now minus the time of the last accepted position (0 before any).', [[{}, posMs > 0 ? Math.max(0, (Date.now() - posMs) / 1000) : 0]]);
  metric('healthy', 'gauge', '1 when /healthz answers 200.', [[{}, s.healthy ? 1 : 0]]);
  metric('state', 'gauge', 'Current state (1 for the current one).', [[{ state: s.state }, 1]]);
  return redactor.redact(`${out.join('\n')}\n`);
}
