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

/** States in which /healthz answers 200; `backoff` and `retrying` too, until they last SYNC_UNHEALTHY_AFTER_MS. */
export const HEALTHY_STATES: ReadonlySet<SyncState> = new Set(['starting', 'connecting', 'streaming']);

/** Why a stream message was not an event to apply (it is counted, logged and passed). */
export const SKIP_REASONS = ['unknown-type', 'old-version', 'internal-scope', 'malformed', 'invalid-id'] as const;

export const countersSchema = z.object({
  eventsReceived: z.number(),
  /** Events whose every step the local platform confirmed. */
  eventsApplied: z.number(),
  /** Events the local platform refused for good, for a reason about the event (each one logged). */
  eventsRefused: z.number(),
  /** Events not applied because a later event deletes the object they write (replays; each one logged). */
  eventsSuperseded: z.number(),
  /** Objects received through the stream's recovery mode (the initial copy, or a re-copy). */
  eventsRecovered: z.number(),
  eventsSkipped: z.record(z.enum(SKIP_REASONS), z.number()),
  /** Events that carried keys a worker would take as commands (removed before sending). */
  eventsSanitized: z.number(),
  heartbeats: z.number(),
  worksCreated: z.number(),
  messagesSent: z.number(),
  /** Steps the platform failed and that were sent again after a backoff. */
  stepRetries: z.number(),
  /** Steps sent again because their Work gave no verdict (lost, closed early, over its error cap). */
  stepsResent: z.number(),
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
  /** Events read and not yet settled. */
  queueLength: z.number(),
  /** Messages on the local platform's queue not yet confirmed by their Works, now and at most so far, and the bound. */
  queuedMessages: z.object({ now: z.number(), max: z.number(), bound: z.number() }),
  remote: z.object({ streamUrl: z.string(), connectionId: z.string().nullable(), lastReceivedId: z.string().nullable(), headId: z.string().nullable() }),
  local: z.object({ url: z.string(), version: z.string().nullable(), writePath: z.string().nullable() }),
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
    eventsRefused: 0,
    eventsSuperseded: 0,
    eventsRecovered: 0,
    eventsSkipped: { 'unknown-type': 0, 'old-version': 0, 'internal-scope': 0, malformed: 0, 'invalid-id': 0 },
    eventsSanitized: 0,
    heartbeats: 0,
    worksCreated: 0,
    messagesSent: 0,
    stepRetries: 0,
    stepsResent: 0,
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
  metric('events_applied_total', 'counter', 'Events the local platform confirmed applied (by their Works).', [[{}, c.eventsApplied]]);
  metric('events_refused_total', 'counter', 'Events the local platform refused for good, for a reason about the event.', [[{}, c.eventsRefused]]);
  metric('events_recovered_total', 'counter', 'Objects received through the stream\'s recovery mode (the initial copy, or a re-copy after the stream was trimmed).', [[{}, c.eventsRecovered]]);
  metric('events_superseded_total', 'counter', 'Events not applied because a later event deletes the object they write.', [[{}, c.eventsSuperseded]]);
  metric('events_skipped_total', 'counter', 'Stream messages that are no event to apply, by reason.', Object.entries(c.eventsSkipped).map(([reason, v]) => [{ reason }, v]));
  metric('events_sanitized_total', 'counter', 'Events whose operation keys were removed before sending.', [[{}, c.eventsSanitized]]);
  metric('heartbeats_total', 'counter', 'Heartbeats received.', [[{}, c.heartbeats]]);
  metric('works_created_total', 'counter', 'Works created on the local platform (one per batch).', [[{}, c.worksCreated]]);
  metric('messages_sent_total', 'counter', 'Messages put on the local platform (confirmed by the broker, or queued by stixBundlePush).', [[{}, c.messagesSent]]);
  metric('step_retries_total', 'counter', 'Steps the local platform failed, sent again after a backoff.', [[{}, c.stepRetries]]);
  metric('steps_resent_total', 'counter', 'Steps sent again because their Work gave no verdict.', [[{}, c.stepsResent]]);
  metric('queued_messages', 'gauge', 'Messages on the local queue not yet confirmed by their Works.', [[{}, s.queuedMessages.now]]);
  metric('queued_messages_bound', 'gauge', 'SYNC_MAX_QUEUED_MESSAGES.', [[{}, s.queuedMessages.bound]]);
  metric('remote_connects_total', 'counter', 'Connections opened to the remote stream.', [[{}, c.remoteConnects]]);
  metric('state_saves_total', 'counter', 'Positions saved with pingConnector.', [[{}, c.stateSaves]]);
  metric('state_resets_total', 'counter', 'Connector state resets seen.', [[{}, c.resets]]);
  metric('queue_length', 'gauge', 'Events received and not yet settled.', [[{}, s.queueLength]]);
  const posMs = Number(s.position.split('-')[0]);
  metric('position_timestamp_seconds', 'gauge', 'Time encoded in the last accepted stream position.', [[{}, posMs / 1000]]);
  metric('lag_seconds', 'gauge', 'Now minus the time of the last accepted position (0 before any).', [[{}, posMs > 0 ? Math.max(0, (Date.now() - posMs) / 1000) : 0]]);
  metric('healthy', 'gauge', '1 when /healthz answers 200.', [[{}, s.healthy ? 1 : 0]]);
  metric('state', 'gauge', 'Current state (1 for the current one).', [[{ state: s.state }, 1]]);
  return redactor.redact(`${out.join('\n')}\n`);
}
