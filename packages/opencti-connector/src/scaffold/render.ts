/**
 * The files of a new connector charm, as text. Pure: a ConnectorSpec in, `{ path: text }` out
 * (paths relative to the charm directory); writing is write.ts's job.
 *
 *   charmcraft.yaml       the charm: options, opencti-connector, logging, container and image, parts
 *   src/charm.ts          the charm class on OpenctiConnectorCharm
 *   rock/rockcraft.yaml   the workload image: the upstream connector from OpenCTI-Platform/connectors
 *   tests/charm.test.ts   the charm in the in-process simulator
 *   README.md             what the charm is and how to build, test and deploy it
 *   package.json, tsconfig.json, jest.config.js, .gitignore
 *                         a project of its own on the framework packages (@juju-ts/charm-tools)
 */
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { CHARM_PARTS, renderProjectFiles } from '@juju-ts/charm-tools';
import { CharmMeta } from '@juju-ts/ops';
import { kebabToConstant, envValue } from '../charm.js';
import type { ConfigOption } from './options.js';
import type { ConnectorSpec } from './spec.js';

/** A single-quoted TypeScript string literal. */
function tsString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

/** A YAML scalar on one line: plain when YAML allows it, quoted otherwise (`a: b` is not a plain scalar). */
function yamlScalar(s: string): string {
  return toYaml(s, { lineWidth: 0 }).trimEnd();
}

/** An object key in TypeScript: bare when it is an identifier, quoted otherwise. */
function tsKey(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : tsString(k);
}

/** The value a test gives an option that has no default. */
export function sampleValue(name: string, option: ConfigOption): string | number | boolean {
  if (option.type === 'int') return 42;
  if (option.type === 'boolean') return true;
  return `${name}-value`;
}

function tsValue(v: string | number | boolean): string {
  return typeof v === 'string' ? tsString(v) : String(v);
}

function optionsYaml(options: Record<string, ConfigOption>): string {
  // Keys in the order charm authors read them: type, default, description, optional.
  const ordered = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      { type: o.type, ...(o.default !== undefined ? { default: o.default } : {}), description: o.description, optional: o.optional },
    ]),
  );
  return toYaml({ config: { options: ordered } }, { lineWidth: 100, minContentWidth: 40 });
}

export function renderCharmcraft(spec: ConnectorSpec): string {
  const { charmName, displayName, type } = spec;
  return `# The OpenCTI ${displayName} connector charm, made by the scaffolder (npm run new): a TypeScript
# charm on OpenctiConnectorCharm (src/charm.ts) whose workload image is built from rock/.

name: ${charmName}
title: ${yamlScalar(`OpenCTI ${displayName} Connector`)}
summary: ${yamlScalar(`Runs the OpenCTI ${displayName} connector (${type}) for an OpenCTI platform.`)}
description: |
  A Juju charm running the OpenCTI ${displayName} connector (type ${type}) in a Kubernetes
  sidecar container.

  Integrate it with the OpenCTI charm over opencti-connector: OpenCTI gives it its URL and a
  token; the charm renders the connector's environment from them and from its config options.

${optionsYaml(spec.options)}
requires:
  logging:
    interface: loki_push_api
    optional: true

provides:
  opencti-connector:
    interface: opencti_connector
    limit: 1

type: charm
base: ubuntu@24.04
build-base: ubuntu@24.04
platforms:
  amd64:

${CHARM_PARTS}
containers:
  ${charmName}:
    resource: ${charmName}-image
resources:
  ${charmName}-image:
    type: oci-image
    description: ${yamlScalar(`OCI image of the OpenCTI ${displayName} connector (see rock/).`)}

assumes:
  - juju >= 3.4
`;
}

export function renderCharm(spec: ConnectorSpec): string {
  return `/**
 * The OpenCTI ${spec.displayName} connector charm (${spec.type}). OpenctiConnectorCharm relates it
 * to OpenCTI over opencti-connector, renders the connector's environment (each config option as
 * its CONSTANT_CASE variable) and runs the connector with Pebble.
 *
 * Override what this connector needs (docs/opencti-connector.md): extraEnvironment() for fixed or
 * derived variables, validateConfig() for rules beyond the option types, checks() and
 * workloadStatus() for the workload's health, booleanStyle if the connector reads True/False.
 */
import { OpenctiConnectorCharm } from '@juju-ts/opencti-connector';

export default class ${spec.className} extends OpenctiConnectorCharm {
  readonly connectorType = ${tsString(spec.type)};
}
`;
}

