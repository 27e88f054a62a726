#!/usr/bin/env node
// nat-doctor: runs the TypeScript CLI (bin/nat-doctor-cli.ts) through tsx, so that it works
// from a clone with nothing compiled.
require('tsx/cjs');
require('./nat-doctor-cli.ts')
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
