import { Duration, Fn, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DEFAULT_BOOT_TIMEOUT_SECONDS, DEFAULT_HANDOFF_WAIT_SECONDS, HOME_INTERFACE_TAG, SECURITY_GROUP_INBOUND_RULES, SERVED_SOURCE_RULE } from '../assets/contract';
import { InstanceTypeInfo, parseInstanceType } from './instance-types';
import { acknowledgeRule } from './compliance';
import { ISelfHealingNat, SelfHealingNat } from './nat-instance';
import { RouteWatchdog, WatchedRouteTable } from './route-watchdog';
import { BootScripts } from './user-data';
import {
  Cidr, NatConfigError, cidrsOverlap, durationSeconds, orDefault, parseCidr, parseWholeNumber, requireBoolean, requireOrdinaryBlock, requireProps, requireShape, validateAllocationIds,
} from './validation';

/** Properties of a {@link SelfHealingNatProvider}. */
export interface SelfHealingNatProviderProps {
  /**
   * The instance type of each NAT instance.
   *
   * Must be from a supported family: t4g, c6g, c6gn, c7g, c7gn, m6g, m7g (arm64), t3, t3a, c5n,
   * c6i, c6in, c7i, m6i, m7i (x86_64). A NAT needs ENA networking, and a burstable Graviton
   * instance carries a small VPC's traffic for a few dollars a month.
   *
   * @default - t4g.nano (`SelfHealingNatProvider.DEFAULT_INSTANCE_TYPE`)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The image of the NAT instances.
   *
   * It must be Amazon Linux 2023 or a derivative (the boot scripts use dnf, systemd-networkd and
   * amazon-ec2-net-utils) built for the architecture of `instanceType`. Give a pinned image,
   * such as `ec2.MachineImage.genericLinux({ 'eu-west-1': 'ami-...' })`, to decide yourself
   * when the NATs move to a newer one.
   *
   * @default - the latest Amazon Linux 2023 image for the instance type's architecture, resolved
   * from its public SSM parameter at each deployment
   */
  readonly machineImage?: ec2.IMachineImage;

  /**
   * The CPU credit mode of a burstable instance type (T3, T3a, T4g).
   *
   * In `STANDARD` mode a NAT that has spent its credits is held to its baseline CPU, and with
   * it to fewer packets per second, at no extra cost; in `UNLIMITED` mode it keeps bursting and
   * pays for surplus credits (a t4g.nano bursting all month costs several times its price).
   * Rejected for instance types that are not burstable.
   *
   * @default - the instance type's own default: unlimited for T3, T3a and T4g
   */
  readonly creditSpecification?: ec2.CpuCredits;

  /**
   * Existing Elastic IP allocation IDs: the NAT of the i-th NAT subnet gets the i-th ID.
   *
   * Use them to keep an egress address that outlives this stack, for example one that
   * customers allow-list. As with `NatProvider.gateway`, a list longer than the number of NATs
   * is a pool whose first IDs are used, and a token list (for example
   * `Fn.split(',', Fn.importValue('EgressAllocations'))`) is read at deployment.
   *
   * @default - a new Elastic IP for each NAT instance
   */
  readonly eipAllocationIds?: string[];

  /**
   * Further IPv4 CIDR blocks whose traffic the NAT serves, beside the VPC's primary block:
   * secondary VPC CIDR blocks, or networks routed to the NAT through peering or a transit
   * gateway. The security group admits them and the NAT masquerades them. Literal blocks only,
   * /8 to /28, outside the special ranges (0.0.0.0/8, loopback, link-local, multicast,
   * 240.0.0.0/4), at most 59 (`MAX_ADDITIONAL_CIDRS`).
   *
   * @default - only the VPC's primary CIDR block
   */
  readonly additionalCidrs?: string[];

