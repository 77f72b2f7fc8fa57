/**
 * The acceptance tracker: which stream position is safe to resume from.
 *
 * Every message read from the stream gets an entry, in arrival order; an entry is settled when its
 * event was applied on the local platform (a Work says so), refused for good (named and counted), or
 * needs nothing (a heartbeat, a skipped event). Events settle out of order, since the workers apply
 * them concurrently; the position only moves over the settled prefix.
 *
 * Stream ids are not unique per message (opencti-stream.md §2.2): dependency creates share the id of
 * the event that needs them, and a heartbeat repeats the channel's last id. So the position moves
 * past an id only once that id's run is known to be complete: the next settled entry carries another
 * id, or the first unsettled entry does. A heartbeat repeating the current id proves nothing.
 */
export interface Entry {
  /** The stream id; '' for a message the position must not take (an event with an invalid id). */
  readonly id: string;
  /** A heartbeat (settled on arrival) rather than an event. */
  readonly marker: boolean;
  settled: boolean;
}

export class AcceptanceLog {
  #entries: Entry[] = [];
  #head = 0;
  /** The id of the run of entries popped last, and the id before that run. */
  #runId: string | undefined;
  #beforeRun: string | undefined;
  #position: string;

  /** @param start the position to report until an entry moves it (the resume position) */
  constructor(start: string) {
    this.#position = start;
  }

  /** The last position every message up to which is settled. */
  get position(): string {
    return this.#position;
  }

  /** Entries not yet behind the position. */
  get length(): number {
    return this.#entries.length - this.#head;
  }

  append(id: string, marker = false): Entry {
    const e: Entry = { id, marker, settled: marker };
    this.#entries.push(e);
    // A heartbeat settles at once; a new first unsettled entry may show the run before it is over.
    if (marker || this.length === 1) this.#advance();
    return e;
  }

  settle(e: Entry): void {
    if (e.settled) return;
    e.settled = true;
    this.#advance();
  }

  /** Start again from `start` (after a reconnection or a state reset): every entry is forgotten. */
  reset(start: string): void {
    this.#entries = [];
    this.#head = 0;
    this.#runId = this.#beforeRun = undefined;
    this.#position = start;
  }

  #advance(): void {
    while (this.#head < this.#entries.length) {
      const e = this.#entries[this.#head] as Entry;
      if (!e.settled) break;
      this.#head++;
      if (e.id === '') continue;
      if (e.marker) {
        // Everything received before the heartbeat is settled, and its id is the channel's position.
        if (e.id !== this.#runId) this.#runId = this.#beforeRun = e.id;
      } else if (e.id !== this.#runId) {
        this.#beforeRun = this.#runId;
        this.#runId = e.id;
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    const next = this.#entries[this.#head];
    let candidate = this.#beforeRun;
    if (this.#runId !== undefined && (this.#runId === this.#beforeRun || (next !== undefined && next.id !== '' && next.id !== this.#runId))) candidate = this.#runId;
    if (candidate !== undefined) this.#position = candidate;
  }
}
