/**
 * The OpenCTI WOAP connector charm (EXTERNAL_IMPORT): WOAP (Wazuh OpenSearch Alert Puller) reads
 * Wazuh's alerts from OpenSearch into OpenCTI. Not the scaffolder's (connectors.json lists this
 * file as custom): besides opencti-connector it needs the `opensearch-client` relation, and runs
 * only once both are there. Ported from canonical/opencti-operator connectors/woap/src/charm.py
 * (commit 35f17942e3d3); the differences are in README.md.
 */
import type { ConfigData, Framework } from '@juju-ts/ops';
import { OpenctiConnectorCharm, NotReady } from '@juju-ts/opencti-connector';
import { CONNECTOR_LOG_LEVELS } from '@juju-ts/opencti-connector';
import { OPENSEARCH_ENDPOINT, OpenSearchRequirer } from './opensearch.js';

/** An ISO 8601 duration of days/weeks and a time part (P1D, PT5M, P1DT12H), at least one figure. */
export function isIsoDuration(text: string): boolean {
  const m = /^P(\d+D)?(\d+W)?(?:T(\d+H)?(\d+M)?(\d+S)?)?$/.exec(text);
  if (!m) return false;
  const [, d, w, h, min, s] = m;
  const timePart = text.includes('T');
  return Boolean(d || w || h || min || s) && (!timePart || Boolean(h || min || s));
}

export default class OpenctiWoapConnectorCharm extends OpenctiConnectorCharm {
  readonly connectorType = 'EXTERNAL_IMPORT';

  private readonly opensearch = new OpenSearchRequirer(this, 'woap-connector', 'admin');

  constructor(framework: Framework) {
    super(framework);
    const events = this.on.relation(OPENSEARCH_ENDPOINT);
    this.observe(events.created, this.reconcile);
    this.observe(events.changed, this.reconcile);
    this.observe(events.broken, this.reconcile);
  }

  /** The original's checks; a bad value blocks here (it waited there, though only the operator can fix it). */
  protected override validateConfig(config: ConfigData): { option: string; problem: string }[] {
    const problems: { option: string; problem: string }[] = [];
    const level = config.get('connector-log-level');
    if (typeof level === 'string' && !CONNECTOR_LOG_LEVELS.includes(level)) {
      problems.push({ option: 'connector-log-level', problem: `is "${level}": use one of ${CONNECTOR_LOG_LEVELS.join(', ')}` });
    }
    const period = config.get('connector-duration-period');
    if (typeof period === 'string' && !isIsoDuration(period)) {
      problems.push({ option: 'connector-duration-period', problem: `is "${period}": use an ISO 8601 duration such as PT5M or P1D` });
    }
    const severity = config.get('wazuh-min-severity');
    if (typeof severity === 'number' && !(severity >= 0 && severity <= 15)) {
      problems.push({ option: 'wazuh-min-severity', problem: `is ${severity}: use 0 to 15` });
    }
    return problems;
  }

  /** Both relations, and OpenSearch's answer; the leader (re)sends the index request first. */
  protected override async waitingFor(related: boolean): Promise<string[]> {
    const missing = related ? [] : ['OpenCTI relation'];
    const relation = await this.opensearch.relation();
    if (!relation) return [...missing, 'OpenSearch relation'];
    if (await this.unit.isLeader()) await this.opensearch.request(relation);
    if (!(await this.opensearch.published(relation))) missing.push('OpenSearch credentials');
    return missing;
  }

  protected override async extraEnvironment(): Promise<Record<string, string>> {
    const relation = await this.opensearch.relation();
    const access = relation && (await this.opensearch.access(relation));
    // The original started the connector without them; it cannot pull anything so.
    if (!access) throw new NotReady('waiting for OpenSearch endpoints and credentials');
    return {
      CONNECTOR_SCOPE: 'woap',
      OPENSEARCH_HOST: access.hosts.join(','),
      OPENSEARCH_PORT: access.port,
      OPENSEARCH_USER: access.username,
      OPENSEARCH_PASSWORD: access.password,
    };
  }
}