  /**
   * Size of each NAT instance's encrypted gp3 root volume, in GiB.
   *
   * @default 8 (`SelfHealingNatProvider.DEFAULT_ROOT_VOLUME_SIZE`): the size of the Amazon Linux 2023 image
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
   * Whether the controller fails a zone over: moves its private default routes to a healthy NAT
   * of another zone while its own NAT is unhealthy or being replaced, and back once it is
   * healthy again. The controller itself is always deployed, since it attaches each NAT's
   * interface; `false` turns off cross-zone failover only.
   *
   * @default true
   */
  readonly routeWatchdog?: boolean;

  /**
   * Whether each NAT also publishes its load metrics, connection-tracking table use and ENA
   * allowance drops (`metricConntrackUsage()`, `metricAllowanceExceeded()`), at two more custom
   * metrics a month per NAT. The heartbeat, which health rests on, is always published.
   *
   * @default false
   */
  readonly detailedMonitoring?: boolean;

  /**
   * A customer managed KMS key for the controller's log group. Its key policy must let CloudWatch
   * Logs use it (the service principal `logs.REGION.amazonaws.com`).
   *
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Reserved concurrency for the controller function, such as 1 to run one invocation at a time.
   *
   * Concurrent invocations are safe without it: each route change is checked against the route
   * as it is just before the change, and dropped if another invocation changed it first.
   * Reserving concurrency takes it from the account's unreserved pool, which Lambda keeps at
   * 100 or more: in an account with the lowest quota (10 for new accounts) the deployment fails.
   *
   * @default - no reserved concurrency
   */
  readonly controllerReservedConcurrency?: number;

  /**
   * How long a deployment waits for a new NAT instance to report that NAT works before it fails.
   *
   * @default Duration.minutes(15) (`SelfHealingNatProvider.DEFAULT_BOOT_TIMEOUT`)
   */
  readonly bootTimeout?: Duration;

  /**
   * How long a NAT instance may stay in service before its Auto Scaling group replaces it with
   * one booted from the image of that moment, to keep NATs patched without a deployment.
   *
   * The replacement launches before the old instance goes (the group's instance maintenance
   * policy: 100% healthy minimum, 200% maximum), so it takes the planned path: the zone's
   * routes move to another zone's healthy NAT while the new instance proves NAT works, then the
   * interface, with its Elastic IP, moves to it. Connections through the zone's NAT are cut at
   * the move, as on any replacement, unless `connectionHandoff` carries them over. 1 to 365
   * days, in whole seconds.
   *
   * @default - no limit: an instance stays until it fails or a deployment replaces it
   */
  readonly maxInstanceLifetime?: Duration;

  /**
   * Whether a planned replacement hands the old NAT's connection state to the new instance, so
   * that established connections through the zone's NAT go on through the move.
   *
   * Before the interface moves, the new instance takes the old one's connection-tracking
   * entries, NAT mappings included, over the VPC (TCP port 7460, which each NAT serves to its own
   * subnet only), and the controller then moves the interface,
   * and with it the Elastic IP, without moving the zone's routes. The new instance has no public
   * address until then: it fetches its scripts and conntrack-tools through an S3 gateway endpoint
   * this adds to the NAT subnets' route tables, so S3 requests that private hosts send through
   * the NAT leave by that endpoint, not by the Elastic IP (bucket policies keyed on that address
   * no longer match them). Without the old NAT's word within
   * `SelfHealingNatProvider.DEFAULT_HANDOFF_WAIT`, the replacement moves the routes first, as
   * without the handoff.
   *
   * @default false
   */
  readonly connectionHandoff?: boolean;

  /**
   * Whether the NAT instances run on Spot.
   *
   * The controller acts on a Spot instance's interruption warning (two minutes ahead) and on a
   * rebalance recommendation (often earlier) as on a planned replacement: the zone's routes move
   * to another zone's healthy NAT within seconds, the instance is marked unhealthy so that its
   * group launches a replacement first, and the interface and routes go to the replacement once
   * it has proved NAT. Connections through that zone's NAT are cut when its routes move (another
   * Elastic IP). Needs at least two NATs and the route watchdog's failover: with one NAT there is
   * no zone to move to. Each group asks for the cheapest Spot capacity of its instance type
   * (price-capacity-optimized).
   *
   * @default false
   */
  readonly spot?: boolean;

