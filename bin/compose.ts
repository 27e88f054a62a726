import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NatConfigError, NatInstanceStack } from '../lib';
import { configFromContext } from './app-config';

/** Props the app fills from a context key of another name: an error names the key the user typed. */
const CONTEXT_KEY_OF_PROP: Readonly<Record<string, string>> = { availabilityZones: 'azs' };

/**
 * Builds the app's stack from its CDK context (cdk.json and -c key=value) and switches on the
 * AWS Solutions checks, so that synth fails on any finding not acknowledged with a reason.
 * Throws a NatConfigError, before anything is synthesized, for any value it cannot use.
 */
export function composeApp(app: App): NatInstanceStack {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const { stackName, props } = configFromContext(app.node.getAllContext());
  try {
    return new NatInstanceStack(app, stackName, {
      ...props,
      description: 'VPC whose private subnets reach the internet through self-healing NAT instances',
    });
  } catch (error) {
    const key = error instanceof NatConfigError ? CONTEXT_KEY_OF_PROP[error.option] : undefined;
    throw key ? new NatConfigError(key, (error as NatConfigError).value, (error as NatConfigError).expected) : error;
  }
}
