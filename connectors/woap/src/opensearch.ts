/**
 * The requirer side of `opensearch_client` that woap needs: ask for an index (and a role), read the
 * endpoints and the user's credentials once the provider published them. The original uses
 * charms.data_platform_libs' OpenSearchRequires for this (canonical/opencti-operator
 * connectors/woap/src/charm.py, commit 35f17942e3d3); the databag keys are that library's:
 * we write `index` and `extra-user-roles`, the provider answers `endpoints` ("host:port,...") and
 * `secret-user`, the id of a secret with `username` and `password`.
 */
import type { CharmBase, Relation } from '@juju-ts/ops';

export const OPENSEARCH_ENDPOINT = 'opensearch-client';

export interface OpenSearchAccess {
  /** Host names, in the provider's order. */
  hosts: string[];
  port: string;
  username: string;
  password: string;
}

export class OpenSearchRequirer {
  constructor(
    private readonly charm: CharmBase,
    readonly index: string,
    readonly extraUserRoles: string,
  ) {}

  relation(): Promise<Relation | undefined> {
    return this.charm.model.getRelation(OPENSEARCH_ENDPOINT);
  }

  /** Leader only: the request the provider creates the index and user for. */
  async request(relation: Relation): Promise<void> {
    await relation.data.localApp.update({ index: this.index, 'extra-user-roles': this.extraUserRoles });
  }

  /** Whether the provider has published anything yet (the original's "credentials" check). */
  async published(relation: Relation): Promise<boolean> {
    const data = (await relation.data.remoteApp?.read()) ?? {};
    return Object.keys(data).length > 0;
  }

  /**
   * Endpoints and credentials; undefined until the provider published both. The port is the
   * endpoints' own (the original always said 9200); 9200 when an endpoint names none.
   */
  async access(relation: Relation): Promise<OpenSearchAccess | undefined> {
    const data = (await relation.data.remoteApp?.read()) ?? {};
    const endpoints = (data.endpoints ?? '').split(',').map((e) => e.trim()).filter(Boolean);
    if (!endpoints.length || !data['secret-user']) return undefined;
    const content = await (await this.charm.model.getSecret({ id: data['secret-user'] })).getContent({ refresh: true });
    if (!content.username || !content.password) return undefined;
    const [first] = endpoints;
    return {
      hosts: endpoints.map((e) => e.split(':')[0]!),
      port: first!.includes(':') ? first!.split(':')[1]! : '9200',
      username: content.username,
      password: content.password,
    };
  }
}
