/**
 * Stream positions and the connector state that carries them.
 *
 * A position is a Redis stream id `<ms>-<seq>` (opencti-stream.md §2.2). The state saved in the
 * local platform is pycti's JSON shape `{"start_from": "<id>"}`; the legacy `connectorLastEventId`
 * key is read too (§1.4).
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
});

export type StateRead =
  | { kind: 'empty' }
  | { kind: 'position'; position: string; source: 'start_from' | 'connectorLastEventId' }
  | { kind: 'unusable'; reason: string };

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
  for (const key of ['start_from', 'connectorLastEventId'] as const) {
    const v = r.data[key];
    if (v !== undefined) {
      if (isStreamId(v)) return { kind: 'position', position: v, source: key };
      return { kind: 'unusable', reason: `connector state ${key} is not a stream id <ms>-<seq>` };
    }
  }
  return { kind: 'empty' };
}

export function writeConnectorState(position: string): string {
  return JSON.stringify({ start_from: position });
}
