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
import { kebabToConstant, envValue, CONNECTOR_LOG_LEVELS } from '../charm.js';
import type { ConfigOption } from './options.js';
import type { ConnectorSpec, TestCase } from './spec.js';

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
  if (option.type === 'float') return 1.5;
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

/** The extra `requires` endpoints, indented under `requires:`. */
function requiresYaml(spec: ConnectorSpec): string {
  if (!Object.keys(spec.requires).length) return '';
  return toYaml(spec.requires).replace(/^/gm, '  ').replace(/ +$/, '');
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
${requiresYaml(spec)}
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
${renderOverrides(spec)}}
`;
}

/** The class body for the spec's overrides (nothing without any). */
function renderOverrides(spec: ConnectorSpec): string {
  const { scope, logLevelCheck, booleanStyle } = spec.overrides;
  let body = '';
  if (booleanStyle === 'python') {
    body += `
  /** The connector reads booleans the Python way: True and False. */
  override get booleanStyle() {
    return 'python' as const;
  }
`;
  }
  const env: string[] = [];
  if (scope !== undefined) env.push(`      // Always this scope, whatever connector-scope says.\n      CONNECTOR_SCOPE: ${tsString(scope)},`);
  if (logLevelCheck) env.push('      // A log level the connector does not know becomes info, with a warning in the charm\'s log.\n      CONNECTOR_LOG_LEVEL: this.knownLogLevel(env.CONNECTOR_LOG_LEVEL),');
  if (env.length) {
    body += `
  protected override extraEnvironment(${logLevelCheck ? 'env' : '_env'}: Readonly<Record<string, string>>): Record<string, string> {
    return {
${env.join('\n')}
    };
  }
`;
  }
  return body;
}

/** The environment the base class renders from `config`, with the spec's overrides (for the sample case). */
function expectedEnvironment(spec: ConnectorSpec, config: ReadonlyMap<string, string | number | boolean>): Record<string, string> {
  const { scope, logLevelCheck, booleanStyle } = spec.overrides;
  const env: Record<string, string> = { OPENCTI_URL: TEST_OPENCTI_URL, OPENCTI_TOKEN: TEST_TOKEN, CONNECTOR_NAME: spec.charmName, CONNECTOR_TYPE: spec.type };
  for (const [name, o] of Object.entries(spec.options)) {
    const value = config.get(name) ?? o.default;
    if (value !== undefined) env[kebabToConstant(name)] = envValue(value, booleanStyle);
  }
  if (scope !== undefined) env.CONNECTOR_SCOPE = scope;
  if (logLevelCheck && !CONNECTOR_LOG_LEVELS.includes(env.CONNECTOR_LOG_LEVEL ?? '')) env.CONNECTOR_LOG_LEVEL = 'info';
  return env;
}

/** The spec's cases, or one: a sample value for every option without a default, the others defaulted. */
function testCases(spec: ConnectorSpec): TestCase[] {
  if (spec.cases.length) return spec.cases;
  const config = Object.entries(spec.options).filter(([, o]) => o.default === undefined).map(([name, o]) => [name, sampleValue(name, o)] as const);
  return [{ name: 'every option set or defaulted', config: Object.fromEntries(config), environment: expectedEnvironment(spec, new Map(config)) }];
}

/** A TypeScript object literal, one key per line at `indent`. */
function tsObject(o: Record<string, string | number | boolean>, indent: string): string {
  const lines = Object.entries(o).map(([k, v]) => `${indent}  ${tsKey(k)}: ${tsValue(v)},`);
  return lines.length ? `{\n${lines.join('\n')}\n${indent}}` : '{}';
}

function renderCase(c: TestCase): string {
  const proxy = c.proxy ? `\n    proxy: ${tsObject(c.proxy as Record<string, string>, '    ')},` : '';
  return `  {
    name: ${tsString(c.name)},
    config: ${tsObject(c.config, '    ')},${proxy}
    environment: ${tsObject(c.environment, '    ')},
  },`;
}

/** The relation data and token the tests use: the Python original's (its tests/unit/state.py). */
const TEST_OPENCTI_URL = 'https://opencti-endpoints.test-opencti-connector.svc/opencti';
const TEST_TOKEN = '00000000-0000-0000-0000-000000000000';

