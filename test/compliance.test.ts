import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CloudFormationValidatePlugin, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { composeApp } from '../bin/compose';
import { SelfHealingNatProvider } from '../lib';
import { appContext } from './helpers';
import { describeUnless } from './lab';

/**
 * The checks platform teams already run: cdk-nag's AWS Solutions rules (as the app in bin/
 * runs them) and cfn-lint, on every configuration below.
 */
const ALL_PACKS = 'nist,hipaa,pci,serverless';
const CONFIGURATIONS: Record<string, Record<string, string>> = {
  'defaults': { compliance: ALL_PACKS },
  'three zones, one NAT, connection handoff': { compliance: ALL_PACKS, azs: '3', natCount: '1', connectionHandoff: 'true' },
  'x86 on Spot, own Elastic IPs, extra CIDR, KMS keys, reserved concurrency, 14-day instances, no flow logs': {
    compliance: ALL_PACKS, instanceType: 'c6i.large', eipAllocationIds: 'eipalloc-01234567,eipalloc-89abcdef', additionalCidrs: '100.64.0.0/16',
    ebsKmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', flowLogs: 'false', logEncryption: 'true', controllerReservedConcurrency: '1', maxInstanceLifetimeDays: '14', spot: 'true',
  },
  'six zones, a year of flow logs, another CIDR, an alarm email, encrypted logs': {
    compliance: ALL_PACKS, azs: '6', flowLogRetentionDays: '365', vpcCidr: '172.20.0.0/16', publicSubnetCidrMask: '26', alarmEmail: 'ops@example.com', logEncryption: 'true',
  },
};

interface Report {
  pluginReports: Array<{
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: Array<{ ruleName: string; reason: string; violatingConstructs: unknown[] }>;
  }>;
}

const PACK_NAMES = ['AwsSolutions', 'NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321', 'Serverless'];

const outdirs: string[] = [];
function synthesize(build: (app: App) => void): { error?: Error; report: Report; templates: string[] } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-compliance-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: appContext() });
  let error: Error | undefined;
  try {
    build(app);
    app.synth();
  } catch (e) {
    error = e as Error;
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as Report;
  const templates = fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(outdir, f));
  return { error, report, templates };
}
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const results = Object.entries(CONFIGURATIONS).map(([name, context]) => ({
  name,
  ...synthesize((app) => {
    for (const [key, value] of Object.entries(context)) {
      app.node.setContext(key, value);
    }
    composeApp(app);
  }),
}));

describe('cdk-nag (AWS Solutions, and the opt-in packs of -c compliance)', () => {
  test.each(results.map((r) => [r.name, r]))('%s: every pack runs, and no finding is left unacknowledged', (_name, result) => {
    expect(result.error).toBeUndefined();
    expect(result.report.pluginReports.map((p) => [p.pluginName, p.conclusion, p.violations]))
      .toEqual(PACK_NAMES.map((name) => [name, 'success', []]));
  });

  test('the default configuration\'s acknowledged findings, per pack; the options fix theirs', () => {
    const perPack = (result: (typeof results)[number]) => Object.fromEntries(result.report.pluginReports.map((p) => [p.pluginName,
      Object.fromEntries((p.suppressedViolations ?? []).map((v) => [v.ruleName.replace(/^[^-]+-|\[.*$/g, ''), 0]))]));
    const [defaults, , withOptions, withEmail] = results.map(perPack);
    for (const pack of ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321']) {
      // Fixed at no cost: public subnets give no public address on launch.
      expect(Object.keys(defaults[pack])).not.toContain('VPCSubnetAutoAssignPublicIpDisabled');
      expect(Object.keys(defaults[pack])).toContain('CloudWatchLogGroupEncrypted');
      // logEncryption fixes the log groups' finding; an alarm destination and reserved concurrency theirs.
      expect(Object.keys(withOptions[pack])).not.toContain('CloudWatchLogGroupEncrypted');
      expect(Object.keys(withEmail[pack])).not.toContain('CloudWatchAlarmAction');
    }
    expect(Object.keys(withOptions['NIST.800.53.R5'])).not.toContain('LambdaConcurrency');
    const counts = results[0].report.pluginReports.slice(1).map((p) => `${p.pluginName} ${new Set((p.suppressedViolations ?? []).map((v) => v.ruleName)).size} rules ` +
      `(${(p.suppressedViolations ?? []).reduce((n, v) => n + v.violatingConstructs.length, 0)} resources)`);
    process.stdout.write(`cdk-nag, defaults, acknowledged: ${counts.join('; ')}\n`);
    // The figures of the README's compliance table.
    expect(counts).toEqual(['NIST.800.53.R5 8 rules (19 resources)', 'HIPAA.Security 8 rules (19 resources)', 'PCI.DSS.321 5 rules (12 resources)', 'Serverless 3 rules (6 resources)']);
  });

  test('every acknowledgement carries a specific reason', () => {
    const suppressed = results.flatMap((r) => r.report.pluginReports.flatMap((p) => p.suppressedViolations ?? []));
    expect(suppressed.length).toBeGreaterThan(0);
    for (const s of suppressed) {
      expect(s.reason.length).toBeGreaterThan(40);
    }
    // Only these rules are acknowledged, each for the reason given in lib/: EC26 only for the
    // configuration on Spot, whose groups launch through a mixed instances policy.
    const rules = (list: typeof suppressed) => [...new Set(list.filter((s) => s.ruleName.startsWith('AwsSolutions-')).map((s) => s.ruleName.replace(/\[.*$/, '')))].sort();
    expect(rules(suppressed)).toEqual(['AwsSolutions-AS3', 'AwsSolutions-EC26', 'AwsSolutions-IAM5', 'AwsSolutions-VPC7']);
    const onDemand = results.filter((r) => !r.name.includes('Spot')).flatMap((r) => r.report.pluginReports.flatMap((p) => p.suppressedViolations ?? []));
    expect(rules(onDemand)).not.toContain('AwsSolutions-EC26');
  });

  test('the provider in a user\'s own VPC, its CIDR chosen at deployment, adds no finding of its own', () => {
    const result = synthesize((app) => {
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new HIPAASecurityChecks(app), new PCIDSS321Checks(app), new ServerlessChecks(app));
      const stack = new Stack(app, 'UserStack');
      const vpc = new ec2.Vpc(stack, 'Vpc', {
        maxAzs: 2,
        natGatewayProvider: new SelfHealingNatProvider(),
        ipAddresses: ec2.IpAddresses.awsIpamAllocation({ ipv4IpamPoolId: 'ipam-pool-0123456789abcdef0', ipv4NetmaskLength: 20, defaultSubnetIpv4NetmaskLength: 24 }),
      });
      // The user's VPC, the user's choice: its flow logs, public subnets and their routes are the
      // stack's business here, not the provider's.
      const theirs = 'The user stack\'s VPC, not the NAT provider under test.';
      Validations.of(vpc).acknowledge({ id: 'AwsSolutions::AwsSolutions-VPC7', reason: theirs });
      for (const pack of ['NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321']) {
        Validations.of(vpc).acknowledge(...['VPCFlowLogsEnabled', 'VPCSubnetAutoAssignPublicIpDisabled', 'VPCNoUnrestrictedRouteToIGW'].map((rule) => ({ id: `${pack}::${pack}-${rule}`, reason: theirs })));
      }
    });
    expect(result.error).toBeUndefined();
    expect(result.report.pluginReports.map((p) => [p.pluginName, p.violations])).toEqual(PACK_NAMES.map((name) => [name, []]));
  });

  test('the checks do run: a security group open to the internet fails synth', () => {
    const result = synthesize((app) => {
      const stack = composeApp(app);
      const open = new ec2.SecurityGroup(stack, 'Open', { vpc: stack.vpc, description: 'deliberately open' });
      open.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22));
    });
    expect(result.error?.message).toContain('AwsSolutions-EC23');
    expect(JSON.stringify(result.report.pluginReports[0].violations)).toContain('AwsSolutions-EC23');
  });
});

