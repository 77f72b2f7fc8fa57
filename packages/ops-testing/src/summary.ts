/**
 * Readable reports for the simulator CLI: what one hook changed (statuses, databags, secrets,
 * Pebble plan and services, deferred events, logs), and how to name an event on the command line.
 * Secret content is never printed, only its keys.
 */
import type { CharmMeta } from '@juju-ts/ops';
import { on, type SimEvent } from './events.js';
import { eventMetaProblems, InconsistentStateError, nearestNames, type State } from './state.js';

/**
 * Turn a command-line event name into a SimEvent, resolving relations and secrets in `state`. With
 * `meta`, an event for an endpoint, container, storage or action the charm does not declare is
 * refused first, naming the nearest declared ones.
 */
export function parseEventSpec(spec: string, state: State, opts: { remoteUnit?: string; params?: Record<string, unknown>; meta?: CharmMeta } = {}): SimEvent {
  const [name, arg] = spec.split(/:(.*)/s) as [string, string | undefined];
  if (opts.meta && (name !== 'action' || arg)) {
    const problems = eventMetaProblems(opts.meta, name === 'action' ? { name: arg!, env: {}, action: { name: arg! } } : { name, env: {} });
    if (problems.length) throw new InconsistentStateError(problems);
  }
  if (name === 'action') {
    if (!arg) throw new Error('name the action: action:<name>');
    return on.action(arg, { params: opts.params });
  }
  const rel = /^(.+)-relation-(created|joined|changed|departed|broken)$/.exec(name);
  if (rel) {
    const [, endpoint, kind] = rel as unknown as [string, string, string];
    const candidates = state.relations.filter((r) => r.endpoint === endpoint && (arg === undefined || String(r.id) === arg));
    if (candidates.length !== 1) {
      throw new Error(
        candidates.length === 0
          ? `no relation on endpoint "${endpoint}"${arg ? ` with id ${arg}` : ''} in the state (relations: ${state.relations.map((r) => `${r.endpoint}:${r.id}`).join(', ') || 'none'})`
          : `several relations on endpoint "${endpoint}"; say which: ${name}:<id>`,
      );
    }
    const r = candidates[0]!;
    const remote = opts.remoteUnit === undefined ? undefined : opts.remoteUnit === 'none' ? null : /^\d+$/.test(opts.remoteUnit) ? Number(opts.remoteUnit) : opts.remoteUnit;
    switch (kind) {
      case 'created':
        return on.relationCreated(r);
      case 'joined':
        return on.relationJoined(r, { remoteUnit: (remote ?? 0) as number | string });
      case 'changed':
        return on.relationChanged(r, { remoteUnit: remote });
      case 'departed':
        return on.relationDeparted(r, { remoteUnit: (remote ?? 0) as number | string });
      default:
        return on.relationBroken(r);
    }
  }
  const secret = /^secret-(changed|rotate|expired|remove)$/.exec(name);
  if (secret) {
    if (!arg) throw new Error(`name the secret: ${name}:<secret id or label>[@<revision>]`);
    const [ref, rev] = arg.split('@') as [string, string | undefined];
    const s = state.secrets.find((x) => x.id === ref || x.id.endsWith(ref) || x.label === ref);
    if (!s) throw new Error(`no secret "${ref}" in the state`);
    if (secret[1] === 'changed') return on.secretChanged(s);
    if (secret[1] === 'rotate') return on.secretRotate(s);
    const revision = Number(rev ?? s.revisions.at(-1)!.revision);
    return secret[1] === 'expired' ? on.secretExpired(s, revision) : on.secretRemove(s, revision);
  }
  const workload = /^(.+)-pebble-(ready|custom-notice|check-failed|check-recovered)$/.exec(name);
  if (workload) {
    const [, ctr, kind] = workload as unknown as [string, string, string];
    if (kind === 'ready') return on.pebbleReady(ctr);
    if (!arg) throw new Error(`${name} needs an argument: ${name}:<${kind === 'custom-notice' ? 'notice key' : 'check name'}>`);
    if (kind === 'custom-notice') return on.pebbleCustomNotice(ctr, { id: '1', key: arg });
    return kind === 'check-failed' ? on.pebbleCheckFailed(ctr, arg) : on.pebbleCheckRecovered(ctr, arg);
  }
  if (/^.+-storage-(attached|detaching)$/.test(name)) {
    if (arg !== undefined) throw new Error(`${name} takes no argument`);
    return on.hook(name);
  }
  if (!PLAIN_HOOKS.includes(name)) throw new Error(unknownEvent(name));
  if (arg !== undefined) throw new Error(`${name} takes no argument`);
  return on.hook(name);
}

/** Juju's hooks that take no endpoint, container, storage or secret in their name (juju-hooks.md). */
const PLAIN_HOOKS = ['install', 'start', 'stop', 'remove', 'update-status', 'config-changed', 'upgrade-charm', 'leader-elected', 'leader-settings-changed', 'pre-series-upgrade', 'post-series-upgrade', 'collect-metrics'];
const PATTERNS = ['<endpoint>-relation-{created,joined,changed,departed,broken}[:<id>]', '<container>-pebble-ready', '<container>-pebble-{custom-notice,check-failed,check-recovered}:<arg>', '<storage>-storage-{attached,detaching}', 'secret-{changed,rotate,expired,remove}:<id or label>', 'action:<name>'];