export function renderTest(spec: ConnectorSpec): string {
  const required = Object.entries(spec.options).filter(([, o]) => !o.optional && o.default === undefined).map(([name]) => name);
  const origin = spec.cases.length && spec.origin
    ? `\n *\n * Ported from ${spec.origin}.\n * The cases are the original's own (its tests/unit/test_connectors.py): the same config,\n * relation data, token secret and proxy settings in, exactly the same Pebble plan out;\n * CONNECTOR_ID is the id the charm published.`
    : '';
  const waitingTest = required.length
    ? `
test('without its mandatory options the connector waits, naming them', async () => {
  const out = await ctx.run(on.configChanged(), related({}));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: ${tsString(`missing configurations: ${required.join(', ')}`)} });
  expect(plan(out)).toEqual({});
});
`
    : '';
  return `/**
 * ${spec.charmName} in the in-process simulator (@juju-ts/ops-testing):
 * with its config, the opencti-connector relation and OpenCTI's token secret the leader runs the
 * connector with exactly the expected Pebble plan; a unit that is not the leader, or one of
 * several, starts nothing. Made by the scaffolder; grow it with the charm.${origin}
 */
import fs from 'node:fs';
import { Context, on, type State, type StateInput } from '@juju-ts/ops-testing';
import Charm from '../src/charm.js';

const NAME = ${tsString(spec.charmName)};
const TYPE = ${tsString(spec.type)};
const ctx = new Context(Charm, { meta: fs.readFileSync(new URL('../charmcraft.yaml', import.meta.url), 'utf8') });

const OPENCTI_URL = ${tsString(TEST_OPENCTI_URL)};
const TOKEN_SECRET = 'secret:0123456789abcdefghij';

interface Case {
  name: string;
  config: NonNullable<StateInput['config']>;
  proxy?: StateInput['proxy'];
  /** Every variable but CONNECTOR_ID. */
  environment: Record<string, string>;
}

const CASES: Case[] = [
${testCases(spec).map(renderCase).join('\n')}
];

/** The unit, its workload container up, related to OpenCTI, the token secret granted. */
function related(config: StateInput['config'], more: Partial<StateInput> = {}): StateInput {
  return {
    leader: true,
    config,
    containers: [{ name: NAME, canConnect: true }],
    relations: [{ id: 1, endpoint: 'opencti-connector', remoteAppName: 'opencti', remoteAppData: { opencti_url: OPENCTI_URL, opencti_token: TOKEN_SECRET } }],
    secrets: [{ id: TOKEN_SECRET, content: { token: ${tsString(TEST_TOKEN)} } }],
    ...more,
  };
}

/** The container's Pebble plan without its empty sections, as Python's \`Plan.to_dict()\` gives it. */
function plan(state: State): Record<string, unknown> {
  const sections = Object.entries(state.containers.find((c) => c.name === NAME)!.plan ?? {});
  return Object.fromEntries(sections.filter(([, v]) => Object.keys(v as object).length > 0));
}

test.each(CASES)('$name: config in, exactly the Pebble plan out', async ({ config, proxy, environment }) => {
  const out = await ctx.run(on.configChanged(), related(config, proxy ? { proxy } : {}));
  expect(out.unitStatus).toEqual({ name: 'active', message: '' });
  const published = out.relations[0]!.localAppData;
  expect(published).toMatchObject({ connector_charm_name: NAME, connector_type: TYPE });
  expect(plan(out)).toEqual({
    services: {
      connector: {
        override: 'replace',
        startup: 'enabled',
        'on-failure': 'restart',
        command: 'bash /entrypoint.sh',
        environment: { ...environment, CONNECTOR_ID: published.connector_id },
      },
    },
  });
});

test('a unit that is not the leader waits: it publishes nothing and starts nothing', async () => {
  const out = await ctx.run(on.configChanged(), related(CASES[0]!.config, { leader: false }));
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'waiting for leadership: only the leader can read the connector id' });
  expect(out.relations[0]!.localAppData).toEqual({});
  expect(plan(out)).toEqual({});
});

test('with more than one unit planned the connector blocks with the remedy and starts nothing', async () => {
  const out = await ctx.run(on.configChanged(), related(CASES[0]!.config, { plannedUnits: 2 }));
  expect(out.unitStatus).toEqual({ name: 'blocked', message: 'connector charm cannot have multiple units, scale down using the \`juju scale\` command' });
  expect(plan(out)).toEqual({});
});
${waitingTest}`;
}

/** The override-build lines that put /entrypoint.sh in place. */
function entrypointScript(kind: ConnectorSpec['entrypoint'], app: string): string {
  if (kind === 'generated') {
    return `      # This connector ships no entrypoint.sh: start its main.py from the folder above.
      printf 'cd ${app}; python3 main.py\\n' > "$CRAFT_PART_INSTALL/entrypoint.sh"
      chmod 0755 "$CRAFT_PART_INSTALL/entrypoint.sh"`;
  }
  return `      # The upstream entrypoint.sh starts the connector from the folder above: check it does.
      if ! grep -q '${app}' entrypoint.sh; then
        echo "entrypoint.sh does not start the connector from ${app}; adapt this part" >&2
        exit 1
      fi
      install -m 0755 entrypoint.sh "$CRAFT_PART_INSTALL/entrypoint.sh"`;
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
${entrypointScript(spec.entrypoint, app)}
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
${readmeDifferences(spec)}`;
}

/** What the charm does beyond the base class, and how it differs from the original it ports. */
function readmeDifferences(spec: ConnectorSpec): string {
  const { scope, logLevelCheck, booleanStyle } = spec.overrides;
  const behaviour: string[] = [];
  if (scope !== undefined) behaviour.push(`- \`CONNECTOR_SCOPE\` is always \`${scope}\`, whatever \`connector-scope\` says.`);
  if (logLevelCheck) behaviour.push('- A `connector-log-level` other than debug, info, warn or error becomes `info`, with a warning in the charm\'s log.');
  if (booleanStyle === 'python') behaviour.push('- Booleans reach the connector as `True` / `False` (Python style), not `true` / `false`.');
  for (const [name, e] of Object.entries(spec.requires)) behaviour.push(`- It also requires \`${name}\` (interface \`${e.interface}\`).`);
  let text = '';
  if (behaviour.length) text += `\n## Beyond the base class\n\n${behaviour.join('\n')}\n`;
  if (spec.origin || spec.notes.length) {
    text += `\n## The original\n\n${spec.origin ? `Ported from ${spec.origin}.\n` : ''}`;
    if (spec.notes.length) text += `${spec.origin ? '\n' : ''}Where it was wrong, and what is fixed here:\n\n${spec.notes.map((n) => `- ${n}`).join('\n')}\n`;
  }
  return text;
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
