/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The load of 60,000 connections to one destination runs on its own, after the rest
  // (jest.scale.config.js), so that it neither slows the suites beside it nor is slowed by them.
  testPathIgnorePatterns: ['/node_modules/', '\\.scale\\.dataplane\\.test\\.ts$'],
  transform: {
    '^.+\\.tsx?$': 'ts-jest',
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 60000,
  // Jest's default on 2 cores is one worker, but most suites wait on other processes (moto, the
  // namespace lab, bash, cdk init), so two run side by side in about 60% of the time.
  maxWorkers: 2,
};
