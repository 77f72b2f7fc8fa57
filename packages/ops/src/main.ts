/**
 * The entry point a charm's `dispatch` runs: `main(MyCharm)`.
 *
 * One dispatch, in order (ops' `_Manager`): read and validate the Juju context → load metadata →
 * build the backend, storage, framework and model → construct the charm → re-emit deferred
 * events → emit the Juju event → collect-status → commit. A handler that throws skips the commit,
 * so deferrals and stored-state changes of a failed dispatch are discarded and Juju retries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HookToolBackend, type ModelBackend, type ToolRunner } from './backend.js';
import { ShellToolRunner } from './shell-runner.js';
import type { CharmBase, CharmClass } from './charm.js';
import { contextFromEnv, type JujuContext } from './context.js';
import { AbortDispatch, JujuContextError } from './errors.js';
import { Framework, type EventSnapshot } from './framework.js';
import { JujuLogger, type LogLevel } from './log.js';
import { CharmMeta, type EmbeddedMetadata } from './meta.js';
import { Model } from './model.js';
import { StatusBase } from './status.js';
import { FileStorage, JujuStorage, type Storage } from './storage.js';

export interface DispatchOptions {
  /** Keep framework state in the controller (state-get/state-set) instead of a file in the charm dir. */
  useJujuForStorage?: boolean;
  /** The environment (default process.env). */
  env?: Record<string, string | undefined>;
  /** The path the process was started as, for the legacy hook-name fallback (default process.argv[1]). */
  argv1?: string;
  /** How hook tools are run (default: executables on PATH, spawned by node). */
  runner?: ToolRunner;
  /** Where framework state lives (default: FileStorage in the charm dir, or JujuStorage). */
  storage?: Storage;
  /** Charm metadata (default: read from the charm dir). */
  meta?: CharmMeta;
  /** Metadata files embedded by the build; used when identical to the charm dir's files. */
  embeddedMetadata?: EmbeddedMetadata;
  /** Lowest level sent to juju-log (default DEBUG, like ops). */
  logLevel?: LogLevel;
  /** Run a legacy `hooks/<name>` executable first, as ops does (default true in main()). */
  runLegacyHook?: boolean;
  /** Do not print errors to stderr (the in-process simulation reports them itself). */
  quiet?: boolean;
}

export interface DispatchResult {
  exitCode: number;
  /** The error that failed the dispatch, if any. */
  error?: unknown;
  context?: JujuContext;
  framework?: Framework;
  charm?: CharmBase;
  /** Hook-tool calls made by this dispatch. */
  toolCalls: number;
}

const RESTRICTED = new Set(['collect_metrics', 'meter_status_changed']);

/** Run one dispatch and report how it went (never exits the process). */
export async function dispatch(charmClass: CharmClass, options: DispatchOptions = {}): Promise<DispatchResult> {
  const env = options.env ?? process.env;
  let ctx: JujuContext;
  try {
    ctx = contextFromEnv(env, options.argv1 ?? process.argv[1]);
  } catch (e) {
    if (e instanceof JujuContextError && !options.quiet) process.stderr.write(`${e.message}\n`);
    return { exitCode: 1, error: e, toolCalls: 0 };
  }

  const backend: ModelBackend = new HookToolBackend(options.runner ?? new ShellToolRunner(), { modelUuid: ctx.modelUuid });
  const log = new JujuLogger(backend, { level: options.logLevel, alsoStderr: ctx.debug });
  const result: DispatchResult = { exitCode: 0, context: ctx, toolCalls: 0 };

  try {
    if (options.runLegacyHook) {
      const code = await runLegacyHook(ctx);
      if (code !== 0) return { ...result, exitCode: code, toolCalls: backend.callCount };
    }
    const meta = options.meta ?? (await CharmMeta.load(ctx.charmDir, options.embeddedMetadata));
    const storage = options.storage ?? (options.useJujuForStorage ? new JujuStorage(backend) : new FileStorage(ctx.charmDir));
    const framework = await Framework.create({ storage, meta, backend, log, eventName: ctx.eventName });
    result.framework = framework;
    framework.model = new Model(meta, backend, {
      unitName: ctx.unitName,
      modelName: ctx.modelName,
      modelUuid: ctx.modelUuid,
      brokenRelationId: ctx.eventName.endsWith('-relation-broken') ? ctx.relationId : undefined,
      eventRelation:
        ctx.family === 'relation' && ctx.relationName && ctx.relationId !== undefined
          ? {
              endpoint: ctx.relationName,
              id: ctx.relationId,
              remoteApp: ctx.remoteAppName,
              remoteUnit: ctx.remoteUnitName,
              departingUnit: ctx.departingUnitName,
            }
          : undefined,
      containersDir: env.CHARM_CONTAINERS_DIR || undefined,
      proxy: ctx.proxy,
      charmDir: ctx.charmDir,
      knownRemoteApps: framework.remoteApps,
    });
    const charm = new charmClass(framework);
    result.charm = charm;

    const restricted = RESTRICTED.has(ctx.eventKind);
    if (!restricted) await framework.reemit();
    const bound = charm.on.byKind(ctx.eventKind);
    if (!bound) {
      log.debug(`Event ${ctx.eventKind} not defined for ${charm.handle.path}.`);
    } else {
      // ops logs this at DEBUG; here it is TRACE, below the default level: the uniter logs every
      // hook it runs already, and a juju-log is a process for each hook.
      if (framework.isObserved(bound)) log.log('TRACE', `Emitting Juju event ${ctx.eventKind}.`);
      await bound.emit(eventSnapshot(ctx));
    }
    if (!restricted) await evaluateStatus(charm);
    await framework.commit();
    await log.flush();
  } catch (e) {
    result.error = e;
    if (e instanceof AbortDispatch) {
      result.exitCode = e.exitCode;
    } else {
      result.exitCode = 1;
      const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
      if (!options.quiet) process.stderr.write(`Uncaught exception while in charm code:\n${backend.redactor.redact(text)}\n`);
      log.error(`Uncaught exception while in charm code:\n${text}`);
    }
    try {
      await log.flush();
    } catch {
      // The original failure matters more than a failed log line.
    }
  }
  result.toolCalls = backend.callCount;
  return result;
}

