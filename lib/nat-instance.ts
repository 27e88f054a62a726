import { ArnFormat, Duration, Names, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { NatArchitecture } from './instance-types';
import { addNatBoot } from './user-data';

/** The CloudWatch namespace of the NATs' heartbeat and of the watchdog's RouteMoved metric. */
export const HEARTBEAT_NAMESPACE = 'NatInstance';

/**
 * Every Auto Scaling group of the stack's account and region, as IAM matches them:
 * arn:PARTITION:autoscaling:REGION:ACCOUNT:autoScalingGroup:UUID:autoScalingGroupName/NAME.
 * The UUID exists only after creation, so statements narrow this with a tag condition.
 */
export function anyAutoScalingGroupArn(stack: Stack): string {
  return stack.formatArn({ service: 'autoscaling', resource: 'autoScalingGroup', resourceName: '*:autoScalingGroupName/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** The tag that ties a NAT's instances to the IAM conditions of its role. */
export const NAT_GROUP_TAG = 'NatInstanceGroup';

/** Properties of one {@link NatInstance}. */
export interface NatInstanceProps {
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

  /** The architecture of the Amazon Linux 2023 image; must match the instance type. */
  readonly architecture: NatArchitecture;

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
}

/**
 * One NAT instance: a static network interface with an Elastic IP that private route tables
 * point at, and a self-healing Auto Scaling group of one instance that attaches that interface
 * at boot. Replacing the instance changes neither a route nor the public address.
 */
export class NatInstance extends Construct {
  /** The static interface: the route target of the private subnets. */
  public readonly networkInterface: ec2.CfnNetworkInterface;

  /** The Elastic IP, when this construct allocated it. */
  public readonly elasticIp?: ec2.CfnEIP;

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

  constructor(scope: Construct, id: string, props: NatInstanceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.availabilityZone = props.subnet.availabilityZone;
    const groupTag = Names.uniqueId(this);

    this.networkInterface = new ec2.CfnNetworkInterface(this, 'NetworkInterface', {
      subnetId: props.subnet.subnetId,
      groupSet: [props.securityGroup.securityGroupId],
      sourceDestCheck: false, // required for NAT: forwarded packets are not addressed to it
      description: `NAT instance interface (${this.node.path})`,
    });

    if (props.eipAllocationId) {
      this.allocationId = props.eipAllocationId;
    } else {
      this.elasticIp = new ec2.CfnEIP(this, 'ElasticIp', { domain: 'vpc' });
      this.allocationId = this.elasticIp.attrAllocationId;
    }
    // Bound to the interface, not to an instance, so that a replacement keeps the address.
    const association = new ec2.CfnEIPAssociation(this, 'ElasticIpAssociation', {
      allocationId: this.allocationId,
      networkInterfaceId: this.networkInterface.ref,
    });
    // An Elastic IP can be associated only once the VPC has its internet gateway.
    association.node.addDependency(props.subnet.internetConnectivityEstablished);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `NAT instance ${this.node.path}`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });

    // Filled in below: the boot command names the Auto Scaling group, which needs this template first.
    const userData = ec2.UserData.forLinux();
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: props.instanceType,
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType: props.architecture === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
      }),
      userData,
      role: this.role,
      securityGroup: props.securityGroup,
      // The first boot installs packages through the primary interface, before the static one is attached.
      associatePublicIpAddress: true,
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
      launchTemplate: this.launchTemplate,
      minCapacity: 1,
      maxCapacity: 1,
      // CloudFormation waits for the instance to report that NAT works, and fails the deployment otherwise.
      signals: autoscaling.Signals.waitForAll({ timeout: props.bootTimeout }),
      // A new group must boot and take the interface over before the old one goes.
      updatePolicy: autoscaling.UpdatePolicy.replacingUpdate(),
    });
    Tags.of(this.autoScalingGroup).add(NAT_GROUP_TAG, groupTag, { applyToLaunchedInstances: true });
    // nat-doctor finds a VPC's NATs by this tag on their interfaces.
    Tags.of(this.networkInterface).add(NAT_GROUP_TAG, groupTag);
    Tags.of(this.autoScalingGroup).add('Name', this.node.path, { applyToLaunchedInstances: true });
    // The instance needs, from the first second of its boot, its permissions, the internet (to
    // install packages and reach the AWS APIs) and, once it routes through the static interface,
    // that interface's public address.
    this.autoScalingGroup.node.addDependency(this.role, association, props.subnet.internetConnectivityEstablished);

    addNatBoot(userData, {
      networkInterfaceId: this.networkInterface.ref,
      vpcCidrs: props.vpcCidrs,
      stackName: stack.stackName,
      signalResource: (this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).logicalId,
    });

    this.grantNatPermissions(stack, groupTag);
    this.acknowledgeChecks();
  }

  /** Why the AWS Solutions rules (cdk-nag) that flag this construct do not apply. */
  private acknowledgeChecks(): void {
    Validations.of(this.role).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        reason: 'Session Manager access replaces SSH; AWS maintains this policy as the agent\'s needs change, which a copy would not follow.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'Only ec2:DescribeNetworkInterfaces and cloudwatch:PutMetricData (limited to the heartbeat namespace by a condition), which support no resource-level permissions.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason: `Instance IDs exist only after launch; the condition on the ${NAT_GROUP_TAG} tag limits attach and detach to this NAT's own instances.`,
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*]',
        reason: `A group ARN holds a UUID known only after creation, and naming the group would block replacing updates; the ${NAT_GROUP_TAG} tag condition limits SetInstanceHealth to this NAT's group.`,
      },
    );
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions::AwsSolutions-AS3',
      reason: 'The group\'s only scaling events replace its one instance; a failed boot is reported through the CloudFormation signal and instance health, not a notification topic.',
    });
  }

  private grantNatPermissions(stack: Stack, groupTag: string): void {
    const interfaceArn = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: this.networkInterface.ref });
    const ownInstances = { StringEquals: { [`aws:ResourceTag/${NAT_GROUP_TAG}`]: groupTag } };
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadInterfaceState',
      actions: ['ec2:DescribeNetworkInterfaces'], // supports no resource-level permissions
      resources: ['*'],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'MoveOwnInterface',
      actions: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface', 'ec2:ModifyNetworkInterfaceAttribute'],
      resources: [interfaceArn],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'MoveBetweenOwnInstances',
      actions: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface'],
      resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
      conditions: ownInstances,
    }));
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
      conditions: { StringEquals: { 'cloudwatch:namespace': HEARTBEAT_NAMESPACE } },
    }));
    // cloudformation:SignalResource on this stack comes with the group's signals.
  }
}
