/**
 * Stream positions and the connector state that carries them.
 *
 * A position is a Redis stream id `<ms>-<seq>` (opencti-stream.md §2.2). The state saved in the
 * local platform is pycti's JSON shape `{"start_from": "<id>", "recover_until": "<ISO date>" | false}`
 * (§1.4): the position, and the date until which the stream's recovery mode copies objects while
 * the position is before it. The legacy keys `connectorLastEventId` and `connectorStartTime` are
 * read too.
 */
import { z } from 'zod';

export const STREAM_ID_RE = /^\d+-\d+$/;
export const START_OF_STREAM = '0-0';

export function isStreamId(v: string): boolean {
  return STREAM_ID_RE.test(v);
}

/** Compare two stream ids numerically: negative if a < b, 0 if equal, positive if a > b. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const s = BigInt(as) - BigInt(bs);
  return s === 0n ? 0 : s < 0n ? -1 : 1;
}

/** The ms part of an id as a Date (for lag). */
export function streamIdDate(id: string): Date | undefined {
  const ms = Number(id.split('-')[0]);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

const stateSchema = z.looseObject({
  start_from: z.string().optional(),
  connectorLastEventId: z.string().optional(),
  recover_until: z.union([z.string(), z.boolean(), z.null()]).optional(),
  connectorStartTime: z.string().optional(),
});

export type StateRead =
  | { kind: 'empty' }
  | { kind: 'position'; position: string; source: 'start_from' | 'connectorLastEventId'; recoverUntil: string | undefined }
  | { kind: 'unusable'; reason: string };

/** pycti's values for "no recovery" in recover_until (opencti_connector_helper.py, ListenStream). */
const NO_RECOVERY = new Set(['no', 'none', 'false']);

/** recover_until as an ISO date, or undefined for none (absent, false, or pycti's "no" words). */
function recoverUntilOf(v: string | boolean | null | undefined): string | undefined | 'invalid' {
  if (v === undefined || v === null || v === false || v === true) return undefined;
  if (NO_RECOVERY.has(v.trim().toLowerCase()) || v.trim() === '') return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? 'invalid' : new Date(ms).toISOString();
}

/** Read the connector state string returned by registerConnector / pingConnector. */
export function readConnectorState(raw: string | null | undefined): StateRead {
  if (raw === null || raw === undefined || raw.trim() === '' || raw.trim() === 'null') return { kind: 'empty' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { kind: 'unusable', reason: 'connector state is not JSON' };
  }
  const r = stateSchema.safeParse(parsed);
  if (!r.success) return { kind: 'unusable', reason: 'connector state is not a JSON object' };
  const recoverUntil = recoverUntilOf(r.data.recover_until ?? r.data.connectorStartTime);
  if (recoverUntil === 'invalid') return { kind: 'unusable', reason: 'connector state recover_until is not a date' };
  for (const key of ['start_from', 'connectorLastEventId'] as const) {
    const v = r.data[key];
    if (v !== undefined) {
      if (isStreamId(v)) return { kind: 'position', position: v, source: key, recoverUntil };
      return { kind: 'unusable', reason: `connector state ${key} is not a stream id <ms>-<seq>` };
    }
  }
  return { kind: 'empty' };
}

export function writeConnectorState(position: string, recoverUntil: string | undefined): string {
  return JSON.stringify({ start_from: position, recover_until: recoverUntil ?? false });
}

/** Whether a connection from `position` runs the stream's recovery mode: recover is after it (§1.3). */
export function recovering(position: string, recoverUntil: string | undefined): boolean {
  if (recoverUntil === undefined) return false;
  return Date.parse(recoverUntil) > Number(position.split('-')[0]);
}
