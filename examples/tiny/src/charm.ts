import { ActiveStatus, BlockedStatus, CharmBase, type Framework } from '@juju-ts/ops';

/** Greets in its status on config-changed; counts greetings in stored state. */
export default class TinyCharm extends CharmBase {
  private readonly counter = this.storedState('counter', { greetings: 0 });

  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.configChanged, this.onConfigChanged);
  }

  async onConfigChanged(): Promise<void> {
    const config = await this.model.config();
    const greeting = String(config.get('greeting') ?? '');
    if (!greeting.trim()) {
      await this.unit.setStatus(new BlockedStatus('config option "greeting" must not be empty'));
      return;
    }
    this.counter.greetings += 1;
    const text = `${greeting}, world (#${this.counter.greetings})`;
    await this.unit.setStatus(new ActiveStatus(config.get('shout') ? text.toUpperCase() : text));
  }
}
