import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { composeApp } from '../bin/compose';
import { NatConfigError } from '../lib';
import { appContext, natStack } from './helpers';

/**
 * Every configuration below is wrong. Given as construct props and as the `-c key=value`
 * strings a user types, each must fail before any template is written, with a message that
 * names the option, the value it got and what the option accepts.
 */
interface Case {
  readonly name: string;
  /** As construct props (undefined where only the app's context has the option). */
  readonly props?: Record<string, unknown>;
  /** As typed after -c. */
  readonly context: Record<string, string>;
  readonly message: string;
}

const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const CASES: Case[] = [
  { name: 'AZ count as a word', props: { azs: 'three' }, context: { azs: 'three' }, message: "Invalid azs: got 'three'; expected a whole number from 1 to 6" },
  { name: 'zero AZs', props: { azs: 0 }, context: { azs: '0' }, message: 'Invalid azs: got 0; expected a whole number from 1 to 6' },
  { name: 'seven AZs', props: { azs: 7 }, context: { azs: '7' }, message: 'Invalid azs: got 7; expected a whole number from 1 to 6' },
  { name: 'fractional AZ count', props: { azs: 2.5 }, context: { azs: '2.5' }, message: "expected a whole number from 1 to 6" },
  { name: 'prefix /33', props: { vpcCidr: '10.0.0.0/33' }, context: { vpcCidr: '10.0.0.0/33' }, message: "Invalid vpcCidr: got '10.0.0.0/33'; expected an IPv4 CIDR block with a prefix from /16 to /28, such as 10.0.0.0/16" },
  { name: 'a /28 VPC with default subnet sizes', props: { vpcCidr: '10.0.0.0/28' }, context: { vpcCidr: '10.0.0.0/28' }, message: 'Invalid publicSubnetCidrMask: got 24; expected a whole number 28 (subnets are /16 to /28 and no larger than vpcCidr 10.0.0.0/28)' },
  { name: 'VPC larger than /16', props: { vpcCidr: '10.0.0.0/8' }, context: { vpcCidr: '10.0.0.0/8' }, message: "Invalid vpcCidr: got '10.0.0.0/8'; expected an IPv4 CIDR block with a prefix from /16 to /28" },
  { name: 'CIDR with host bits', props: { vpcCidr: '10.0.0.1/16' }, context: { vpcCidr: '10.0.0.1/16' }, message: "Invalid vpcCidr: got '10.0.0.1/16'; expected a network address: host bits are set, did you mean 10.0.0.0/16?" },
  { name: 'CIDR octet over 255', props: { vpcCidr: '10.256.0.0/16' }, context: { vpcCidr: '10.256.0.0/16' }, message: "(each octet 0-255, no leading zeros)" },
  { name: 'CIDR as a word', props: { vpcCidr: 'default' }, context: { vpcCidr: 'default' }, message: "Invalid vpcCidr: got 'default'; expected an IPv4 CIDR block" },
  { name: 'NAT count 0', props: { natCount: 0 }, context: { natCount: '0' }, message: 'Invalid natCount: got 0; expected a whole number from 1 to 2 (at most one NAT per availability zone, and azs is 2)' },
  { name: 'NAT count above the AZ count', props: { azs: 2, natCount: 3 }, context: { azs: '2', natCount: '3' }, message: 'Invalid natCount: got 3; expected a whole number from 1 to 2' },
  { name: 'negative NAT count', props: { natCount: -1 }, context: { natCount: '-1' }, message: 'Invalid natCount: got -1; expected a whole number from 1 to 2' },
  { name: 'subnet mask wider than the VPC', props: { vpcCidr: '10.0.0.0/20', publicSubnetCidrMask: 18 }, context: { vpcCidr: '10.0.0.0/20', publicSubnetCidrMask: '18' }, message: 'Invalid publicSubnetCidrMask: got 18; expected a whole number from 20 to 28' },
  { name: 'subnet mask /29', props: { privateSubnetCidrMask: 29 }, context: { privateSubnetCidrMask: '29' }, message: 'Invalid privateSubnetCidrMask: got 29; expected a whole number from 16 to 28' },
  { name: 'subnets that do not fit', props: { vpcCidr: '10.0.0.0/20', azs: 3, privateSubnetCidrMask: 21 }, context: { vpcCidr: '10.0.0.0/20', azs: '3', privateSubnetCidrMask: '21' },
    message: "Invalid publicSubnetCidrMask/privateSubnetCidrMask: got '/24 and /21'; expected subnet sizes that fit vpcCidr 10.0.0.0/20: 3 public /24 and 3 private /21 subnets need 8192 addresses, the VPC has 4096" },
  { name: 'instance type of no supported family', props: { instanceType: 'x9.large' }, context: { instanceType: 'x9.large' }, message: "Invalid instanceType: got 'x9.large'; expected an instance type from a supported family: t4g, c6g" },
  { name: 'a size the family lacks', props: { instanceType: 't4g.24xlarge' }, context: { instanceType: 't4g.24xlarge' }, message: "Invalid instanceType: got 't4g.24xlarge'; expected a size that t4g has: nano, micro, small, medium, large, xlarge, 2xlarge" },
  { name: 'instance type without a size', props: { instanceType: 'large' }, context: { instanceType: 'large' }, message: "Invalid instanceType: got 'large'; expected an instance type FAMILY.SIZE such as t4g.nano" },
  { name: 'a credit mode for a type that is not burstable', props: { instanceType: 'c7g.medium', creditSpecification: 'standard' }, context: { instanceType: 'c7g.medium', creditSpecification: 'standard' },
    message: "Invalid creditSpecification: got 'standard'; expected no credit mode for c7g.medium, which is not burstable" },
  { name: 'a credit mode that does not exist', props: { creditSpecification: 'boost' }, context: { creditSpecification: 'boost' }, message: "Invalid creditSpecification: got 'boost'; expected one of standard, unlimited" },
  { name: 'the removed architecture key', context: { architecture: 'arm64' }, message: "Invalid context key: got 'architecture'; expected no architecture key: it was removed in 0.2.0" },
  { name: 'malformed EIP allocation ID', props: { natCount: 1, eipAllocationIds: ['eip-1234'] }, context: { natCount: '1', eipAllocationIds: 'eip-1234' }, message: "Invalid eipAllocationIds: got 'eip-1234'; expected Elastic IP allocation IDs such as eipalloc-0123456789abcdef0" },
  { name: 'duplicate EIP allocation IDs', props: { eipAllocationIds: ['eipalloc-01234567', 'eipalloc-01234567'] }, context: { eipAllocationIds: 'eipalloc-01234567,eipalloc-01234567' },
    message: 'Invalid eipAllocationIds: got ["eipalloc-01234567","eipalloc-01234567"]; expected each allocation ID once: eipalloc-01234567 is given twice' },
  { name: 'fewer EIP allocation IDs than NATs', props: { eipAllocationIds: ['eipalloc-01234567'] }, context: { eipAllocationIds: 'eipalloc-01234567' },
    message: 'Invalid eipAllocationIds: got ["eipalloc-01234567"]; expected at least 2 allocation IDs, one for each NAT instance' },
  { name: 'overlapping extra CIDRs', props: { additionalCidrs: ['100.64.0.0/16', '100.64.8.0/24'] }, context: { additionalCidrs: '100.64.0.0/16,100.64.8.0/24' },
    message: 'expected blocks that do not overlap: 100.64.0.0/16 and 100.64.8.0/24 do' },
  { name: 'extra CIDR inside the VPC', props: { additionalCidrs: ['10.0.128.0/17'] }, context: { additionalCidrs: '10.0.128.0/17' },
    message: "Invalid additionalCidrs: got '10.0.128.0/17'; expected blocks outside the VPC's 10.0.0.0/16, which the NAT serves already" },
  { name: 'extra CIDR that would relay the internet', props: { additionalCidrs: ['0.0.0.0/0'] }, context: { additionalCidrs: '0.0.0.0/0' },
    message: "Invalid additionalCidrs: got '0.0.0.0/0'; expected an IPv4 CIDR block with a prefix from /8 to /28" },
  { name: 'negative log retention', props: { flowLogRetentionDays: -7 }, context: { flowLogRetentionDays: '-7' }, message: 'Invalid flowLogRetentionDays: got -7; expected one of the periods CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90' },
  { name: 'log retention CloudWatch does not offer', props: { flowLogRetentionDays: 42 }, context: { flowLogRetentionDays: '42' }, message: 'Invalid flowLogRetentionDays: got 42; expected one of the periods CloudWatch Logs accepts' },
  { name: 'flow logs neither on nor off', props: { flowLogs: 'no' }, context: { flowLogs: 'no' }, message: "Invalid flowLogs: got 'no'; expected true or false" },
  { name: 'KMS key given as an alias', props: { ebsKmsKeyArn: 'alias/aws/ebs' }, context: { ebsKmsKeyArn: 'alias/aws/ebs' }, message: "Invalid ebsKmsKeyArn: got 'alias/aws/ebs'; expected a KMS key ARN such as arn:aws:kms:" },
  { name: 'alarm topic given as a name', props: { alarmTopicArn: 'nat-alarms' }, context: { alarmTopicArn: 'nat-alarms' }, message: "Invalid alarmTopicArn: got 'nat-alarms'; expected an SNS topic ARN such as arn:aws:sns:" },
  { name: 'alarm email that is no address', props: { alarmEmail: 'ops' }, context: { alarmEmail: 'ops' }, message: "Invalid alarmEmail: got 'ops'; expected an email address such as ops@example.com" },
  { name: 'alarm email and alarm topic both', props: { alarmEmail: 'ops@example.com', alarmTopicArn: 'arn:aws:sns:eu-west-1:111122223333:nat' },
    context: { alarmEmail: 'ops@example.com', alarmTopicArn: 'arn:aws:sns:eu-west-1:111122223333:nat' }, message: "Invalid alarmEmail: got 'ops@example.com'; expected no alarmEmail when alarmTopicArn is given" },
  { name: 'alarms neither on nor off', props: { alarms: 'sometimes' }, context: { alarms: 'sometimes' }, message: "Invalid alarms: got 'sometimes'; expected true or false" },
  { name: 'root volume below the image', props: { rootVolumeSize: 4 }, context: { rootVolumeSize: '4' }, message: 'Invalid rootVolumeSize: got 4; expected a whole number from 8 to 16384 GiB' },
  { name: 'a typo in a key', context: { natcount: '1' }, message: "Invalid context key: got 'natcount'; expected one of stackName, vpcCidr, azs, natCount" },
  { name: 'a key from another tool', context: { region: 'eu-west-1' }, message: "Invalid context key: got 'region'; expected one of" },
  { name: 'a stack name CloudFormation refuses', context: { stackName: 'nat_instance' }, message: "Invalid stackName: got 'nat_instance'; expected a CloudFormation stack name" },
];

