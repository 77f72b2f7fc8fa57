/**
 * my-app in the in-process simulator (@juju-ts/ops-testing): given a State, when an event runs,
 * then the output State shows what the charm did.
 */
import fs from 'node:fs';
import { Context, on } from '@juju-ts/ops-testing';
import Charm from '../src/charm.js';

const ctx = new Context(Charm, { meta: fs.readFileSync(new URL('../charmcraft.yaml', import.meta.url), 'utf8') });

test('pebble-ready: the workload runs with the configured log level, and the unit is active', async () => {
  const out = await ctx.run(on.pebbleReady('workload'), { containers: [{ name: 'workload', canConnect: true }], config: { 'log-level': 'debug' } });
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const plan = out.containers[0]!.plan as { services: Record<string, { command: string; environment: Record<string, string> }> };
  expect(plan.services.app).toMatchObject({ command: 'python3 -m http.server 8080', environment: { LOG_LEVEL: 'debug' } });
});

test('a log level the workload does not know blocks, naming the option', async () => {
  const out = await ctx.run(on.configChanged(), { containers: [{ name: 'workload', canConnect: true }], config: { 'log-level': 'loud' } });
  expect(out.unitStatus.name).toBe('blocked');
  expect(out.unitStatus.message).toContain('"log-level"');
});

test('before the container is reachable the unit waits', async () => {
  const out = await ctx.run(on.configChanged(), { containers: [{ name: 'workload', canConnect: false }] });
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'waiting for the workload container' });
});