  /**
   * Public addresses of each NAT: 1, or 2 for more concurrent connections to a single
   * destination.
   *
   * Each address has its own 64,512 source ports for each destination address and port. One
   * address holds 55,000 concurrent connections to one destination (as a NAT gateway documents
   * per address); past that the kernel's port search clashes more and more, and at 64,000 some
   * connections fail. With 2, the interface gets a secondary private address and an Elastic IP
   * for it, and each new flow leaves with the next address: 64,000 measured with no clash, at one
   * more public IPv4 address's price a month. At most 2,
   * the secondary addresses every supported instance type's interface can hold. Not with
   * `eipAllocationIds` (the second addresses are allocated here) or `connectionHandoff` (which
   * carries the flows of one address).
   *
   * @default 1 (`SelfHealingNatProvider.DEFAULT_PUBLIC_IPS_PER_NAT`)
   */
  readonly publicIpsPerNat?: number;
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
 * const vpc = new ec2.Vpc(this, 'Vpc', { natGatewayProvider: new SelfHealingNatProvider() });
 */
export class SelfHealingNatProvider extends ec2.NatProvider implements ec2.IConnectable {
  /** The instance type used when none is given. */
  public static readonly DEFAULT_INSTANCE_TYPE = 't4g.nano';

  /** The root volume size, in GiB, used when none is given. */
  public static readonly DEFAULT_ROOT_VOLUME_SIZE = 8;

  /** The most reserved concurrency the controller takes: it has one event per NAT change at most. */
  public static readonly MAX_CONTROLLER_CONCURRENCY = 10;

  /** How long a deployment waits for a NAT instance when no timeout is given. */
  public static readonly DEFAULT_BOOT_TIMEOUT = Duration.seconds(DEFAULT_BOOT_TIMEOUT_SECONDS);

  /** Public addresses of each NAT when none is given. */
  public static readonly DEFAULT_PUBLIC_IPS_PER_NAT = 1;

  /** The most public addresses a NAT takes: what every supported type's interface can hold. */
  public static readonly MAX_PUBLIC_IPS_PER_NAT = 2;

  /** How long the controller waits for a replacement to take the connection state (`connectionHandoff`). */
  public static readonly DEFAULT_HANDOFF_WAIT = Duration.seconds(DEFAULT_HANDOFF_WAIT_SECONDS);

  private readonly instanceType: ec2.InstanceType;
  private readonly typeInfo: InstanceTypeInfo;
  private readonly rootVolumeSize: number;
  private readonly bootTimeout: Duration;
  private readonly publicIps: number;
  private readonly additionalBlocks: Cidr[];
  private readonly nats: SelfHealingNat[] = [];
  private readonly routes: WatchedRouteTable[] = [];
  private _watchdog?: RouteWatchdog;
  private _securityGroup?: ec2.SecurityGroup;
  private _connections?: ec2.Connections;
  private _availabilityZones: string[] = [];

  private readonly props: SelfHealingNatProviderProps;

