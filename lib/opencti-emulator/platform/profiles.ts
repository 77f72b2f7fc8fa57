/**
 * Version profiles of the local platform emulator: what the platform and its worker do, per
 * release line. Each flag cites where the behaviour was read (opencti-ingestion.md and the research
 * notes it is built on; `opencti@<tag>` is OpenCTI-Platform/opencti, read through forks that keep its
 * tags and hashes).
 */
export type ProfileName = '5.12' | '6.9' | '7.x';

export interface PlatformProfile {
  name: ProfileName;
  /** `about { version }`. */
  version: string;
  /** `stixBundlePush` exists (added 6.2.6: opencti commit bbfb799fb, #7696; absent from 5.12.33). */
  bundlePush: boolean;
  /** `stixBundlePush(..., work_id)` (6.5.7). */
  bundlePushWorkId: boolean;
  /** The worker splits bundles of more than one object and requeues the pieces (6.2.14; 5.x: the connector helper splits). */
  workerSplits: boolean;
  /** Message fields the worker turns into API headers (ingestion §2; 5.x: applicant and synchronized only). */
  headerFields: readonly ('applicant_id' | 'synchronized' | 'event_id' | 'previous_standard' | 'work_id')[];
  /**
   * How the worker applies delete/merge event messages: `api` = direct GraphQL calls (5.12 worker.py
   * data_handler); `operation` = as bundle operations (6.2+, fixed again in 7.260318.0); `broken` =
   * the 6.8.7-6.9.x push_handler sets opencti_operation to the literal "event", pycti refuses it
   * (opencti@d42f66c06 opencti-worker/src/push_handler.py).
   */
  eventOperations: 'api' | 'operation' | 'broken';
  /** Whether bundle items may carry `opencti_operation` (pycti 6.2.0+; 6.6.1+ reads the OpenCTI extension first). */
  bundleOperations: 'none' | 'top-level' | 'extension-first';
  /**
   * Who reports to the Work: `message` = the 5.12 worker, once per message, and never for a
   * successful event message (opencti@9240a4b12 worker.py L233-407); `item` = pycti, once per item,
   * success or error (6.2+, opencti_stix2.py import_item).
   */
  reports: 'message' | 'item';
  /**
   * What happens to a message whose Work is no longer alive: `processed` (5.12: no alive check);
   * `dropped` (6.8.7+ worker: isWorkAlive false → acked unprocessed); `rejected` (post-Feb-2026
   * worker: the opencti-work-id header makes every call fail with WORK_NOT_ALIVE).
   */
  deadWork: 'processed' | 'dropped' | 'rejected';
  /** Direct GraphQL calls with `synchronized-upsert` need BYPASS (7.260326.0; 6.x: any user). */
  synchronizedNeedsBypass: boolean;
  /** The `opencti-event-id` guard against stale upserts exists (6.5.0, when the sync manager started sending event_id). */
  eventIdGuard: boolean;
  /** `previous-standard` joins the lookup of the existing object (6.2.0). */
  previousStandard: boolean;
}

export const PROFILES: Readonly<Record<ProfileName, PlatformProfile>> = {
  '5.12': {
    name: '5.12',
    version: '5.12.33',
    bundlePush: false,
    bundlePushWorkId: false,
    workerSplits: false,
    headerFields: ['applicant_id', 'synchronized'],
    eventOperations: 'api',
    bundleOperations: 'none',
    reports: 'message',
    deadWork: 'processed',
    synchronizedNeedsBypass: false,
    eventIdGuard: false,
    previousStandard: false,
  },
  // The line the Juju OpenCTI charm deploys (6.9.28); which 2026 fixes it has is unknown, so it
  // keeps the 6.8.7-6.9.22 worker regression (ingestion §2).
  '6.9': {
    name: '6.9',
    version: '6.9.28',
    bundlePush: true,
    bundlePushWorkId: true,
    workerSplits: true,
    headerFields: ['applicant_id', 'synchronized', 'event_id', 'previous_standard'],
    eventOperations: 'broken',
    bundleOperations: 'extension-first',
    reports: 'item',
    deadWork: 'dropped',
    synchronizedNeedsBypass: false,
    eventIdGuard: true,
    previousStandard: true,
  },
  '7.x': {
    name: '7.x',
    version: '7.260817.0',
    bundlePush: true,
    bundlePushWorkId: true,
    workerSplits: true,
    headerFields: ['applicant_id', 'synchronized', 'event_id', 'previous_standard', 'work_id'],
    eventOperations: 'operation',
    bundleOperations: 'extension-first',
    reports: 'item',
    deadWork: 'rejected',
    synchronizedNeedsBypass: true,
    eventIdGuard: true,
    previousStandard: true,
  },
};

export function profileNamed(name: string): PlatformProfile {
  const p = (PROFILES as Record<string, PlatformProfile>)[name];
  if (!p) throw new Error(`unknown platform profile "${name}": use one of ${Object.keys(PROFILES).join(', ')}`);
  return p;
}
