import { ActiveStatus, CharmBase, type Framework } from '@juju-ts/ops';

/**
 * The Loki side of loki_push_api, reduced to what a log forwarder reads: each unit's databag has
 * `endpoint`, JSON `{"url": ...}` (the key and shape of charms.loki_k8s' LokiPushApiProvider).
 */
export default class LokiLiteCharm extends CharmBase {
  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.relation('logging').joined, this.publish);
    this.observe(this.on.install, this.ready);
  }

  /** This unit's push URL, from its name: loki-lite/0 → http://loki-lite-0.loki-lite-endpoints:3100/... */
  pushUrl(): string {
    const host = `${this.unit.name.replace('/', '-')}.${this.app.name}-endpoints`;
    return `http://${host}:3100/loki/api/v1/push`;
  }

  async publish(): Promise<void> {
    for (const relation of await this.model.relations('logging')) {
      await relation.data.localUnit.set('endpoint', JSON.stringify({ url: this.pushUrl() }));
    }
  }

  async ready(): Promise<void> {
    await this.unit.setStatus(new ActiveStatus());
  }
}
