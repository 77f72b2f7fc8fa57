/**
 * Works, as the platform keeps them: a document (status, errors, messages, completed_number: the
 * platform's Elasticsearch history index) and a live counter hash (expected and processed numbers,
 * is_initialized: its Redis hash keyed by the work id). Every rule below is from
 * opencti@d42f66c06 (= 6.9.8 for these files) src/domain/work.js, src/database/redis.ts,
 * src/domain/connector.ts#computeWorkStatus and src/manager/connectorManager.js, with the 5.12.33
 * differences where the emulator's 5.12 profile needs them.
 *
 * The rules that matter to a sender:
 * - workAdd creates the Work in `progress`; `reportExpectation` adds 1 to processed (an error too)
 *   and completes the Work exactly when processed == expected after that increment; nothing reopens
 *   a complete Work, and a later report never completes it again;
 * - at most 100 errors are kept per Work (more are counted as processed and lost);
 * - the connector manager force-completes a connector's unfinished Works that are older than the
 *   last Work that received a report, and deletes their counters: from then on they are not alive,
 *   so a 6.8.7+ worker drops their remaining messages unprocessed.
 */
export interface WorkMessage {
  timestamp: string;
  message: string;
  source: string | null;
  sequence: null;
}

export interface WorkDoc {
  id: string;
  name: string;
  connectorId: string;
  userId: string;
  timestamp: string;
  updatedAt: string;
  status: 'wait' | 'progress' | 'complete';
  receivedTime: string | null;
  processedTime: string | null;
  completedTime: string | null;
  completedNumber: number;
  /** The document's copy, incremented by addExpectations and rewritten by toProcessed. */
  importExpectedNumber: number;
  messages: WorkMessage[];
  errors: WorkMessage[];
}

/** The live counters (the platform's Redis hash; values are strings there). */
interface Counters {
  import_expected_number?: number;
  import_processed_number?: number;
  import_last_processed?: string;
  is_initialized?: 'true';
}

/** Errors kept per Work (reportExpectation appends only while fewer are stored). */
export const MAX_WORK_ERRORS = 100;
const WORKS_DAY_RANGE_MS = 7 * 24 * 3600 * 1000;

export class WorkNotFoundError extends Error {
  override readonly name = 'WorkNotFoundError';
}

export class Works {
  readonly docs = new Map<string, WorkDoc>();
  readonly #counters = new Map<string, Counters>();
  /** `work:<connectorId>`: the last Work of a connector that received a report. */
  readonly #lastReporting = new Map<string, string>();
  readonly #alivenessCheck: boolean;

  /** @param alivenessCheck the platform tracks `is_initialized` (6.x; 5.12 does not) */
  constructor(opts: { alivenessCheck: boolean }) {
    this.#alivenessCheck = opts.alivenessCheck;
  }

  /**
   * createWork: id `work_<connectorId>_<ISO timestamp>` (schema/identifier.js#generateWorkId). Two
   * Works of one connector created in the same millisecond get the same id on the platform, the
   * second overwriting the first document; that is reproduced.
   */
  create(connectorId: string, userId: string, name: string, received: boolean): WorkDoc {
    const ts = new Date().toISOString();
    const id = `work_${connectorId}_${ts}`;
    const doc: WorkDoc = {
      id,
      name,
      connectorId,
      userId,
      timestamp: ts,
      updatedAt: ts,
      status: received ? 'progress' : 'wait',
      receivedTime: received ? ts : null,
      processedTime: null,
      completedTime: null,
      completedNumber: 0,
      importExpectedNumber: 0,
      messages: [],
      errors: [],
    };
    this.docs.set(id, doc);
    if (this.#alivenessCheck) this.#hash(id).is_initialized = 'true';
    return doc;
  }

  get(id: string): WorkDoc | undefined {
    return this.docs.get(id);
  }

  #hash(id: string): Counters {
    let h = this.#counters.get(id);
    if (!h) this.#counters.set(id, (h = {}));
    return h;
  }

  /** isWorkAlive: the counter hash says is_initialized (6.x). */
  isAlive(id: string): boolean {
    return this.#counters.get(id)?.is_initialized === 'true';
  }

  /** addExpectations(n): both copies of the expected number; a Work deleted meanwhile loses its counters. */
  addExpectations(id: string, n: number): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    doc.updatedAt = new Date().toISOString();
    doc.importExpectedNumber += n;
    const h = this.#hash(id);
    h.import_expected_number = (h.import_expected_number ?? 0) + n;
    if (this.#alivenessCheck && !this.isAlive(id)) this.#counters.delete(id);
  }

