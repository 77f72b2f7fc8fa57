/** The simulator CLI as a user runs it: `npm run sim -- ...` (here: node with tsx, same script). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';

const sim = (...args: string[]) => execa(process.execPath, ['--conditions=@juju-ts/source', '--import', 'tsx', 'packages/ops-testing/src/cli/sim.ts', ...args], { reject: false, all: true });

test('scenario: the example model scenario passes, showing every hook', async () => {
  const r = await sim('scenario', 'examples/scenarios/opencti-pair.yaml');
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/connector-lite\/0 opencti-connector-relation-changed → active/);
  expect(r.stdout).toMatch(/scenario passed: 9 steps, \d+ hooks/);
});

test('scenario: an unmet expectation fails naming the step; a malformed file names the field', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-'));
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, `steps:\n  - deploy: { charm: ${path.resolve('examples/tiny')} }\n  - expect: { unit: tiny/0, status: blocked }\n`);
  const r = await sim('scenario', bad);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(/step 2 \(expect\) failed: expected tiny\/0 to be blocked, but it is active: "hello, world \(#1\)"/);
  fs.writeFileSync(bad, 'steps:\n  - deploy: { charms: x }\n');
  const m = await sim('scenario', bad);
  expect(m.exitCode).toBe(2);
  expect(m.stderr).toMatch(/is not a valid scenario/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('run: one hook against a state file, a readable summary, the new state written', async () => {
  const out = path.join(os.tmpdir(), `sim-out-${process.pid}.yaml`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-root-'));
  const r = await sim('run', 'examples/connector-lite', 'opencti-connector-relation-changed', '--remote-unit', 'none', '--state', 'examples/scenarios/connector-state.yaml', '--out', out, '--root-dir', root);
  fs.rmSync(root, { recursive: true, force: true });
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/unit status: active \(was unknown\)/);
  expect(r.stdout).toMatch(/\+ connector_type = "STREAM"/);
  expect(r.stdout).toMatch(/container connector-lite: plan now has 1 service\(s\):\n    connector: bash \/entrypoint.sh \[active\]/);
  expect(r.stdout).not.toMatch(/s3cr3t/);
  const state = parseYaml(fs.readFileSync(out, 'utf8'));
  expect(state.relations[0].localAppData).toMatchObject({ connector_charm_name: 'connector-lite', connector_type: 'STREAM' });
  expect(state.containers[0].plan.services.connector.environment.OPENCTI_TOKEN).toBe('s3cr3t-token-value');
  fs.rmSync(out, { force: true });
});

test('run: bad input is a usage error (exit 2) that says what is wrong', async () => {
  const noRel = await sim('run', 'examples/connector-lite', 'opencti-connector-relation-changed');
  expect(noRel.exitCode).toBe(2);
  expect(noRel.stderr).toMatch(/no relation on endpoint "opencti-connector" in the state \(relations: none\)/);
  const badState = await sim('run', 'examples/tiny', 'install', '--state', 'examples/tiny/charmcraft.yaml');
  expect(badState.exitCode).toBe(2);
  expect(badState.stderr).toMatch(/state is invalid|examples\/tiny\/charmcraft.yaml is invalid/);
  const missing = await sim('run', 'nowhere', 'install');
  expect(missing.stderr).toMatch(/nowhere does not exist/);
  // An event Juju never runs is refused before anything runs, with the nearest hook names.
  const typo = await sim('run', 'examples/tiny', 'instal');
  expect(typo.exitCode).toBe(2);
  expect(typo.stderr).toMatch(/unknown event "instal": did you mean install\?/);
  const made = await sim('run', 'examples/tiny', 'config-change');
  expect(made.stderr).toMatch(/did you mean config-changed\?/);
  const nothingNear = await sim('run', 'examples/tiny', 'deploy-everything');
  expect(nothingNear.exitCode).toBe(2);
  expect(nothingNear.stderr).toMatch(/unknown event "deploy-everything" \(Juju runs install, start/);
});

test('run: an event the charm cannot receive, or a state Juju could not produce, is refused (exit 2) in one line before anything runs', async () => {
  const endpoint = await sim('run', 'examples/connector-lite', 'opencti-conector-relation-changed');
  expect(endpoint.exitCode).toBe(2);
  expect(endpoint.stderr.trim()).toBe(
    'sim run: event opencti-conector-relation-changed: the charm declares no endpoint "opencti-conector" (did you mean opencti-connector?); declared: logging, opencti-connector',
  );
  const container = await sim('run', 'examples/connector-lite', 'connector-pebble-ready');
  expect(container.exitCode).toBe(2);
  expect(container.stderr).toMatch(/^sim run: event connector-pebble-ready: the charm declares no container "connector"; declared: connector-lite$/m);
  const action = await sim('run', 'examples/tiny', 'action:greet');
  expect(action.exitCode).toBe(2);
  expect(action.stderr).toMatch(/^sim run: event greet: the charm declares no action "greet"; declared: none$/m);
  // The same checks as the in-process Context: a config value of the wrong type never reaches the charm.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-bad-'));
  fs.writeFileSync(path.join(dir, 'state.yaml'), 'config: { shout: "yes" }\n');
  const badConfig = await sim('run', 'examples/tiny', 'config-changed', '--state', path.join(dir, 'state.yaml'));
  expect(badConfig.exitCode).toBe(2);
  expect(badConfig.stderr.trim()).toBe('sim run: config option "shout" is of type boolean, but its value is "yes"');
  expect(badConfig.stdout).toBe('');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('run: Pebble listens at Juju\'s path under --root-dir, DIR/charm/containers/<container>/pebble.socket', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-sock-'));
  const charm = path.join(work, 'charm');
  fs.mkdirSync(charm);
  fs.writeFileSync(path.join(charm, 'metadata.yaml'), 'name: socky\ncontainers: { web: { resource: img } }\n');
  // The hook reports where it was told to look, and fails unless a socket is there.
  fs.writeFileSync(path.join(charm, 'dispatch'), '#!/bin/sh\njuju-log -- "dir=$CHARM_CONTAINERS_DIR"\ntest -S "$CHARM_CONTAINERS_DIR/web/pebble.socket"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(work, 'state.yaml'), 'containers: [{ name: web, canConnect: true }]\n');
  const root = path.join(work, 'root');
  const r = await sim('run', charm, 'web-pebble-ready', '--state', path.join(work, 'state.yaml'), '--root-dir', root);
  expect(r.stdout).toMatch(/^web-pebble-ready: exit 0/);
  expect(r.stdout).toContain(`dir=${root}/charm/containers`);
  fs.rmSync(work, { recursive: true, force: true });
});