describe('CDK\'s built-in CloudFormation rules (the app in bin/ runs them only with CDK_VALIDATION=true, for speed)', () => {
  const plugin = new CloudFormationValidatePlugin();
  const validate = (file: string) => plugin.validate({
    templatePaths: [file],
    stackTemplates: [{ templatePath: file, stackConstructPath: 'NatInstance', accountId: undefined, region: undefined }],
    appConstruct: new App(),
  });

  test('every synthesized template passes them', () => {
    const templates = results.flatMap((r) => r.templates);
    expect(templates).toHaveLength(Object.keys(CONFIGURATIONS).length);
    for (const file of templates) {
      expect([path.basename(path.dirname(file)), validate(file)]).toEqual([path.basename(path.dirname(file)), { success: true, violations: [] }]);
    }
  });

  test('they do report problems: a property misspelt fails', () => {
    const template = JSON.parse(fs.readFileSync(results[0].templates[0], 'utf8'));
    const vpc = Object.values(template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).find((r) => r.Type === 'AWS::EC2::VPC')!;
    vpc.Properties.CidrBlok = vpc.Properties.CidrBlock;
    const file = path.join(outdirs[0], 'misspelt.json');
    fs.writeFileSync(file, JSON.stringify(template));
    const report = validate(file);
    expect(report.success).toBe(false);
    expect(JSON.stringify(report.violations)).toContain('CidrBlok');
  });
});

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const cfnLintMissing = cfnLint.status === 0 ? undefined : 'cfn-lint is not installed (pip install cfn-lint)';

describeUnless(cfnLintMissing, 'cfn-lint', () => {
  test('every synthesized template: no error, no warning', () => {
    const templates = results.flatMap((r) => r.templates);
    expect(templates).toHaveLength(Object.keys(CONFIGURATIONS).length);
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', '--', ...templates], { encoding: 'utf8', timeout: 120_000 });
    expect({ status: lint.status, findings: lint.stdout.trim(), stderr: lint.stderr.trim() }).toEqual({ status: 0, findings: '', stderr: '' });
  });

  test('cfn-lint does report problems: a template with a bad retention period fails', () => {
    const template = JSON.parse(fs.readFileSync(results[0].templates[0], 'utf8'));
    const group = Object.values(template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).find((r) => r.Type === 'AWS::Logs::LogGroup')!;
    group.Properties.RetentionInDays = 42;
    const file = path.join(outdirs[0], 'broken.json');
    fs.writeFileSync(file, JSON.stringify(template));
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', '--', file], { encoding: 'utf8', timeout: 60_000 });
    expect(lint.status).not.toBe(0);
    expect(lint.stdout).toMatch(/E3030:42 is not one of \[1, 3, 5/);
  });
});
