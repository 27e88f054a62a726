/**
 * npm run test:unit: the quick tier for the edit-test loop. Everything in-process or against
 * fakes: no namespace lab, no moto, no cfn-lint, no CDK CLI, no npm pack, and the hostile-value
 * tables of the boot scripts sampled (NAT_TEST_TIER=unit; see test/fakes/hostile.ts).
 */
const base = require('./jest.config');

/** The suites that need the lab, moto, cfn-lint, the CDK CLI, TypeDoc, npm, or tsx processes. */
const INTEGRATION = ['\\.dataplane', 'watchdog\\.moto', 'compliance', '/package/', 'template-diff', '/app\\.test', '/api\\.test', '/cli\\.test', '/cost\\.test'];

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/', ...INTEGRATION],
};
