/**
 * The OpenCTI-to-OpenCTI synchronizer connector charm: a STREAM connector on OpenctiConnectorCharm
 * whose workload (charm/sync, bundled into the workload image) follows a remote OpenCTI live stream
 * and applies it to the OpenCTI this charm is related to.
 *
 * On top of the base class it
 * - validates its config with the workload's own rules (charm/sync/config.ts) before anything
 *   starts, blocking with a message that names the option;
 * - reads the remote token from the Juju user secret named by `remote-opencti-token` (key
 *   `token`) and renders it as REMOTE_OPENCTI_TOKEN, never the secret's id;
 * - adds a Pebble http check on the process's /healthz, and reports the workload's state on every
 *   reconcile (update-status included): service down or in backoff, check failing, or the
 *   process's last fatal error (from its status file), with the remedy;
 * - never shows a secret: the framework redacts every secret value the charm read (both tokens)
 *   from statuses and logs, and the charm adds the passwords of the URLs it renders; the status
 *   file's errors, which may quote a server's answer, are shown only through that redaction.
 */
import * as z from 'zod/mini';
import type { ConfigData } from '@juju-ts/ops';
import { SecretNotFoundError } from '@juju-ts/ops';
import { PathError, PebbleAPIError, type Check, type Container } from '@juju-ts/ops';
import { ActiveStatus, BlockedStatus, WaitingStatus, type StatusBase } from '@juju-ts/ops';
import { configEnvironment, kebabToConstant, OpenctiConnectorCharm, SERVICE } from '@juju-ts/opencti-connector';

/** Where the workload image keeps the sync bundle (rock/rockcraft.yaml). */
export const WORKLOAD_DIR = '/opt/opencti-synchronizer';
/** The process writes its /healthz JSON here; the charm reads it through Pebble's files API. */
export const STATUS_FILE = '/var/lib/opencti-synchronizer/status.json';
/** The process's health and metrics endpoint inside the pod: the sync-http-port option's default. */
export const HEALTH_PORT = 8080;
export const HEALTH_PORT_OPTION = 'sync-http-port';
/**
 * Loopback only: Pebble's check runs inside the pod, and nothing outside it needs /healthz or
 * /metrics. The same address in the environment and in the check, so neither depends on how
 * `localhost` resolves in the image.
 */
export const HEALTH_HOST = '127.0.0.1';
export const TOKEN_OPTION = 'remote-opencti-token';

/** Values the relation provides, for validating config before the relation exists. */
const RELATION_PLACEHOLDERS = {
  OPENCTI_URL: 'http://opencti.invalid',
  OPENCTI_TOKEN: 'placeholder',
  CONNECTOR_ID: '00000000-0000-4000-8000-000000000000',
  CONNECTOR_NAME: 'placeholder',
  CONNECTOR_TYPE: 'STREAM',
};

/** What the fatal exit codes of charm/sync mean for the operator (see docs/sync.md). */
const REMEDIES: Record<number, string> = {
  2: 'the workload refused its configuration; check the charm config',
  3: 'the local OpenCTI rejected the connector token; check the opencti-connector integration',
  4: 'the remote OpenCTI refused the stream; check remote-opencti-url, remote-opencti-live-stream-id and the remote-opencti-token secret',
  5: 'the local OpenCTI is too old (< 5.0) or refused to register the connector',
};

/**
 * What to check when the workload keeps retrying (it holds its position and retries forever: the
 * platform's own synchronizer never skips either), by the kind of its last error.
 */
const STUCK_REMEDIES: Record<string, string> = {
  local: 'the position is held until the local OpenCTI applies the event: check its workers and RabbitMQ, and the error above',
  remote: 'the position is held until the remote stream answers: check remote-opencti-url and the remote OpenCTI',
};

interface StatusView {
  state: string;
  healthy: boolean;
  exitCode: number | null;
  lastError: { message: string; kind: string | undefined } | null;
  eventsApplied: number;
}

export default class SynchronizerCharm extends OpenctiConnectorCharm {
  readonly connectorType = 'STREAM';
  private remoteToken: string | undefined;
  /** The sync-http-port option as the workload's environment was last made with it (the check uses the same). */
  private healthPort = HEALTH_PORT;

  override get command(): string {
    return `node ${WORKLOAD_DIR}/sync.mjs`;
  }