  constructor(props: SelfHealingNatProviderProps = {}) {
    super();
    this.props = requireProps('SelfHealingNatProviderProps', props) ?? {};
    props = this.props;
    requireShape('instanceType', props.instanceType, ['toString', 'isBurstable'], 'an ec2.InstanceType such as new ec2.InstanceType(\'t4g.nano\')');
    this.instanceType = props.instanceType ?? new ec2.InstanceType(SelfHealingNatProvider.DEFAULT_INSTANCE_TYPE);
    this.typeInfo = parseInstanceType('instanceType', this.instanceType.toString());
    requireShape('machineImage', props.machineImage, ['getImage'], 'an ec2.IMachineImage such as ec2.MachineImage.genericLinux({ \'eu-west-1\': \'ami-0123456789abcdef0\' })');
    requireShape('ebsEncryptionKey', props.ebsEncryptionKey, ['grantEncryptDecrypt'], 'a kms.IKey such as kms.Key.fromKeyArn(this, \'Key\', arn)');
    requireShape('bootTimeout', props.bootTimeout, ['toSeconds'], 'a Duration such as Duration.minutes(15)');
    requireShape('maxInstanceLifetime', props.maxInstanceLifetime, ['toSeconds'], 'a Duration such as Duration.days(14)');
    requireShape('logEncryptionKey', props.logEncryptionKey, ['grantEncryptDecrypt'], 'a kms.IKey such as kms.Key.fromKeyArn(this, \'Key\', arn)');
    this.validateCreditSpecification(props.creditSpecification);
    this.rootVolumeSize = parseWholeNumber('rootVolumeSize', orDefault(props.rootVolumeSize, SelfHealingNatProvider.DEFAULT_ROOT_VOLUME_SIZE),
      SelfHealingNatProvider.DEFAULT_ROOT_VOLUME_SIZE, 16384, ' GiB (the image needs 8; gp3 allows 16384)');
    this.bootTimeout = props.bootTimeout ?? SelfHealingNatProvider.DEFAULT_BOOT_TIMEOUT;
    requireBoolean('detailedMonitoring', props.detailedMonitoring);
    requireBoolean('routeWatchdog', props.routeWatchdog);
    requireBoolean('connectionHandoff', props.connectionHandoff);
    requireBoolean('spot', props.spot);
    this.publicIps = parseWholeNumber('publicIpsPerNat', orDefault(props.publicIpsPerNat, SelfHealingNatProvider.DEFAULT_PUBLIC_IPS_PER_NAT),
      1, SelfHealingNatProvider.MAX_PUBLIC_IPS_PER_NAT, ' (each interface of every supported instance type holds 2 addresses)');
    if (this.publicIps > 1 && props.eipAllocationIds !== undefined) {
      throw new NatConfigError('publicIpsPerNat', this.publicIps, 'no more than 1 with eipAllocationIds: the further addresses are allocated by the stack; leave eipAllocationIds out, or publicIpsPerNat at 1');
    }
    if (this.publicIps > 1 && props.connectionHandoff === true) {
      throw new NatConfigError('publicIpsPerNat', this.publicIps, 'no more than 1 with connectionHandoff, which carries the flows of the first address only');
    }
    if (props.spot === true && props.routeWatchdog === false) {
      throw new NatConfigError('spot', true, 'no Spot without the route watchdog\'s failover (routeWatchdog: false): a reclaimed NAT\'s zone would have nowhere to send its traffic');
    }
    if (props.controllerReservedConcurrency !== undefined) {
      parseWholeNumber('controllerReservedConcurrency', props.controllerReservedConcurrency, 1, SelfHealingNatProvider.MAX_CONTROLLER_CONCURRENCY,
        ' (1 runs one invocation at a time; more is never needed)');
    }
    durationSeconds('bootTimeout', this.bootTimeout, 60, 7200, 'whole seconds from 1 minute to 2 hours (the launch hook\'s limit, which the boot waits in)');
    if (props.maxInstanceLifetime !== undefined) {
      durationSeconds('maxInstanceLifetime', props.maxInstanceLifetime, 86_400, 31_536_000,
        'whole seconds from 1 to 365 days (the Auto Scaling group\'s limits), such as Duration.days(14)');
    }
    validateAllocationIdList(props.eipAllocationIds);
    this.additionalBlocks = validateAdditionalCidrs(props.additionalCidrs);
  }

  private validateCreditSpecification(mode: unknown): void {
    if (mode === undefined) {
      return;
    }
    if (!(Object.values(ec2.CpuCredits) as unknown[]).includes(mode)) {
      throw new NatConfigError('creditSpecification', mode, `one of ${Object.values(ec2.CpuCredits).join(', ')} (ec2.CpuCredits)`);
    }
    if (!this.typeInfo.burstable) {
      throw new NatConfigError('creditSpecification', mode,
        `no credit mode for ${this.typeInfo.name}, which is not burstable: only T3, T3a and T4g instances earn CPU credits`);
    }
  }

  /** The NATs, one per NAT subnet, once the provider has been given to a VPC. */
  public get natInstances(): ISelfHealingNat[] {
    return [...this.nats];
  }

