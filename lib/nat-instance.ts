import { ArnFormat, Duration, Fn, Names, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IConstruct } from 'constructs';
import { BOOT_TIMEOUT_TAG, LAUNCH_HOOK_NAME, METRIC, NAT_GROUP_TAG, NAT_METRIC_DIMENSION, TERMINATE_HOOK_NAME, natMetricNamespace } from '../assets/contract';
import { BootScripts, addNatBoot } from './user-data';
import { COMPLIANCE_PACKS, acknowledgeOwnPolicy, acknowledgeRule } from './compliance';

/**
 * Every Auto Scaling group of the stack's account and region, as IAM matches them:
 * arn:PARTITION:autoscaling:REGION:ACCOUNT:autoScalingGroup:UUID:autoScalingGroupName/NAME.
 * The UUID exists only after creation, so statements narrow this with a tag condition.
 */
export function anyAutoScalingGroupArn(stack: Stack): string {
  return stack.formatArn({ service: 'autoscaling', resource: 'autoScalingGroup', resourceName: '*:autoScalingGroupName/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/**
 * One NAT of a {@link SelfHealingNatProvider}: a static network interface with an Elastic IP,
 * which the private route tables point at, and the Auto Scaling group of one instance that
 * serves it.
 */
export interface ISelfHealingNat extends IConstruct {
  /** The availability zone of the NAT. */
  readonly availabilityZone: string;

  /** The static network interface: the private default routes' target. */
  readonly networkInterfaceId: string;

  /** The allocation ID of the NAT's Elastic IP, its egress address. */
  readonly allocationId: string;

  /**
   * The NAT's public IPv4 address.
   *
   * @default - undefined when the address came as an allocation ID (`eipAllocationIds`)
   */
  readonly publicIp?: string;

  /** The Auto Scaling group that keeps one instance serving the interface. */
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;

  /** The instance role. */
  readonly role: iam.IRole;

  /**
   * The CloudWatch namespace of this NAT's own metrics (NatInstance/ and its interface ID): the
   * only namespace its role may publish to, so that no NAT can report for another.
   */
  readonly metricNamespace: string;

  /**
   * Self-check heartbeats: one sample a minute while the instance verifies that NAT works.
   *
   * @default - SampleCount over 1 minute
   */
  metricHeartbeat(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Connection-tracking table use, in percent: new flows are dropped at 100. Published with
   * `detailedMonitoring` only.
   *
   * @default - Maximum over 1 minute
   */
  metricConntrackUsage(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Packets dropped for exceeding the instance's bandwidth, packet-rate or connection
   * allowance (ENA): the sign that the NAT needs a larger instance type. Published with
   * `detailedMonitoring` only.
   *
   * @default - Sum over 5 minutes
   */
  metricAllowanceExceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Failed EC2 status checks of the group's instance.
   *
   * @default - Maximum over 5 minutes
   */
  metricStatusCheckFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Bytes the NAT instance received.
   *
   * @default - Sum over 5 minutes
   */
  metricNetworkIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric;

  /**
   * Bytes the NAT instance sent.
   *
   * @default - Sum over 5 minutes
   */
  metricNetworkOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** Properties of one {@link SelfHealingNat}. */
export interface SelfHealingNatProps {
  /** The VPC the NAT serves. */
  readonly vpc: ec2.IVpc;

  /** The public subnet the NAT lives in; its availability zone is the NAT's. */
  readonly subnet: ec2.ISubnet;

  /** The security group of the NAT's interfaces. */
  readonly securityGroup: ec2.ISecurityGroup;

  /** The CIDR blocks whose traffic the NAT masquerades. */
  readonly vpcCidrs: string[];

  /** The instance type. */
  readonly instanceType: ec2.InstanceType;

  /** The image of the instances. */
  readonly machineImage: ec2.IMachineImage;

  /**
   * The CPU credit mode of a burstable instance type.
   *
   * @default - the instance type's default (unlimited for T3 and T4g)
   */
  readonly creditSpecification?: ec2.CpuCredits;

  /**
   * An existing Elastic IP to use as the NAT's public address.
   *
   * @default - a new Elastic IP
   */
  readonly eipAllocationId?: string;

  /** Size of the encrypted gp3 root volume, in GiB. */
  readonly rootVolumeSize: number;

  /**
   * The KMS key of the root volume.
   *
   * @default - the account's default EBS key
   */
  readonly ebsEncryptionKey?: kms.IKey;

  /** How long CloudFormation waits for the instance to report that NAT works. */
  readonly bootTimeout: Duration;

  /**
   * How long an instance may serve before the group replaces it, launching first.
   *
   * @default - no limit
   */
  readonly maxInstanceLifetime?: Duration;

  /** The boot scripts the instance fetches at its first boot. */
  readonly bootScripts: BootScripts;

  /** Whether the instance publishes its load metrics beside its heartbeat. */
  readonly detailedMonitoring: boolean;

  /**
   * Whether a replacement takes this NAT's connection state before the interface moves
   * (`SelfHealingNatProviderProps.connectionHandoff`).
   *
   * @default false
   */
  readonly connectionHandoff?: boolean;

  /**
   * Public addresses of the NAT (`SelfHealingNatProviderProps.publicIpsPerNat`).
   *
   * @default 1
   */
  readonly publicIps?: number;

  /**
   * Whether the instances run on Spot (`SelfHealingNatProviderProps.spot`).
   *
   * @default false
   */
  readonly spot?: boolean;
}

/**
 * One NAT instance: a static network interface with an Elastic IP that private route tables
 * point at, and a self-healing Auto Scaling group of one instance that attaches that interface
 * at boot. Replacing the instance changes neither a route nor the public address.
 */
export class SelfHealingNat extends Construct implements ISelfHealingNat {
  /** The static interface: the route target of the private subnets. */
  public readonly networkInterface: ec2.CfnNetworkInterface;

  public readonly networkInterfaceId: string;

  public readonly publicIp?: string;

  public readonly metricNamespace: string;

  /** The Elastic IP, when this construct allocated it. */
  public readonly elasticIp?: ec2.CfnEIP;

  /** The Elastic IPs of the interface's secondary addresses (`publicIpsPerNat` above 1). */
  public readonly extraElasticIps: ec2.CfnEIP[];

  /** The allocation ID of the NAT's public address. */
  public readonly allocationId: string;

  /** The Auto Scaling group that keeps exactly one instance running. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  /** The launch template of the instances. */
  public readonly launchTemplate: ec2.LaunchTemplate;

  /** The instance role: Session Manager, and this NAT's own interface only. */
  public readonly role: iam.Role;

  /** The availability zone of the NAT. */
  public readonly availabilityZone: string;

  /** The NatInstanceGroup tag of this NAT's group, interface and instances. */
  public readonly groupTag: string;

  constructor(scope: Construct, id: string, props: SelfHealingNatProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.availabilityZone = props.subnet.availabilityZone;
    const groupTag = Names.uniqueId(this);
    this.groupTag = groupTag;

    const extraAddresses = (props.publicIps ?? 1) - 1;
    this.networkInterface = new ec2.CfnNetworkInterface(this, 'NetworkInterface', {
      subnetId: props.subnet.subnetId,
      groupSet: [props.securityGroup.securityGroupId],
      sourceDestCheck: false, // required for NAT: forwarded packets are not addressed to it
      description: `NAT instance interface (${this.node.path})`,
      ...(extraAddresses > 0 ? { secondaryPrivateIpAddressCount: extraAddresses } : {}),
    });
    this.networkInterfaceId = this.networkInterface.ref;
    this.metricNamespace = natMetricNamespace(this.networkInterfaceId);

    if (props.eipAllocationId) {
      this.allocationId = props.eipAllocationId;
    } else {
      this.elasticIp = new ec2.CfnEIP(this, 'ElasticIp', { domain: 'vpc' });
      this.allocationId = this.elasticIp.attrAllocationId;
      this.publicIp = this.elasticIp.ref;
    }
    // Bound to the interface, not to an instance, so that a replacement keeps the address.
    const association = new ec2.CfnEIPAssociation(this, 'ElasticIpAssociation', {
      allocationId: this.allocationId,
      networkInterfaceId: this.networkInterface.ref,
    });
    const extra = this.addExtraAddresses(extraAddresses);
    this.extraElasticIps = extra.map((e) => e.eip);
    // An Elastic IP can be associated only once the VPC has its internet gateway.
    association.node.addDependency(props.subnet.internetConnectivityEstablished);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `NAT instance ${this.node.path}`,
    });

    // Filled in below: the boot command names the Auto Scaling group, which needs this template first.
    const userData = ec2.UserData.forLinux();
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      cpuCredits: props.creditSpecification,
      userData,
      role: this.role,
      securityGroup: props.securityGroup,
      // One public IPv4 per NAT, the Elastic IP: the instance's own traffic (package repositories,
      // AWS APIs, Session Manager) leaves through the static interface, which the controller
      // attaches at launch. Explicit, since the public subnets map public addresses on launch.
      associatePublicIpAddress: false,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1, // containers on the NAT get no instance credentials
      httpEndpoint: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeSize, {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
            kmsKey: props.ebsEncryptionKey,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'AutoScalingGroup', {
      vpc: props.vpc,
      vpcSubnets: { subnets: [props.subnet] },
      ...(props.spot ? {
        mixedInstancesPolicy: {
          launchTemplate: this.launchTemplate,
          instancesDistribution: {
            onDemandBaseCapacity: 0,
            onDemandPercentageAboveBaseCapacity: 0,
            spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
          },
        },
      } : { launchTemplate: this.launchTemplate }),
      minCapacity: 1,
      maxCapacity: 1,
      // CloudFormation waits for the instance to report that NAT works, and fails the deployment otherwise.
      signals: autoscaling.Signals.waitForAll({ timeout: props.bootTimeout }),
      // A new group must boot and take the interface over before the old one goes.
      updatePolicy: autoscaling.UpdatePolicy.replacingUpdate(),
      ...(props.maxInstanceLifetime === undefined ? {} : { maxInstanceLifetime: props.maxInstanceLifetime }),
      ...(props.maxInstanceLifetime === undefined && !props.spot ? {} : {
        // The replacement launches before the old instance terminates (an expired lifetime, or a
        // Spot instance the controller marked unhealthy on its warning), so that the controller
        // moves routes and interface the planned way, never leaving the zone without a NAT.
        minHealthyPercentage: 100,
        maxHealthyPercentage: 200,
      }),
    });
    Tags.of(this.autoScalingGroup).add(NAT_GROUP_TAG, groupTag, { applyToLaunchedInstances: true });
    // nat-doctor finds a VPC's NATs by this tag on their interfaces, and their boot window by the next.
    Tags.of(this.networkInterface).add(NAT_GROUP_TAG, groupTag);
    Tags.of(this.networkInterface).add(BOOT_TIMEOUT_TAG, String(props.bootTimeout.toSeconds()));
    Tags.of(this.autoScalingGroup).add('Name', this.node.path, { applyToLaunchedInstances: true });
    this.declareLifecycleHooks(props.bootTimeout);
    // The instance needs, from the first second of its boot, its permissions, the internet (to
    // install packages and reach the AWS APIs) and, once it routes through the static interface,
    // that interface's public address.
    this.autoScalingGroup.node.addDependency(this.role, association, ...extra.map((e) => e.association), props.subnet.internetConnectivityEstablished);

    props.bootScripts.grantRead(this.role);
    addNatBoot(userData, {
      scripts: props.bootScripts,
      metricNamespace: this.metricNamespace,
      detailedMonitoring: props.detailedMonitoring,
      networkInterfaceId: this.networkInterface.ref,
      vpcCidrs: props.vpcCidrs,
      stackName: stack.stackName,
      signalResource: (this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).logicalId,
      // The old NAT serves its state on the interface's own address, which it holds until the move.
      ...(props.connectionHandoff ? { handoffAddress: this.networkInterface.attrPrimaryPrivateIpAddress } : {}),
    });

    this.grantNatPermissions(stack, groupTag);
    this.acknowledgeChecks(props.spot === true);
  }

  /**
   * One Elastic IP for each secondary address of the interface: the boot script finds the
   * addresses in instance metadata, and each new flow leaves with the next, so that one
   * destination takes more connections than one address's ports.
   */
  private addExtraAddresses(count: number): Array<{ eip: ec2.CfnEIP; association: ec2.CfnEIPAssociation }> {
    return Array.from({ length: count }, (_, i) => {
      const eip = new ec2.CfnEIP(this, `ElasticIp${i + 2}`, { domain: 'vpc' });
      const association = new ec2.CfnEIPAssociation(this, `ElasticIpAssociation${i + 2}`, {
        allocationId: eip.attrAllocationId,
        networkInterfaceId: this.networkInterface.ref,
        privateIpAddress: Fn.select(i, this.networkInterface.attrSecondaryPrivateIpAddresses),
      });
      return { eip, association };
    });
  }

  /**
   * The hooks are part of the group itself (LifecycleHookSpecificationList): CDK's
   * addLifecycleHook creates a separate resource after the group, so the group's first instance,
   * and the first of every replacing update's new group, would launch without the hook
   * (aws-cdk issue 7712) and never get its interface.
   */
  private declareLifecycleHooks(bootTimeout: Duration): void {
    const group = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    group.lifecycleHookSpecificationList = [
      {
        lifecycleHookName: LAUNCH_HOOK_NAME,
        lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        // An instance that has not proved NAT within the boot window goes (at most two hours).
        heartbeatTimeout: bootTimeout.toSeconds(),
        defaultResult: 'ABANDON',
      },
      {
        lifecycleHookName: TERMINATE_HOOK_NAME,
        lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        // Time for the controller to move the zone's routes away before the instance goes.
        heartbeatTimeout: 60,
        defaultResult: 'CONTINUE',
      },
    ];
  }

  /** Why the AWS Solutions rules (cdk-nag) that flag this construct do not apply. */
  private acknowledgeChecks(spot: boolean): void {
    if (spot) {
      // The rules read the launch template only where the group names it directly.
      const reason = 'The group launches from the launch template through its mixed instances policy (Spot), where the rule cannot follow it; that launch template requires IMDSv2 (HttpTokens required) and encrypts the root volume, as the provider\'s tests assert.';
      Validations.of(this.autoScalingGroup).acknowledge({ id: 'AwsSolutions::AwsSolutions-EC26', reason });
      acknowledgeRule(this.autoScalingGroup, 'EC2IMDSv2Enabled', reason, [COMPLIANCE_PACKS.nist, COMPLIANCE_PACKS.hipaa]);
    }
    Validations.of(this.role).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'Only actions that support no resource-level permissions: cloudwatch:PutMetricData, which a condition limits to this NAT\'s own namespace, and the four ssmmessages channel actions of a Session Manager session.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason: 'ssm:UpdateInstanceInformation, by which the agent registers its own instance; instance IDs are known only at launch.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*]',
        reason: `A group ARN holds a UUID known only after creation, and naming the group would block replacing updates; the ${NAT_GROUP_TAG} tag condition limits SetInstanceHealth to this NAT's group.`,
      },
    );
    acknowledgeOwnPolicy(this.role, 'The role\'s statements belong to this NAT alone, scoped to its own group, namespace and boot scripts');
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions::AwsSolutions-AS3',
      reason: 'The group\'s only scaling events replace its one instance; a failed boot is reported through the CloudFormation signal and instance health, not a notification topic.',
    });
  }

  /**
   * What the instance itself may do: report its own health and publish its own metrics. It may
   * not attach, detach or modify any network interface: the controller moves the interface, so a
   * compromised NAT cannot take another's.
   */
  private grantNatPermissions(stack: Stack, groupTag: string): void {
    const ownInstances = { StringEquals: { [`aws:ResourceTag/${NAT_GROUP_TAG}`]: groupTag } };
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReportOwnHealth',
      actions: ['autoscaling:SetInstanceHealth'],
      resources: [anyAutoScalingGroupArn(stack)],
      conditions: ownInstances,
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'PublishHeartbeat',
      actions: ['cloudwatch:PutMetricData'], // supports no resource-level permissions; the condition narrows it
      resources: ['*'],
      // Its own namespace only: a condition cannot restrict dimensions, so a shared namespace would
      // let one NAT publish a heartbeat for another.
      conditions: { StringEquals: { 'cloudwatch:namespace': this.metricNamespace } },
    }));
    this.grantSessionManager(stack);
    // cloudformation:SignalResource on this stack comes with the group's signals.
  }

  /**
   * Session Manager, and nothing else of Systems Manager. AmazonSSMManagedInstanceCore would
   * also let the instance read every SSM parameter (ssm:GetParameter on *), and documents and
   * Run Command messages, none of which a NAT needs; a compromised NAT must not read secrets.
   */
  private grantSessionManager(stack: Stack): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'SessionManagerRegister',
      actions: ['ssm:UpdateInstanceInformation'],
      resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'SessionManagerChannels',
      // These support no resource-level permissions.
      actions: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
      resources: ['*'],
    }));
  }

  public metricHeartbeat(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.natMetric(METRIC.heartbeat, { statistic: 'SampleCount', period: Duration.minutes(1), ...props });
  }

  public metricConntrackUsage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.natMetric(METRIC.conntrackUsage, { statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  public metricAllowanceExceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.natMetric(METRIC.allowanceExceeded, { statistic: 'Sum', period: Duration.minutes(5), ...props });
  }

  public metricStatusCheckFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.groupMetric('StatusCheckFailed', { statistic: 'Maximum', ...props });
  }

  public metricNetworkIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.groupMetric('NetworkIn', { statistic: 'Sum', ...props });
  }

  public metricNetworkOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.groupMetric('NetworkOut', { statistic: 'Sum', ...props });
  }

  /** A metric the NAT publishes itself, by its interface. */
  private natMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricNamespace, metricName, dimensionsMap: { [NAT_METRIC_DIMENSION]: this.networkInterfaceId }, ...props,
    });
  }

  /** An EC2 metric of the group's instance: the group outlives any one instance ID. */
  private groupMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/EC2', metricName, period: Duration.minutes(5),
      dimensionsMap: { AutoScalingGroupName: this.autoScalingGroup.autoScalingGroupName }, ...props,
    });
  }
}
