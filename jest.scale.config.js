/**
 * The load test of many connections to one destination (test/configure-nat.scale.dataplane.test.ts),
 * which npm test runs after every other suite, alone: with another suite beside it on two cores,
 * a load of 60,000 lost a few thousand to client time-outs that it held alone.
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['**/*.scale.dataplane.test.ts'],
  maxWorkers: 1,
};
