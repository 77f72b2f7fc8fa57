/**
 * The requirer side of opencti-connector: the OpenCTI charm. It lists the related connectors (with
 * the name and type they published), and gives each one the URL and a token: one Juju secret per
 * relation, granted to that relation only, with content `{ token }`.
 */
import type { CharmBase } from '@juju-ts/ops';
import { SecretNotFoundError } from '@juju-ts/ops';
import type { Relation, Secret } from '@juju-ts/ops';
import { ENDPOINT } from './provider.js';
import { checkDatabag, ProviderAppDataSchema, TOKEN_SECRET_KEY, type ConnectorType } from './schema.js';

export interface RelatedConnector {
  relation: Relation;
  /** The connector's application name. */
  app: string;
  /** ready: name and type published and valid; incomplete: not yet; invalid: see problems. */
  state: 'ready' | 'incomplete' | 'invalid';
  charmName?: string;
  type?: ConnectorType;
  id?: string;
  problems?: string[];
}

/** The label of the token secret for one relation (our own label; consumers may set theirs). */
export const tokenSecretLabel = (relationId: number) => `opencti-connector-token-${relationId}`;

export class OpenctiConnectorRequirer {
  constructor(
    private readonly charm: CharmBase,
    readonly endpoint = ENDPOINT,
  ) {}

  /** Every related connector and what it published. */
  async connectors(): Promise<RelatedConnector[]> {
    const out: RelatedConnector[] = [];
    for (const relation of await this.charm.model.relations(this.endpoint)) {
      const data = (await relation.data.remoteApp?.read()) ?? {};
      const base = { relation, app: relation.app?.name ?? '' };
      if (!data.connector_charm_name || !data.connector_type) {
        out.push({ ...base, state: 'incomplete' });
        continue;
      }
      const checked = checkDatabag(ProviderAppDataSchema, data);
      if (!checked.ok) out.push({ ...base, state: 'invalid', problems: checked.problems });
      else out.push({ ...base, state: 'ready', charmName: checked.value.connector_charm_name, type: checked.value.connector_type, id: checked.value.connector_id });
    }
    return out;
  }

  /**
   * Leader only: publish the URL and a token to every related connector that told us who it is.
   * `tokenFor` gives the token for a connector (OpenCTI creates a user per connector); without it
   * a relation keeps its current token, or gets a random one the first time. A token
   * secret gets a new revision only when the token changes, so connectors see secret-changed only
   * then.
   */
  async publish(opts: { url: string; tokenFor?: (c: RelatedConnector) => string | Promise<string> }): Promise<void> {
    for (const c of await this.connectors()) {
      if (c.state !== 'ready') continue;
      const token = opts.tokenFor ? await opts.tokenFor(c) : ((await this.currentToken(c.relation)) ?? Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(24))).toString('hex'));
      const secret = await this.ensureToken(c.relation, token);
      const info = await secret.getInfo();
      await c.relation.data.localApp.update({ opencti_url: opts.url, opencti_token: info.id });
    }
  }

  /** Leader only: the token a relation has now, if any. */
  async currentToken(relation: Relation): Promise<string | undefined> {
    try {
      return (await (await this.charm.model.getSecret({ label: tokenSecretLabel(relation.id) })).peekContent())[TOKEN_SECRET_KEY];
    } catch (e) {
      if (e instanceof SecretNotFoundError) return undefined;
      throw e;
    }
  }

  /** Leader only: give one relation a new token (a new revision of its secret). */
  async rotate(relation: Relation, token: string): Promise<void> {
    await this.ensureToken(relation, token);
  }

  /** Leader only: drop the token secret of a relation that is going away. */
  async forget(relationId: number): Promise<void> {
    try {
      const secret = await this.charm.model.getSecret({ label: tokenSecretLabel(relationId) });
      await secret.removeAllRevisions();
    } catch (e) {
      if (!(e instanceof SecretNotFoundError)) throw e;
    }
  }

  private async ensureToken(relation: Relation, token: string): Promise<Secret> {
    const label = tokenSecretLabel(relation.id);
    let secret: Secret;
    try {
      secret = await this.charm.model.getSecret({ label });
    } catch (e) {
      if (!(e instanceof SecretNotFoundError)) throw e;
      secret = await this.charm.app.addSecret({ [TOKEN_SECRET_KEY]: token }, { label, description: `OpenCTI token for ${relation.app?.name ?? 'a connector'}` });
      await secret.grant(relation);
      return secret;
    }
    if ((await secret.peekContent())[TOKEN_SECRET_KEY] !== token) await secret.setContent({ [TOKEN_SECRET_KEY]: token });
    await secret.grant(relation);
    return secret;
  }
}
