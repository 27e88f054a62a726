/**
 * The tests npm run test:mutation runs against each mutant: the in-process unit tests of the
 * mutated files, with ts-jest transpiling only (a mutant that would not type-check still runs,
 * so that it is killed by a test, not by the compiler).
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: base.testEnvironment,
  roots: base.roots,
  testMatch: [
    '**/watchdog-logic.test.ts',
    '**/app-config.test.ts',
    '**/validation.test.ts',
    '**/contract.test.ts',
    '**/pricing.test.ts',
  ],
  transform: { '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true }] },
  testTimeout: 60000,
};
