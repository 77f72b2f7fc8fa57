/**
 * OpenctiConnectorCharm: the base class of OpenCTI connector charms, a port of
 * canonical/opencti-operator's `lib/charms/opencti/v0/opencti_connector.py`.
 *
 * A connector charm declares its type; the base class does the rest. On every event that can change
 * the outcome it reconciles, in the original's order and with its status texts:
 *
 *   planned units other than 1   → blocked  "connector charm cannot have multiple units, ..."
 *   (ours) invalid config        → blocked  "Invalid config: option "x" ..."
 *   required options unset       → waiting  "missing configurations: a, b"
 *   leader, when related: publish name, type and a connector id generated once
 *   (a subclass's) waitingFor()  → waiting  "Waiting for: a, b", the service stopped
 *   no opencti-connector relation → waiting "missing opencti-connector integration"
 *   container not reachable      → waiting  "waiting for container ready"
 *   OpenCTI data not there yet   → waiting  "waiting for opencti-connector integration"
 *   layer `connector`, replan, start; a failed start → blocked "failed to start connector, will retry"
 *   otherwise                    → active
 *
 * Departures from the original, each a fix: a non-leader unit gets a status instead of a traceback
 * (the original reads its own application databag, which Juju forbids); config of the wrong type, or
 * outside what the charm declares, blocks naming the option; OpenCTI data that is malformed blocks
 * naming the field; a token secret we cannot read waits instead of failing the hook.
 *
 * Charms that declare `logging` also get the original's Loki log forwarding (log-forwarder.ts).
 */
import { ConfigError, SecretNotFoundError } from '@juju-ts/ops';
import type { CharmBase as CharmBaseType } from '@juju-ts/ops';
import { CharmBase } from '@juju-ts/ops';
import type { Framework } from '@juju-ts/ops';
import type { ConfigOptionMeta } from '@juju-ts/ops';
import type { ConfigData, ConfigValue } from '@juju-ts/ops';
import type { Check, Container, Layer } from '@juju-ts/ops';
import { ChangeError, PebbleConnectionError, isServiceRunning } from '@juju-ts/ops';
import { ActiveStatus, BlockedStatus, WaitingStatus, type StatusBase } from '@juju-ts/ops';
import { OpenctiConnectorProvider, type OpenctiConnection } from './interface/provider.js';
import type { ConnectorType } from './interface/schema.js';
import { LOGGING_ENDPOINT, LogForwarder } from './log-forwarder.js';

/** The workload is not ready yet: wait (the original's NotReady). */
export class NotReady extends Error {}
/** Something needs the operator: block (the original's Blocked). */
export class Blocked extends Error {}

export type BooleanStyle = 'json' | 'python';

/** The log levels OpenCTI connectors understand (CONNECTOR_LOG_LEVEL). */
export const CONNECTOR_LOG_LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

/** The Pebble service the connector runs as. */
export const SERVICE = 'connector';

/** The original's kebab → CONSTANT case (`connector-log-level` → `CONNECTOR_LOG_LEVEL`). */
export function kebabToConstant(name: string): string {
  return name.replace(/-/g, '_').toUpperCase();
}

/**
 * A config value as the Python original writes it into the environment: `str(value)` of what
 * Python gets from Juju's JSON. Integral numbers arrive as ints (Go marshals 2.0 as `2`); other
 * floats use Python's repr, which switches to exponent notation below 1e-4 (`1e-05`).
 */
