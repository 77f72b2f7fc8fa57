import {
  ActiveStatus,
  BlockedStatus,
  CharmBase,
  WaitingStatus,
  type ActionEvent,
  type CollectStatusEvent,
  type Framework,
  type Layer,
  type RelationChangedEvent,
} from '@juju-ts/ops';

const CONTAINER = 'web';

/** What the database publishes in its application databag: a host, and a secret with the password. */
interface Database {
  host: string;
  password: string;
}

export default class WebappCharm extends CharmBase {
  // Stored state survives between hooks (the unit's charm state in Juju).
  private readonly stats = this.storedState('stats', { configured: 0 });

  constructor(framework: Framework) {
    super(framework);
    this.observe(this.on.relation('db').changed, this.onDatabaseChanged);
    this.observe(this.on.container(CONTAINER).pebbleReady, this.configure);
    this.observe(this.on.configChanged, this.configure);
    this.observe(this.on.action('show-config'), this.onShowConfig);
    this.observe(this.on.collectUnitStatus, this.collectStatus);
  }

  async onDatabaseChanged(event: RelationChangedEvent): Promise<void> {
    // Pebble may not be up yet: defer, and Juju's next hook runs this handler again first.
    if (!(await this.unit.getContainer(CONTAINER).canConnect())) return event.defer();
    await this.configure();
    // Our unit's databag: any unit writes its own. The application databag: the leader only.
    await event.relation.data.localUnit.set('ready', 'true');
    if (await this.unit.isLeader()) await event.relation.data.localApp.set('database', 'webapp');
  }

  /** Writes the config file and the service into the container, when there is a database. */
  async configure(): Promise<void> {
    const container = this.unit.getContainer(CONTAINER);
    const db = await this.database();
    if (!db || !(await container.canConnect())) return; // collect-status says why
    const port = Number((await this.model.config()).get('port'));
    await container.push('/etc/webapp/db.conf', `host=${db.host}\npassword=${db.password}\n`, { makeDirs: true, permissions: 0o600 });
    await container.addLayer('webapp', layer(port), { combine: true });
    await container.replan();
    this.stats.configured += 1;
  }

  /** The database the relation offers, with the password read from the secret it granted us. */
  private async database(): Promise<Database | undefined> {
    const remote = (await this.model.getRelation('db'))?.data.remoteApp;
    const host = await remote?.get('host');
    const secretId = await remote?.get('password-secret');
    if (!host || !secretId) return undefined;
    const { password } = await (await this.model.getSecret({ id: secretId })).getContent();
    return password ? { host, password } : undefined;
  }

  async onShowConfig(event: ActionEvent): Promise<void> {
    await event.setResults({ configured: this.stats.configured });
  }

  async collectStatus(event: CollectStatusEvent): Promise<void> {
    if (!(await this.model.getRelation('db'))) event.addStatus(new BlockedStatus('needs a database: juju integrate webapp <database>'));
    else if (!(await this.database())) event.addStatus(new WaitingStatus('waiting for the database to publish its address'));
    if (!(await this.unit.getContainer(CONTAINER).canConnect())) event.addStatus(new WaitingStatus('waiting for the web container'));
    event.addStatus(new ActiveStatus());
  }
}

function layer(port: number): Layer {
  return {
    summary: 'web application',
    services: { web: { override: 'replace', command: `webapp --port ${port} --db-config /etc/webapp/db.conf`, startup: 'enabled' } },
    checks: { up: { override: 'replace', level: 'ready', http: { url: `http://localhost:${port}/health` } } },
  };
}
