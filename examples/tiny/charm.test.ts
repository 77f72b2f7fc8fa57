// In-process charm tests with the simulator: given a State, when an event runs, then the output
// State shows what the charm did. (Included verbatim in docs/simulation.md.)
import { Context, on } from '@juju-ts/ops-testing';
import TinyCharm from './src/charm.js';
import fs from 'node:fs';

const ctx = new Context(TinyCharm, { meta: fs.readFileSync(new URL('./charmcraft.yaml', import.meta.url), 'utf8') });

test('config-changed greets in the unit status and counts in stored state', async () => {
  const out = await ctx.run(on.configChanged(), { config: { greeting: 'hi' } });
  expect(out.unitStatus).toEqual({ name: 'active', message: 'hi, world (#1)' });
  expect(out.storedStates['TinyCharm/StoredStateData[counter]']).toEqual({ greetings: 1 });

  // The output State is the next input: stored state carries over.
  const again = await ctx.run(on.configChanged(), { ...out, config: { greeting: 'hi', shout: true } });
  expect(again.unitStatus.message).toBe('HI, WORLD (#2)');
});

test('an empty greeting blocks, naming the option', async () => {
  const out = await ctx.run(on.configChanged(), { config: { greeting: ' ' } });
  expect(out.unitStatus).toEqual({ name: 'blocked', message: 'config option "greeting" must not be empty' });
});
