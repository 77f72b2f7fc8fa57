/**
 * Out-of-process simulation: run a built (or unpacked) charm's `dispatch` exactly as Juju does.
 *
 * - cwd is the unit's charm directory; the environment is Juju's (juju-hooks.md 7A) built from
 *   scratch, so nothing of ours (OPERATOR_DISPATCH included) leaks in;
 * - the hook tools on PATH are jujuc clients talking to a fake unit agent over a unix socket;
 * - relation data, secrets, ports and controller state are applied only when the hook exits 0;
 *   status and logs at once;
 * - framework state lives in the unit directory's `.unit-state.json`, as in production, and is
 *   reflected in the output State (`deferred`, `storedStates`).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CharmMeta } from '@juju-ts/ops';
import { emptyStoredData, FileStorage, type StoredData } from '@juju-ts/ops';
import { UnitAgent, type JujuLogRecord, type ToolCall } from './juju/agent.js';
import { ContainerSet, JUJU_CONTAINERS_DIR } from './containers.js';
import { AgentServer, writeToolsDir } from './juju/server.js';
import { hookEnvironment, type SimEvent } from './events.js';
import { assertConsistent, parseState, type State, type StateInput } from './state.js';
import { fromStoredData, toStoredData, type StoredPart } from './stored-data.js';

export interface RunCharmOptions {
  /** The charm tree Juju would unpack: dispatch, metadata.yaml, the bundle... */
  charmDir: string;
  /** The unit's own copy (kept between hooks by the model simulator). Default: a temporary one. */
  unitDir?: string;
  event: SimEvent;
  state?: StateInput | State;
  /** Default: the charm name. */
  appName?: string;
  unitId?: number;
  jujuVersion?: string;
  /** Kill the hook after this long (default 120 s, Juju has no limit but a stuck hook is a bug). */
  timeoutMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Run even a state or event Juju could never produce (only to test a charm's defences; see Context.run). */
  skipConsistencyChecks?: boolean;
  /**
   * Pebble: by default one fake-mode emulator per container of the State for this hook only, its
   * socket at Juju's path under `rootDir`: `<rootDir>/charm/containers/<name>/pebble.socket`.
   * `rootDir` defaults to a fresh temporary directory (no root needed, runs never collide); `/` is
   * Juju's own path, which an unmodified ops charm reads. Pass `containersDir` when the caller runs
   * the emulators itself (they outlive hooks in a model).
   */
  containers?: { rootDir?: string; containersDir?: string; mode?: 'fake' | 'run'; pathMap?: Record<string, string> };
}

export interface RunCharmResult {
  state: State;
  exitCode: number;
  stdout: string;
  stderr: string;
  logs: JujuLogRecord[];
  toolCalls: ToolCall[];
  durationMs: number;
  unitStatusHistory: State['unitStatus'][];
  actionResults: Record<string, string>;
  actionFailure?: string;
}

let toolsDir: Promise<string> | undefined;

/** Give a unit its own charm directory: links to the charm's files, plus its own state file. */
export function prepareUnitDir(charmDir: string, unitDir: string): void {
  fs.mkdirSync(unitDir, { recursive: true });
  for (const entry of fs.readdirSync(charmDir)) {
    if (entry === FileStorage.FILENAME) continue;
    const link = path.join(unitDir, entry);
    if (!fs.existsSync(link)) fs.symlinkSync(path.resolve(charmDir, entry), link);
  }
}