  /** The controller's function (the route watchdog), once the provider has been given to a VPC. */
  public get watchdogFunction(): lambda.IFunction | undefined {
    return this._watchdog?.function;
  }

  /** The security group of the NAT interfaces. */
  public get securityGroup(): ec2.ISecurityGroup {
    if (!this._securityGroup) {
      throw new Error('Pass the SelfHealingNatProvider to a Vpc before reading its securityGroup');
    }
    return this._securityGroup;
  }

  /**
   * The NATs' network connections. The security group admits the VPC's CIDR blocks (and
   * `additionalCidrs`) already; use this to admit further sources, such as a peer's security group.
   */
  public get connections(): ec2.Connections {
    if (!this._connections) {
      throw new Error('Pass the SelfHealingNatProvider to a Vpc before reading its connections');
    }
    return this._connections;
  }

  public get configuredGateways(): ec2.GatewayConfig[] {
    return this.nats.map((nat) => ({ az: nat.availabilityZone, gatewayId: nat.networkInterface.ref }));
  }

  public configureNat(options: ec2.ConfigureNatOptions): void {
    if (this._securityGroup) {
      throw new Error('A SelfHealingNatProvider serves one VPC; create one provider per VPC');
    }
    if (this.props.spot === true && options.natSubnets.length < 2) {
      throw new NatConfigError('spot', true, `at least two NATs for Spot (this VPC has ${options.natSubnets.length}): when a Spot NAT is reclaimed its zone's routes move to another zone's NAT, and with one NAT there is none; give the VPC two NATs or more (natGateways of ec2.Vpc, natCount of the app), or leave spot off`);
    }
    const allocationIds = this.allocationIds(options.natSubnets.length);
    const vpc = options.vpc;
    const machineImage = this.props.machineImage ?? ec2.MachineImage.latestAmazonLinux2023({
      cpuType: this.typeInfo.architecture === 'arm64' ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
    });
    if (imageOsType(vpc, machineImage) !== ec2.OperatingSystemType.LINUX) {
      throw new NatConfigError('machineImage', machineImage, 'a Linux image: Amazon Linux 2023 or a derivative');
    }
    // The literal block where the VPC has one, so that rules and checks (cdk-nag, cfn-lint) can
    // read the security group; a reference only where the block is chosen at deployment (IPAM).
    const declared = (vpc.node.defaultChild as ec2.CfnVPC | undefined)?.cidrBlock;
    const literal = declared !== undefined && !Token.isUnresolved(declared);
    const primary = literal ? declared : vpc.vpcCidrBlock;
    if (literal) {
      const vpcBlock = parseCidr('vpc CIDR', primary, 0, 32);
      for (const extra of this.additionalBlocks) {
        if (cidrsOverlap(extra, vpcBlock)) {
          throw new NatConfigError('additionalCidrs', extra.text, `blocks outside the VPC's ${primary}, which the NAT serves already`);
        }
      }
    }
    const vpcCidrs = [primary, ...this.additionalBlocks.map((b) => b.text)];
    this._availabilityZones = vpc.availabilityZones;

    this._securityGroup = new ec2.SecurityGroup(vpc, 'NatSecurityGroup', {
      vpc,
      description: 'NAT instances: all traffic from the VPC CIDR blocks, nothing from elsewhere',
      allowAllOutbound: true, // a NAT forwards to any address on the internet
    });
    for (const cidr of vpcCidrs) {
      this._securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.allTraffic(), SERVED_SOURCE_RULE);
    }
    this._connections = new ec2.Connections({ securityGroups: [this._securityGroup] });
    this._securityGroup.node.addValidation({ validate: () => inboundRuleQuota(this._securityGroup!) });
    acknowledgeRule(this._securityGroup, 'EC2RestrictedCommonPorts', 'A NAT forwards every protocol and port for its VPC, so it admits all traffic, but only from the VPC\'s own blocks; the host listens on no port (sshd is off) and its firewall drops new connections to itself from outside the VPC.');
    if (!literal) {
      const reason = 'The only ingress source is the VPC\'s own CIDR block, a reference resolved at deployment, which the rule cannot evaluate.';
      Validations.of(this._securityGroup).acknowledge({ id: 'AwsSolutions::AwsSolutions-EC23', reason });
      acknowledgeRule(this._securityGroup, 'EC2RestrictedSSH', reason);
    }

