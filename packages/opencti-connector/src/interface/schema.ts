/**
 * The opencti-connector relation's data, as zod schemas (zod/mini: this code runs in every
 * connector charm's hooks). Both sides write only their application databag.
 */
import * as z from 'zod/mini';
import { CONNECTOR_TYPES } from './types.js';

export { CONNECTOR_TYPES, type ConnectorType } from './types.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** A Juju secret id: `secret:<20 chars>` or `secret://<model-uuid>/<20 chars>`. */
export const SECRET_ID_RE = /^secret:(?:\/\/[0-9a-f-]+\/)?[0-9a-z]{20}$/;

/** What the connector charm (provider) publishes in its application databag. */
export const ProviderAppDataSchema = z.object({
  /** The connector charm's name (OpenCTI names the connector's user after it). */
  connector_charm_name: z.string().check(z.regex(/^[a-z][a-z0-9-]*$/, 'must be a charm name (lower-case letters, digits and hyphens)')),
  connector_type: z.enum(CONNECTOR_TYPES, { error: `must be one of ${CONNECTOR_TYPES.join(', ')}` }),
  /**
   * A UUID generated once by the connector's leader and kept for the relation's life; the workload
   * registers with OpenCTI under it. Optional in the schema for charms that predate it.
   */
  connector_id: z.optional(z.string().check(z.regex(UUID_RE, 'must be a UUID'))),
});
export type ProviderAppData = z.infer<typeof ProviderAppDataSchema>;

/** What the OpenCTI charm (requirer) publishes in its application databag. */
export const RequirerAppDataSchema = z.object({
  /** Where the connector reaches OpenCTI. */
  opencti_url: z.string().check(z.regex(/^https?:\/\/[^\s/]+/, 'must be an http(s) URL')),
  /** A Juju secret id, granted to this relation; the secret's content has the key `token`. */
  opencti_token: z.string().check(z.regex(SECRET_ID_RE, 'must be a Juju secret id (secret:...)')),
});
export type RequirerAppData = z.infer<typeof RequirerAppDataSchema>;

/** The key of the token in the secret named by `opencti_token`. */
export const TOKEN_SECRET_KEY = 'token';

/** Validate a databag; `problems` names each bad field and says what is wrong. */
export function checkDatabag<S extends z.ZodMiniType>(schema: S, data: Record<string, string>): { ok: true; value: z.infer<S> } | { ok: false; problems: string[] } {
  const r = z.safeParse(schema, data);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    problems: r.error.issues.map((i) => {
      const field = String(i.path[0] ?? '');
      return field in data ? `${field} ${i.message} (got ${JSON.stringify(data[field])})` : `${field} is missing`;
    }),
  };
}
