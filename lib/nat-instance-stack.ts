import { CfnOutput, Fn, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { NatInstanceProvider } from './nat-instance-provider';
import { NatConfigError, Cidr, blockSize, cidrsOverlap, parseCidr, parseWholeNumber } from './validation';

/** Properties of a {@link NatInstanceStack}. Every one is also a CDK context key of the app. */
export interface NatInstanceStackProps extends StackProps {
  /**
   * The VPC's IPv4 CIDR block, /16 to /28.
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
   * @default 't4g.nano'
   */
  readonly instanceType?: string;

  /**
   * CPU architecture of the image, `arm64` or `x86_64`; must match the instance type.
   *
   * @default - the architecture of `instanceType`
   */
  readonly architecture?: string;

  /**
   * Existing Elastic IP allocation IDs, exactly one per NAT.
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
}

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

  /** The VPC. */
  public readonly vpc: ec2.Vpc;

  /** The NAT provider, with the NAT instances it created. */
  public readonly natProvider: NatInstanceProvider;

  constructor(scope: Construct, id: string, props: NatInstanceStackProps = {}) {
    super(scope, id, props);

    const vpcCidr = parseCidr('vpcCidr', props.vpcCidr ?? NatInstanceStack.DEFAULT_VPC_CIDR, 16, 28);
    const azs = parseWholeNumber('azs', props.azs ?? NatInstanceStack.DEFAULT_AZS, 1, MAX_AZS);
    const natCount = parseWholeNumber('natCount', props.natCount ?? azs, 1, azs, ` (at most one NAT per availability zone, and azs is ${azs})`);
    const publicMask = this.subnetMask('publicSubnetCidrMask', props.publicSubnetCidrMask ?? NatInstanceStack.DEFAULT_PUBLIC_SUBNET_CIDR_MASK, vpcCidr);
    const privateMask = this.subnetMask('privateSubnetCidrMask', props.privateSubnetCidrMask ?? NatInstanceStack.DEFAULT_PRIVATE_SUBNET_CIDR_MASK, vpcCidr);
    checkSubnetsFit(vpcCidr, azs, publicMask, privateMask);
    for (const extra of props.additionalCidrs ?? []) {
      if (!Token.isUnresolved(extra) && cidrsOverlap(parseCidr('additionalCidrs', extra, 8, 28), vpcCidr)) {
        throw new NatConfigError('additionalCidrs', extra, `blocks outside vpcCidr ${vpcCidr.text}, which the NAT serves already`);
      }
    }

    this.natProvider = new NatInstanceProvider({
      instanceType: props.instanceType === undefined ? undefined : new ec2.InstanceType(String(props.instanceType)),
      architecture: props.architecture as ec2.InstanceArchitecture | undefined,
      eipAllocationIds: props.eipAllocationIds,
      additionalCidrs: props.additionalCidrs,
      rootVolumeSize: props.rootVolumeSize,
    });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(vpcCidr.text),
      availabilityZones: this.zones(azs),
      natGateways: natCount,
      natGatewayProvider: this.natProvider,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: publicMask },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: privateMask },
      ],
      // The default security group admits all traffic between its members; nothing should use it.
      restrictDefaultSecurityGroup: true,
    });

    new CfnOutput(this, 'VpcId', { value: this.vpc.vpcId, description: 'The VPC' });
    this.natProvider.natInstances.forEach((nat, i) => {
      new CfnOutput(this, `Nat${i}PublicAddress`, {
        value: nat.elasticIp ? nat.elasticIp.ref : nat.allocationId,
        description: `Egress address of NAT ${i}${nat.elasticIp ? '' : ' (allocation ID)'}`,
      });
      new CfnOutput(this, `Nat${i}NetworkInterface`, {
        value: nat.networkInterface.ref,
        description: `Static interface of NAT ${i}: the private routes' target`,
      });
      new CfnOutput(this, `Nat${i}AutoScalingGroup`, {
        value: nat.autoScalingGroup.autoScalingGroupName,
        description: `Auto Scaling group of NAT ${i}`,
      });
    });
  }

  private subnetMask(option: string, value: unknown, vpcCidr: Cidr): number {
    return parseWholeNumber(option, value, Math.max(16, vpcCidr.prefix), 28, ` (subnets are /16 to /28 and no larger than vpcCidr ${vpcCidr.text})`);
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

/**
 * CDK allocates the public subnets first, then the private ones, each aligned to its own size;
 * the VPC must hold both.
 */
function checkSubnetsFit(vpcCidr: Cidr, azs: number, publicMask: number, privateMask: number): void {
  let next = 0;
  for (const mask of [publicMask, privateMask]) {
    const size = blockSize(mask);
    next = Math.ceil(next / size) * size + size * azs;
  }
  const available = blockSize(vpcCidr.prefix);
  if (next > available) {
    throw new NatConfigError('publicSubnetCidrMask/privateSubnetCidrMask', `/${publicMask} and /${privateMask}`,
      `subnet sizes that fit vpcCidr ${vpcCidr.text}: ${azs} public /${publicMask} and ${azs} private /${privateMask} subnets need ${next} addresses, the VPC has ${available}`);
  }
}
