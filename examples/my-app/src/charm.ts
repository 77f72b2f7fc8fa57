/**
 * The my-app charm: renders the workload's Pebble layer from config and replans it whenever the
 * container or the config changes. Every decision about the unit status is made in one place,
 * collect-status, from what the charm can see now.
 */
import { ActiveStatus, BlockedStatus, CharmBase, WaitingStatus, type CollectStatusEvent, type Framework, type Layer } from '@juju-ts/ops';

const CONTAINER = 'workload';
const LOG_LEVELS = ['debug', 'info', 'warning', 'error'];

export default class MyAppCharm extends CharmBase {
  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.container(CONTAINER).pebbleReady, this.reconcile);
    this.observe(this.on.configChanged, this.reconcile);
    this.observe(this.on.collectUnitStatus, this.collectStatus);
  }

  /** The service as the config asks for it; undefined with the reason when the config is invalid. */
  private async layer(): Promise<{ layer?: Layer; problem?: string }> {
    const config = await this.model.config();
    const level = String(config.get('log-level'));
    if (!LOG_LEVELS.includes(level)) return { problem: `invalid config option "log-level": "${level}" is not one of ${LOG_LEVELS.join(', ')}` };
    const port = Number(config.get('port'));
    const layer: Layer = {
      summary: 'my-app layer',
      services: {
        app: {
          override: 'replace',
          summary: 'the workload',
          command: `python3 -m http.server ${port}`,
          startup: 'enabled',
          environment: { LOG_LEVEL: level },
        },
      },
    };
    return { layer };
  }

  async reconcile(): Promise<void> {
    const container = this.unit.getContainer(CONTAINER);
    const { layer } = await this.layer();
    if (!layer || !(await container.canConnect())) return; // collect-status says why
    await container.addLayer('my-app', layer, { combine: true });
    await container.replan();
  }

  async collectStatus(event: CollectStatusEvent): Promise<void> {
    const { problem } = await this.layer();
    if (problem) event.addStatus(new BlockedStatus(problem));
    if (!(await this.unit.getContainer(CONTAINER).canConnect())) event.addStatus(new WaitingStatus('waiting for the workload container'));
    event.addStatus(new ActiveStatus());
  }
}
