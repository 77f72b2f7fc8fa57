// Jest in native ESM mode (npm test passes --experimental-vm-modules): the framework packages are
// ES modules. ts-jest transpiles each test file on its own.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true, verbatimModuleSyntax: false } }],
  },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
};