  /** reportExpectation(error?): one processed item, an error appended while fewer than 100 are kept. */
  reportExpectation(id: string, error: { error?: string | null; source?: string | null } | null | undefined): void {
    const h = this.#hash(id);
    h.import_processed_number = (h.import_processed_number ?? 0) + 1;
    h.import_last_processed = new Date().toISOString();
    // The connector's "current work" pointer, from the id itself (work_<connectorId>_<timestamp>).
    const connectorId = id.split('_')[1];
    if (connectorId) this.#lastReporting.set(connectorId, id);
    const total = h.import_processed_number;
    const isComplete = total === h.import_expected_number;
    if (this.#alivenessCheck && !this.isAlive(id)) {
      this.#counters.delete(id);
      return;
    }
    if (!isComplete && !error) return;
    const doc = this.docs.get(id);
    if (!doc) {
      if (!this.#alivenessCheck) throw new WorkNotFoundError(`Cannot read properties of undefined (reading '_index'): work ${id}`);
      return;
    }
    if (isComplete) {
      doc.status = 'complete';
      doc.completedNumber = total;
      doc.completedTime = new Date().toISOString();
    }
    if (error && doc.errors.length < MAX_WORK_ERRORS) doc.errors.push({ timestamp: new Date().toISOString(), message: error.error ?? '', source: error.source ?? null, sequence: null });
  }

  /** toReceived: wait → progress. */
  toReceived(id: string, message: string | null | undefined): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    doc.status = 'progress';
    doc.receivedTime = new Date().toISOString();
    if (message) doc.messages.push({ timestamp: doc.receivedTime, message, source: null, sequence: null });
  }

  /** toProcessed: completes the Work if nothing is expected or the counters already match. */
  toProcessed(id: string, message: string | null | undefined, inError: boolean): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    const now = new Date().toISOString();
    doc.processedTime = now;
    const h = this.#counters.get(id);
    const total = h?.import_processed_number;
    const countersComplete = h !== undefined && total !== undefined && total === h.import_expected_number;
    if (doc.importExpectedNumber === 0 || countersComplete) {
      doc.status = 'complete';
      const n = total === undefined || total === 0 ? 1 : total;
      doc.importExpectedNumber = n;
      doc.completedNumber = n;
      doc.completedTime = now;
    }
    if (message) (inError ? doc.errors : doc.messages).push({ timestamp: now, message, source: null, sequence: null });
    if (countersComplete) this.#counters.delete(id);
  }

  ping(id: string): void {
    const doc = this.docs.get(id);
    if (!doc) throw new WorkNotFoundError(`Cannot read properties of undefined (reading '_index'): work ${id}`);
    doc.updatedAt = new Date().toISOString();
  }

  delete(id: string): void {
    this.docs.delete(id);
    this.#counters.delete(id);
  }

  /** Work.tracking (computeWorkStatus): the document's figures once complete, else the live counters. */
  tracking(doc: WorkDoc): { import_expected_number: number | null; import_processed_number: number | null; import_last_processed: string | null } {
    if (doc.status === 'complete') return { import_expected_number: doc.importExpectedNumber, import_processed_number: doc.completedNumber, import_last_processed: null };
    const h = this.#counters.get(doc.id);
    return { import_expected_number: h?.import_expected_number ?? null, import_processed_number: h?.import_processed_number ?? null, import_last_processed: h?.import_last_processed ?? null };
  }

  /**
   * The connector manager's closeOldWorks for one connector (every 60 s on the platform): its
   * unfinished Works older than the last one that received a report are completed with the count
   * processed so far (deleted if older than 7 days), and lose their counters.
   */
  closeOldWorks(connectorId: string): string[] {
    const last = this.#lastReporting.get(connectorId);
    const lastTs = last ? this.docs.get(last)?.timestamp ?? last.split('_')[2] : undefined;
    if (!lastTs) return [];
    const closed: string[] = [];
    for (const doc of this.docs.values()) {
      if (doc.connectorId !== connectorId || doc.status === 'complete' || doc.timestamp >= lastTs) continue;
      if (Date.now() - Date.parse(doc.timestamp) > WORKS_DAY_RANGE_MS) this.docs.delete(doc.id);
      else {
        const h = this.#counters.get(doc.id);
        if (h) {
          doc.status = 'complete';
          doc.completedTime = new Date().toISOString();
          doc.completedNumber = h.import_processed_number ?? 0;
        }
      }
      this.#counters.delete(doc.id);
      closed.push(doc.id);
    }
    return closed;
  }

  /** Every connector that has Works (for the manager's periodic run). */
  connectorIds(): Set<string> {
    return new Set([...this.docs.values()].map((d) => d.connectorId));
  }
}