export async function runCharm(options: RunCharmOptions): Promise<RunCharmResult> {
  const state = parseState(options.state ?? {});
  const meta = await CharmMeta.load(options.charmDir);
  // The same refusal as the in-process Context: nothing runs for a state Juju could not produce.
  if (!options.skipConsistencyChecks) assertConsistent(meta, state, options.event, { containersElsewhere: options.containers?.containersDir !== undefined });
  const appName = options.appName ?? meta.name;
  const unitName = `${appName}/${options.unitId ?? 0}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hook-'));
  const unitDir = path.resolve(options.unitDir ?? path.join(tmp, 'charm'));
  prepareUnitDir(options.charmDir, unitDir);
  writeStateFile(unitDir, state);

  const agent = new UnitAgent(state, {
    unitName,
    meta,
    charmDir: unitDir,
    hook: options.event.name,
    relationId: options.event.relationId,
    remoteUnit: options.event.remoteUnit,
    remoteApp: options.event.remoteApp,
    action: options.event.action ? { name: options.event.action.name, params: options.event.action.params } : undefined,
  });
  const external = options.containers?.containersDir;
  const containers = external
    ? undefined
    : await ContainerSet.start(state.containers, {
        rootDir: options.containers?.rootDir ?? tmp,
        filesDir: path.join(tmp, 'fs'),
        mode: options.containers?.mode,
        pathMap: options.containers?.pathMap,
      });
  const contextId = `${unitName}-${randomUUID()}`;
  const server = await AgentServer.start(path.join(tmp, 'agent.sock'), (id) => (id === contextId ? agent : undefined));
  toolsDir ??= writeToolsDir(path.join(os.tmpdir(), `charm-sim-tools-${process.getuid?.() ?? 0}`)).then((t) => t.dir);
  const tools = await toolsDir;

  const env: Record<string, string> = {
    ...jujuHookEnvironment(options.event, {
      unitName,
      modelName: state.model.name,
      modelUuid: state.model.uuid,
      charmDir: unitDir,
      jujuVersion: options.jujuVersion ?? '3.6.14',
      proxy: state.proxy,
      toolsDir: tools,
      contextId,
      agentSocket: server.socketPath,
    }),
    // Our framework's variable, for sockets elsewhere than Juju's path; at Juju's path, the
    // environment is Juju's alone and the framework's default finds the sockets.
    ...(path.resolve(external ?? containers!.dir) === `/${JUJU_CONTAINERS_DIR}` ? {} : { CHARM_CONTAINERS_DIR: external ?? containers!.dir }),
    ...options.env,
  };
  const started = performance.now();
  try {
    const r = await execa(path.join(unitDir, 'dispatch'), [], {
      cwd: unitDir,
      env,
      extendEnv: false,
      reject: false,
      timeout: options.timeoutMs ?? 120_000,
      stdin: 'ignore',
    });
    const exitCode = r.exitCode ?? (r.timedOut ? 124 : 1);
    const out = agent.finish(exitCode === 0);
    Object.assign(out, readStateFile(unitDir));
    if (containers) out.containers = containers.snapshot();
    return {
      state: out,
      exitCode,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? '') + (r.timedOut ? `\nhook timed out after ${options.timeoutMs ?? 120_000} ms` : ''),
      logs: agent.logs,
      toolCalls: agent.calls,
      durationMs: performance.now() - started,
      unitStatusHistory: agent.statusHistory.unit,
      actionResults: agent.action.results,
      actionFailure: agent.action.failure,
    };
  } finally {
    await containers?.stop();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The PATH Juju's agent has in a Kubernetes charm container: the base image's default (Ubuntu's,
 * assumed: Juju passes on its own PATH, which comes from the image).
 */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The hook process's whole environment, built from scratch as Juju's uniter builds it (HookVars in
 * juju/juju worker/uniter/runner/context/context.go, ubuntuEnv in env.go; the runner sets the
 * command's Env to exactly that list, runner.go): nothing of the caller's environment leaks in,
 * not even PATH or HOME (Juju sets no HOME). PATH is the hook tools, then the image's PATH.
 *
 * The one deliberate difference: the directory of the Node.js running the simulator comes right
 * after the hook tools, so a charm whose dispatch falls back to `node` on PATH (no ./bin/node) runs
 * with the same Node as the simulator. A real charm container has no Node unless the charm ships it.
 */
export function jujuHookEnvironment(
  event: SimEvent,
  opts: Parameters<typeof hookEnvironment>[1] & { toolsDir: string; contextId: string; agentSocket: string },
): Record<string, string> {
  const nodeDir = path.dirname(process.execPath);
  const imagePath = IMAGE_PATH.split(':');
  const env: Record<string, string> = {
    // ubuntuEnv
    APT_LISTCHANGES_FRONTEND: 'none',
    DEBIAN_FRONTEND: 'noninteractive',
    LANG: 'C.UTF-8',
    TERM: 'tmux-256color',
    PATH: [opts.toolsDir, ...(imagePath.includes(nodeDir) ? [] : [nodeDir]), ...imagePath].join(':'),
    // HookVars: Juju exports these even when empty ("better to explicitly export them as empty").
    CHARM_DIR: opts.charmDir,
    JUJU_CONTEXT_ID: opts.contextId,
    JUJU_AGENT_SOCKET_ADDRESS: opts.agentSocket,
    JUJU_AGENT_SOCKET_NETWORK: 'unix',
    JUJU_API_ADDRESSES: '',
    JUJU_MACHINE_ID: '',
    JUJU_PRINCIPAL_UNIT: '',
    JUJU_AVAILABILITY_ZONE: '',
    CLOUD_API_VERSION: '',
    JUJU_CHARM_HTTP_PROXY: '',
    JUJU_CHARM_HTTPS_PROXY: '',
    JUJU_CHARM_FTP_PROXY: '',
    JUJU_CHARM_NO_PROXY: '',
    ...hookEnvironment(event, opts),
  };
  // A relation hook always has JUJU_REMOTE_UNIT, empty when no unit is concerned (created, broken,
  // an application databag change); an action has its tag.
  if (env.JUJU_RELATION !== undefined) env.JUJU_REMOTE_UNIT ??= '';
  if (event.action) env.JUJU_ACTION_TAG = `action-${event.action.id}`;
  return env;
}

/** Write the unit's framework state file from a State (deferred events, stored state, remote applications). */
export function writeStateFile(unitDir: string, state: StoredPart): void {
  const file = path.join(unitDir, FileStorage.FILENAME);
  fs.writeFileSync(file, JSON.stringify({ version: 1, ...toStoredData(state) }), { mode: 0o600 });
}

/** Read deferred events, stored state and remote applications back from the unit's state file. */
export function readStateFile(unitDir: string): StoredPart {
  const file = path.join(unitDir, FileStorage.FILENAME);
  if (!fs.existsSync(file)) return fromStoredData(emptyStoredData());
  const { version: _version, ...doc } = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredData & { version: number };
  return fromStoredData({ ...emptyStoredData(), ...doc });
}