/**
 * The charm's entry point: run the dispatch Juju asked for and set the process exit code.
 * Like ops, a nested dispatch (OPERATOR_DISPATCH already set) exits 0 at once.
 */
export async function main(charmClass: CharmClass, options: Omit<DispatchOptions, 'env'> = {}): Promise<void> {
  if (process.env.OPERATOR_DISPATCH) {
    process.exitCode = 0;
    return;
  }
  process.env.OPERATOR_DISPATCH = '1';
  const r = await dispatch(charmClass, { runLegacyHook: true, ...options, env: process.env });
  process.exitCode = r.exitCode;
}

function eventSnapshot(ctx: JujuContext): EventSnapshot {
  switch (ctx.family) {
    case 'relation':
      return {
        relationName: ctx.relationName,
        relationId: ctx.relationId,
        ...(ctx.remoteAppName ? { appName: ctx.remoteAppName } : {}),
        ...(ctx.remoteUnitName ? { unitName: ctx.remoteUnitName } : {}),
        ...(ctx.departingUnitName ? { departingUnit: ctx.departingUnitName } : {}),
      };
    case 'secret':
      return {
        id: ctx.secretId,
        ...(ctx.secretLabel ? { label: ctx.secretLabel } : {}),
        ...(ctx.secretRevision !== undefined ? { revision: ctx.secretRevision } : {}),
      };
    case 'workload':
      return {
        containerName: ctx.workloadName,
        ...(ctx.noticeId ? { noticeId: ctx.noticeId, noticeType: ctx.noticeType, noticeKey: ctx.noticeKey } : {}),
        ...(ctx.pebbleCheckName ? { checkName: ctx.pebbleCheckName } : {}),
      };
    case 'storage':
      return { storageName: ctx.storageName, storageIndex: ctx.storageIndex };
    case 'action':
      return { id: ctx.actionUuid };
    case 'hook':
      return {};
  }
}

/** ops' _evaluate_status: collect-app-status on the leader, then collect-unit-status. */
async function evaluateStatus(charm: CharmBase): Promise<void> {
  const fw = charm.framework;
  const model = fw.model;
  // is-leader is only worth a hook-tool call when someone collects app status.
  if (fw.isObserved(charm.on.collectAppStatus) && (await model.unit.isLeader())) {
    await charm.on.collectAppStatus.emit();
    if (model.collected.app.length) await model.app.setStatus(StatusBase.highestPriority(model.collected.app));
  }
  await charm.on.collectUnitStatus.emit();
  if (model.collected.unit.length) await model.unit.setStatus(StatusBase.highestPriority(model.collected.unit));
}

/** ops runs an executable `hooks/<name>` that is not a link to the charm itself, before the event. */
async function runLegacyHook(ctx: JujuContext): Promise<number> {
  if (!ctx.dispatchPath.startsWith('hooks/')) return 0;
  const hook = path.join(ctx.charmDir, ctx.dispatchPath);
  let real: string;
  try {
    real = fs.realpathSync(hook);
  } catch {
    return 0;
  }
  const self = process.argv[1] ? safeRealpath(process.argv[1]) : undefined;
  const dispatchScript = safeRealpath(path.join(ctx.charmDir, 'dispatch'));
  if (real === self || real === dispatchScript) return 0;
  try {
    fs.accessSync(hook, fs.constants.X_OK);
  } catch {
    process.stderr.write(`Legacy ${ctx.dispatchPath} exists but is not executable; skipping it.\n`);
    return 0;
  }
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(hook, [], { stdio: 'inherit', cwd: ctx.charmDir });
    child.on('error', (e) => {
      process.stderr.write(`Legacy ${ctx.dispatchPath} could not be started: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function safeRealpath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
