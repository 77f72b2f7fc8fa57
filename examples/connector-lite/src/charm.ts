import { ActiveStatus, CharmBase, WaitingStatus, type Framework } from '../../../lib/framework/index.js';

/** The connector side of opencti-connector, reduced to what the relation needs. */
export default class ConnectorLiteCharm extends CharmBase {
  private readonly seen = this.storedState('seen', { tokenFingerprint: '' });

  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.relation('opencti-connector').changed, this.reconcile);
    this.observe(this.on.secretChanged, this.reconcile);
    this.observe(this.on.updateStatus, this.reconcile);
  }

  async reconcile(): Promise<void> {
    const rel = await this.model.getRelation('opencti-connector');
    if (!rel) return this.unit.setStatus(new WaitingStatus('waiting for opencti-connector relation'));
    if (await this.unit.isLeader()) await rel.data.localApp.update({ connector_charm_name: this.meta.name, connector_type: 'STREAM' });
    const data = (await rel.data.remoteApp?.read()) ?? {};
    if (!data.opencti_url || !data.opencti_token) return this.unit.setStatus(new WaitingStatus('waiting for opencti-connector data'));
    const secret = await this.model.getSecret({ id: data.opencti_token });
    const { token } = await secret.getContent({ refresh: true });
    // Never show the token; a fingerprint proves which one we hold.
    this.seen.tokenFingerprint = `${token!.length}:${token!.slice(0, 2)}`;
    await this.unit.setStatus(new ActiveStatus(`connected to ${data.opencti_url}`));
  }
}
