import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Lazy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { composeApp } from '../bin/compose';
import { CONTEXT_KEYS } from '../bin/app-config';
import { NatConfigError, NatInstanceStack, SelfHealingNatProvider } from '../lib';
import { appContext, natStack, vpcWithProvider } from './helpers';

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
  { name: 'prefix /33', props: { vpcCidr: '10.0.0.0/33' }, context: { vpcCidr: '10.0.0.0/33' }, message: "Invalid vpcCidr: got '10.0.0.0/33'; expected an IPv4 CIDR block with a prefix from /16 to /27, such as 10.0.0.0/16" },
  { name: 'a /28 VPC, which cannot hold two subnets', props: { vpcCidr: '10.0.0.0/28' }, context: { vpcCidr: '10.0.0.0/28' }, message: "Invalid vpcCidr: got '10.0.0.0/28'; expected an IPv4 CIDR block with a prefix from /16 to /27" },
  { name: 'a /20 VPC with default subnet sizes', props: { vpcCidr: '10.0.0.0/20' }, context: { vpcCidr: '10.0.0.0/20' },
    message: "Invalid vpcCidr: got '10.0.0.0/20'; expected a block that holds the subnets: 2 public /24 and 2 private /20 subnets need 12288 addresses (a /18 or larger), and a /20 has 4096; or choose smaller subnets with publicSubnetCidrMask and privateSubnetCidrMask" },
  { name: 'VPC larger than /16', props: { vpcCidr: '10.0.0.0/8' }, context: { vpcCidr: '10.0.0.0/8' }, message: "Invalid vpcCidr: got '10.0.0.0/8'; expected an IPv4 CIDR block with a prefix from /16 to /27" },
  { name: 'CIDR with host bits', props: { vpcCidr: '10.0.0.1/16' }, context: { vpcCidr: '10.0.0.1/16' }, message: "Invalid vpcCidr: got '10.0.0.1/16'; expected a network address: host bits are set, did you mean 10.0.0.0/16?" },
  { name: 'CIDR octet over 255', props: { vpcCidr: '10.256.0.0/16' }, context: { vpcCidr: '10.256.0.0/16' }, message: "(each octet 0-255, no leading zeros)" },
  { name: 'CIDR as a word', props: { vpcCidr: 'default' }, context: { vpcCidr: 'default' }, message: "Invalid vpcCidr: got 'default'; expected an IPv4 CIDR block" },
  { name: 'NAT count 0', props: { natCount: 0 }, context: { natCount: '0' }, message: 'Invalid natCount: got 0; expected a whole number from 1 to 2 (at most one NAT per availability zone, and azs is 2)' },
  { name: 'NAT count above the AZ count', props: { azs: 2, natCount: 3 }, context: { azs: '2', natCount: '3' }, message: 'Invalid natCount: got 3; expected a whole number from 1 to 2' },
  { name: 'negative NAT count', props: { natCount: -1 }, context: { natCount: '-1' }, message: 'Invalid natCount: got -1; expected a whole number from 1 to 2' },
  { name: 'subnet mask wider than the VPC', props: { vpcCidr: '10.0.0.0/20', publicSubnetCidrMask: 18 }, context: { vpcCidr: '10.0.0.0/20', publicSubnetCidrMask: '18' }, message: 'Invalid publicSubnetCidrMask: got 18; expected subnet sizes that fit vpcCidr 10.0.0.0/20: 2 public /18 and 2 private /20 subnets need 40960 addresses, the VPC has 4096' },
  { name: 'subnet mask /29', props: { privateSubnetCidrMask: 29 }, context: { privateSubnetCidrMask: '29' }, message: 'Invalid privateSubnetCidrMask: got 29; expected a whole number from 16 to 28' },
  { name: 'subnets that do not fit', props: { vpcCidr: '10.0.0.0/20', azs: 3, privateSubnetCidrMask: 21 }, context: { vpcCidr: '10.0.0.0/20', azs: '3', privateSubnetCidrMask: '21' },
    message: "Invalid privateSubnetCidrMask: got 21; expected subnet sizes that fit vpcCidr 10.0.0.0/20: 3 public /24 and 3 private /21 subnets need 8192 addresses, the VPC has 4096" },
  { name: 'instance type of no supported family', props: { instanceType: new ec2.InstanceType('x9.large') }, context: { instanceType: 'x9.large' }, message: "Invalid instanceType: got 'x9.large'; expected an instance type from a supported family: t4g, c6g" },
  { name: 'a size the family lacks', props: { instanceType: new ec2.InstanceType('t4g.24xlarge') }, context: { instanceType: 't4g.24xlarge' }, message: "Invalid instanceType: got 't4g.24xlarge'; expected a size that t4g has: nano, micro, small, medium, large, xlarge, 2xlarge" },
  { name: 'instance type without a size', props: { instanceType: new ec2.InstanceType('large') }, context: { instanceType: 'large' }, message: "Invalid instanceType: got 'large'; expected an instance type FAMILY.SIZE such as t4g.nano" },
  { name: 'a credit mode for a type that is not burstable', props: { instanceType: new ec2.InstanceType('c7g.medium'), creditSpecification: 'standard' }, context: { instanceType: 'c7g.medium', creditSpecification: 'standard' },
    message: "Invalid creditSpecification: got 'standard'; expected no credit mode for c7g.medium, which is not burstable" },
  { name: 'a credit mode that does not exist', props: { creditSpecification: 'boost' }, context: { creditSpecification: 'boost' }, message: "Invalid creditSpecification: got 'boost'; expected one of standard, unlimited" },
  { name: 'Spot with a single NAT', props: { natCount: 1, spot: true }, context: { natCount: '1', spot: 'true' },
    message: "Invalid spot: got true; expected at least two NATs for Spot (this VPC has 1): when a Spot NAT is reclaimed its zone's routes move to another zone's NAT, and with one NAT there is none; give the VPC two NATs or more (natGateways of ec2.Vpc, natCount of the app), or leave spot off" },
  { name: 'Spot without failover', props: { spot: true, routeWatchdog: false }, context: { spot: 'true', routeWatchdog: 'false' },
    message: "Invalid spot: got true; expected no Spot without the route watchdog's failover (routeWatchdog: false)" },
  { name: 'three public addresses per NAT', props: { publicIpsPerNat: 3 }, context: { publicIpsPerNat: '3' },
    message: 'Invalid publicIpsPerNat: got 3; expected a whole number from 1 to 2 (each interface of every supported instance type holds 2 addresses)' },
  { name: 'two public addresses with given Elastic IPs', props: { publicIpsPerNat: 2, eipAllocationIds: ['eipalloc-01234567', 'eipalloc-89abcdef'] },
    context: { publicIpsPerNat: '2', eipAllocationIds: 'eipalloc-01234567,eipalloc-89abcdef' },
    message: 'Invalid publicIpsPerNat: got 2; expected no more than 1 with eipAllocationIds: the further addresses are allocated by the stack' },
  { name: 'two public addresses with the connection handoff', props: { publicIpsPerNat: 2, connectionHandoff: true }, context: { publicIpsPerNat: '2', connectionHandoff: 'true' },
    message: 'Invalid publicIpsPerNat: got 2; expected no more than 1 with connectionHandoff, which carries the flows of the first address only' },
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
  ...([['0.0.0.0/8', '0.0.0.0/8', '"this network"'], ['127.0.0.0/8', '127.0.0.0/8', 'loopback'], ['169.254.169.0/24', '169.254.0.0/16', 'link-local (instance metadata, DNS, time)'],
    ['239.0.0.0/8', '224.0.0.0/4', 'multicast'], ['255.255.255.240/28', '240.0.0.0/4', 'reserved, with the broadcast address']] as const).map(([cidr, within, name]) => ({
    name: `extra CIDR ${cidr}, a special range`, props: { additionalCidrs: [cidr] }, context: { additionalCidrs: cidr },
    message: `Invalid additionalCidrs: got '${cidr}'; expected no block within ${within}, which is ${name}: no network the NAT can serve`,
  })),
  { name: 'more extra CIDRs than the security group has rules for', props: { additionalCidrs: Array.from({ length: 60 }, (_, i) => `100.${64 + i}.0.0/16`) },
    context: { additionalCidrs: Array.from({ length: 60 }, (_, i) => `100.${64 + i}.0.0/16`).join(',') },
    message: "Invalid additionalCidrs: got '60 blocks'; expected at most 59: the NATs' security group admits the VPC's block and each of these by one inbound rule, and a security group holds 60 (Amazon VPC's quota of inbound rules per security group)" },
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
  { name: 'a key that names a property of every object', context: { toString: '1' }, message: "Invalid context key: got 'toString'; expected one of stackName," },
  { name: 'a stack name CloudFormation refuses', context: { stackName: 'nat_instance' }, message: "Invalid stackName: got 'nat_instance'; expected a CloudFormation stack name" },
];

