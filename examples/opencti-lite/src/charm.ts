import { randomBytes } from 'node:crypto';
import { ActiveStatus, CharmBase, WaitingStatus, type ActionEvent, type Framework, type Relation } from '../../../lib/framework/index.js';

/** The OpenCTI side of opencti-connector, reduced to what the relation needs. */
export default class OpenctiLiteCharm extends CharmBase {
  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.relation('opencti-connector').changed, this.reconcile);
    this.observe(this.on.relation('opencti-connector').joined, this.reconcile);
    this.observe(this.on.configChanged, this.reconcile);
    this.observe(this.on.action('rotate-token'), this.onRotate);
  }

  async reconcile(): Promise<void> {
    const relations = await this.model.relations('opencti-connector');
    if (await this.unit.isLeader()) for (const rel of relations) await this.publish(rel, false);
    await this.unit.setStatus(relations.length ? new ActiveStatus(`${relations.length} connector(s)`) : new WaitingStatus('no connector related'));
  }

  async onRotate(event: ActionEvent): Promise<void> {
    const relations = await this.model.relations('opencti-connector');
    for (const rel of relations) await this.publish(rel, true);
    await event.setResults({ rotated: relations.length });
  }

  /** URL and token secret id in our app databag; one secret per relation, labelled by relation id. */
  private async publish(rel: Relation, rotate: boolean): Promise<void> {
    const label = `connector-token-${rel.id}`;
    const token = randomBytes(16).toString('hex');
    let secret = await this.model.getSecret({ label }).catch(() => undefined);
    if (!secret) {
      secret = await this.app.addSecret({ token }, { label });
      await secret.grant(rel);
    } else if (rotate) {
      await secret.setContent({ token });
    }
    const info = await secret.getInfo();
    const url = String((await this.model.config()).get('url'));
    await rel.data.localApp.update({ opencti_url: url, opencti_token: info.id });
  }
}