test('the list covers at least 20 bad configurations, each of a different kind', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(20);
  expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  expect(KEY).toMatch(/^arn:aws:kms:/);
});

describe('as construct props', () => {
  test.each(CASES.filter((c) => c.props).map((c) => [c.name, c]))('%s', (_name, c) => {
    const error = captureError(() => natStack(c.props as never));
    expect(error).toBeInstanceOf(NatConfigError);
    expect(error.message).toContain(c.message);
  });
});

describe('as -c context of the app', () => {
  test.each(CASES.map((c) => [c.name, c]))('%s', (_name, c) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-bad-input-'));
    try {
      const app = new App({ outdir, context: appContext(c.context) });
      const error = captureError(() => {
        composeApp(app);
        app.synth();
      });
      expect(error).toBeInstanceOf(NatConfigError);
      expect(error.message).toContain(c.message);
      expect(fs.readdirSync(outdir)).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

test('a good configuration with the same context keys synthesizes (the harness can pass)', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-good-input-'));
  try {
    const app = new App({ outdir, context: appContext({ azs: '3', natCount: '2', ebsKmsKeyArn: KEY, flowLogRetentionDays: '90', eipAllocationIds: 'eipalloc-01234567,eipalloc-89abcdef' }) });
    composeApp(app);
    app.synth();
    expect(fs.readdirSync(outdir)).toContain('NatInstance.template.json');
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, got none');
}
