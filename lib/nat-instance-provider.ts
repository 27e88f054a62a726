import { Duration, Tags, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { NatArchitecture, parseArchitecture, parseInstanceType } from './instance-types';
import { NatInstance } from './nat-instance';
import { RouteWatchdog, WatchedRouteTable } from './route-watchdog';
import { NatConfigError, cidrsOverlap, parseCidr, parseWholeNumber, validateAllocationIds } from './validation';

/** The tag on each private route table that names the NAT interface it uses while that NAT is healthy. */
export const HOME_INTERFACE_TAG = 'NatInstanceHomeInterface';

/** Properties of a {@link NatInstanceProvider}. */
export interface NatInstanceProviderProps {
  /**
   * The instance type of each NAT instance.
   *
   * Must be from a supported family (see `SUPPORTED_INSTANCE_FAMILIES`): a NAT needs ENA
   * networking, and a burstable Graviton instance carries a small VPC's traffic for a few dollars
   * a month.
   *
   * @default - t4g.nano (`NatInstanceProvider.DEFAULT_INSTANCE_TYPE`)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The CPU architecture of the Amazon Linux 2023 image.
   *
   * Rejected when it does not match the instance type: an arm64 image does not boot on x86.
   *
   * @default - the architecture of `instanceType`
   */
  readonly architecture?: ec2.InstanceArchitecture;

  /**
   * Existing Elastic IP allocation IDs, one per NAT instance in the order of the NAT subnets.
   *
   * Use them to keep an egress address that outlives this stack, for example one that
   * customers allow-list.
   *
   * @default - a new Elastic IP for each NAT instance
   */
  readonly eipAllocationIds?: string[];

  /**
   * Further IPv4 CIDR blocks whose traffic the NAT serves, beside the VPC's primary block:
   * secondary VPC CIDR blocks, or networks routed to the NAT through peering or a transit
   * gateway. The security group admits them and the NAT masquerades them.
   *
   * @default - only the VPC's primary CIDR block
   */
  readonly additionalCidrs?: string[];

  /**
   * Size of each NAT instance's encrypted gp3 root volume, in GiB.
   *
   * @default 8 (`NatInstanceProvider.DEFAULT_ROOT_VOLUME_SIZE`): the size of the Amazon Linux 2023 image
   */
  readonly rootVolumeSize?: number;

  /**
   * A customer managed KMS key for the NAT instances' root volumes.
   *
   * The key policy must let the Auto Scaling service-linked role
   * (AWSServiceRoleForAutoScaling) use the key, or instances cannot launch.
   *
   * @default - encrypted with the account's default EBS key (aws/ebs)
   */
  readonly ebsEncryptionKey?: kms.IKey;

  /**
   * Whether to deploy the route watchdog: a Lambda function that moves a zone's private default
   * routes to a healthy NAT of another zone when that zone's NAT fails or is being replaced, and
   * moves them back once it is healthy again.
   *
   * @default true
   */
  readonly routeWatchdog?: boolean;

  /**
   * How long a deployment waits for a new NAT instance to report that NAT works before it fails.
   *
   * @default Duration.minutes(15) (`NatInstanceProvider.DEFAULT_BOOT_TIMEOUT`)
   */
  readonly bootTimeout?: Duration;
}

/**
 * A NAT provider for `ec2.Vpc` that runs one self-healing NAT instance per NAT subnet.
 *
 * Each NAT is a static network interface with an Elastic IP, which the private route tables
 * point at, and an Auto Scaling group of one Amazon Linux 2023 instance that attaches the
 * interface at boot, requires IMDSv2, and is reachable only through Session Manager. Its
 * security group admits the VPC's CIDR blocks only.
 *
 * @example
 * const vpc = new ec2.Vpc(this, 'Vpc', { natGatewayProvider: new NatInstanceProvider() });
 */
export class NatInstanceProvider extends ec2.NatProvider {
  /** The instance type used when none is given. */
  public static readonly DEFAULT_INSTANCE_TYPE = 't4g.nano';

  /** The root volume size, in GiB, used when none is given. */
  public static readonly DEFAULT_ROOT_VOLUME_SIZE = 8;

  /** How long a deployment waits for a NAT instance when no timeout is given. */
  public static readonly DEFAULT_BOOT_TIMEOUT = Duration.minutes(15);

  private readonly instanceType: ec2.InstanceType;
  private readonly architecture: NatArchitecture;
  private readonly rootVolumeSize: number;
  private readonly bootTimeout: Duration;
  private readonly additionalCidrs: string[];
  private readonly nats: NatInstance[] = [];
  private readonly routes: WatchedRouteTable[] = [];
  private _watchdog?: RouteWatchdog;
  private _securityGroup?: ec2.SecurityGroup;
  private _availabilityZones: string[] = [];

  constructor(private readonly props: NatInstanceProviderProps = {}) {
    super();
    this.instanceType = props.instanceType ?? new ec2.InstanceType(NatInstanceProvider.DEFAULT_INSTANCE_TYPE);
    const typeInfo = parseInstanceType('instanceType', this.instanceType.toString());
    this.architecture = props.architecture === undefined
      ? typeInfo.architecture
      : parseArchitecture('architecture', props.architecture);
    if (this.architecture !== typeInfo.architecture) {
      throw new NatConfigError('architecture', props.architecture,
        `the architecture of instanceType ${typeInfo.name}, ${typeInfo.architecture}; for ${this.architecture}, choose an instance type built for ${this.architecture}`);
    }
    this.rootVolumeSize = parseWholeNumber('rootVolumeSize', props.rootVolumeSize ?? NatInstanceProvider.DEFAULT_ROOT_VOLUME_SIZE,
      NatInstanceProvider.DEFAULT_ROOT_VOLUME_SIZE, 16384, ' GiB (the image needs 8; gp3 allows 16384)');
    this.bootTimeout = props.bootTimeout ?? NatInstanceProvider.DEFAULT_BOOT_TIMEOUT;
    const timeoutSeconds = this.bootTimeout.toSeconds();
    if (timeoutSeconds < 60 || timeoutSeconds > 43200) {
      throw new NatConfigError('bootTimeout', `${timeoutSeconds} seconds`, 'from 1 minute to 12 hours (CloudFormation\'s limit)');
    }
    this.additionalCidrs = [...(props.additionalCidrs ?? [])];
    const parsed = this.additionalCidrs.filter((c) => !Token.isUnresolved(c)).map((c) => parseCidr('additionalCidrs', c, 8, 28));
    parsed.forEach((a, i) => parsed.slice(i + 1).forEach((b) => {
      if (cidrsOverlap(a, b)) {
        throw new NatConfigError('additionalCidrs', this.additionalCidrs, `blocks that do not overlap: ${a.text} and ${b.text} do`);
      }
    }));
  }

  /** The NAT instances, one per NAT subnet, once the provider has been given to a VPC. */
  public get natInstances(): NatInstance[] {
    return [...this.nats];
  }

  /** The route watchdog, unless turned off. */
  public get watchdog(): RouteWatchdog | undefined {
    return this._watchdog;
  }

  /** The security group of the NAT interfaces. */
  public get securityGroup(): ec2.ISecurityGroup {
    if (!this._securityGroup) {
      throw new Error('Pass the NatInstanceProvider to a Vpc before reading its securityGroup');
    }
    return this._securityGroup;
  }

  public get configuredGateways(): ec2.GatewayConfig[] {
    return this.nats.map((nat) => ({ az: nat.availabilityZone, gatewayId: nat.networkInterface.ref }));
  }

  public configureNat(options: ec2.ConfigureNatOptions): void {
    if (this._securityGroup) {
      throw new Error('A NatInstanceProvider serves one VPC; create one provider per VPC');
    }
    const natCount = options.natSubnets.length;
    if (this.props.eipAllocationIds !== undefined) {
      validateAllocationIds('eipAllocationIds', this.props.eipAllocationIds, natCount);
    }
    const vpc = options.vpc;
    // The literal block where the VPC has one, so that rules and checks (cdk-nag, cfn-lint) can
    // read the security group; a reference only where the block is chosen at deployment (IPAM).
    const declared = (vpc.node.defaultChild as ec2.CfnVPC | undefined)?.cidrBlock;
    const literal = declared !== undefined && !Token.isUnresolved(declared);
    const primary = literal ? declared : vpc.vpcCidrBlock;
    if (literal) {
      const vpcBlock = parseCidr('vpc CIDR', primary, 0, 32);
      for (const extra of this.additionalCidrs.filter((c) => !Token.isUnresolved(c))) {
        if (cidrsOverlap(parseCidr('additionalCidrs', extra, 8, 28), vpcBlock)) {
          throw new NatConfigError('additionalCidrs', extra, `blocks outside the VPC's ${primary}, which the NAT serves already`);
        }
      }
    }
    const vpcCidrs = [primary, ...this.additionalCidrs];
    this._availabilityZones = vpc.availabilityZones;

    this._securityGroup = new ec2.SecurityGroup(vpc, 'NatSecurityGroup', {
      vpc,
      description: 'NAT instances: all traffic from the VPC CIDR blocks, nothing from elsewhere',
      allowAllOutbound: true, // a NAT forwards to any address on the internet
    });
    for (const cidr of vpcCidrs) {
      this._securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.allTraffic(), 'Traffic to NAT from the VPC');
    }
    if (!literal) {
      Validations.of(this._securityGroup).acknowledge({
        id: 'AwsSolutions::AwsSolutions-EC23',
        reason: 'The only ingress source is the VPC\'s own CIDR block, a reference resolved at deployment, which the rule cannot evaluate.',
      });
    }

    options.natSubnets.forEach((subnet, i) => {
      this.nats.push(new NatInstance(subnet, 'NatInstance', {
        vpc,
        subnet,
        securityGroup: this._securityGroup!,
        vpcCidrs,
        instanceType: this.instanceType,
        architecture: this.architecture,
        eipAllocationId: this.props.eipAllocationIds?.[i],
        rootVolumeSize: this.rootVolumeSize,
        ebsEncryptionKey: this.props.ebsEncryptionKey,
        bootTimeout: this.bootTimeout,
      }));
    });

    for (const subnet of options.privateSubnets) {
      this.configureSubnet(subnet);
    }
    if (this.props.routeWatchdog ?? true) {
      this._watchdog = new RouteWatchdog(vpc, 'NatRouteWatchdog', { nats: this.nats, routeTables: this.routes });
    }
  }

  /**
   * Routes a private subnet's default route to the NAT of its own availability zone or, where
   * that zone has none, to the NAT of zone index modulo the NAT count, so that zones without a
   * NAT spread over the NATs there are.
   */
  public configureSubnet(subnet: ec2.PrivateSubnet): void {
    if (this.nats.length === 0) {
      throw new Error('configureSubnet was called before configureNat; pass the provider to a Vpc with at least one NAT');
    }
    const sameZone = this.nats.find((nat) => nat.availabilityZone === subnet.availabilityZone);
    const zoneIndex = Math.max(0, this._availabilityZones.indexOf(subnet.availabilityZone));
    const nat = sameZone ?? this.nats[zoneIndex % this.nats.length];
    subnet.addRoute('DefaultRoute', {
      routerType: ec2.RouterType.NETWORK_INTERFACE,
      routerId: nat.networkInterface.ref,
      enablesInternetConnectivity: true,
    });
    this.routes.push({ routeTableId: subnet.routeTable.routeTableId, az: subnet.availabilityZone, homeNetworkInterfaceId: nat.networkInterface.ref });
    // nat-doctor tells a failover from a zone that shares another zone's NAT by this tag.
    const table = subnet.node.tryFindChild('RouteTable');
    if (table) {
      Tags.of(table).add(HOME_INTERFACE_TAG, nat.networkInterface.ref);
    }
  }
}
