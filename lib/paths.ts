import * as fs from 'fs';
import * as path from 'path';

/**
 * The package's root: the folder of its package.json. This file runs from lib/ in a clone and
 * from dist/lib/ once built, so the root is found rather than assumed.
 */
function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`no package.json above ${start}`);
    }
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** The boot scripts, shipped as they are in the source tree. */
export const BOOT_SCRIPTS_DIR = path.join(PACKAGE_ROOT, 'assets', 'boot');

/** The route watchdog's prebuilt Lambda bundle (tools/build.ts): one index.js. */
export const CONTROLLER_BUNDLE_DIR = path.join(PACKAGE_ROOT, 'dist', 'watchdog');

/** The prebuilt nat-doctor CLI (tools/build.ts). */
export const DOCTOR_BUNDLE = path.join(PACKAGE_ROOT, 'dist', 'nat-doctor.js');
