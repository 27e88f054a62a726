import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { NatConfigError, NatInstanceStack } from '../lib';
import { CompliancePack, configFromContext } from './app-config';

type ValidationPlugin = Parameters<ReturnType<typeof Validations.of>['addPlugins']>[number];

/** The opt-in packs' plugins, by the short names of -c compliance. */
const PACK_PLUGINS: Readonly<Record<CompliancePack, (app: App) => ValidationPlugin>> = {
  nist: (app) => new NIST80053R5Checks(app),
  hipaa: (app) => new HIPAASecurityChecks(app),
  pci: (app) => new PCIDSS321Checks(app),
  serverless: (app) => new ServerlessChecks(app),
};

/** Props the app fills from a context key of another name: an error names the key the user typed. */
const CONTEXT_KEY_OF_PROP: Readonly<Record<string, string>> = { availabilityZones: 'azs' };

/**
 * Builds the app's stack from its CDK context (cdk.json and -c key=value) and switches on the
 * AWS Solutions checks, and the packs -c compliance names, so that synth fails on any finding
 * not acknowledged with a reason.
 * Throws a NatConfigError, before anything is synthesized, for any value it cannot use.
 */
export function composeApp(app: App): NatInstanceStack {
  const { stackName, compliance, props } = configFromContext(app.node.getAllContext());
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), ...compliance.map((pack) => PACK_PLUGINS[pack](app)));
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