/** Juju would never run this hook: say so, with the nearest hook names. */
function unknownEvent(name: string): string {
  const near = nearestNames(name, PLAIN_HOOKS);
  return `unknown event "${name}"${near.length ? `: did you mean ${near.join(' or ')}?` : ''} (Juju runs ${PLAIN_HOOKS.join(', ')}, and ${PATTERNS.join(', ')})`;
}

const fmtStatus = (s: State['unitStatus']) => `${s.name}${s.message ? ` "${s.message}"` : ''}`;

function diffMap(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(k in after)) out.push(`- ${k}`);
    else if (!(k in before)) out.push(`+ ${k} = ${JSON.stringify(after[k])}`);
    else if (before[k] !== after[k]) out.push(`~ ${k} = ${JSON.stringify(after[k])} (was ${JSON.stringify(before[k])})`);
  }
  return out;
}

/** The lines `npm run sim -- run` prints after a hook. */
export function summarizeRun(input: { before: State; after: State; event: SimEvent; exitCode: number; logs: { level: string; message: string }[]; stderr: string; durationMs?: number }): string[] {
  const { before, after } = input;
  const lines: string[] = [];
  lines.push(`${input.event.name}: exit ${input.exitCode}${input.durationMs !== undefined ? ` in ${input.durationMs.toFixed(0)} ms` : ''}${input.exitCode === 0 ? '' : ' (hook failed: relation data and secrets were not committed)'}`);
  const status = (label: string, b: State['unitStatus'], a: State['unitStatus']) =>
    lines.push(`  ${label}: ${fmtStatus(a)}${b.name === a.name && b.message === a.message ? ' (unchanged)' : ` (was ${fmtStatus(b)})`}`);
  status('unit status', before.unitStatus, after.unitStatus);
  if (after.leader || after.appStatus.name !== before.appStatus.name) status('app status', before.appStatus, after.appStatus);
  if (before.workloadVersion !== after.workloadVersion) lines.push(`  workload version: ${after.workloadVersion}`);
  for (const r of after.relations) {
    const p = before.relations.find((x) => x.id === r.id);
    if (!p) continue;
    for (const [bag, b, a] of [
      ['app', p.localAppData, r.localAppData],
      ['unit', p.localUnitData, r.localUnitData],
    ] as const) {
      const d = diffMap(b, a);
      if (d.length) lines.push(`  relation ${r.endpoint}:${r.id} ${bag} databag:`, ...d.map((x) => `    ${x}`));
    }
  }
  for (const s of after.secrets) {
    const p = before.secrets.find((x) => x.id === s.id);
    const keys = Object.keys(s.revisions.at(-1)!.content).join(', ');
    if (!p) lines.push(`  secret added: ${s.id}${s.label ? ` (label ${s.label})` : ''}, keys ${keys}`);
    else if (p.revisions.length !== s.revisions.length) lines.push(`  secret ${s.id}: revision ${s.revisions.at(-1)!.revision}, keys ${keys}`);
    else if (p.trackedRevision !== s.trackedRevision) lines.push(`  secret ${s.id}: now tracking revision ${s.trackedRevision}`);
    if (p && JSON.stringify(p.grants) !== JSON.stringify(s.grants)) lines.push(`  secret ${s.id}: grants ${JSON.stringify(s.grants)}`);
  }
  for (const p of before.secrets) if (!after.secrets.some((s) => s.id === p.id)) lines.push(`  secret removed: ${p.id}`);
  for (const c of after.containers) {
    const p = before.containers.find((x) => x.name === c.name);
    const services = (c.plan as { services?: Record<string, { command?: string }> } | undefined)?.services ?? {};
    if (JSON.stringify(p?.layers ?? {}) !== JSON.stringify(c.layers)) {
      lines.push(`  container ${c.name}: plan now has ${Object.keys(services).length} service(s):`);
      for (const [n, svc] of Object.entries(services)) lines.push(`    ${n}: ${svc.command ?? ''} [${c.serviceStatuses[n] ?? 'inactive'}]`);
    } else if (JSON.stringify(p?.serviceStatuses ?? {}) !== JSON.stringify(c.serviceStatuses)) {
      lines.push(`  container ${c.name}: services ${JSON.stringify(c.serviceStatuses)}`);
    }
  }
  if (after.deferred.length || before.deferred.length) lines.push(`  deferred events: ${after.deferred.length}${after.deferred.length ? ` (${after.deferred.map((d) => d.eventPath).join(', ')})` : ''}`);
  if (JSON.stringify(before.openedPorts) !== JSON.stringify(after.openedPorts)) {
    lines.push(`  opened ports: ${after.openedPorts.map((p) => (p.protocol === 'icmp' ? 'icmp' : `${p.port}/${p.protocol}`)).join(', ') || 'none'}`);
  }
  if (input.logs.length) lines.push('  juju-log:', ...input.logs.map((l) => `    ${l.level} ${l.message.split('\n')[0]}`));
  if (input.exitCode !== 0 && input.stderr.trim()) lines.push('  stderr:', ...input.stderr.trim().split('\n').map((l) => `    ${l}`));
  return lines;
}
