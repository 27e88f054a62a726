#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { NatConfigError } from '../lib';
import { composeApp } from './compose';

// A thin composition root: configuration comes from CDK context, and the stack is
// environment-agnostic so that synth needs no credentials.
const app = new App();
try {
  composeApp(app);
} catch (error) {
  if (error instanceof NatConfigError) {
    // The message says what is wrong and what is allowed; a stack trace would bury it.
    console.error(`Error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
