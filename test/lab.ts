import { labUnavailableReason } from '../lab/lab';

export * from '../lab/lab';

/** Registers the data-plane tests, or says why not: a failure under CI, a skip elsewhere. */
export function describeLab(name: string, body: () => void): void {
  const reason = labUnavailableReason();
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

