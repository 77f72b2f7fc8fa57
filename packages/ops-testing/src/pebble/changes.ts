// Changes and tasks, as Pebble's state engine runs them (pebble-charmcraft.md 1.4): tasks in
// lanes, "wait for" links, the status priority that gives a change its status, the `err` text,
// task logs, and what a failing task does to the rest of its lanes (pending tasks go on Hold).
import type { Clock } from './clock.js';

export type Status =
  | 'Default'
  | 'Do'
  | 'Doing'
  | 'Done'
  | 'Wait'
  | 'Abort'
  | 'Undo'
  | 'Undoing'
  | 'Undone'
  | 'Hold'
  | 'Error';

const READY: ReadonlySet<Status> = new Set(['Done', 'Undone', 'Hold', 'Error']);
/** Highest priority first (P:state/change.go statusOrder). */
const PRIORITY: readonly Status[] = ['Abort', 'Undoing', 'Undo', 'Doing', 'Do', 'Wait', 'Error', 'Undone', 'Done', 'Hold'];

export function isReady(status: Status): boolean {
  return READY.has(status);
}

/** A task handler. It resolves when the work is done and rejects to fail the task. */
export type TaskHandler = (task: Task, signal: AbortSignal) => Promise<void>;

/** RFC 3339 in UTC with milliseconds, the shape of Go's time JSON for spawn/ready times. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** RFC 3339 to the second, as Pebble stamps task log lines. */
function logTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class Task {
  status: Status = 'Do';
  readonly log: string[] = [];
  readonly lanes: number[] = [];
  readonly waitTasks: Task[] = [];
  readonly haltTasks: Task[] = [];
  change: Change | undefined;
  readyTime: number | undefined;
  readonly controller = new AbortController();
  data: Record<string, unknown> | undefined;

  constructor(
    private readonly engine: StateEngine,
    readonly id: string,
    readonly kind: string,
    readonly summary: string,
    readonly handler: TaskHandler,
    readonly spawnTime: number,
  ) {}

  /** Record a log line ("<time> INFO <msg>"); Pebble keeps the last 10. */
  logf(kind: 'INFO' | 'ERROR', message: string): void {
    if (this.log.length > 9) this.log.splice(0, this.log.length - 9);
    this.log.push(`${logTime(this.engine.clock.now())} ${kind} ${message}`);
  }

  waitFor(other: Task): void {
    this.waitTasks.push(other);
    other.haltTasks.push(this);
  }

  joinLane(lane: number): void {
    this.lanes.push(lane);
  }

  setStatus(status: Status): void {
    this.status = status;
    if (isReady(status) && this.readyTime === undefined) this.readyTime = this.engine.clock.now();
    this.change?.statusChanged();
  }

  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = { id: this.id, kind: this.kind, summary: this.summary, status: this.status };
    if (this.log.length) o['log'] = [...this.log];
    o['progress'] = { label: '', done: this.status === 'Do' ? 0 : 1, total: 1 };
    o['spawn-time'] = isoTime(this.spawnTime);
    if (this.readyTime !== undefined) o['ready-time'] = isoTime(this.readyTime);
    if (this.data) o['data'] = this.data;
    return o;
  }
}

/** state.shouldSkipChangeUpdateNotice: no notice for the same status, Doing→Do or Undoing→Undo. */
function skipNotice(old: Status, next: Status): boolean {
  return old === next || (old === 'Doing' && next === 'Do') || (old === 'Undoing' && next === 'Undo');
}

export class Change {
  readonly tasks: Task[] = [];
  /** The status the last change-update notice was recorded for (Pebble starts from Default). */
  private lastNoticeStatus: Status = 'Default';
  /** Set only for a change whose status is forced (an empty replan is Done at once). */
  private forced: Status | undefined;
  readyTime: number | undefined;
  private waiters: Array<() => void> = [];
  /** Extra fields kept on the change, e.g. `service-names` for GET /v1/changes?for=. */
  readonly attrs: Record<string, unknown> = {};
  private readonly listeners: Array<(c: Change) => void> = [];

  constructor(
    private readonly engine: StateEngine,
    readonly id: string,
    readonly kind: string,
    readonly summary: string,
    readonly spawnTime: number,
    /** Extra data of its change-update notices, besides `kind`. */
    readonly noticeData: Record<string, string> = {},
  ) {}

  addTask(task: Task): void {
    task.change = this;
    this.tasks.push(task);
  }

  get status(): Status {
    if (this.forced) return this.forced;
    if (this.tasks.length === 0) return 'Hold';
    const present = new Set(this.tasks.map((t) => t.status));
    for (const s of PRIORITY) if (present.has(s)) return s;
    return 'Hold';
  }

  forceStatus(status: Status): void {
    this.forced = status;
    this.statusChanged();
  }

  get ready(): boolean {
    return isReady(this.status);
  }

  /**
   * Called when something changes: records a change-update notice when the status moved
   * (P:state/change.go notifyStatusChange), stamps the ready time and wakes waiters once ready.
   */
  statusChanged(): void {
    const status = this.status;
    if (!skipNotice(this.lastNoticeStatus, status)) {
      this.lastNoticeStatus = status;
      this.engine.changeNotice(this);
    }
    if (this.ready && this.readyTime === undefined) {
      this.readyTime = this.engine.clock.now();
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
      for (const l of this.listeners) l(this);
    }
  }

  /** Run `fn` once when the change becomes ready. */
  onReady(fn: (c: Change) => void): void {
    if (this.ready) fn(this);
    else this.listeners.push(fn);
  }

