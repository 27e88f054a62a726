import { ArnFormat, CfnOutput, CfnResource, Duration, Fn, RemovalPolicy, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { COMPLIANCE_PACKS, LOGS_ENCRYPTED_BY_SERVICE, acknowledgeOwnPolicy, acknowledgeRule } from './compliance';
import { SelfHealingNatProvider } from './nat-instance-provider';
import { NatMonitoring } from './nat-monitoring';
import { NatConfigError, Cidr, blockSize, orDefault, parseCidr, parseWholeNumber, requireBoolean, requireOrdinaryBlock, requirePattern, requireProps } from './validation';

/** Properties of a {@link NatInstanceStack}. Every one is also a CDK context key of the app. */
export interface NatInstanceStackProps extends StackProps {
  /**
   * The VPC's IPv4 CIDR block, /16 to /27, large enough for the subnets: with the default
   * subnet sizes and two zones, a /18 or larger.
   *
   * @default '10.0.0.0/16' (`NatInstanceStack.DEFAULT_VPC_CIDR`)
   */
  readonly vpcCidr?: string;

  /**
   * How many availability zones the VPC spans, 1 to 6. In an environment-agnostic stack they are
   * the region's first zones, chosen at deployment.
   *
   * @default 2 (`NatInstanceStack.DEFAULT_AZS`)
   */
  readonly azs?: number;

  /**
   * The availability zones by name, 1 to 6 of them, such as `['us-east-1a', 'us-east-1c']`:
   * choose zones that offer the instance type (`nat-doctor preflight` checks). Conflicts with
   * `azs`.
   *
   * @default - the region's first `azs` zones
   */
  readonly availabilityZones?: string[];

  /**
   * How many NAT instances, 1 to `azs`. With fewer NATs than zones, the private subnets of a
   * zone without a NAT route through a NAT in another zone: cheaper, but that zone's egress
   * then depends on another zone.
   *
   * @default - one per availability zone
   */
  readonly natCount?: number;

  /**
   * Prefix length of each public subnet (where the NATs live), /16 to /28.
   *
   * @default 24 (`NatInstanceStack.DEFAULT_PUBLIC_SUBNET_CIDR_MASK`)
   */
  readonly publicSubnetCidrMask?: number;

  /**
   * Prefix length of each private subnet, /16 to /28.
   *
   * @default 20 (`NatInstanceStack.DEFAULT_PRIVATE_SUBNET_CIDR_MASK`)
   */
  readonly privateSubnetCidrMask?: number;

  /**
   * Instance type of the NAT instances, from a supported family.
   *
   * @default - t4g.nano
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The CPU credit mode of a burstable instance type; see `SelfHealingNatProviderProps`.
   *
   * @default - the instance type's own default: unlimited for T3, T3a and T4g
   */
  readonly creditSpecification?: ec2.CpuCredits;

  /**
   * The image of the NAT instances; see `SelfHealingNatProviderProps`.
   *
   * @default - the latest Amazon Linux 2023 image for the instance type's architecture
   */
  readonly machineImage?: ec2.IMachineImage;

  /**
   * Existing Elastic IP allocation IDs, at least one per NAT; the first ones are used.
   *
   * @default - new Elastic IPs
   */
  readonly eipAllocationIds?: string[];

  /**
   * Further CIDR blocks the NATs serve (secondary VPC blocks, peered networks).
   *
   * @default - none
   */
  readonly additionalCidrs?: string[];

  /**
   * Root volume size of the NAT instances, in GiB.
   *
   * @default 8
   */
  readonly rootVolumeSize?: number;

  /**
   * ARN of a customer managed KMS key for the NAT instances' root volumes. Its key policy must
   * let the Auto Scaling service-linked role use it.
   *
   * @default - the account's default EBS key (aws/ebs)
   */
  readonly ebsKmsKeyArn?: string;

  /**
   * Whether to record the VPC's flow logs (all traffic, accepted and rejected) in CloudWatch Logs.
   *
   * @default true
   */
  readonly flowLogs?: boolean;

  /**
   * Whether the stack's log groups (flow logs, the controller's) are encrypted with a customer
   * managed KMS key of the stack's own, with yearly rotation, at $1 a month.
   *
   * @default false: CloudWatch Logs' own encryption at rest
   */
  readonly logEncryption?: boolean;

  /**
   * How many days CloudWatch Logs keeps the flow logs: one of the periods CloudWatch Logs
   * accepts (1, 3, 5, 7, 14, 30, 60, 90, ...).
   *
   * @default 30 (`NatInstanceStack.DEFAULT_FLOW_LOG_RETENTION_DAYS`)
   */
  readonly flowLogRetentionDays?: number;

  /**
   * Whether the controller fails a zone's private routes over to another zone's NAT while its
   * own is unhealthy or being replaced. The controller is always deployed (it attaches each NAT's
   * interface); `false` turns off cross-zone failover only.
   *
   * @default true
   */
  readonly routeWatchdog?: boolean;

  /**
   * Reserved concurrency for the controller function; see `SelfHealingNatProviderProps`.
   *
   * @default - no reserved concurrency
   */
  readonly controllerReservedConcurrency?: number;

  /**
   * Days a NAT instance may serve before it is replaced by one of the image of that moment;
   * see `SelfHealingNatProviderProps.maxInstanceLifetime`. 1 to 365.
   *
   * @default - no limit
   */
  readonly maxInstanceLifetimeDays?: number;

  /**
   * Whether a planned replacement hands the old NAT's connection state to the new instance, so
   * that connections through the zone's NAT go on; see
   * `SelfHealingNatProviderProps.connectionHandoff`, including the S3 gateway endpoint it adds.
   *
   * @default false
   */
  readonly connectionHandoff?: boolean;

  /**
   * Whether the NAT instances run on Spot; see `SelfHealingNatProviderProps.spot`. Needs
   * natCount 2 or more.
   *
   * @default false
   */
  readonly spot?: boolean;

  /**
   * Public addresses of each NAT, 1 or 2; see `SelfHealingNatProviderProps.publicIpsPerNat`.
   *
   * @default 1
   */
  readonly publicIpsPerNat?: number;

  /**
   * Whether to create the NAT alarms (status check, heartbeat, failover; with detailed
   * monitoring also conntrack table and ENA allowances).
   *
   * @default true
   */
  readonly alarms?: boolean;

  /**
   * ARN of an existing SNS topic the alarms notify.
   *
   * @default - alarms without actions
   */
  readonly alarmTopicArn?: string;

  /**
   * An email address to notify: the stack creates an SNS topic for the alarms, encrypted with a
   * KMS key of its own (CloudWatch cannot publish to a topic under the AWS managed key), and
   * subscribes the address, which must confirm the subscription. Conflicts with alarmTopicArn.
   *
   * @default - no topic of the stack's own
   */
  readonly alarmEmail?: string;

  /**
   * Whether to create the CloudWatch dashboard of the NATs ($3 a month beyond an account's
   * first three dashboards).
   *
   * @default - the value of detailedMonitoring
   */
  readonly dashboard?: boolean;

  /**
   * Whether the NATs publish their load metrics (connection tracking, ENA allowance drops), with
   * an alarm on each; see `SelfHealingNatProviderProps`.
   *
   * @default false
   */
  readonly detailedMonitoring?: boolean;
}

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS: readonly number[] = Object.values(logs.RetentionDays)
  .filter((v): v is number => typeof v === 'number' && v > 0)
  .sort((a, b) => a - b);

/** An address SNS can deliver to: ASCII only, so that a look-alike character is caught here. */
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** AWS spreads a region over at most six zones in practice (us-east-1 has six). */
export const MAX_AZS = 6;

/**
 * A VPC with public and private subnets in each availability zone, whose private subnets reach
 * the internet through self-healing NAT instances instead of NAT gateways.
 */
export class NatInstanceStack extends Stack {
  public static readonly DEFAULT_VPC_CIDR = '10.0.0.0/16';
  public static readonly DEFAULT_AZS = 2;
  public static readonly DEFAULT_PUBLIC_SUBNET_CIDR_MASK = 24;
  public static readonly DEFAULT_PRIVATE_SUBNET_CIDR_MASK = 20;
  public static readonly DEFAULT_FLOW_LOG_RETENTION_DAYS = 30;

  /** The VPC. */
  public readonly vpc: ec2.Vpc;

  /** The NAT provider, with the NAT instances it created. */
  public readonly natProvider: SelfHealingNatProvider;

  /** The flow logs' log group, unless flow logs are off. */
  public readonly flowLogGroup?: logs.ILogGroup;

  /** The NAT alarms, per NAT in order and then the failover alarm; none when alarms are off. */
  public readonly alarms: cloudwatch.IAlarm[];

  /** The key of the log groups, with logEncryption. */
  public readonly logKey?: kms.IKey;

  /** The NAT dashboard, unless alarms or the dashboard are off. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: NatInstanceStackProps = {}) {
    super(scope, id, requireProps('NatInstanceStackProps', props));

    const vpcCidr = parseCidr('vpcCidr', orDefault(props.vpcCidr, NatInstanceStack.DEFAULT_VPC_CIDR), 16, 27);
    requireOrdinaryBlock('vpcCidr', vpcCidr);
    const named = props.availabilityZones === undefined ? undefined : this.namedZones(props.availabilityZones, props.azs);
    const azs = named?.length ?? parseWholeNumber('azs', orDefault(props.azs, NatInstanceStack.DEFAULT_AZS), 1, MAX_AZS);
    const natCount = parseWholeNumber('natCount', orDefault(props.natCount, azs), 1, azs, ` (at most one NAT per availability zone, and azs is ${azs})`);
    const publicMask = parseWholeNumber('publicSubnetCidrMask', orDefault(props.publicSubnetCidrMask, NatInstanceStack.DEFAULT_PUBLIC_SUBNET_CIDR_MASK), 16, 28);
    const privateMask = parseWholeNumber('privateSubnetCidrMask', orDefault(props.privateSubnetCidrMask, NatInstanceStack.DEFAULT_PRIVATE_SUBNET_CIDR_MASK), 16, 28);
    checkSubnetsFit(vpcCidr, azs, { mask: publicMask, given: props.publicSubnetCidrMask !== undefined }, { mask: privateMask, given: props.privateSubnetCidrMask !== undefined });
    for (const option of ['flowLogs', 'logEncryption', 'routeWatchdog', 'alarms', 'dashboard', 'detailedMonitoring', 'connectionHandoff', 'spot'] as const) {
      requireBoolean(option, props[option]);
    }
    const flowLogs = props.flowLogs ?? true;
    const detailed = props.detailedMonitoring ?? false;
    const retention = orDefault(props.flowLogRetentionDays, NatInstanceStack.DEFAULT_FLOW_LOG_RETENTION_DAYS);
    if (!LOG_RETENTION_DAYS.includes(retention)) {
      throw new NatConfigError('flowLogRetentionDays', retention, `one of the periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`);
    }
    if (props.alarmTopicArn !== undefined && props.alarmEmail !== undefined) {
      throw new NatConfigError('alarmEmail', props.alarmEmail, 'no alarmEmail when alarmTopicArn is given: subscribe the address to that topic, or leave alarmTopicArn out and let the stack create a topic');
    }
    requirePattern('alarmEmail', props.alarmEmail, EMAIL, 'an email address such as ops@example.com');
    requirePattern('alarmTopicArn', props.alarmTopicArn, SNS_TOPIC_ARN, 'an SNS topic ARN such as arn:aws:sns:eu-west-1:111122223333:nat-alarms');
    requirePattern('ebsKmsKeyArn', props.ebsKmsKeyArn, KMS_KEY_ARN, 'a KMS key ARN such as arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');

    this.logKey = props.logEncryption ? this.logEncryptionKey() : undefined;
    this.natProvider = new SelfHealingNatProvider({
      logEncryptionKey: this.logKey,
      instanceType: props.instanceType,
      creditSpecification: props.creditSpecification,
      machineImage: props.machineImage,
      eipAllocationIds: props.eipAllocationIds,
      additionalCidrs: props.additionalCidrs,
      rootVolumeSize: props.rootVolumeSize,
      ebsEncryptionKey: props.ebsKmsKeyArn === undefined ? undefined : kms.Key.fromKeyArn(this, 'EbsKey', props.ebsKmsKeyArn),
      routeWatchdog: props.routeWatchdog,
      controllerReservedConcurrency: props.controllerReservedConcurrency,
      maxInstanceLifetime: props.maxInstanceLifetimeDays === undefined ? undefined
        : Duration.days(parseWholeNumber('maxInstanceLifetimeDays', props.maxInstanceLifetimeDays, 1, 365, ' days (the Auto Scaling group\'s limits)')),
      detailedMonitoring: detailed,
      connectionHandoff: props.connectionHandoff,
      spot: props.spot,
      publicIpsPerNat: props.publicIpsPerNat,
    });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(vpcCidr.text),
      availabilityZones: named ?? this.zones(azs),
      natGateways: natCount,
      natGatewayProvider: this.natProvider,
      subnetConfiguration: [
        // Nothing launched there gets a public address of its own: the NATs use their Elastic IPs.
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: publicMask, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: privateMask },
      ],
      // The default security group admits all traffic between its members; nothing should use it.
      restrictDefaultSecurityGroup: true,
    });
    this.confineDefaultSecurityGroupProvider();

    if (!flowLogs) {
      const reason = 'Flow logs were turned off in this stack\'s configuration (flowLogs: false); they are on by default.';
      Validations.of(this.vpc).acknowledge({ id: 'AwsSolutions::AwsSolutions-VPC7', reason });
      acknowledgeRule(this.vpc, 'VPCFlowLogsEnabled', reason);
    } else {
      this.flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
        retention,
        encryptionKey: this.logKey,
        // Deleting the stack must not take the record of past traffic with it.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.vpc.addFlowLog('FlowLog', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
        trafficType: ec2.FlowLogTrafficType.ALL,
      });
    }

    this.alarms = [];
    if (props.alarms ?? true) {
      const monitoring = new NatMonitoring(this, 'Monitoring', {
        nats: this.natProvider.natInstances,
        alarmTopic: props.alarmTopicArn !== undefined
          ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)
          : props.alarmEmail !== undefined ? this.alarmTopic(props.alarmEmail) : undefined,
        dashboard: props.dashboard ?? detailed,
        detailed,
        watchdog: props.routeWatchdog ?? true,
      });
      this.alarms = monitoring.alarms;
      this.dashboard = monitoring.dashboard;
    }

    this.acknowledgeCompliance();
    new CfnOutput(this, 'VpcId', { value: this.vpc.vpcId, description: 'The VPC' });
    this.natProvider.natInstances.forEach((nat, i) => {
      new CfnOutput(this, `Nat${i}PublicAddress`, {
        value: nat.publicIp ?? nat.allocationId,
        description: `Egress address of NAT ${i}${nat.publicIp ? '' : ' (allocation ID)'}`,
      });
      new CfnOutput(this, `Nat${i}NetworkInterface`, {
        value: nat.networkInterfaceId,
        description: `Static interface of NAT ${i}: the private routes' target`,
      });
      new CfnOutput(this, `Nat${i}AutoScalingGroup`, {
        value: nat.autoScalingGroup.autoScalingGroupName,
        description: `Auto Scaling group of NAT ${i}`,
      });
    });
  }

  /**
   * CDK's function that empties the default security group gets AWSLambdaBasicExecutionRole,
   * which lets it write to every log group of the account. It logs to a group of its own instead,
   * and may write there only.
   */
  private confineDefaultSecurityGroupProvider(): void {
    const provider = this.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    const handler = provider?.node.tryFindChild('Handler');
    const role = provider?.node.tryFindChild('Role');
    if (!(handler instanceof CfnResource) || !(role instanceof CfnResource)) {
      throw new Error('aws-cdk-lib no longer builds the default security group\'s provider as this stack expects; update confineDefaultSecurityGroupProvider');
    }
    const logGroup = new logs.LogGroup(this, 'DefaultSecurityGroupProviderLogs', { retention: logs.RetentionDays.ONE_MONTH, encryptionKey: this.logKey });
    handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
    role.addPropertyDeletionOverride('ManagedPolicyArns');
    const policy = new iam.CfnPolicy(this, 'DefaultSecurityGroupProviderLogging', {
      roles: [role.ref],
      policyName: 'WriteOwnLogs',
      policyDocument: new iam.PolicyDocument({
        statements: [new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] })],
      }),
    });
    // Its DependsOn on the role repeated the GetAtt of the role's ARN, which cfn-lint reports
    // (W3005); the log policy is what it must wait for.
    handler.addOverride('DependsOn', [policy.logicalId]);
    if (!this.logKey) {
      acknowledgeRule(logGroup, 'CloudWatchLogGroupEncrypted', LOGS_ENCRYPTED_BY_SERVICE);
    }
    acknowledgeOwnPolicy(policy, 'CDK\'s function that empties the default security group gets this one statement, on its own log group');
  }

  /** A key CloudWatch Logs may use for this account's log groups in this region, and nothing else may. */
  private logEncryptionKey(): kms.Key {
    const key = new kms.Key(this, 'LogKey', { description: 'Encrypts the NAT stack\'s CloudWatch log groups', enableKeyRotation: true });
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'], // in a key policy, '*' is this key
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': this.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
    }));
    return key;
  }

  /** Why the rules of the opt-in compliance packs that flag the stack's own parts do not apply. */
  private acknowledgeCompliance(): void {
    for (const subnet of this.vpc.publicSubnets) {
      acknowledgeRule(subnet, 'VPCNoUnrestrictedRouteToIGW', 'The public subnets hold the NATs, whose whole purpose is a route to the internet gateway; the private subnets have none.');
    }
    if (this.flowLogGroup) {
      acknowledgeOwnPolicy(this.vpc.node.findChild('FlowLog'), 'CDK\'s flow log role gets only the statements to write to its one log group');
    }
    if (this.flowLogGroup && !this.logKey) {
      acknowledgeRule(this.flowLogGroup, 'CloudWatchLogGroupEncrypted', LOGS_ENCRYPTED_BY_SERVICE);
    }
  }

  /** A topic for the alarms, under a key CloudWatch may use, with the address subscribed. */
  private alarmTopic(email: string): sns.Topic {
    // CloudWatch acting for this account's alarms, and nobody else's.
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the NAT alarm topic; CloudWatch alarms may use it to publish',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'], // in a key policy, '*' is this key
      conditions: fromOwnAlarms,
    }));
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'NAT instance alarms', masterKey: key, enforceSSL: true });
    // A topic policy replaces SNS's default one: without this statement, next to the TLS-only
    // deny, nothing would allow CloudWatch to publish, and no alarm would reach the inbox.
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: fromOwnAlarms,
    }));
    // And nobody else: without this, any principal of the account whose IAM policy allows
    // sns:Publish could send alarm-looking mail to the inbox.
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OnlyCloudWatchPublishes',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      // Absent for IAM principals, so a negated condition denies them.
      conditions: { StringNotEquals: { 'aws:PrincipalServiceName': 'cloudwatch.amazonaws.com' } },
    }));
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    acknowledgeRule(topic, 'SNSRedrivePolicy', 'A dead-letter queue would hold alarm emails that could not be delivered, which nobody reads; the alarm state stays in CloudWatch and on the dashboard.', [COMPLIANCE_PACKS.serverless]);
    return topic;
  }

  /** Zone names as given: well-formed, distinct, 1 to 6, of one region (the stack's, where it is known). */
  private namedZones(zones: unknown, azs: unknown): string[] {
    if (azs !== undefined) {
      throw new NatConfigError('availabilityZones', zones, 'either a number of zones (azs) or their names (availabilityZones), not both');
    }
    const expected = `1 to ${MAX_AZS} distinct availability zone names such as ['us-east-1a', 'us-east-1c']`;
    if (!Array.isArray(zones) || zones.length < 1 || zones.length > MAX_AZS || new Set(zones).size !== zones.length) {
      throw new NatConfigError('availabilityZones', zones, expected);
    }
    for (const zone of zones) {
      if (typeof zone !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/.test(zone)) {
        throw new NatConfigError('availabilityZones', zone, expected);
      }
      if (!Token.isUnresolved(this.region) && !zone.startsWith(this.region)) {
        throw new NatConfigError('availabilityZones', zone, `zones of the stack's region, ${this.region}`);
      }
      const region = zone.slice(0, -1);
      if (!zones[0].startsWith(region) || zones[0].length !== zone.length) {
        throw new NatConfigError('availabilityZones', zone, `zones of one region: ${zone} is not in ${zones[0].slice(0, -1)}, the region of ${zones[0]}`);
      }
    }
    return zones as string[];
  }

  /**
   * The zones to use. An environment-agnostic stack knows only two zone names (CDK's default);
   * selecting from `Fn::GetAZs` lets it span up to six, resolved at deployment.
   */
  private zones(count: number): string[] {
    if (Token.isUnresolved(this.region)) {
      return Array.from({ length: count }, (_, i) => Fn.select(i, Fn.getAzs()));
    }
    const known = this.availabilityZones;
    if (known.length < count) {
      throw new NatConfigError('azs', count, `at most ${known.length}, the number of availability zones known for ${this.region}`);
    }
    return known.slice(0, count);
  }
}

