// Jest runs in native ESM mode (node --experimental-vm-modules, see package.json "test") because
// execa, eventsource and graphql-request are ESM-only. ts-jest transpiles each file on its own
// (isolatedModules); `npm run build` does the full type-check with tsc.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  // Workspace packages resolve to their TypeScript sources (package.json "exports", tsconfig.json).
  testEnvironmentOptions: { customExportConditions: ['@juju-ts/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true, verbatimModuleSyntax: false } }],
  },
  testMatch: ['<rootDir>/**/*.test.ts'],
  // tmp/ is scratch space (gitignored): the scaffolder's test generates charms there and runs their
  // tests itself, with these patterns overridden.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/tmp/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  testTimeout: 30000,
  // One private RabbitMQ broker for the run (the local OpenCTI emulator's queues), see tests/global-setup.mjs.
  globalSetup: '<rootDir>/tests/global-setup.mjs',
  globalTeardown: '<rootDir>/tests/global-teardown.mjs',
};