export function envValue(value: ConfigValue, style: BooleanStyle): string {
  if (typeof value === 'boolean') return style === 'json' ? String(value) : value ? 'True' : 'False';
  if (typeof value === 'number' && !Number.isInteger(value) && value !== 0 && Math.abs(value) < 1e-4) {
    const [mantissa, exp] = value.toExponential().split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    return `${mantissa}e${sign}${exp.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  return String(value);
}

/** Every config option that has a value, as environment variables (the original's rule). */
export function configEnvironment(options: Iterable<ConfigOptionMeta>, config: ConfigData, style: BooleanStyle): Record<string, string> {
  const env: Record<string, string> = {};
  for (const option of options) {
    const value = config.get(option.name);
    if (value !== undefined) env[kebabToConstant(option.name)] = envValue(value, style);
  }
  return env;
}

/** HTTP(S)_PROXY / NO_PROXY (both cases) from the model's proxies, with OpenCTI's host not proxied. */
export function proxyEnvironment(proxy: { http?: string; https?: string; no?: string }, openctiUrl: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (proxy.http) env.HTTP_PROXY = env.http_proxy = proxy.http;
  if (proxy.https) env.HTTPS_PROXY = env.https_proxy = proxy.https;
  if (proxy.http || proxy.https) {
    const noProxy = proxy.no ? proxy.no.split(',') : [];
    let host = '';
    try {
      host = new URL(openctiUrl).hostname;
    } catch {
      host = '';
    }
    noProxy.push(host);
    env.NO_PROXY = env.no_proxy = noProxy.join(',');
  }
  return env;
}

/**
 * A read started ahead of the step that judges it. If an earlier step ends the reconcile first,
 * nobody awaits it, and its failure must not become an unhandled rejection (which ends the process).
 */
function started<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

export abstract class OpenctiConnectorCharm extends CharmBase {
  /** The OpenCTI connector type. */
  abstract readonly connectorType: ConnectorType;

  protected readonly connector: OpenctiConnectorProvider;
  protected readonly logForwarder: LogForwarder | undefined;

  constructor(framework: Framework) {
    super(framework);
    this.connector = new OpenctiConnectorProvider(this as CharmBaseType);
    // The workload's logs go to the Loki units related over `logging`, when the charm declares it.
    this.logForwarder = this.meta.relations.has(LOGGING_ENDPOINT) ? new LogForwarder(this as CharmBaseType) : undefined;
    this.observe(this.on.configChanged, this.reconcile);
    this.observe(this.on.relation(this.connector.endpoint).changed, this.reconcile);
    this.observe(this.on.relation(this.connector.endpoint).broken, this.reconcile);
    this.observe(this.on.secretChanged, this.reconcile);
    this.observe(this.on.upgradeCharm, this.reconcile);
    this.observe(this.on.container(this.containerName).pebbleReady, this.reconcile);
    this.observe(this.on.updateStatus, this.reconcile);
  }

  // --- what subclasses override -----------------------------------------------------------------

  /** How booleans are written into the environment: `json` (true/false) or `python` (True/False). */
  get booleanStyle(): BooleanStyle {
    return 'json';
  }

  /** The service's command in the workload image. */
  get command(): string {
    return 'bash /entrypoint.sh';
  }

  /** The workload container; the charm's name, like the original (`get_container(self.meta.name)`). */
  get containerName(): string {
    return this.meta.name;
  }

  /** The charm directory (JUJU_CHARM_DIR). The framework reads config metadata itself. */
  get charmDir(): string {
    return this.model.context.charmDir ?? process.cwd();
  }

  /**
   * Environment added to (or replacing) the rendered one: e.g. a fixed CONNECTOR_SCOPE, or
   * variables derived from config or secrets. Runs after validation, with the rendered environment.
   */
  protected extraEnvironment(_env: Readonly<Record<string, string>>, _config: ConfigData): Record<string, string> | Promise<Record<string, string>> {
    return {};
  }

  /**
   * CONNECTOR_LOG_LEVEL as the connector understands it: a level it does not know becomes `info`,
   * with a warning in the charm's log (the original nti charm's rule; for extraEnvironment).
   */
  protected knownLogLevel(value: string | undefined): string {
    if (value !== undefined && CONNECTOR_LOG_LEVELS.includes(value)) return value;
    this.log.warning(`CONNECTOR_LOG_LEVEL ${JSON.stringify(value ?? '')} is not one of ${CONNECTOR_LOG_LEVELS.join(', ')}; using info`);
    return 'info';
  }

  /** Pebble checks for the connector service (`override: replace` is added). */
  protected checks(): Record<string, Omit<Check, 'override'>> {
    return {};
  }

  /**
   * Charm-specific config rules beyond the declared types (ranges, allowed values, formats).
   * Return one problem per offending option; any problem blocks the unit before anything starts.
   */
  protected validateConfig(_config: ConfigData): { option: string; problem: string }[] | Promise<{ option: string; problem: string }[]> {
    return [];
  }

  /**
   * What else the connector needs before it can run (e.g. another relation), in words; checked
   * after the config. Anything listed stops the service and sets waiting "Waiting for: a, b".
   * `related`: whether the opencti-connector relation exists (a charm may list it too).
   */
  protected waitingFor(_related: boolean): string[] | Promise<string[]> {
    return [];
  }

  /** The status once the connector was started; subclasses can report the workload's health here. */
  protected workloadStatus(_container: Container): Promise<StatusBase> | StatusBase {
    return new ActiveStatus();
  }

  // --- reconcile ---------------------------------------------------------------------------------

  /** Bring the workload in line with config and relation; sets the unit status. */
  async reconcile(): Promise<void> {
    await this.unit.setStatus(await this.evaluate());
  }

  /**
   * The reconcile steps; returns the status to show. Each read is a hook-tool process or a Pebble
   * request, and the ones at the start do not depend on each other, so they all start at once;
   * their outcomes are still judged in the original's order (the first failing step names the
   * status), whatever order they finish in.
   */
  private async evaluate(): Promise<StatusBase> {
    try {
      const container = this.unit.getContainer(this.containerName);
      const plannedUnits = started(this.app.plannedUnits());
      const config = started(this.checkConfig());
      const relation = started(this.connector.relation());
      const leader = started(this.unit.isLeader());
      const canConnect = started(container.canConnect());
      if ((await plannedUnits) !== 1) {
        return new BlockedStatus('connector charm cannot have multiple units, scale down using the `juju scale` command');
      }
      await config;
      const rel = await relation;
      const isLeader = await leader;
      // What OpenCTI sent, and the token it names, are read while the leader publishes.
      const connection = rel ? started(this.openctiConnection(rel)) : undefined;
      const token = connection ? started(connection.then((c) => this.token(c))) : undefined;
      if (rel && isLeader) await this.connector.publish(rel, { charmName: this.meta.name, type: this.connectorType });
      const waiting = await this.waitingFor(rel !== undefined);
      if (waiting.length) {
        await this.stopWorkload();
        throw new NotReady(`Waiting for: ${waiting.join(', ')}`);
      }
      if (!rel || !connection || !token) throw new NotReady('missing opencti-connector integration');
      if (!(await canConnect)) throw new NotReady('waiting for container ready');
      const conn = await connection;
      // Only the leader may read its own application databag, where the connector id lives.
      if (!isLeader) throw new NotReady('waiting for leadership: only the leader can read the connector id');
      const connectorId = await this.connector.connectorId(rel);
      if (!connectorId) throw new NotReady('waiting for opencti-connector integration');
      const environment = await this.environment(conn, await token, connectorId, await config);
      await this.startWorkload(container, environment);
      return await this.workloadStatus(container);
    } catch (e) {
      if (e instanceof NotReady) return new WaitingStatus(e.message);
      if (e instanceof Blocked) return new BlockedStatus(e.message);
      if (e instanceof ConfigError) return new BlockedStatus(e.message);
      throw e;
    }
  }

  /** Types (from charmcraft.yaml), the charm's own rules, then required options (`optional: false`). */
  private async checkConfig(): Promise<ConfigData> {
    const config = await this.model.config();
    const problems = await this.validateConfig(config);
    if (problems.length) {
      throw new ConfigError(`Invalid config: ${problems.map((p) => `option "${p.option}" ${p.problem}`).join('; ')}`, problems);
    }
    const missing = [...this.meta.config.values()].filter((o) => o.optional === false && config.get(o.name) === undefined).map((o) => o.name);
    if (missing.length) throw new NotReady(`missing configurations: ${missing.join(', ')}`);
    return config;
  }

  private async openctiConnection(relation: NonNullable<Awaited<ReturnType<OpenctiConnectorProvider['relation']>>>): Promise<OpenctiConnection> {
    const data = await this.connector.requirerData(relation);
    if (data.state === 'incomplete') throw new NotReady('waiting for opencti-connector integration');
    if (data.state === 'invalid') throw new Blocked(`opencti-connector data from ${relation.app?.name ?? 'OpenCTI'} is invalid: ${data.problems.join('; ')}`);
    return data.connection;
  }

  /** The OpenCTI token, from the secret OpenCTI granted us. */
  private async token(connection: OpenctiConnection): Promise<string> {
    try {
      return await this.connector.token(connection);
    } catch (e) {
      if (e instanceof SecretNotFoundError) throw new NotReady('waiting for access to the opencti-connector token secret');
      throw e;
    }
  }

  /** The workload environment (the original's `_gen_env`), plus the subclass's additions. */
  private async environment(connection: OpenctiConnection, token: string, connectorId: string, config: ConfigData): Promise<Record<string, string>> {
    const env: Record<string, string> = {
      OPENCTI_URL: connection.url,
      OPENCTI_TOKEN: token,
      CONNECTOR_ID: connectorId,
      CONNECTOR_NAME: this.app.name,
      CONNECTOR_TYPE: this.connectorType,
    };
    Object.assign(env, configEnvironment(this.meta.config.values(), config, this.booleanStyle));
    Object.assign(env, proxyEnvironment(this.model.proxy, connection.url));
    Object.assign(env, await this.extraEnvironment(env, config));
    return env;
  }

  /** Stop the connector service if it runs; a plan without it is fine. */
  private async stopWorkload(): Promise<void> {
    const container = this.unit.getContainer(this.containerName);
    if (!(await container.canConnect())) throw new NotReady('waiting for container ready');
    const services = await container.getServices(SERVICE);
    const service = services.get(SERVICE);
    if (!service || !isServiceRunning(service)) return;
    try {
      await container.stop(SERVICE);
    } catch (e) {
      if (e instanceof ChangeError) throw new Blocked('failed to stop connector, will retry');
      throw e;
    }
  }

  private async startWorkload(container: Container, environment: Record<string, string>): Promise<void> {
    const checks = Object.fromEntries(Object.entries(this.checks()).map(([name, c]) => [name, { ...c, override: 'replace' as const }]));
    const layer: Layer = {
      summary: this.meta.name,
      description: this.meta.name,
      services: {
        [SERVICE]: { override: 'replace', startup: 'enabled', 'on-failure': 'restart', command: this.command, environment },
      },
      ...(Object.keys(checks).length ? { checks } : {}),
    };
    try {
      await container.addLayer(SERVICE, layer, { combine: true });
      await container.replan();
      await container.start(SERVICE);
    } catch (e) {
      if (e instanceof ChangeError) throw new Blocked('failed to start connector, will retry');
      if (e instanceof PebbleConnectionError) throw new NotReady('waiting for container ready');
      throw e;
    }
  }
}
