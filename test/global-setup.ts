import { bundleDoctor, bundleWatchdog } from '../tools/build';

/**
 * The constructs take the route watchdog's code from its prebuilt bundle, and nat-doctor runs as
 * its bundle, as they do once the package is installed; the tests build both from the sources
 * they test, every run.
 */
export default function globalSetup(): void {
  bundleWatchdog();
  bundleDoctor();
}