  /**
   * The config as the workload will see it, checked with the workload's own rules; and the token
   * secret readable. Unset options are left to the base class (it waits for them).
   */
  protected override async validateConfig(config: ConfigData): Promise<{ option: string; problem: string }[]> {
    const problems: { option: string; problem: string }[] = [];
    const byVariable = new Map([...this.meta.config.keys()].map((o) => [kebabToConstant(o), o]));
    const env = { ...configEnvironment(this.meta.config.values(), config, this.booleanStyle), ...RELATION_PLACEHOLDERS, REMOTE_OPENCTI_TOKEN: 'placeholder' };
    // Loaded on demand: the workload's config module (and its zod) stays out of other hooks.
    const { parseConfig } = await import('./sync/config.js');
    const checked = parseConfig(env);
    if (!checked.ok) {
      for (const p of checked.problems) {
        const [variable, ...rest] = p.split(': ');
        const option = byVariable.get(variable!);
        if (option && config.get(option) !== undefined) problems.push({ option, problem: rest.join(': ') });
      }
    }
    // The workload's rules allow 0 (any free port), which no Pebble check could reach.
    if (config.get(HEALTH_PORT_OPTION) === 0) problems.push({ option: HEALTH_PORT_OPTION, problem: 'must be a port from 1 to 65535: the Pebble check needs to know it (got 0)' });
    const tokenId = config.get(TOKEN_OPTION);
    if (typeof tokenId === 'string') {
      try {
        // The latest revision, tracked from now on: a rotated token reaches the workload on secret-changed.
        const content = await (await this.model.getSecret({ id: tokenId, refresh: true })).getContent();
        if (!content.token) problems.push({ option: TOKEN_OPTION, problem: `names a secret without a "token" key (it has: ${Object.keys(content).join(', ') || 'nothing'})` });
        this.remoteToken = content.token;
      } catch (e) {
        if (!(e instanceof SecretNotFoundError)) throw e;
        problems.push({ option: TOKEN_OPTION, problem: `names a secret this application cannot read; grant it with: juju grant-secret ${tokenId} ${this.app.name}` });
      }
    }
    return problems;
  }

  protected override extraEnvironment(base: Readonly<Record<string, string>>, config: ConfigData): Record<string, string> {
    // The tokens are secret contents, which the framework redacts already; a password in either
    // URL (relation data, config) is not, so it is added here, before any status is set.
    this.model.redactor.addUrl(base.OPENCTI_URL, base.REMOTE_OPENCTI_URL);
    // The status file is how the charm sees the process (and its last error after it exited): the
    // process rewrites it on every state change and every progress tick, here every 10 s.
    const port = config.get(HEALTH_PORT_OPTION);
    this.healthPort = typeof port === 'number' ? port : HEALTH_PORT;
    const env: Record<string, string> = { SYNC_HTTP_HOST: HEALTH_HOST, SYNC_HTTP_PORT: String(this.healthPort), SYNC_STATUS_FILE: STATUS_FILE, SYNC_PROGRESS_INTERVAL_MS: '10000' };
    // The option holds the secret's id; the workload needs the token itself.
    if (this.remoteToken !== undefined) env.REMOTE_OPENCTI_TOKEN = this.remoteToken;
    return env;
  }

  protected override checks(): Record<string, Omit<Check, 'override'>> {
    return {
      'sync-healthy': { level: 'alive', startup: 'enabled', period: '10s', timeout: '3s', threshold: 3, http: { url: `http://${HEALTH_HOST}:${this.healthPort}/healthz` } },
    };
  }

  protected override async workloadStatus(container: Container): Promise<StatusBase> {
    const service = (await container.getServices(SERVICE)).get(SERVICE);
    const status = await this.readStatusFile(container);
    const fatal = status && status.exitCode !== null && status.exitCode !== 0;
    if (fatal) {
      const remedy = REMEDIES[status.exitCode!] ?? 'Pebble restarts it; see juju debug-log';
      return new BlockedStatus(`synchronizer stopped: ${status.lastError?.message ?? `exit ${status.exitCode}`}; ${remedy}`);
    }
    if (!service || service.current !== 'active') {
      return new WaitingStatus(`synchronizer service is ${service?.current ?? 'not in the plan'}; Pebble restarts it`);
    }
    const down = [...(await container.getChecks()).values()].filter((c) => c.status === 'down');
    const stuck = status && !status.healthy && (status.state === 'retrying' || status.state === 'backoff');
    if (down.length || stuck) {
      const what = down.length ? `health check ${down.map((c) => c.name).join(', ')} failing` : `synchronizer ${status?.state} for longer than its bound`;
      return new WaitingStatus(`${what}${status?.lastError ? `: ${status.lastError.message}` : ''}; ${STUCK_REMEDIES[status?.lastError?.kind ?? ''] ?? 'see juju debug-log'}`);
    }
    if (status?.state === 'streaming') return new ActiveStatus(`streaming, ${status.eventsApplied} events applied`);
    return new ActiveStatus(status?.state ?? '');
  }

  /** The process's status file (written on every state change and on exit); undefined until it exists. */
  private async readStatusFile(container: Container): Promise<StatusView | undefined> {
    try {
      return parseStatus(await container.pull(STATUS_FILE));
    } catch (e) {
      if (e instanceof PathError || e instanceof PebbleAPIError) return undefined;
      throw e;
    }
  }
}

const statusViewSchema = z.looseObject({
  state: z.string(),
  healthy: z.optional(z.boolean()),
  exitCode: z.optional(z.nullable(z.number())),
  lastError: z.optional(z.nullable(z.looseObject({ message: z.string(), kind: z.optional(z.string()) }))),
  counters: z.optional(z.looseObject({ eventsApplied: z.optional(z.number()) })),
});

/** The subset of the process's status JSON (/healthz, status file) the charm reports. */
function parseStatus(text: string): StatusView | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = z.safeParse(statusViewSchema, doc);
  if (!r.success) return undefined;
  const e = r.data.lastError;
  return { state: r.data.state, healthy: r.data.healthy ?? true, exitCode: r.data.exitCode ?? null, lastError: e ? { message: e.message, kind: e.kind } : null, eventsApplied: r.data.counters?.eventsApplied ?? 0 };
}
