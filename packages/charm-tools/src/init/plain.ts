/**
 * The plain-charm starter: what `charmcraft init` gives a Python author, for TypeScript. A
 * Kubernetes charm with one workload container whose Pebble layer it renders from config, a
 * config check that blocks with the option's name, collect-status, and a test in the in-process
 * simulator. Pure: an input in, `{ path: text }` out; writing is write.ts's job.
 */
import { ScaffoldError } from './errors.js';
import { CHARM_PARTS, renderProjectFiles } from './project.js';
import { KEBAB_NAME, kebabToPascal } from './names.js';

export interface PlainCharmInput {
  /** The charm's name, kebab case (e.g. `my-app`). */
  name: string;
}

function charmcraft(name: string): string {
  return `# ${name}: a Kubernetes charm in TypeScript (src/charm.ts), made by juju-ts-init.
name: ${name}
title: ${kebabToPascal(name)} charm
summary: Runs the ${name} workload and keeps it configured.
description: |
  A Juju charm on @juju-ts/ops. It runs its workload in the \`workload\` container with Pebble,
  renders the service from its config options, and reports its state in the unit status.

type: charm
base: ubuntu@24.04
build-base: ubuntu@24.04
platforms:
  amd64:

config:
  options:
    log-level:
      type: string
      default: info
      description: The workload's log level, one of debug, info, warning, error.
    port:
      type: int
      default: 8080
      description: The TCP port the workload listens on.

containers:
  workload:
    resource: workload-image
resources:
  workload-image:
    type: oci-image
    description: OCI image of the workload.
    upstream-source: docker.io/library/python:3.12-slim

${CHARM_PARTS}`;
}

function charmSource(name: string): string {
  return `/**
 * The ${name} charm: renders the workload's Pebble layer from config and replans it whenever the
 * container or the config changes. Every decision about the unit status is made in one place,
 * collect-status, from what the charm can see now.
 */
import { ActiveStatus, BlockedStatus, CharmBase, WaitingStatus, type CollectStatusEvent, type Framework, type Layer } from '@juju-ts/ops';

const CONTAINER = 'workload';
const LOG_LEVELS = ['debug', 'info', 'warning', 'error'];

export default class ${kebabToPascal(name)}Charm extends CharmBase {
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
    if (!LOG_LEVELS.includes(level)) return { problem: \`invalid config option "log-level": "\${level}" is not one of \${LOG_LEVELS.join(', ')}\` };
    const port = Number(config.get('port'));
    const layer: Layer = {
      summary: '${name} layer',
      services: {
        app: {
          override: 'replace',
          summary: 'the workload',
          command: \`python3 -m http.server \${port}\`,
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
    await container.addLayer('${name}', layer, { combine: true });
    await container.replan();
  }

  async collectStatus(event: CollectStatusEvent): Promise<void> {
    const { problem } = await this.layer();
    if (problem) event.addStatus(new BlockedStatus(problem));
    if (!(await this.unit.getContainer(CONTAINER).canConnect())) event.addStatus(new WaitingStatus('waiting for the workload container'));
    event.addStatus(new ActiveStatus());
  }
}
`;
}

function testSource(name: string): string {
  return `/**
 * ${name} in the in-process simulator (@juju-ts/ops-testing): given a State, when an event runs,
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
`;
}

function readme(name: string): string {
  return `# ${name}

A Kubernetes charm in TypeScript on [@juju-ts/ops](https://www.npmjs.com/package/@juju-ts/ops),
made by \`juju-ts-init\`.

| file | what |
|---|---|
| charmcraft.yaml | the charm: config options, the \`workload\` container and its image, the parts that build it |
| src/charm.ts | the charm class |
| tests/charm.test.ts | the charm in the in-process simulator |

    npm install                     # the framework packages and the test tools
    npm test                        # the tests
    npm run build                   # the charm Juju runs, in build/charm
    npm run sim -- run . config-changed   # one hook, run as Juju runs it
    npm run pack                    # ${name}_ubuntu@24.04-amd64.charm, offline (or: charmcraft pack)

    juju deploy ./${name}_ubuntu@24.04-amd64.charm --resource workload-image=python:3.12-slim
`;
}

/** Every file of a new plain charm, by path relative to its folder. Throws ScaffoldError on a bad name. */
export function renderPlainCharm(input: PlainCharmInput): Record<string, string> {
  const { name } = input;
  if (!KEBAB_NAME.test(name)) {
    throw new ScaffoldError([`name "${name}" is not kebab case: use lower-case letters, digits and single hyphens, starting with a letter (e.g. my-app)`]);
  }
  return {
    ...renderProjectFiles({ name, description: `The ${name} charm` }),
    'charmcraft.yaml': charmcraft(name),
    'src/charm.ts': charmSource(name),
    'tests/charm.test.ts': testSource(name),
    'README.md': readme(name),
  };
}
