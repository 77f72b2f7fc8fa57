/**
 * The workload's one redaction point: a Redactor built from the configured secret values. Every
 * string that leaves the process goes through it where it is rendered: each log line (log.ts), the
 * /healthz JSON and the status file, the /metrics text (status.ts), and the fatal messages
 * main.ts prints itself. Server answers can echo a token (an error message quoting the request),
 * so hiding the token where we build messages is not enough: it is hidden where they are output.
 *
 * The algorithm is the charm framework's (packages/ops/src/redact.ts), so the charm and its workload
 * hide the same forms of a value.
 */
import { Redactor } from '@juju-ts/ops';
import type { SyncConfig } from './config.js';

export { Redactor, REDACTED, redactUrlUserinfo } from '@juju-ts/ops';

/** The environment variables whose values are secrets. */
export const SECRET_VARIABLES = ['OPENCTI_TOKEN', 'REMOTE_OPENCTI_TOKEN'] as const;
/** The environment variables that are URLs and may carry a password in their userinfo. */
export const URL_VARIABLES = ['OPENCTI_URL', 'REMOTE_OPENCTI_URL'] as const;

/**
 * From the raw environment, before (and whether or not) it is valid: a configuration that fails
 * to parse is reported too, and its values must not show in that report either.
 */
export function redactorFromEnv(env: Readonly<Record<string, string | undefined>>): Redactor {
  const r = new Redactor();
  for (const name of SECRET_VARIABLES) r.add(env[name]);
  for (const name of URL_VARIABLES) r.addUrl(env[name]);
  return r;
}

/** From a parsed configuration (library users of startSynchronizer that pass no redactor). */
export function redactorFromConfig(cfg: Pick<SyncConfig, 'local' | 'remote'>): Redactor {
  return new Redactor([cfg.local.token, cfg.remote.token]).addUrl(cfg.local.url, cfg.remote.url);
}
