/**
 * Where the framework keeps what must survive between dispatches: deferred-event notices, their
 * snapshots, stored state and the event counter.
 *
 * The framework loads everything at the start of a dispatch, works on an in-memory copy, and
 * writes it back only when the dispatch succeeded (ops commits its SQLite transaction the same
 * way), so a handler that throws leaves no trace.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import type { ModelBackend } from './backend.js';

export interface Notice {
  eventPath: string;
  observerPath: string;
  methodName: string;
}

export interface StoredData {
  /** Counter for event handle keys; the next event gets eventCount + 1. */
  eventCount: number;
  /** Deferred notices, oldest first. */
  notices: Notice[];
  /** Event path → the event's snapshot. */
  snapshots: Record<string, unknown>;
  /** Stored-state path → its content. */
  stored: Record<string, unknown>;
  /** Relation id → remote application, as learnt in earlier dispatches (see ModelContext.knownRemoteApps). */
  remoteApps: Record<string, string>;
}

export const emptyStoredData = (): StoredData => ({ eventCount: 0, notices: [], snapshots: {}, stored: {}, remoteApps: {} });

const noticeSchema = z.object({ eventPath: z.string(), observerPath: z.string(), methodName: z.string() });
const fileSchema = z.object({
  version: z.literal(1),
  eventCount: z.int().check(z.nonnegative()),
  notices: z.array(noticeSchema),
  snapshots: z.record(z.string(), z.unknown()),
  stored: z.record(z.string(), z.unknown()),
  // Absent from files written before it existed.
  remoteApps: z.optional(z.record(z.string(), z.string())),
});

export interface Storage {
  /** Where the data lives, for messages. */
  readonly description: string;
  load(): Promise<StoredData>;
  /** Persist `data`; `previous` is what load() returned, so incremental stores can write only changes. */
  commit(data: StoredData, previous: StoredData): Promise<void>;
}

/** The default: a JSON file in the charm directory, mode 0600, replaced atomically on commit. */
export class FileStorage implements Storage {
  static readonly FILENAME = '.unit-state.json';
  readonly file: string;

  constructor(charmDir: string, file = FileStorage.FILENAME) {
    this.file = path.resolve(charmDir, file);
  }

  get description(): string {
    return this.file;
  }

  async load(): Promise<StoredData> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyStoredData();
      throw e;
    }
    let parsed;
    try {
      parsed = z.safeParse(fileSchema, JSON.parse(text));
    } catch (e) {
      throw new Error(`${this.file} is not valid JSON (${(e as Error).message}); move it aside to start from empty state`);
    }
    if (!parsed.success) {
      throw new Error(`${this.file} has an unexpected shape (${parsed.error.issues[0]?.message}); move it aside to start from empty state`);
    }
    const { version: _version, remoteApps, ...data } = parsed.data;
    return { ...data, remoteApps: remoteApps ?? {} };
  }

  async commit(data: StoredData): Promise<void> {
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ version: 1, ...data }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}

/** Keeps data in memory; the in-process simulation seeds it from and reads it back into State. */
export class MemoryStorage implements Storage {
  readonly description = 'memory';
  constructor(public data: StoredData = emptyStoredData()) {}
  async load(): Promise<StoredData> {
    return structuredClone(this.data);
  }
  async commit(data: StoredData): Promise<void> {
    this.data = structuredClone(data);
  }
}

const FRAMEWORK_KEY = '#framework#';
const NOTICES_KEY = '#notices#';
const REMOTE_APPS_KEY = '#remote-apps#';
const SNAPSHOT_PREFIX = 'snapshot:';
const STORED_PREFIX = 'stored:';

/**
 * Controller-side storage through `state-get` / `state-set` / `state-delete` (opt in with
 * `main(Charm, { useJujuForStorage: true })`): survives pod replacement, at the cost of hook-tool
 * calls. One key per snapshot and per stored state, plus the notice list and the counter, each a
 * JSON string; only changed keys are written.
 */
export class JujuStorage implements Storage {
  readonly description = 'Juju controller (state-get/state-set)';
  constructor(private readonly backend: ModelBackend) {}

  async load(): Promise<StoredData> {
    const raw = await this.backend.stateGet();
    const data = emptyStoredData();
    const json = (k: string): unknown => {
      try {
        return JSON.parse(raw[k] ?? 'null');
      } catch {
        throw new Error(`controller state key "${k}" is not JSON; remove it with state-delete to start from empty state`);
      }
    };
    const fw = json(FRAMEWORK_KEY) as { eventCount?: number } | null;
    data.eventCount = fw?.eventCount ?? 0;
    data.notices = z.parse(z.array(noticeSchema), json(NOTICES_KEY) ?? []);
    data.remoteApps = z.parse(z.record(z.string(), z.string()), json(REMOTE_APPS_KEY) ?? {});
    for (const k of Object.keys(raw)) {
      if (k.startsWith(SNAPSHOT_PREFIX)) data.snapshots[k.slice(SNAPSHOT_PREFIX.length)] = json(k);
      if (k.startsWith(STORED_PREFIX)) data.stored[k.slice(STORED_PREFIX.length)] = json(k);
    }
    return data;
  }

  async commit(data: StoredData, previous: StoredData): Promise<void> {
    const flat = (d: StoredData): Map<string, string> => {
      const m = new Map<string, string>();
      m.set(FRAMEWORK_KEY, JSON.stringify({ eventCount: d.eventCount }));
      m.set(NOTICES_KEY, JSON.stringify(d.notices));
      if (Object.keys(d.remoteApps).length) m.set(REMOTE_APPS_KEY, JSON.stringify(d.remoteApps));
      for (const [k, v] of Object.entries(d.snapshots)) m.set(SNAPSHOT_PREFIX + k, JSON.stringify(v));
      for (const [k, v] of Object.entries(d.stored)) m.set(STORED_PREFIX + k, JSON.stringify(v));
      return m;
    };
    const now = flat(data);
    const before = flat(previous);
    const changed: Record<string, string> = {};
    for (const [k, v] of now) if (before.get(k) !== v) changed[k] = v;
    if (Object.keys(changed).length) await this.backend.stateSet(changed);
    for (const k of before.keys()) if (!now.has(k)) await this.backend.stateDelete(k);
  }
}
