/**
 * Looking things up in an output State by what a test knows (a container's name, a relation's id or
 * endpoint, a secret's id or label, a stored state's name) instead of by array position or by the
 * framework's handle paths. The methods are added as non-enumerable properties, so the State stays
 * plain data: it compares, serializes and feeds the next run exactly as before.
 */
import type { ContainerState, RelationState, SecretState, State } from './state.js';

export interface StateLookups {
  /** The container called `name`; throws naming the containers the State has. */
  getContainer(name: string): ContainerState;
  /** The relation with this id, or the only relation on this endpoint. */
  getRelation(idOrEndpoint: number | string): RelationState;
  /** The secret with this id or label. */
  getSecret(idOrLabel: string): SecretState;
  /**
   * The content of a stored state by its name (`this.storedState('counter', ...)` → `'counter'`);
   * `owner` (a class name or handle path, e.g. `TinyCharm`) picks one when several objects use it.
   */
  getStoredState(name: string, owner?: string): Record<string, unknown>;
}

export type OutputState = State & StateLookups;

function one<T>(found: T[], what: string, known: string[]): T {
  if (found.length === 1) return found[0]!;
  const list = known.length ? known.join(', ') : 'none';
  throw new Error(found.length ? `${what} is ambiguous: ${found.length} match (${list}); be more specific` : `the State has no ${what} (it has: ${list})`);
}

const lookups: { [K in keyof StateLookups]: (this: State, ...args: Parameters<StateLookups[K]>) => ReturnType<StateLookups[K]> } = {
  getContainer(name) {
    return one(this.containers.filter((c) => c.name === name), `container "${name}"`, this.containers.map((c) => c.name));
  },
  getRelation(key) {
    const found = this.relations.filter((r) => (typeof key === 'number' ? r.id === key : r.endpoint === key));
    return one(found, typeof key === 'number' ? `relation ${key}` : `relation on endpoint "${key}"`, this.relations.map((r) => `${r.endpoint}:${r.id}`));
  },
  getSecret(key) {
    return one(this.secrets.filter((s) => s.id === key || s.label === key), `secret "${key}"`, this.secrets.map((s) => s.label ?? s.id));
  },
  getStoredState(name, owner) {
    const paths = Object.keys(this.storedStates);
    const found = paths.filter((p) => p.endsWith(`StoredStateData[${name}]`) && (owner === undefined || p.startsWith(`${owner}/`) || p.includes(`/${owner}/`)));
    return this.storedStates[one(found, `stored state "${name}"${owner ? ` of ${owner}` : ''}`, paths)]!;
  },
};

/** The same State, with the lookups attached (not enumerable: equality and YAML are unchanged). */
export function withLookups(state: State): OutputState {
  for (const [name, fn] of Object.entries(lookups)) Object.defineProperty(state, name, { value: fn, enumerable: false, configurable: true });
  return state as OutputState;
}
