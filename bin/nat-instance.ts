#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { NatConfigError } from '../lib';
import { bundleWatchdog } from '../tools/build';
import { composeApp } from './compose';

// A thin composition root: configuration comes from CDK context, and the stack is
// environment-agnostic so that synth needs no credentials.
//
// CDK's built-in CloudFormation rules take 1.6 of synth's 3.9 s (node --cpu-prof), so this app
// runs them when asked (CDK_VALIDATION=true npx cdk synth). Every test run checks the templates
// with them and with cfn-lint; see README, "Development".
const app = new App({ builtinCloudFormationValidation: process.env.CDK_VALIDATION === 'true' });
try {
  // The controller's Lambda code is bundled here, in-process, rather than by a cdk.json build
  // step that would start a second TypeScript runtime (0.6 s) on every synth.
  bundleWatchdog();
  composeApp(app);
} catch (error) {
  if (error instanceof NatConfigError) {
    // The message says what is wrong and what is allowed; a stack trace would bury it.
    console.error(`Error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
