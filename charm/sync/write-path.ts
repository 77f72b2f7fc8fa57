/**
 * How this synchronizer writes to a given local platform version: which message carries each kind
 * of event, how a step is confirmed, and what the version lacks (opencti-ingestion.md; the version
 * boundaries are those of the platform's and the worker's code, cited in lib/opencti-emulator/platform).
 *
 * The default (`amqp`) is the platform's own synchronizer's way: messages on the connector's push
 * queue, applied by the platform's workers with the headers their fields carry. `api`
 * (CONNECTOR_QUEUE_PROTOCOL=api, pycti's variable) posts bundles with stixBundlePush instead, for a
 * connector that cannot reach the broker; see `API_LOSSES`.
 */
export type QueueProtocol = 'amqp' | 'api';

export interface WritePath {
  protocol: QueueProtocol;
  /**
   * Creates and updates: `event` = the sync manager's event message (workers of 6.2+ report each to
   * its Work); `bundle` = a one-object bundle message (before 6.2 the worker reports per message, and
   * never for a successful event message).
   */
  upsert: 'event' | 'bundle';
  /**
   * Deletes and merges: `event` messages (fixed workers); `bundle-op` = a one-item bundle carrying
   * `opencti_operation` (pycti 6.2+), where the 6.8.7-6.9 workers break event operations; `event-state`
   * = event messages whose success the (pre-6.2) worker never reports, confirmed by reading the
   * platform's state instead.
   */
  deleteMerge: 'event' | 'bundle-op' | 'event-state';
  /** The worker turns `previous_standard` into the header the platform honours (6.2+). */
  previousStandard: boolean;
  /**
   * One Work in flight at a time. Before 6.8.7 a worker applies the messages of a Work the
   * platform closed early (its connector manager closes a connector's older unfinished Works once a
   * newer one reports), and their reports are lost: its events would be sent again while the first
   * copies may still land later. With one Work at a time, no Work is ever older than another.
   */
  oneWorkAtATime: boolean;
  /** Things this version does not do that the operator should know, for the start-up log. */
  warnings: string[];
}

/** What CONNECTOR_QUEUE_PROTOCOL=api gives up; logged as a warning at start and documented. */
export const API_LOSSES =
  'stixBundlePush queues a bundle message without the request headers: synchronized-upsert is lost (values removed remotely stay locally), previous-standard is lost (an id change creates a new object; the synchronizer then merges the old one into it), opencti-event-id is lost (no guard against a stale write), and writes are attributed to the connector\'s user';

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** `6.9.28`, `7.260817.0` (7.x minors are dates). NaN parts for anything else. */
export function parseVersion(v: string): Version {
  const [major = Number.NaN, minor = Number.NaN, patch = Number.NaN] = v.split('.').map((x) => Number.parseInt(x, 10));
  return { major, minor, patch };
}

function atLeast(v: Version, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** The write path for a version and protocol, or why this synchronizer cannot write to it. */
export function writePathFor(version: string, protocol: QueueProtocol): WritePath | { refused: string } {
  const v = parseVersion(version);
  if (!Number.isFinite(v.major) || !Number.isFinite(v.minor)) return { refused: `the local OpenCTI reports version "${version}", which is not a version number` };
  if (v.major < 5) return { refused: `the local OpenCTI is version ${version}; this synchronizer needs 5.0 or later: upgrade the platform` };
  const warnings: string[] = [];
  // 6.2.13-6.2.18 and 6.3.0-6.3.3 read none of the synchronizer headers (Apollo 4 migration,
  // fixed by #8528 in 6.2.19 / 6.3.4).
  if ((atLeast(v, 6, 2, 13) && !atLeast(v, 6, 2, 19)) || (atLeast(v, 6, 3, 0) && !atLeast(v, 6, 3, 4))) {
    warnings.push(`OpenCTI ${version} ignores the synchronized-upsert, previous-standard and opencti-event-id headers (fixed in 6.2.19 and 6.3.4): values removed remotely stay locally and id changes create new objects; upgrade the local platform`);
  }
  if (protocol === 'api') {
    if (!atLeast(v, 6, 5, 7)) return { refused: `CONNECTOR_QUEUE_PROTOCOL=api needs stixBundlePush with a work_id (OpenCTI 6.5.7 or later; the local platform is ${version}): use the default, amqp` };
    warnings.push(`CONNECTOR_QUEUE_PROTOCOL=api: ${API_LOSSES}`);
    return { protocol, upsert: 'bundle', deleteMerge: 'bundle-op', previousStandard: false, oneWorkAtATime: !atLeast(v, 6, 8, 7), warnings };
  }
  const modern = atLeast(v, 6, 2);
  if (!modern) warnings.push(`OpenCTI ${version} predates previous-standard and opencti-event-id: an id change is applied as a create and a merge of the old object into the new one`);
  // The 6.8.7 worker (push_handler.py) sets opencti_operation to "event" for delete and merge event
  // messages; fixed in 7.260318.0. Which later 6.9 patch has the fix is unknown: every version from
  // 6.8.7 up to that release is treated as broken.
  const brokenEventOps = atLeast(v, 6, 8, 7) && !atLeast(v, 7, 260318, 0);
  return {
    protocol,
    upsert: modern ? 'event' : 'bundle',
    deleteMerge: !modern ? 'event-state' : brokenEventOps ? 'bundle-op' : 'event',
    previousStandard: modern,
    oneWorkAtATime: !atLeast(v, 6, 8, 7),
    warnings,
  };
}