export function renderTest(spec: ConnectorSpec): string {
  const entries = Object.entries(spec.options);
  const config = entries.filter(([, o]) => o.default === undefined).map(([name, o]) => [name, sampleValue(name, o)] as const);
  const given = new Map<string, string | number | boolean>(config);
  const envLines = entries.map(([name, o]) => {
    const value = given.get(name) ?? o.default!;
    return `    ${tsKey(kebabToConstant(name))}: ${tsString(envValue(value, 'json'))},`;
  });
  const required = entries.filter(([, o]) => !o.optional && o.default === undefined).map(([name]) => name);
  const configLines = config.map(([name, v]) => `  ${tsString(name)}: ${tsValue(v)},`);
  const waitingTest = required.length
    ? `
test('without its mandatory options the connector waits, naming them', async () => {
  const out = await ctx.run(on.configChanged(), related({}));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: ${tsString(`missing configurations: ${required.join(', ')}`)} });
});
`
    : '';
  return `/**
 * ${spec.charmName} in the in-process simulator (@juju-ts/ops-testing):
 * with its config, the opencti-connector relation and OpenCTI's token secret the charm is active
 * and runs the connector with the expected environment. Made by the scaffolder; grow it with the
 * charm.
 */
import fs from 'node:fs';
import { Context, on, type State, type StateInput } from '@juju-ts/ops-testing';
import Charm from '../src/charm.js';

const NAME = ${tsString(spec.charmName)};
const ctx = new Context(Charm, { meta: fs.readFileSync(new URL('../charmcraft.yaml', import.meta.url), 'utf8') });

const OPENCTI_URL = 'http://opencti:8080';
const TOKEN_SECRET = 'secret:0123456789abcdefghij';

/** A value for every option without a default; the others keep their defaults. */
const CONFIG = {
${configLines.join('\n')}
};

/** The leader unit, its workload container up, related to OpenCTI, the token secret granted. */
function related(config: StateInput['config'] = CONFIG): StateInput {
  return {
    leader: true,
    config,
    containers: [{ name: NAME, canConnect: true }],
    relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: OPENCTI_URL, opencti_token: TOKEN_SECRET } }],
    secrets: [{ id: TOKEN_SECRET, content: { token: 'opencti-token' } }],
  };
}

function environment(state: State): Record<string, string> {
  const plan = state.containers.find((c) => c.name === NAME)!.plan as { services: Record<string, { environment: Record<string, string> }> };
  return plan.services.connector!.environment;
}

test('config, the opencti-connector relation and the token secret: active, with the environment', async () => {
  const out = await ctx.run(on.configChanged(), related());
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const published = out.relations[0]!.localAppData;
  expect(published).toMatchObject({ connector_charm_name: NAME, connector_type: ${tsString(spec.type)} });
  expect(environment(out)).toEqual({
    OPENCTI_URL,
    OPENCTI_TOKEN: 'opencti-token',
    CONNECTOR_ID: published.connector_id,
    CONNECTOR_NAME: NAME,
    CONNECTOR_TYPE: ${tsString(spec.type)},
    // Every option, as its CONSTANT_CASE variable: the value above, or the option's default.
${envLines.join('\n')}
  });
});
${waitingTest}`;
}

