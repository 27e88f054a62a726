/**
 * The load test of many connections to one destination (test/configure-nat.scale.dataplane.test.ts),
 * which npm test runs after every other suite, alone: it keeps both cores busy for its 15 s.
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['**/*.scale.dataplane.test.ts'],
  maxWorkers: 1,
};