/**
 * Wrong types and forms, generated: for every prop of the stack and the provider and every
 * context key, values of the wrong JavaScript type, null, NaN, Infinity, negative, fractional,
 * empty, very long, look-alike and token values. Each is [value, how the message must show it].
 */
type Bad = readonly [unknown, string];
const LONG = 'a'.repeat(5000);
const LONG_SHOWN = `'${'a'.repeat(80)}…' (5000 characters)`;
const numberToken = Token.asNumber(Lazy.number({ produce: () => 2 }));
const stringToken = Lazy.string({ produce: () => '10.0.0.0/16' });

const BAD_VALUES: Record<string, readonly Bad[]> = {
  boolean: [['false', "'false'"], ['true', "'true'"], [0, '0'], [1, '1'], [null, 'null'], [[], '[]'], ['', "''"]],
  wholeNumber: [['2', "'2'"], [NaN, 'NaN'], [Infinity, 'Infinity'], [-1, '-1'], [2.5, '2.5'], [null, 'null'], [[2], '[2]'], [true, 'true'], [numberToken, String(numberToken)]],
  cidr: [[123, '123'], [['10.0.0.0/16'], '["10.0.0.0/16"]'], [null, 'null'], ['', "''"], [' 10.0.0.0/16', "' 10.0.0.0/16'"],
    ['１０.0.0.0/16', "'１０.0.0.0/16'"], ['10.0.0.0/16\n', "'10.0.0.0/16\\n'"], [LONG, LONG_SHOWN], [stringToken, `'${stringToken}'`],
    ['127.0.0.0/16', "'127.0.0.0/16'"], ['169.254.0.0/16', "'169.254.0.0/16'"], ['224.0.0.0/16', "'224.0.0.0/16'"]],
  kmsArn: [[123, '123'], [['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'], '["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]'],
    [null, 'null'], ['', "''"], [LONG, LONG_SHOWN], ['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890aЬ', "'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890aЬ'"]],
  topicArn: [[123, '123'], [['arn:aws:sns:eu-west-1:111122223333:nat'], '["arn:aws:sns:eu-west-1:111122223333:nat"]'], [null, 'null'], ['', "''"], [LONG, LONG_SHOWN],
    ['arn:aws:sns:eu-west-1:111122223333:nat alarms', "'arn:aws:sns:eu-west-1:111122223333:nat alarms'"]],
  email: [[123, '123'], [['ops@example.com'], '["ops@example.com"]'], [null, 'null'], ['', "''"], ['ops@exаmple.com', "'ops@exаmple.com'"],
    ['ops@example.com\nBcc: x@example.org', "'ops@example.com\\nBcc: x@example.org'"], [LONG, LONG_SHOWN]],
  allocationIds: [['eipalloc-01234567', "'eipalloc-01234567'"], [123, '123'], [null, 'null'], [[123], '123'], [[null], 'null'], [{}, '{}']],
  cidrList: [['100.64.0.0/16', "'100.64.0.0/16'"], [123, '123'], [null, 'null'], [[123], '123'], [[null], 'null'], [{}, '{}'], [[stringToken], `'${stringToken}'`]],
  instanceType: [['t4g.nano', "'t4g.nano'"], [5, '5'], [null, 'null'], [{}, '{}'], [[], '[]']],
  credit: [['STANDARD', "'STANDARD'"], [null, 'null'], [1, '1'], ['', "''"], [['standard'], '["standard"]']],
  image: [['ami-0123456789abcdef0', "'ami-0123456789abcdef0'"], [null, 'null'], [{}, '{}'], [5, '5']],
  zones: [['us-east-1a', "'us-east-1a'"], [null, 'null'], [[], '[]'], [['us-east-1a', 'us-east-1a'], '["us-east-1a","us-east-1a"]'], [['US-EAST-1A'], "'US-EAST-1A'"], [[1], '1'],
    [['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((z) => `us-east-1${z}`), '["us-east-1a","us-east-1b","us-east-1c","us-east-1d","us-east-1e","us-east-1f","us-east-1g"]']],
  key: [['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', "'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'"], [null, 'null'], [{}, '{}']],
  duration: [[900, '900'], ['PT15M', "'PT15M'"], [null, 'null'], [{}, '{}'], [Duration.millis(61500), "'61.5 seconds'"], [Duration.minutes(NaN), "'NaN seconds'"],
    [{ toSeconds: () => NaN }, "'NaN seconds'"], [Duration.seconds(numberToken), "'a token'"]],
};

/** Every prop of NatInstanceStackProps (but StackProps') and its kind. */
const STACK_PROPS: Record<string, string> = {
  vpcCidr: 'cidr', azs: 'wholeNumber', availabilityZones: 'zones', natCount: 'wholeNumber', publicSubnetCidrMask: 'wholeNumber',
  privateSubnetCidrMask: 'wholeNumber', instanceType: 'instanceType', creditSpecification: 'credit', machineImage: 'image',
  eipAllocationIds: 'allocationIds', additionalCidrs: 'cidrList', rootVolumeSize: 'wholeNumber', ebsKmsKeyArn: 'kmsArn', flowLogs: 'boolean', logEncryption: 'boolean',
  flowLogRetentionDays: 'wholeNumber', routeWatchdog: 'boolean', controllerReservedConcurrency: 'wholeNumber', maxInstanceLifetimeDays: 'wholeNumber', connectionHandoff: 'boolean', spot: 'boolean', publicIpsPerNat: 'wholeNumber', alarms: 'boolean',
  alarmTopicArn: 'topicArn', alarmEmail: 'email', dashboard: 'boolean', detailedMonitoring: 'boolean',
};

/** Every prop of SelfHealingNatProviderProps and its kind, given to the provider of a user's own ec2.Vpc. */
const PROVIDER_PROPS: Record<string, string> = {
  instanceType: 'instanceType', machineImage: 'image', creditSpecification: 'credit', eipAllocationIds: 'allocationIds', additionalCidrs: 'cidrList',
  rootVolumeSize: 'wholeNumber', ebsEncryptionKey: 'key', logEncryptionKey: 'key', routeWatchdog: 'boolean', detailedMonitoring: 'boolean', controllerReservedConcurrency: 'wholeNumber',
  bootTimeout: 'duration', maxInstanceLifetime: 'duration', connectionHandoff: 'boolean', spot: 'boolean', publicIpsPerNat: 'wholeNumber',
};

/** Bad strings as typed after -c, by the kind of the context key. */
const BAD_TYPED: Record<string, readonly string[]> = {
  boolean: ['yes', '1', '', ' '],
  number: ['two', '2.5', '1e3', '', '-0x1', '２', '99999999999999999999999', '-0'],
  string: ['', ' ', '$(reboot)', LONG],
  list: ['', ',', 'a,,b'],
  instanceType: ['', 't4g', 't4g.nano;reboot'],
  creditSpecification: ['', 'boost', 'standard,unlimited'],
  zones: ['us-east-1a,us-east-1a', 'us-east-1', 'us-east-1a,eu-west-1a'],
  packs: ['', 'sox', 'nist,nist', 'NIST', 'toString', 'constructor'],
  images: ['', 'ami-0123456789abcdef0', 'eu-west-1=ami-xyz', 'eu-west-1=ami-0123456789abcdef0,eu-west-1=ami-0123456789abcdef1'],
};

/** Values of the wrong JSON type, as cdk.json can hold them. */
const BAD_JSON: ReadonlyArray<readonly [string, unknown]> = [
  ['flowLogs', 0], ['natCount', '2 NATs'], ['additionalCidrs', {}], ['instanceType', 5], ['azs', []], ['vpcCidr', 16], ['stackName', 5], ['creditSpecification', true], ['amiIds', 7],
];

/** Lists are checked item by item: the message shows the item at fault, or the list where the fault is in it as a whole. */
const AT_FAULT: Record<string, string> = {
  'us-east-1a,us-east-1a': '["us-east-1a","us-east-1a"]',
  'us-east-1a,eu-west-1a': "'eu-west-1a'",
  'eu-west-1=ami-0123456789abcdef0,eu-west-1=ami-0123456789abcdef1': "'eu-west-1=ami-0123456789abcdef1'",
};

const shownTyped = (value: string) => (value.length > 80 ? LONG_SHOWN : `'${value}'`);

interface Generated {
  readonly name: string;
  readonly option: string;
  readonly build: () => unknown;
  /** The start of the message: the option and the value as given. */
  readonly prefix: string;
}

function propCases(props: Record<string, string>, build: (option: string, value: unknown) => unknown): Generated[] {
  return Object.entries(props).flatMap(([option, kind]) => BAD_VALUES[kind].map(([value, shown]) => ({
    name: `${option} = ${shown.slice(0, 40)}`, option, build: () => build(option, value), prefix: `Invalid ${option}: got ${shown}; expected `,
  })));
}

const GENERATED_PROPS: Generated[] = [
  ...([[null, 'null'], ['vpcCidr=10.0.0.0/16', "'vpcCidr=10.0.0.0/16'"], [[], '[]']] as const).flatMap(([props, shown]) => [
    { name: `stack props ${shown}`, option: 'props', build: () => new NatInstanceStack(new App(), 'S', props as never), prefix: `Invalid props: got ${shown}; expected an object of NatInstanceStackProps` },
    { name: `provider props ${shown}`, option: 'props', build: () => new SelfHealingNatProvider(props as never), prefix: `Invalid props: got ${shown}; expected an object of SelfHealingNatProviderProps` },
  ]),
  ...propCases(STACK_PROPS, (option, value) => natStack({ [option]: value } as never)),
  ...propCases(PROVIDER_PROPS, (option, value) => vpcWithProvider({ [option]: value } as never)).map((c) => ({ ...c, name: `provider ${c.name}` })),
];

const GENERATED_CONTEXT: Array<Generated & { readonly context: Record<string, unknown> }> = [
  ...Object.entries(CONTEXT_KEYS).flatMap(([key, kind]) => (BAD_TYPED[kind] ?? BAD_TYPED[key === 'stackName' ? 'string' : kind] ?? []).map((typed) => ({
    name: `-c ${key}=${typed.slice(0, 30)}`, option: key, context: { [key]: typed }, build: () => undefined,
    prefix: `Invalid ${key}: got ${Object.hasOwn(AT_FAULT, typed) ? AT_FAULT[typed] : shownTyped(typed)}; expected `,
  }))),
  ...BAD_JSON.map(([key, value]) => ({
    name: `cdk.json ${key}: ${JSON.stringify(value)}`, option: key, context: { [key]: value }, build: () => undefined,
    prefix: `Invalid ${key}: got ${typeof value === 'string' ? `'${value}'` : JSON.stringify(value)}; expected `,
  })),
];

describe('wrong types and forms, generated', () => {
  test('every prop and context key is covered, and the table holds at least 150 bad inputs', () => {
    expect(Object.keys(STACK_PROPS).sort()).toEqual(documentedProps('NatInstanceStackProps'));
    expect(Object.keys(PROVIDER_PROPS).sort()).toEqual(documentedProps('SelfHealingNatProviderProps'));
    expect(Object.keys(CONTEXT_KEYS).filter((k) => !GENERATED_CONTEXT.some((c) => c.option === k))).toEqual([]);
    const total = CASES.length + GENERATED_PROPS.length + GENERATED_CONTEXT.length;
    expect(total).toBeGreaterThanOrEqual(150);
    process.stdout.write(`bad inputs: ${total} (${CASES.length} by hand, ${GENERATED_PROPS.length} generated props, ${GENERATED_CONTEXT.length} generated context values)\n`);
  });

  test.each(GENERATED_PROPS.map((c) => [c.name, c]))('prop %s', (_name, c) => {
    const error = captureError(c.build);
    expect(error).toBeInstanceOf(NatConfigError);
    expect(error.message.startsWith(c.prefix) ? c.prefix : error.message).toBe(c.prefix);
  });

  test.each(GENERATED_CONTEXT.map((c) => [c.name, c]))('%s', (_name, c) => {
    const error = synthesizeWith(c.context);
    expect(error).toBeInstanceOf(NatConfigError);
    expect(error.message.startsWith(c.prefix) ? c.prefix : error.message).toBe(c.prefix);
  });
});

/** The props an interface of the public API declares itself, from the API report (API.md). */
function documentedProps(name: string): string[] {
  const api = fs.readFileSync(path.join(__dirname, '..', 'API.md'), 'utf8');
  const section = api.slice(api.indexOf(`### ${name}\n`));
  const own = section.slice(0, section.indexOf('\n***'));
  return [...own.matchAll(/^\| <a id="[^"]+"><\/a> `(\w+)\??` \|/gm)].map((m) => m[1]).sort();
}

/** Composes the app from the given context; the error it throws, with nothing written. */
function synthesizeWith(context: Record<string, unknown>): Error {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-bad-input-'));
  try {
    const app = new App({ outdir, context: appContext(context) });
    const error = captureError(() => {
      composeApp(app);
      app.synth();
    });
    expect(fs.readdirSync(outdir)).toEqual([]);
    return error;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

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

/** Every bad input tried in this file, by outcome; each test then asserts its own. */
const outcomes = { 'clear error': 0, crash: 0, accepted: 0 };
afterAll(() => {
  process.stdout.write(`bad inputs by outcome: ${Object.entries(outcomes).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    outcomes[error instanceof NatConfigError ? 'clear error' : 'crash']++;
    return error as Error;
  }
  outcomes.accepted++;
  throw new Error('expected an error, got none');
}