export function renderRock(spec: ConnectorSpec): string {
  const { upstream, charmName, displayName } = spec;
  const app = `/opt/${upstream.installDir}`;
  return `# The workload image of ${charmName}: the OpenCTI ${displayName} connector, a Python
# program, from OpenCTI-Platform/connectors ${upstream.version}, folder ${upstream.path}.
# The program goes to ${app} and its requirements into the image's Python; its
# entrypoint.sh becomes /entrypoint.sh, which the charm's Pebble service runs.

name: ${charmName}
base: ubuntu@24.04
version: '${upstream.version}'
summary: ${yamlScalar(`OpenCTI ${displayName} connector`)}
description: >-
  The OpenCTI ${displayName} connector (${spec.type}) with its Python dependencies, run by the
  ${charmName} charm.
platforms:
  amd64:

parts:
  connector:
    plugin: nil
    source: ${upstream.repo}
    source-type: git
    source-tag: '${upstream.version}'
    source-depth: 1
    build-packages: [python3-pip]
    stage-packages: [python3, python-is-python3, libffi8, libmagic1, libxml2, libxslt1.1]
    override-build: |
      craftctl default
      cd ${upstream.path}
      app="$CRAFT_PART_INSTALL${app}"
      mkdir -p "$(dirname "$app")"
      cp -rp src "$app"
      # The upstream entrypoint.sh starts the connector from the folder above: check it does.
      if ! grep -q '${app}' entrypoint.sh; then
        echo "entrypoint.sh does not start the connector from ${app}; adapt this part" >&2
        exit 1
      fi
      install -m 0755 entrypoint.sh "$CRAFT_PART_INSTALL/entrypoint.sh"
      site="$CRAFT_PART_INSTALL/usr/local/lib/python3.12/dist-packages"
      mkdir -p "$site"
      for requirements in requirements.txt src/requirements.txt; do
        if [ -f "$requirements" ]; then pip install --target "$site" -r "$requirements"; fi
      done
  ca-certificates:
    plugin: nil
    stage-packages: [ca-certificates_data, openssl_data]
`;
}

export function renderReadme(spec: ConnectorSpec): string {
  const { charmName, displayName } = spec;
  const rows = Object.entries(spec.options).map(
    ([name, o]) => `| \`${name}\` | ${o.type} | ${o.default === undefined ? '' : `\`${String(o.default).replace(/\|/g, '\\|')}\``} | ${o.optional ? 'no' : 'yes'} |`,
  );
  const required = Object.entries(spec.options).filter(([, o]) => !o.optional && o.default === undefined).map(([name]) => `${name}=...`);
  return `# OpenCTI ${displayName} connector charm

A Juju charm running the OpenCTI ${displayName} connector (\`${spec.type}\`), on
\`OpenctiConnectorCharm\` of [@juju-ts/opencti-connector](https://www.npmjs.com/package/@juju-ts/opencti-connector).
Made by the scaffolder (\`opencti-new-connector\`${spec.readme ? `; its config options come from ${spec.readme}` : ''}).

| file | what |
|---|---|
| charmcraft.yaml | the charm: config options, the workload container and its image, the \`opencti-connector\` and \`logging\` endpoints |
| src/charm.ts | the charm class |
| rock/rockcraft.yaml | the workload image: \`${spec.upstream.path}\` of OpenCTI-Platform/connectors ${spec.upstream.version} |
| tests/charm.test.ts | the charm in the simulator; \`npm test\` runs it |
| package.json | the framework packages it builds on, and the scripts below |

## Build, test, deploy

    npm install                     # the framework packages and the test tools
    npm test                        # the charm in the simulator
    npm run build                   # the charm Juju runs, in build/charm
    npm run pack                    # ${charmName}_ubuntu@24.04-amd64.charm, offline
    # or, with charmcraft and rockcraft: the workload image, then the charm
    (cd rock && rockcraft pack)
    charmcraft pack

    juju deploy ./${charmName}_ubuntu@24.04-amd64.charm --resource ${charmName}-image=<the rock in a registry>
    juju config ${charmName}${required.length ? ` ${required.join(' ')}` : ''}
    juju integrate ${charmName} opencti

## Config options

Each option reaches the connector as its CONSTANT_CASE environment variable
(\`connector-log-level\` → \`CONNECTOR_LOG_LEVEL\`). The charm waits until every required option
has a value.

| option | type | default | required |
|---|---|---|---|
${rows.join('\n')}
`;
}

/** Every file of the charm, by path relative to its directory. Checks the charmcraft.yaml it made. */
export function renderConnector(spec: ConnectorSpec): Record<string, string> {
  const files: Record<string, string> = {
    ...renderProjectFiles({
      name: spec.charmName,
      description: `The OpenCTI ${spec.displayName} connector charm`,
      packages: ['@juju-ts/opencti-connector'],
    }),
    'charmcraft.yaml': renderCharmcraft(spec),
    'src/charm.ts': renderCharm(spec),
    'rock/rockcraft.yaml': renderRock(spec),
    'tests/charm.test.ts': renderTest(spec),
    'README.md': renderReadme(spec),
  };
  // The framework's own schema: a charm the scaffolder writes loads.
  CharmMeta.fromCharmcraft(parseYaml(files['charmcraft.yaml']!) as Record<string, unknown>);
  return files;
}
