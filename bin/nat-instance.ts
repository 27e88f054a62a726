#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { NatConfigError, NatInstanceStack, configFromContext } from '../lib';

// A thin composition root: configuration comes from CDK context (cdk.json and -c key=value),
// and the stack is environment-agnostic so that synth needs no credentials.
const app = new App();
try {
  const { stackName, props } = configFromContext(app.node.getAllContext());
  new NatInstanceStack(app, stackName, {
    ...props,
    description: 'VPC whose private subnets reach the internet through self-healing NAT instances',
  });
} catch (error) {
  if (error instanceof NatConfigError) {
    // The message says what is wrong and what is allowed; a stack trace would bury it.
    console.error(`Error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
