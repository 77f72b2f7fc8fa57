/**
 * Pebble log forwarding to the Loki push endpoints related over `logging` (interface
 * loki_push_api): the requirer side of what charms.loki_k8s.v1.loki_push_api's LogForwarder does
 * for the Python original (canonical/opencti-operator lib/charms/loki_k8s/v1/loki_push_api.py,
 * commit 35f17942e3d3). Juju >= 3.4 (the charms assume it) lets Pebble ship the workload's logs.
 *
 * Each Loki unit publishes, in its unit databag, `endpoint`: JSON `{"url": "<push URL>"}`. For each
 * one, every workload container gets a log target named after the Loki unit, in the layer
 * `log-targets`: type loki, location the URL, all services, and the Juju topology as labels.
 * Pebble cannot delete a target, so one whose Loki unit is gone is kept disabled (`services:
 * ["-all"]`), as the original does. Unlike the original, this also happens when the last Loki
 * endpoint goes: it returned early then, and the workload kept pushing to the departed Loki.
 */
import type { CharmBase } from '@juju-ts/ops';
import { FrameworkObject } from '@juju-ts/ops';
import type { Container, LogTarget } from '@juju-ts/ops';

export const LOGGING_ENDPOINT = 'logging';
/** The Pebble layer holding the log targets. */
export const LOG_TARGETS_LAYER = 'log-targets';

/** Remote unit name → Loki push URL, from a loki_push_api unit databag value. Undefined when it is not one. */
export function pushUrl(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  try {
    const url = (JSON.parse(endpoint) as { url?: unknown }).url;
    return typeof url === 'string' && /^https?:\/\//.test(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The log targets to add so the plan forwards to exactly `active` (unit → URL): every active one
 * enabled, every enabled one not active disabled; nothing when the plan already says so.
 */
export function logTargetChanges(
  current: Record<string, LogTarget>,
  active: ReadonlyMap<string, string>,
  labels: Record<string, string>,
): Record<string, LogTarget & { override: 'replace' }> {
  const changes: Record<string, LogTarget & { override: 'replace' }> = {};
  for (const [unit, url] of active) {
    const want = { override: 'replace' as const, type: 'loki' as const, location: url, services: ['all'], labels };
    const have = current[unit];
    if (!have || have.location !== url || !have.services?.includes('all') || JSON.stringify(have.labels ?? {}) !== JSON.stringify(labels)) changes[unit] = want;
  }
  for (const [unit, target] of Object.entries(current)) {
    if (active.has(unit) || target.services?.includes('-all')) continue;
    changes[unit] = { override: 'replace', type: target.type ?? 'loki', location: target.location ?? '', services: ['-all'] };
  }
  return changes;
}

export class LogForwarder extends FrameworkObject {
  constructor(
    private readonly charm: CharmBase,
    readonly endpoint = LOGGING_ENDPOINT,
  ) {
    super(charm, endpoint);
    const events = charm.on.relation(endpoint);
    this.observe(events.joined, this.update);
    this.observe(events.changed, this.update);
    this.observe(events.departed, this.update);
    this.observe(events.broken, this.update);
    for (const name of charm.meta.containers) this.observe(charm.on.container(name).pebbleReady, this.update);
  }

  /** The related Loki units' push URLs (the relation being broken and departed units excluded by Juju). */
  async endpoints(): Promise<Map<string, string>> {
    const active = new Map<string, string>();
    for (const relation of await this.charm.model.relations(this.endpoint)) {
      for (const unit of await relation.units()) {
        const url = pushUrl(await relation.data.get(unit).get('endpoint'));
        if (url) active.set(unit.name, url);
      }
    }
    return active;
  }

  /** Bring every reachable container's log targets in line with the related endpoints. */
  async update(): Promise<void> {
    const active = await this.endpoints();
    for (const name of this.charm.meta.containers) {
      const container = this.charm.unit.getContainer(name);
      if (await container.canConnect()) await this.apply(container, active);
      // else: pebble-ready brings us back.
    }
  }

  private async apply(container: Container, active: ReadonlyMap<string, string>): Promise<void> {
    const plan = await container.getPlan();
    const changes = logTargetChanges(plan['log-targets'], active, this.labels());
    if (Object.keys(changes).length) await container.addLayer(LOG_TARGETS_LAYER, { 'log-targets': changes }, { combine: true });
  }

  /** The Juju topology, as the original labels its streams. */
  private labels(): Record<string, string> {
    const { model, unit, app, meta } = this.charm;
    return { product: 'Juju', charm: meta.name, juju_model: model.name, juju_model_uuid: model.uuid, juju_application: app.name, juju_unit: unit.name };
  }
}