    const handoff = this.props.connectionHandoff ?? false;
    const endpoint = handoff ? this.addHandoffPath(vpc, options.natSubnets) : undefined;
    const bootScripts = new BootScripts(vpc, 'NatBootScripts', { handoff });
    options.natSubnets.forEach((subnet, i) => {
      this.nats.push(new SelfHealingNat(subnet, 'NatInstance', {
        vpc,
        subnet,
        securityGroup: this._securityGroup!,
        vpcCidrs,
        instanceType: this.instanceType,
        machineImage,
        creditSpecification: this.props.creditSpecification,
        eipAllocationId: allocationIds?.[i],
        rootVolumeSize: this.rootVolumeSize,
        ebsEncryptionKey: this.props.ebsEncryptionKey,
        bootTimeout: this.bootTimeout,
        maxInstanceLifetime: this.props.maxInstanceLifetime,
        bootScripts,
        detailedMonitoring: this.props.detailedMonitoring ?? false,
        connectionHandoff: handoff,
        spot: this.props.spot ?? false,
        publicIps: this.publicIps,
      }));
    });

    for (const subnet of options.privateSubnets) {
      this.configureSubnet(subnet);
    }
    // One zone at a time: a change that replaces the groups (a new image, instance type or boot
    // script) replaces the next zone's only once the previous zone's new NAT has proved itself.
    this.nats.slice(1).forEach((nat, i) => nat.autoScalingGroup.node.addDependency(this.nats[i].autoScalingGroup));
    // A new instance takes the state before it has a public address: through the endpoint.
    this.nats.forEach((nat) => endpoint && nat.autoScalingGroup.node.addDependency(endpoint));
    // Always deployed: it attaches each NAT's interface. routeWatchdog: false turns off failover only.
    this._watchdog = new RouteWatchdog(vpc, 'NatRouteWatchdog', {
      nats: this.nats, routeTables: this.routes, bootTimeout: this.bootTimeout, failover: this.props.routeWatchdog ?? true,
      reservedConcurrency: this.props.controllerReservedConcurrency,
      logEncryptionKey: this.props.logEncryptionKey,
      ...(handoff ? { handoffWait: SelfHealingNatProvider.DEFAULT_HANDOFF_WAIT } : {}),
      spot: this.props.spot ?? false,
    });
    // A group's first instance waits in Pending:Wait for the controller: the function, its role
    // and its rules must exist before any group does.
    for (const nat of this.nats) {
      nat.autoScalingGroup.node.addDependency(this._watchdog);
    }
  }

  /**
   * What the connection-state handoff needs of the network: a new instance, which has no public
   * address until it holds the interface, reaches S3 (its scripts, and Amazon Linux's package
   * repositories) through a gateway endpoint. The old NAT's port needs no rule: the group admits
   * the VPC already, and the host serves the NAT's own subnet only.
   */
  private addHandoffPath(vpc: ec2.IVpc, natSubnets: ec2.ISubnet[]): ec2.GatewayVpcEndpoint {
    return new ec2.GatewayVpcEndpoint(vpc, 'NatS3Endpoint', {
      vpc,
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [{ subnets: natSubnets }],
    });
  }

