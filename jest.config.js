// Jest runs in native ESM mode (node --experimental-vm-modules, see package.json "test") because
// execa, eventsource and graphql-request are ESM-only. esbuild strips each file's types on its own
// (tests/esbuild-transform.mjs); `npm run typecheck` and `npm run build` do the type-check with tsc.
import os from 'node:os';

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  // Workspace packages resolve to their TypeScript sources (package.json "exports", tsconfig.json).
  testEnvironmentOptions: { customExportConditions: ['@juju-ts/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': '<rootDir>/tests/esbuild-transform.mjs',
  },
  testMatch: ['<rootDir>/**/*.test.ts'],
  // tmp/ is scratch space (gitignored): the scaffolder's test generates charms there and runs their
  // tests itself, with these patterns overridden.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/tmp/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  // A guard against hangs, not a measure of speed: many tests spawn processes (node with tsx, npm,
  // the synchronizer, a broker), and on a 2-core machine shared with other jobs the slowest reached
  // 18 s of jest's default 30 s under load. Files with longer tests set their own (jest.setTimeout).
  testTimeout: 60_000,
  // jest's default on 2 cores is 1 worker, one file at a time; most of the slow files wait on child
  // processes, sockets and timers rather than compute, so more workers than cores overlap that
  // waiting. Twice the cores: on this 2-core machine, warm caches, 4 workers ran the suite in
  // 158 s of jest time (171% CPU), 3 workers in 174 s (149%).
  maxWorkers: Math.max(2, os.availableParallelism() * 2),
  // One private RabbitMQ broker for the run (the local OpenCTI emulator's queues), see tests/global-setup.mjs.
  globalSetup: '<rootDir>/tests/global-setup.mjs',
  globalTeardown: '<rootDir>/tests/global-teardown.mjs',
};
