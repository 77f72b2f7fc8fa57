// Notices as Pebble's state keeps them (P:internals/overlord/state/notices.go) and the
// /v1/notices API rules (P:internals/daemon/api_notices.go): one notice per (user, type, key),
// occurrences counted, repeat-after deciding when last-repeated moves, a 7-day expiry, and
// listings ordered by last-repeated and filtered by user, types, keys and after.
import { formatGoDuration } from './gotext.js';

const EXPIRE_AFTER_NS = 7 * 24 * 3600e9;
export const NOTICE_TYPES = ['change-update', 'custom', 'warning'] as const;

interface Notice {
  id: string;
  userId: number | null;
  type: string;
  key: string;
  firstOccurred: number;
  lastOccurred: number;
  lastRepeated: number;
  occurrences: number;
  lastData: Record<string, string> | null;
  repeatAfterNs: number;
}

export interface NoticeFilter {
  /** Only notices of this user, plus public ones (null: every notice). */
  userId: number | null;
  types: string[];
  keys: string[];
  /** Only notices last repeated strictly after this time (ms), 0 for none. */
  after: number;
}

/** Go's time.Time JSON: RFC 3339 in UTC with the fraction's trailing zeros dropped. */
export function goTimeJson(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

export class NoticeStore {
  private readonly notices = new Map<string, Notice>();
  private lastId = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly now: () => number) {}

  /** state.AddNotice: a new notice, or one more occurrence of the same (user, type, key). */
  add(userId: number | null, type: string, key: string, opts: { data?: Record<string, string> | null; repeatAfterNs?: number } = {}): string {
    const now = this.now();
    const unique = JSON.stringify([userId, type, key]);
    let n = this.notices.get(unique);
    const repeatAfterNs = opts.repeatAfterNs ?? 0;
    if (!n) {
      n = { id: String(++this.lastId), userId, type, key, firstOccurred: now, lastOccurred: now, lastRepeated: now, occurrences: 1, lastData: null, repeatAfterNs };
      this.notices.set(unique, n);
    } else {
      n.occurrences++;
      if (repeatAfterNs === 0 || now > n.lastRepeated + repeatAfterNs / 1e6) n.lastRepeated = now;
    }
    n.lastOccurred = now;
    n.lastData = opts.data ?? null;
    n.repeatAfterNs = repeatAfterNs;
    for (const wake of [...this.waiters]) wake();
    return n.id;
  }

  /**
   * state.WaitNotices: the matching notices once there are any, or [] after `timeoutMs` (real
   * time: it is the client's deadline) or when `cancelled` fires.
   */
  async wait(f: NoticeFilter, timeoutMs: number, cancelled: Promise<void>): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void cancelled.then(() => (done = true));
    for (;;) {
      const found = this.list(f);
      if (found.length || done || Date.now() >= deadline) return found;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
        void cancelled.then(finish);
        const self = this;
        function finish(): void {
          clearTimeout(timer);
          self.waiters.delete(finish);
          resolve();
        }
        this.waiters.add(finish);
      });
    }
  }

  private live(): Notice[] {
    const now = this.now();
    return [...this.notices.values()].filter((n) => n.lastOccurred + EXPIRE_AFTER_NS / 1e6 >= now);
  }

  /** state.Notices: matching notices ordered by last-repeated. */
  list(f: NoticeFilter): Record<string, unknown>[] {
    return this.live()
      .filter((n) => f.userId === null || n.userId === null || n.userId === f.userId)
      .filter((n) => f.types.length === 0 || f.types.includes(n.type))
      .filter((n) => f.keys.length === 0 || f.keys.includes(n.key))
      .filter((n) => f.after === 0 || n.lastRepeated > f.after)
      .sort((a, b) => a.lastRepeated - b.lastRepeated)
      .map(toJson);
  }

  get(id: string): Record<string, unknown> | undefined {
    const n = this.live().find((x) => x.id === id);
    return n && toJson(n);
  }
}

/** The notice's JSON, in jsonNotice's field order. */
function toJson(n: Notice): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: n.id,
    'user-id': n.userId,
    type: n.type,
    key: n.key,
    'first-occurred': goTimeJson(n.firstOccurred),
    'last-occurred': goTimeJson(n.lastOccurred),
    'last-repeated': goTimeJson(n.lastRepeated),
    occurrences: n.occurrences,
  };
  if (n.lastData && Object.keys(n.lastData).length) o['last-data'] = Object.fromEntries(Object.entries(n.lastData).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (n.repeatAfterNs) o['repeat-after'] = formatGoDuration(n.repeatAfterNs);
  o['expire-after'] = formatGoDuration(EXPIRE_AFTER_NS);
  return o;
}
