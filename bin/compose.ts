import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NatInstanceStack } from '../lib';
import { configFromContext } from './app-config';

/**
 * Builds the app's stack from its CDK context (cdk.json and -c key=value) and switches on the
 * AWS Solutions checks, so that synth fails on any finding not acknowledged with a reason.
 * Throws a NatConfigError, before anything is synthesized, for any value it cannot use.
 */
export function composeApp(app: App): NatInstanceStack {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const { stackName, props } = configFromContext(app.node.getAllContext());
  return new NatInstanceStack(app, stackName, {
    ...props,
    description: 'VPC whose private subnets reach the internet through self-healing NAT instances',
  });
}
