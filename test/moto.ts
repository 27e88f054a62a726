import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as net from 'net';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  AttachNetworkInterfaceCommand, AuthorizeSecurityGroupIngressCommand, CreateNetworkInterfaceCommand, CreateRouteCommand, CreateRouteTableCommand,
  CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DescribeImagesCommand, EC2Client, AllocateAddressCommand, AssociateAddressCommand,
  AssociateRouteTableCommand, ModifyNetworkInterfaceAttributeCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DEFAULT_BOOT_TIMEOUT_SECONDS, HANDOFF_INSTANCE_DIMENSION, METRIC, NAT_METRIC_DIMENSION, natMetricNamespace } from '../assets/contract';
import { WatchdogConfig } from '../assets/watchdog/decide';

/**
 * A real EC2 API for the tests: moto's server on 127.0.0.1 on a free port, started and stopped
 * by the test file, and a VPC with NATs built in it through the SDK.
 */
export function motoUnavailableReason(): string | undefined {
  const probe = spawnSync('moto_server', ['--help'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'moto_server is not installed (pip install "moto[server]")';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class Moto {
  private process?: ChildProcess;
  endpoint = '';

  async start(): Promise<void> {
    const port = await freePort();
    this.endpoint = `http://127.0.0.1:${port}`;
    this.process = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${this.endpoint}/moto-api/`);
        if (response.status < 500) {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    this.stop();
    throw new Error(`moto_server did not answer on ${this.endpoint} within 30 s`);
  }

  stop(): void {
    this.process?.kill('SIGKILL');
  }

  get clientConfig() {
    return { endpoint: this.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 };
  }
}

export interface BuiltVpc {
  readonly vpcId: string;
  readonly config: WatchdogConfig;
  /** Per zone: its NAT instance and interface, and its private route tables. */
  readonly zones: Array<{ az: string; instanceId: string; networkInterfaceId: string; routeTableIds: string[] }>;
}

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e', 'us-east-1f'];

/**
 * A VPC as the stack builds it: per zone a public subnet with a NAT instance and its tagged,
 * source/dest-check-free interface with an Elastic IP, and private route tables whose default
 * route goes to that interface; then a heartbeat from every NAT.
 */
export async function buildVpc(ec2: EC2Client, cloudwatch: CloudWatchClient, azs: number, tablesPerAz: number, cidrSecond: number, beatAt?: Date): Promise<BuiltVpc> {
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${cidrSecond}.0.0/16` }))).Vpc!.VpcId!;
  const image = (await ec2.send(new DescribeImagesCommand({ MaxResults: 5 }))).Images![0].ImageId!;
  const groupId = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `nat-${vpcId}`, Description: 'NAT' }))).GroupId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: `10.${cidrSecond}.0.0/16` }] }] }));
  const zones: BuiltVpc['zones'] = [];
  for (let z = 0; z < azs; z++) {
    const az = ZONES[z];
    const publicSubnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.${cidrSecond}.${z}.0/24`, AvailabilityZone: az }))).Subnet!.SubnetId!;
    const instanceId = (await ec2.send(new RunInstancesCommand({
      ImageId: image, MinCount: 1, MaxCount: 1, SubnetId: publicSubnet, InstanceType: 't4g.nano',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'NatInstanceGroup', Value: `nat-${z}` }] }],
    }))).Instances![0].InstanceId!;
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({
      SubnetId: publicSubnet, Groups: [groupId],
      TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'NatInstanceGroup', Value: `nat-${z}` }] }],
    }))).NetworkInterface!.NetworkInterfaceId!;
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: false } }));
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instanceId, DeviceIndex: 1 }));
    const allocation = (await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
    await ec2.send(new AssociateAddressCommand({ AllocationId: allocation, NetworkInterfaceId: eni }));
    const routeTableIds: string[] = [];
    for (let t = 0; t < tablesPerAz; t++) {
      const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.${cidrSecond}.${100 + z * tablesPerAz + t}.0/24`, AvailabilityZone: az }))).Subnet!.SubnetId!;
      const rt = (await ec2.send(new CreateRouteTableCommand({
        VpcId: vpcId, TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: 'NatInstanceHomeInterface', Value: eni }] }],
      }))).RouteTable!.RouteTableId!;
      await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rt, SubnetId: subnet }));
      await ec2.send(new CreateRouteCommand({ RouteTableId: rt, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: eni }));
      routeTableIds.push(rt);
    }
    zones.push({ az, instanceId, networkInterfaceId: eni, routeTableIds });
  }
  // After every attachment: a heartbeat proves the instance that holds the interface now.
  for (const zone of zones) {
    await heartbeat(cloudwatch, zone.networkInterfaceId, beatAt ?? new Date(Date.now() + 1000));
  }
  return {
    vpcId,
    zones,
    config: {
      nats: zones.map((z, i) => ({ az: z.az, networkInterfaceId: z.networkInterfaceId, groupTag: `nat-${i}`, signalResource: `NatGroup${i}` })),
      stackName: 'NatTest',
      routeTables: zones.flatMap((z) => z.routeTableIds.map((id) => ({ routeTableId: id, az: z.az, homeNetworkInterfaceId: z.networkInterfaceId }))),
      bootTimeoutSeconds: DEFAULT_BOOT_TIMEOUT_SECONDS,
    },
  };
}

/** What a NAT's self-check publishes once it has verified itself. */
export async function heartbeat(cloudwatch: CloudWatchClient, eni: string, at = new Date()): Promise<void> {
  await cloudwatch.send(new PutMetricDataCommand({
    Namespace: natMetricNamespace(eni),
    MetricData: [{ MetricName: METRIC.heartbeat, Dimensions: [{ Name: NAT_METRIC_DIMENSION, Value: eni }], Value: 1, Unit: 'Count', Timestamp: at }],
  }));
}

/** What the NAT holding an interface publishes once a replacement has taken its connection state. */
export async function handoffReported(cloudwatch: CloudWatchClient, eni: string, instanceId: string, flows: number): Promise<void> {
  await cloudwatch.send(new PutMetricDataCommand({
    Namespace: natMetricNamespace(eni),
    MetricData: [{
      MetricName: METRIC.handoffReady, Value: flows, Unit: 'Count', Timestamp: new Date(),
      Dimensions: [{ Name: NAT_METRIC_DIMENSION, Value: eni }, { Name: HANDOFF_INSTANCE_DIMENSION, Value: instanceId }],
    }],
  }));
}
