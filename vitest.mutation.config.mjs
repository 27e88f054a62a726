/**
 * The tests npm run test:mutation runs against each mutant (stryker.config.json): the in-process
 * tests of the mutated files, written for jest and run here by vitest, whose workers stay loaded
 * between mutants (jest starts afresh for each, about half a second).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: true,
    environment: 'node',
    include: [
      'test/decide.test.ts',
      'test/watchdog-events.test.ts',
      'test/validation.test.ts',
      'test/app-config.test.ts',
      'test/contract.test.ts',
      'test/pricing.test.ts',
    ],
  },
});
