import { randomBytes } from 'node:crypto';
import { ActiveStatus, BlockedStatus, CharmBase, SecretNotFoundError, WaitingStatus, type ActionEvent, type Framework, type RelationBrokenEvent } from '@juju-ts/ops';
import { OpenctiConnectorRequirer } from '@juju-ts/opencti-connector/interface';

/** The OpenCTI side of opencti-connector, reduced to what the relation needs. */
export default class OpenctiLiteCharm extends CharmBase {
  private readonly connectors = new OpenctiConnectorRequirer(this);

  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.relation('opencti-connector').changed, this.reconcile);
    this.observe(this.on.relation('opencti-connector').broken, this.onBroken);
    this.observe(this.on.configChanged, this.reconcile);
    this.observe(this.on.action('rotate-token'), this.onRotate);
  }

  async reconcile(): Promise<void> {
    const config = await this.model.config();
    if (await this.unit.isLeader()) {
      const tokenId = config.get('connector-token');
      let token: string | undefined;
      if (typeof tokenId === 'string') {
        try {
          token = (await (await this.model.getSecret({ id: tokenId })).getContent({ refresh: true })).token;
        } catch (e) {
          if (!(e instanceof SecretNotFoundError)) throw e;
          await this.unit.setStatus(new BlockedStatus(`config option "connector-token" names a secret this application cannot read; grant it with: juju grant-secret ${tokenId} ${this.app.name}`));
          return;
        }
      }
      await this.connectors.publish({ url: String(config.get('url')), tokenFor: token === undefined ? undefined : () => token });
    }
    const ready = (await this.connectors.connectors()).filter((c) => c.state === 'ready');
    await this.unit.setStatus(ready.length ? new ActiveStatus(`${ready.length} connector(s)`) : new WaitingStatus('no connector related'));
  }

  async onBroken(event: RelationBrokenEvent): Promise<void> {
    if (await this.unit.isLeader()) await this.connectors.forget(event.relation.id);
    await this.reconcile();
  }

  async onRotate(event: ActionEvent): Promise<void> {
    const relations = await this.model.relations('opencti-connector');
    for (const rel of relations) await this.connectors.rotate(rel, randomBytes(24).toString('hex'));
    await event.setResults({ rotated: relations.length });
  }
}
