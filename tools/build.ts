/**
 * The build of what the package ships beside its compiled library: the route watchdog's Lambda
 * bundle and the nat-doctor CLI, each one self-contained JavaScript file made by esbuild here, so
 * that a consumer synthesizes with neither esbuild nor Docker and runs nat-doctor with no AWS SDK
 * installed.
 *
 *   npx tsx tools/build.ts [--bundles-only]
 *
 * `npm run build` runs tsc (tsconfig.build.json) and then this; `--bundles-only` is what the
 * app's synth (cdk.json "build") and the tests need from a clone: the bundles, not the library.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { CONTROLLER_BUNDLE_DIR, DOCTOR_BUNDLE, PACKAGE_ROOT } from '../lib/paths';

/** The watchdog runs on Lambda's Node.js 24 runtime, whose SDK v3 clients it uses as they are. */
export function bundleWatchdog(): string {
  fs.rmSync(CONTROLLER_BUNDLE_DIR, { recursive: true, force: true });
  const outfile = path.join(CONTROLLER_BUNDLE_DIR, 'index.js');
  buildSync({
    entryPoints: [path.join(PACKAGE_ROOT, 'assets', 'watchdog', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    external: ['@aws-sdk/*'],
    logLevel: 'error',
  });
  return outfile;
}

/** nat-doctor carries its AWS SDK clients inside, so installing the package installs no SDK. */
export function bundleDoctor(): string {
  buildSync({
    entryPoints: [path.join(PACKAGE_ROOT, 'bin', 'nat-doctor.ts')],
    outfile: DOCTOR_BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'error',
  });
  fs.chmodSync(DOCTOR_BUNDLE, 0o755);
  return DOCTOR_BUNDLE;
}

if (require.main === module) {
  const files = process.argv.includes('--bundles-only') ? [bundleWatchdog()] : [bundleWatchdog(), bundleDoctor()];
  for (const file of files) {
    process.stderr.write(`built ${path.relative(PACKAGE_ROOT, file)} (${Math.round(fs.statSync(file).size / 1024)} KiB)\n`);
  }
}
