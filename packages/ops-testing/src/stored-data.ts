/**
 * A State's framework part (deferred events, stored state, remembered remote applications) as the
 * framework's StoredData, and back: the in-process Context seeds its memory storage with it, and
 * runCharm writes and reads the unit's state file with it.
 */
import { emptyStoredData, type StoredData } from '@juju-ts/ops';
import type { State } from './state.js';

export type StoredPart = Pick<State, 'deferred' | 'storedStates' | 'remoteApps'>;

export function toStoredData(state: StoredPart): StoredData {
  const data = emptyStoredData();
  for (const d of state.deferred) {
    data.notices.push({ eventPath: d.eventPath, observerPath: d.observerPath, methodName: d.methodName });
    data.snapshots[d.eventPath] = d.snapshot;
    const n = Number(/\[(\d+)\]$/.exec(d.eventPath)?.[1] ?? 0);
    data.eventCount = Math.max(data.eventCount, n);
  }
  data.stored = structuredClone(state.storedStates);
  data.remoteApps = { ...state.remoteApps };
  return data;
}

export function fromStoredData(data: StoredData): StoredPart {
  return {
    deferred: data.notices.map((n) => ({ ...n, snapshot: (data.snapshots[n.eventPath] ?? {}) as Record<string, unknown> })),
    storedStates: structuredClone(data.stored) as State['storedStates'],
    remoteApps: { ...data.remoteApps },
  };
}
