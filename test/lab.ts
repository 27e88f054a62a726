import { labUnavailableReason } from '../lab/lab';

export * from '../lab/lab';

/** Registers the data-plane tests, or says why not: a failure under CI, a skip elsewhere. */
export function describeLab(name: string, body: () => void): void {
  describeUnless(labUnavailableReason(), name, body);
}

/**
 * Registers tests that need something this machine may lack. With a reason they cannot run:
 * under CI (CI=true) one failing test that gives it, elsewhere a skip with a one-line reason.
 */
export function describeUnless(reason: string | undefined, name: string, body: () => void): void {
  if (!reason) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      test('can run (CI=true requires the data-plane tests)', () => {
        throw new Error(`${name}: ${reason}`);
      });
    });
  } else {
    process.stderr.write(`skipping ${name}: ${reason}\n`);
    describe.skip(name, body);
  }
}

