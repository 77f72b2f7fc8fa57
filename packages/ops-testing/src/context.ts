/**
 * In-process simulation, Scenario-style: `new Context(MyCharm, { meta })` then
 * `await ctx.run(on.configChanged(), state)` returns the State after the hook.
 *
 * The charm runs through the framework's real entry (`dispatch`), its hook tools are answered by
 * the fake Juju agent with the exact argv the production backend builds, and framework state goes
 * through memory storage seeded from `state.deferred` / `state.storedStates`. Nothing of ours is
 * mocked: the output State is what the charm wrote.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { CharmClass } from '@juju-ts/ops';
import { AbortDispatch } from '@juju-ts/ops';
import { dispatch, type DispatchResult } from '@juju-ts/ops';
import { CharmMeta } from '@juju-ts/ops';
import { MemoryStorage } from '@juju-ts/ops';
import { fromStoredData, toStoredData } from './stored-data.js';
import { agentRunner, UnitAgent, type JujuLogRecord, type ToolCall } from './juju/agent.js';
import { ContainerSet } from './containers.js';
import { hookEnvironment, on, type SimEvent } from './events.js';
import { withLookups, type OutputState } from './lookups.js';
import { assertConsistent, parseState, type State, type StateInput } from './state.js';

export interface ContextOptions {
  /** charmcraft.yaml as text, as a parsed object, or a CharmMeta (default: read from `charmRoot`). */
  meta?: string | Record<string, unknown> | CharmMeta;
  /** The charm's folder (a path or file URL): its charmcraft.yaml is the metadata when `meta` is not given. */
  charmRoot?: string | URL;
  /** Application name (default: the charm name). */
  appName?: string;
  unitId?: number;
  /** JUJU_VERSION (default 3.6.14, Scenario's default). */
  jujuVersion?: string;
  /** JUJU_CHARM_DIR (default: the OS temp dir; only legacy hooks and file storage would use it). */
  charmDir?: string;
  /** Extra environment for every run. */
  env?: Record<string, string>;
  /** Pebble: `fake` (default: services do not really run) or `run` (they do; see docs/pebble.md). */
  containers?: { mode?: 'fake' | 'run'; pathMap?: Record<string, string> };
}

/** charmcraft.yaml of the charm folder `root`, as text; a clear error without one. */
function readCharmcraft(root: string | URL | undefined): string {
  if (root === undefined) throw new Error('Context needs the charm\'s metadata: pass `charmRoot` (the folder with charmcraft.yaml) or `meta`');
  const dir = root instanceof URL ? fileURLToPath(root) : root;
  const file = path.join(dir, 'charmcraft.yaml');
  if (!fs.existsSync(file)) throw new Error(`charmRoot ${dir} has no charmcraft.yaml: give the charm's folder (for a test in tests/, new URL('..', import.meta.url))`);
  return fs.readFileSync(file, 'utf8');
}

/** The charm raised; `cause` is the original error and `state` what Juju would keep. */
export class UncaughtCharmError extends Error {
  override name = 'UncaughtCharmError';
  constructor(
    override readonly cause: unknown,
    readonly state: State,
    readonly event: string,
  ) {
    super(`charm raised during ${event}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The action called `event.fail()`. */
export class ActionFailed extends Error {
  override name = 'ActionFailed';
  constructor(
    message: string,
    readonly state: State,
  ) {
    super(message);
  }
}

/** Everything observable about the last run besides the State. */
export interface RunRecord {
  event: SimEvent;
  exitCode: number;
  logs: JujuLogRecord[];
  toolCalls: ToolCall[];
  unitStatusHistory: State['unitStatus'][];
  appStatusHistory: State['appStatus'][];
  actionResults: Record<string, string>;
  actionLogs: string[];
  removedSecretRevisions: { id: string; revision: number | 'all' }[];
  dispatch: DispatchResult;
}

export class Context {
  readonly meta: CharmMeta;
  readonly appName: string;
  readonly unitId: number;
  /** Details of the most recent run. */
  last: RunRecord | null = null;
  /** The event constructors (the same as the module's `on`): `ctx.run(ctx.on.configChanged(), state)`. */
  readonly on = on;

  constructor(
    readonly charmClass: CharmClass,
    readonly options: ContextOptions,
  ) {
    const m = options.meta ?? readCharmcraft(options.charmRoot);
    this.meta = m instanceof CharmMeta ? m : CharmMeta.fromCharmcraft((typeof m === 'string' ? parseYaml(m) : m) ?? {});
    this.appName = options.appName ?? this.meta.name;
    this.unitId = options.unitId ?? 0;
  }

  get unitName(): string {
    return `${this.appName}/${this.unitId}`;
  }

  /**
   * Run one event against a state; resolves to the state after the hook. A state or event Juju
   * could never produce is refused (InconsistentStateError) unless `skipConsistencyChecks` is set:
   * only for a test of the charm's defences against the impossible (Scenario has the same switch).
   */
  async run(event: SimEvent, input: StateInput | State = {}, opts: { skipConsistencyChecks?: boolean } = {}): Promise<OutputState> {
    const state = parseState(input);
    if (!opts.skipConsistencyChecks) assertConsistent(this.meta, state, event);
    const agent = new UnitAgent(state, {
      unitName: this.unitName,
      meta: this.meta,
      charmDir: this.options.charmDir ?? os.tmpdir(),
      hook: event.name,
      relationId: event.relationId,
      remoteUnit: event.remoteUnit,
      remoteApp: event.remoteApp,
      action: event.action ? { name: event.action.name, params: event.action.params } : undefined,
    });
    const storage = new MemoryStorage(toStoredData(state));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctx-'));
    const containers = await ContainerSet.start(state.containers, { dir: path.join(tmp, 'c'), ...this.options.containers });
    const env = {
      ...hookEnvironment(event, {
        unitName: this.unitName,
        modelName: state.model.name,
        modelUuid: state.model.uuid,
        charmDir: this.options.charmDir ?? os.tmpdir(),
        jujuVersion: this.options.jujuVersion ?? '3.6.14',
        proxy: state.proxy,
      }),
      CHARM_CONTAINERS_DIR: containers.dir,
      ...this.options.env,
    };
    let result: DispatchResult;
    let containerStates: State['containers'];
    try {
      result = await dispatch(this.charmClass, {
        env,
        argv1: '',
        runner: agentRunner(agent),
        storage,
        meta: this.meta,
        quiet: true,
      });
      containerStates = containers.snapshot();
    } finally {
      await containers.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    const out = withLookups(agent.finish(result.exitCode === 0));
    // Pebble is not transactional: what the charm did to its containers stays, success or not.
    out.containers = containerStates;
    const committed = result.exitCode === 0 && !(result.error instanceof AbortDispatch);
    Object.assign(out, fromStoredData(committed ? storage.data : toStoredData(state)));
    this.last = {
      event,
      exitCode: result.exitCode,
      logs: agent.logs,
      toolCalls: agent.calls,
      unitStatusHistory: agent.statusHistory.unit,
      appStatusHistory: agent.statusHistory.app,
      actionResults: agent.action.results,
      actionLogs: agent.action.logs,
      removedSecretRevisions: agent.removedSecretRevisions,
      dispatch: result,
    };
    if (result.exitCode !== 0 && !(result.error instanceof AbortDispatch)) {
      throw new UncaughtCharmError(result.error, out, event.name);
    }
    if (agent.action.failure !== undefined) throw new ActionFailed(agent.action.failure, out);
    return out;
  }
}