  /** Resolves when the change is ready. */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Pebble's `err`: one line per failed task, from the ERROR lines of its log. */
  get err(): string | undefined {
    if (this.status !== 'Error') return undefined;
    const lines: string[] = [];
    for (const t of this.tasks) {
      if (t.status !== 'Error') continue;
      for (const entry of t.log) {
        // "<time> ERROR <message>": the kind follows the first space (P:state/change.go).
        const space = entry.indexOf(' ');
        if (space >= 0 && entry.startsWith(' ERROR ', space)) {
          lines.push(`- ${t.summary} (${entry.slice(space + ' ERROR '.length)})`);
        }
      }
    }
    if (lines.length === 0) return `internal inconsistency: change "${this.kind}" in ErrorStatus with no task errors logged`;
    return `cannot perform the following tasks:\n${lines.join('\n')}`;
  }

  /** Abort the change (POST /v1/changes/{id} abort): pending tasks are held, running ones signalled. */
  abort(): void {
    for (const t of this.tasks) {
      if (t.status === 'Do') t.setStatus('Hold');
      else if (t.status === 'Doing') {
        t.status = 'Abort';
        t.controller.abort();
      }
    }
    this.statusChanged();
  }

  toJSON(): Record<string, unknown> {
    const o: Record<string, unknown> = {
      id: this.id,
      kind: this.kind,
      summary: this.summary,
      status: this.status,
    };
    if (this.tasks.length) o['tasks'] = this.tasks.map((t) => t.toJSON());
    o['ready'] = this.ready;
    const err = this.err;
    if (err) o['err'] = err;
    o['spawn-time'] = isoTime(this.spawnTime);
    if (this.readyTime !== undefined) o['ready-time'] = isoTime(this.readyTime);
    return o;
  }
}

/** Owns every change and task and runs the tasks whose prerequisites are done. */
export class StateEngine {
  private lastChangeId = 0;
  private lastTaskId = 0;
  private lastLaneId = 0;
  readonly changes = new Map<string, Change>();
  private scheduled = false;
  private stopped = false;

  constructor(readonly clock: Clock) {}

  /** Where change-update notices go (the emulator's notice store). */
  onChangeNotice: ((change: Change) => void) | undefined;

  /** A new change; like state.NewChangeWithNoticeData it records its first change-update notice. */
  newChange(kind: string, summary: string, noticeData: Record<string, string> = {}): Change {
    const c = new Change(this, String(++this.lastChangeId), kind, summary, this.clock.now(), noticeData);
    this.changes.set(c.id, c);
    this.changeNotice(c);
    return c;
  }

  changeNotice(change: Change): void {
    this.onChangeNotice?.(change);
  }

  newTask(kind: string, summary: string, handler: TaskHandler): Task {
    return new Task(this, String(++this.lastTaskId), kind, summary, handler, this.clock.now());
  }

  /** The task with this id, in any change. */
  findTask(id: string): Task | undefined {
    for (const c of this.changes.values()) for (const t of c.tasks) if (t.id === id) return t;
    return undefined;
  }

  newLane(): number {
    return ++this.lastLaneId;
  }

  /** Schedule a pass over runnable tasks (batched, like state.EnsureBefore(0)). */
  ensure(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.runPass();
    });
  }

  /** Stop running tasks; pending ones stay as they are. */
  stop(): void {
    this.stopped = true;
    for (const c of this.changes.values()) for (const t of c.tasks) if (t.status === 'Doing') t.controller.abort();
  }

  private runPass(): void {
    if (this.stopped) return;
    for (const change of this.changes.values()) {
      for (const task of change.tasks) {
        if (task.status !== 'Do') continue;
        if (task.waitTasks.some((w) => w.status !== 'Done')) continue;
        this.run(task);
      }
    }
  }

  private run(task: Task): void {
    task.setStatus('Doing');
    let promise: Promise<void>;
    try {
      promise = task.handler(task, task.controller.signal);
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise.then(
      () => {
        if (this.stopped) return;
        task.setStatus('Done');
        this.ensure();
      },
      (err: unknown) => {
        if (this.stopped) return;
        this.abortLanes(task);
        task.logf('ERROR', err instanceof Error ? err.message : String(err));
        task.setStatus('Error');
        this.ensure();
      },
    );
  }

  /**
   * A task failed: every other task of its lanes, and every task waiting on an aborted task
   * (with their lanes in turn), stops. Pending tasks go on Hold; running ones are signalled;
   * finished ones stay Done (Pebble's service tasks have no undo handler).
   */
  private abortLanes(failed: Task): void {
    const change = failed.change;
    if (!change) return;
    const lanes = new Set(failed.lanes);
    const seen = new Set<Task>([failed]);
    const queue: Task[] = [...failed.haltTasks];
    const addLaneTasks = () => {
      for (const t of change.tasks) if (!seen.has(t) && t.lanes.some((l) => lanes.has(l))) queue.push(t);
    };
    addLaneTasks();
    while (queue.length) {
      const t = queue.shift()!;
      if (seen.has(t)) continue;
      seen.add(t);
      if (t.status === 'Do') t.setStatus('Hold');
      else if (t.status === 'Doing') {
        t.status = 'Abort';
        t.controller.abort();
      }
      let grew = false;
      for (const l of t.lanes) if (!lanes.has(l)) (lanes.add(l), (grew = true));
      queue.push(...t.haltTasks);
      if (grew) addLaneTasks();
    }
  }
}
