// @ts-check
const { pathsToModuleNameMapper } = require('ts-jest');
const base = require('./tsconfig.base.json');

const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  moduleNameMapper: pathsToModuleNameMapper(base.compilerOptions.paths, { prefix: '<rootDir>/' }),
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  setupFiles: ['reflect-metadata'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  // After every run, the output of every service process the tests started (the end-to-end tests) is
  // searched for CPR numbers in clear (tools/scripts/e2e-logs-check.js).
  globalSetup: '<rootDir>/tools/scripts/e2e-logs-setup.js',
  globalTeardown: '<rootDir>/tools/scripts/e2e-logs-check.js',
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.unit.spec.ts'] },
    // Integration and end-to-end tests get longer per-test timeouts (jest.tier-timeouts.js).
    { ...shared, displayName: 'int', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.int.spec.ts'], setupFilesAfterEnv: ['<rootDir>/jest.tier-timeouts.js'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.e2e.spec.ts'], setupFilesAfterEnv: ['<rootDir>/jest.tier-timeouts.js'] },
  ],
};