  /**
   * The allocation ID of each NAT, as `NatProvider.gateway` picks them: a literal list must hold
   * at least one well-formed, distinct ID per NAT and its first ones are used; from a token
   * list, CloudFormation selects by index at deployment.
   */
  private allocationIds(natCount: number): string[] | undefined {
    const ids = this.props.eipAllocationIds;
    if (ids === undefined) {
      return undefined;
    }
    if (Token.isUnresolved(ids)) {
      return Array.from({ length: natCount }, (_, i) => Fn.select(i, ids));
    }
    if (!Array.isArray(ids)) {
      throw new NatConfigError('eipAllocationIds', ids, 'a list of Elastic IP allocation IDs such as [\'eipalloc-0123456789abcdef0\']');
    }
    validateAllocationIds('eipAllocationIds', ids, natCount);
    return ids.slice(0, natCount);
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

/** The most `additionalCidrs`: with the VPC's own block, each is one inbound rule of the NATs' security group. */
export const MAX_ADDITIONAL_CIDRS = SECURITY_GROUP_INBOUND_RULES - 1;


/**
 * The NATs' security group within Amazon VPC's quota of inbound rules: the VPC's block and
 * `additionalCidrs` are counted at construction; what `connections` adds later is counted here,
 * at synth, before any template is written.
 */
function inboundRuleQuota(group: ec2.SecurityGroup): string[] {
  const stack = Stack.of(group);
  const inline = stack.resolve((group.node.defaultChild as ec2.CfnSecurityGroup).securityGroupIngress) as unknown[] | undefined;
  const groupId = JSON.stringify(stack.resolve(group.securityGroupId));
  const separate = stack.node.findAll().filter((c) => c instanceof ec2.CfnSecurityGroupIngress && JSON.stringify(stack.resolve(c.groupId)) === groupId);
  const rules = (inline?.length ?? 0) + separate.length;
  return rules <= SECURITY_GROUP_INBOUND_RULES ? [] : [
    `The NATs' security group has ${rules} inbound rules, over Amazon VPC's quota of ${SECURITY_GROUP_INBOUND_RULES} per security group: ` +
    'admit fewer sources through additionalCidrs and connections, or raise the quota and admit the rest through another group',
  ];
}

/**
 * What can be checked of eipAllocationIds before the NAT count is known: a list (or a token
 * list) of well-formed IDs.
 */
function validateAllocationIdList(ids: unknown): void {
  if (ids === undefined || Token.isUnresolved(ids)) {
    return;
  }
  if (!Array.isArray(ids)) {
    throw new NatConfigError('eipAllocationIds', ids, 'a list of Elastic IP allocation IDs such as [\'eipalloc-0123456789abcdef0\']');
  }
  validateAllocationIds('eipAllocationIds', ids, 0);
}

/**
 * Further blocks to serve: a list of literal network blocks, none special, none overlapping
 * another, and few enough for the security group's rule quota.
 */
function validateAdditionalCidrs(value: unknown): Cidr[] {
  if (value === undefined) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw new NatConfigError('additionalCidrs', value, 'a list of IPv4 CIDR blocks such as [\'100.64.0.0/16\']');
  }
  if (value.length > MAX_ADDITIONAL_CIDRS) {
    throw new NatConfigError('additionalCidrs', `${value.length} blocks`, `at most ${MAX_ADDITIONAL_CIDRS}: the NATs' security group admits the VPC's block and each of these by one inbound rule, and a security group holds ${SECURITY_GROUP_INBOUND_RULES} (Amazon VPC's quota of inbound rules per security group)`);
  }
  // Literals only: each block reaches the NATs' boot command line and their rules, and synth
  // checks it against the special ranges, the VPC's block and the others.
  const parsed = value.map((c) => parseCidr('additionalCidrs', c, 8, 28));
  parsed.forEach((block) => requireOrdinaryBlock('additionalCidrs', block));
  parsed.forEach((a, i) => parsed.slice(i + 1).forEach((b) => {
    if (cidrsOverlap(a, b)) {
      throw new NatConfigError('additionalCidrs', value, `blocks that do not overlap: ${a.text} and ${b.text} do`);
    }
  }));
  return parsed;
}

/**
 * The operating system of an image, read before any NAT is built. Some images add resources to
 * the scope they are read in (a generic image, its region map), so they are read in a probe
 * scope that is removed again.
 */
function imageOsType(scope: Construct, image: ec2.IMachineImage): ec2.OperatingSystemType {
  const probe = new Construct(scope, 'NatImageProbe');
  try {
    return image.getImage(probe).osType;
  } finally {
    scope.node.tryRemoveChild(probe.node.id);
  }
}