/** A subnet size, and whether the user chose it (or it is the default). */
interface SubnetMask {
  readonly mask: number;
  readonly given: boolean;
}

/**
 * CDK allocates the public subnets first, then the private ones, each aligned to its own size;
 * the VPC must hold both. The error blames what the user chose: the subnet sizes where they gave
 * one, else the VPC block.
 */
function checkSubnetsFit(vpcCidr: Cidr, azs: number, publicMask: SubnetMask, privateMask: SubnetMask): void {
  let next = 0;
  for (const { mask } of [publicMask, privateMask]) {
    const size = blockSize(mask);
    next = Math.ceil(next / size) * size + size * azs;
  }
  const available = blockSize(vpcCidr.prefix);
  if (next <= available) {
    return;
  }
  const need = `${azs} public /${publicMask.mask} and ${azs} private /${privateMask.mask} subnets need ${next} addresses`;
  if (!publicMask.given && !privateMask.given) {
    const prefix = 32 - Math.ceil(Math.log2(next));
    throw new NatConfigError('vpcCidr', vpcCidr.text,
      `a block that holds the subnets: ${need} (a /${prefix} or larger), and a /${vpcCidr.prefix} has ${available}; or choose smaller subnets with publicSubnetCidrMask and privateSubnetCidrMask`);
  }
  const given = ([['publicSubnetCidrMask', publicMask], ['privateSubnetCidrMask', privateMask]] as const).filter(([, m]) => m.given);
  const option = given.map(([name]) => name).join('/');
  const value = given.length === 1 ? given[0][1].mask : given.map(([, m]) => `/${m.mask}`).join(' and ');
  throw new NatConfigError(option, value, `subnet sizes that fit vpcCidr ${vpcCidr.text}: ${need}, the VPC has ${available}`);
}
