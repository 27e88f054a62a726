/**
 * The build of what the package ships beside its compiled library: the route watchdog's Lambda
 * bundle and the nat-doctor CLI, each one self-contained JavaScript file made by esbuild here, so
 * that a consumer synthesizes with neither esbuild nor Docker and runs nat-doctor with no AWS SDK
 * installed.
 *
 *   npx tsx tools/build.ts [--bundles-only]
 *
 * `npm run build` (and so `npm pack`) empties dist/, compiles lib/ into it with tsc
 * (tsconfig.build.json) and bundles; emptying first keeps the output of a deleted source from
 * shipping. `--bundles-only` makes only the watchdog's bundle, which synth needs; the app in bin/,
 * npm run cost and the tests' global set-up call bundleWatchdog() themselves.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { CONTROLLER_BUNDLE_DIR, DOCTOR_BUNDLE, PACKAGE_ROOT } from '../lib/paths';
import { parseCommandLine, runTool } from '../bin/cli';

/**
 * The watchdog runs on Lambda's Node.js 24 runtime, whose SDK v3 clients it uses as they are.
 *
 * The bundle is written beside its directory and renamed into it, because synths running side by
 * side (the test suites, an app synth during them) stage that directory as an asset: they must
 * see the old file or the new one, never none and never a half-written one.
 */
export function bundleWatchdog(): string {
  const outfile = path.join(CONTROLLER_BUNDLE_DIR, 'index.js');
  fs.mkdirSync(path.dirname(CONTROLLER_BUNDLE_DIR), { recursive: true });
  const scratch = fs.mkdtempSync(`${CONTROLLER_BUNDLE_DIR}-build-`);
  try {
    const built = path.join(scratch, 'index.js');
    buildSync({
      entryPoints: [path.join(PACKAGE_ROOT, 'assets', 'watchdog', 'index.ts')],
      outfile: built,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      minify: true,
      external: ['@aws-sdk/*'],
      logLevel: 'error',
    });
    fs.mkdirSync(CONTROLLER_BUNDLE_DIR, { recursive: true });
    fs.renameSync(built, outfile);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
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

/** Compiles the construct library into an emptied dist/. */
function compileLibrary(): void {
  fs.rmSync(path.join(PACKAGE_ROOT, 'dist'), { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(PACKAGE_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    throw new Error(`tsc failed (${tsc.status ?? tsc.signal})`);
  }
}

const USAGE = `Usage: npm run build [-- --bundles-only]

Compiles lib/ into an emptied dist/ and bundles the controller and nat-doctor with esbuild.
  --bundles-only   only the controller's bundle, which synth needs`;

if (require.main === module) {
  runTool('build', USAGE, () => {
    const { 'bundles-only': bundlesOnly } = parseCommandLine(USAGE, { 'bundles-only': { type: 'boolean', default: false } });
    if (!bundlesOnly) {
      compileLibrary();
    }
    const files = bundlesOnly ? [bundleWatchdog()] : [bundleWatchdog(), bundleDoctor()];
    for (const file of files) {
      process.stderr.write(`built ${path.relative(PACKAGE_ROOT, file)} (${Math.round(fs.statSync(file).size / 1024)} KiB)\n`);
    }
    return 0;
  });
}
