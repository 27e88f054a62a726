import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, paginateListStackResources } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DescribeAddressesCommand, DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client, IpRange, SecurityGroup,
} from '@aws-sdk/client-ec2';
import { Cidr, cidrWithin, readCidr } from '../assets/cidr';
import { tableLines } from './cli';
import { BOOT_TIMEOUT_TAG, DEFAULT_BOOT_TIMEOUT_SECONDS, HOME_INTERFACE_TAG, NAT_GROUP_TAG, SERVED_SOURCE_RULE } from '../assets/contract';
import { NatHealth, NatState, WatchdogConfig, assessNat, planRoutes } from '../assets/watchdog/decide';
import { Caller, observe } from '../assets/watchdog/index';

/** The AWS clients nat-doctor uses: the controller's three, and CloudFormation to find a stack. */
export interface DoctorClients {
  readonly ec2: EC2Client;
  readonly autoscaling: AutoScalingClient;
  readonly cloudwatch: CloudWatchClient;
  readonly cloudformation: CloudFormationClient;
}

/** Something wrong, why it matters and how to fix it. */
export interface Problem {
  readonly az: string;
  readonly problem: string;
  readonly fix: string;
}

export interface RouteReport {
  readonly routeTableId: string;
  readonly az?: string;
  /** The NAT interface this table uses while that NAT is healthy. */
  readonly home?: string;
  /** What the default route points at: a NAT interface, or another target (igw-..., nat-...). */
  readonly target?: string;
  readonly state: string;
  /**
   * home: the NAT it uses while that NAT is healthy; failed-over: another NAT of this VPC;
   * bypass: a target that is no NAT of this VPC; none: no default route; manual: under an
   * operator's control (MANUAL_ROUTE_TAG).
   */
  readonly placement: 'home' | 'failed-over' | 'bypass' | 'none' | 'manual';
}

export interface ZoneReport {
  readonly az: string;
  readonly networkInterfaceId: string;
  readonly instanceId?: string;
  readonly instanceState?: string;
  readonly statusChecks?: string;
  readonly attached: boolean;
  /** The controller's own judgement of this NAT (assessNat). */
  readonly state: NatState;
  readonly health: string;
  readonly sourceDestCheck: boolean;
  readonly publicIp?: string;
  /** Sources a security group of the interface admits from outside the VPC and the blocks the stack serves. */
  readonly exposedTo: string[];
  readonly heartbeatAgeSeconds?: number;
  readonly routes: RouteReport[];
}

export interface DoctorReport {
  readonly vpcId: string;
  readonly zones: ZoneReport[];
  readonly problems: Problem[];
  readonly healthy: boolean;
}

export interface DoctorOptions {
  readonly vpcId?: string;
  readonly stackName?: string;
  readonly now?: Date;
}

/** Finds the VPC of a stack deployed from this project. */
async function vpcOfStack(clients: DoctorClients, stackName: string): Promise<string> {
  // Listed page by page: DescribeStackResources stops at 100 resources.
  for await (const page of paginateListStackResources({ client: clients.cloudformation }, { StackName: stackName })) {
    const vpc = (page.StackResourceSummaries ?? []).find((r) => r.ResourceType === 'AWS::EC2::VPC');
    if (vpc?.PhysicalResourceId) {
      return vpc.PhysicalResourceId;
    }
  }
  throw new Error(`stack ${stackName} has no VPC`);
}

/** What an unhealthy NAT needs, by the controller's reason. */
function fixFor(health: NatHealth, instanceId: string | undefined, group: string | undefined): string {
  if (/not attached|detached|attaching|detaching/.test(health.reason)) {
    return `look at the Auto Scaling group's activity: aws autoscaling describe-scaling-activities --auto-scaling-group-name <the ${NAT_GROUP_TAG}=${group} group>`;
  }
  if (/heartbeat/.test(health.reason)) {
    return `open a session (aws ssm start-session --target ${instanceId ?? '<instance>'}) and run: systemctl status nat-instance nat-instance-check.timer`;
  }
  return `Auto Scaling replaces an impaired instance; if it does not, terminate it: aws ec2 terminate-instances --instance-ids ${instanceId ?? '<instance>'}`;
}

/**
 * Looks at every NAT of a VPC (its interfaces tagged NatInstanceGroup) and every private route
 * table of the stack (tagged with its home NAT), judges each NAT with the controller's own
 * assessNat and each route with its planRoutes, and lists what is wrong.
 */
export async function diagnose(clients: DoctorClients, options: DoctorOptions): Promise<DoctorReport> {
  const now = options.now ?? new Date();
  const vpcId = options.vpcId ?? (options.stackName ? await vpcOfStack(clients, options.stackName) : undefined);
  if (!vpcId) {
    throw new Error('give --vpc-id or --stack');
  }
  const vpcFilter = { Name: 'vpc-id', Values: [vpcId] };
  const interfaces = (await clients.ec2.send(new DescribeNetworkInterfacesCommand({
    Filters: [vpcFilter, { Name: 'tag-key', Values: [NAT_GROUP_TAG] }],
  }))).NetworkInterfaces ?? [];
  const problems: Problem[] = [];
  if (interfaces.length === 0) {
    problems.push({ az: '-', problem: `no NAT interface (tag ${NAT_GROUP_TAG}) in ${vpcId}`, fix: 'check the VPC ID or stack name, and that the stack deployed' });
  }
  const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;
  const enis = interfaces.map((i) => i.NetworkInterfaceId!);
  const eniAz = new Map(interfaces.map((i) => [i.NetworkInterfaceId!, i.AvailabilityZone!]));
  const subnets = (await clients.ec2.send(new DescribeSubnetsCommand({ Filters: [vpcFilter] }))).Subnets ?? [];
  const subnetAz = new Map(subnets.map((s) => [s.SubnetId!, s.AvailabilityZone!]));
  const allTables = (await clients.ec2.send(new DescribeRouteTablesCommand({ Filters: [vpcFilter] }))).RouteTables ?? [];
  // The stack's private tables carry their home NAT in a tag; others count only if they route to
  // a NAT interface. Public (internet gateway) and isolated tables are not the NATs' business.
  const tables = allTables.flatMap((t) => {
    const route = (t.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
    const az = (t.Associations ?? []).map((a) => (a.SubnetId ? subnetAz.get(a.SubnetId) : undefined)).find((z) => z);
    const home = tag(t.Tags, HOME_INTERFACE_TAG) ?? (route?.NetworkInterfaceId && eniAz.has(route.NetworkInterfaceId) ? interfaces.find((i) => i.AvailabilityZone === az)?.NetworkInterfaceId : undefined);
    return home ? [{ table: t, route, az: az ?? eniAz.get(home) ?? '-', home }] : [];
  });

  const bootTimeouts = interfaces.map((i) => Number(tag(i.TagSet, BOOT_TIMEOUT_TAG)) || DEFAULT_BOOT_TIMEOUT_SECONDS);
  const config: WatchdogConfig = {
    nats: interfaces.map((i) => ({ networkInterfaceId: i.NetworkInterfaceId!, az: i.AvailabilityZone! })),
    routeTables: tables.map((t) => ({ routeTableId: t.table.RouteTableId!, az: t.az, homeNetworkInterfaceId: t.home })),
    bootTimeoutSeconds: Math.max(DEFAULT_BOOT_TIMEOUT_SECONDS, ...bootTimeouts),
  };
  // The controller's own observation, judgement and plan: nat-doctor cannot disagree with it.
  const { observations, routes } = enis.length === 0 ? { observations: [], routes: [] } : await observe(config, clients, new Caller(), now);
  const health = observations.map((o, i) => assessNat(o, { now, bootTimeoutSeconds: bootTimeouts[i] }));
  const decisions = planRoutes(config, health, routes);

  const addresses = enis.length === 0 ? [] : (await clients.ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'network-interface-id', Values: enis }] }))).Addresses ?? [];
  const groupIds = [...new Set(interfaces.flatMap((i) => (i.Groups ?? []).map((g) => g.GroupId!)))];
  const groups = groupIds.length === 0 ? [] : (await clients.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }))).SecurityGroups ?? [];
  const exposure = await exposedSources(clients, vpcId, groups);

  const routeReports: RouteReport[] = tables.map(({ table, route, az, home }) => {
    const target = route?.NetworkInterfaceId ?? route?.GatewayId ?? route?.NatGatewayId ?? route?.TransitGatewayId ?? route?.VpcPeeringConnectionId ?? route?.InstanceId;
    const manual = routes.find((r) => r.routeTableId === table.RouteTableId)?.manual === true;
    const placement: RouteReport['placement'] = manual ? 'manual' : !route ? 'none'
      : !route.NetworkInterfaceId || !eniAz.has(route.NetworkInterfaceId) ? 'bypass' : route.NetworkInterfaceId === home ? 'home' : 'failed-over';
    return { routeTableId: table.RouteTableId!, az, home, target, state: route?.State ?? 'missing', placement };
  });

  const zones: ZoneReport[] = interfaces.map((i, n) => {
    const eni = i.NetworkInterfaceId!;
    const az = i.AvailabilityZone!;
    const o = observations[n];
    const h = health[n];
    const zone: ZoneReport = {
      az, networkInterfaceId: eni, instanceId: o.instanceId, instanceState: o.instanceState,
      statusChecks: o.instanceStatus || o.systemStatus ? `${o.instanceStatus}/${o.systemStatus}` : undefined,
      attached: o.attachmentStatus === 'attached', state: h.state, health: h.reason,
      sourceDestCheck: i.SourceDestCheck ?? true,
      publicIp: addresses.find((a) => a.NetworkInterfaceId === eni)?.PublicIp,
      exposedTo: [...new Set((i.Groups ?? []).flatMap((g) => exposure.get(g.GroupId!) ?? []))],
      heartbeatAgeSeconds: o.lastHeartbeat === undefined ? undefined : Math.round((now.getTime() - o.lastHeartbeat.getTime()) / 1000),
      // Each NAT's row lists the tables whose home it is, wherever their traffic goes now.
      routes: routeReports.filter((r) => r.home === eni),
    };
    const add = (problem: string, fix: string) => problems.push({ az, problem, fix });
    if (h.state === 'unhealthy') {
      add(`NAT ${eni}${o.instanceId ? ` (${o.instanceId})` : ''} is unhealthy: ${h.reason}`, fixFor(h, o.instanceId, tag(i.TagSet, NAT_GROUP_TAG)));
    }
    if (zone.sourceDestCheck) {
      add(`source/dest check is on for ${eni}, so EC2 drops forwarded traffic`, `aws ec2 modify-network-interface-attribute --network-interface-id ${eni} --no-source-dest-check`);
    }
    if (!zone.publicIp) {
      add(`no Elastic IP on ${eni}, so egress has no stable public address`, `aws ec2 associate-address --allocation-id <eipalloc-...> --network-interface-id ${eni}`);
    }
    if (zone.exposedTo.length > 0) {
      add(`a security group of ${eni} admits ${zone.exposedTo.join(', ')}, outside the VPC's blocks and the blocks the stack serves`,
        'revoke the rule: the NAT needs traffic from the VPC\'s CIDR blocks (and networks routed to it) only');
    }
    return zone;
  });

  const healthy = new Set(health.filter((h) => h.healthy).map((h) => h.networkInterfaceId));
  for (const route of routeReports) {
    const at = route.az ?? '-';
    const decision = decisions.find((d) => d.routeTableId === route.routeTableId);
    const to = route.home && healthy.has(route.home) ? route.home : decision?.target ?? '<a healthy NAT interface>';
    if (route.placement === 'manual') {
      continue;
    }
    if (route.state === 'missing') {
      problems.push({ az: at, problem: `${route.routeTableId} has no default route`,
        fix: `aws ec2 create-route --route-table-id ${route.routeTableId} --destination-cidr-block 0.0.0.0/0 --network-interface-id ${to}` });
    } else if (route.placement === 'bypass') {
      problems.push({ az: at, problem: `the default route of ${route.routeTableId} goes to ${route.target ?? 'an unknown target'}, which is no NAT of this VPC: private traffic bypasses the NAT`,
        fix: `aws ec2 replace-route --route-table-id ${route.routeTableId} --destination-cidr-block 0.0.0.0/0 --network-interface-id ${to}` });
    } else if (route.state === 'blackhole') {
      problems.push({ az: at, problem: `default route of ${route.routeTableId} is blackhole (${route.target})`,
        fix: `the controller repairs it within a minute while a NAT is healthy; by hand: aws ec2 replace-route --route-table-id ${route.routeTableId} --destination-cidr-block 0.0.0.0/0 --network-interface-id ${to}` });
    } else if (decision?.action === 'move' && route.placement === 'failed-over' && route.home && healthy.has(route.home)) {
      problems.push({ az: at, problem: `${route.routeTableId} still goes through another zone's NAT although its own is healthy`, fix: 'check the route watchdog\'s logs (RouteWatchdog function in CloudWatch Logs)' });
    }
  }
  return { vpcId, zones, problems, healthy: problems.length === 0 };
}

/** The report as a table a person reads. */
export function formatReport(report: DoctorReport): string {
  const rows = [['AZ', 'NAT interface', 'instance', 'state', 'checks', 'src/dst', 'Elastic IP', 'exposure', 'heartbeat', 'private default routes']];
  for (const z of report.zones) {
    rows.push([
      z.az, z.networkInterfaceId, z.instanceId ?? '-', z.state === 'healthy' ? (z.attached ? z.instanceState ?? '?' : 'detached') : z.state, z.statusChecks ?? '-',
      z.sourceDestCheck ? 'ON' : 'off', z.publicIp ?? '-', z.exposedTo.length > 0 ? 'EXPOSED' : 'VPC only',
      z.heartbeatAgeSeconds === undefined ? 'never' : `${z.heartbeatAgeSeconds} s ago`,
      z.routes.map((r) => `${r.routeTableId} ${r.state}${['failed-over', 'bypass', 'manual'].includes(r.placement) ? ` (${r.placement})` : ''}`).join(', ') || '-',
    ]);
  }
  const lines = tableLines(rows, { rule: true });
  const failedOver = report.zones.flatMap((z) => z.routes).filter((r) => r.placement === 'failed-over');
  lines.push('', `VPC ${report.vpcId}: ${report.zones.length} NAT(s), ${failedOver.length} route table(s) failed over`);
  if (report.problems.length === 0) {
    const replacing = report.zones.filter((z) => z.state === 'replacing');
    lines.push(replacing.length === 0 ? 'OK: every NAT is healthy and every private default route is active.'
      : `OK: no problem; replacing: ${replacing.map((z) => `${z.az} (${z.health})`).join('; ')}`);
  } else {
    lines.push(`${report.problems.length} problem(s):`);
    for (const p of report.problems) {
      lines.push(`- [${p.az}] ${p.problem}`, `  fix: ${p.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Per security group, the sources it admits that expose the NAT: any IPv4 block outside the
 * VPC's blocks but those the stack admits as served (its own rules, by their description), any
 * prefix list (whose entries nat-doctor cannot judge), and any IPv6 range, since the NAT serves
 * IPv4 only. Not just 0.0.0.0/0: any other source can reach the host, and relay through it.
 */
async function exposedSources(clients: DoctorClients, vpcId: string, groups: SecurityGroup[]): Promise<Map<string, string[]>> {
  const vpc = (await clients.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs?.[0];
  const inside = [
    ...(vpc?.CidrBlockAssociationSet ?? []).filter((a) => a.CidrBlockState?.State === 'associated').map((a) => a.CidrBlock!),
    ...(vpc?.CidrBlock ? [vpc.CidrBlock] : []),
  ].map(readCidr).filter((c): c is Cidr => c !== undefined);
  const exposes = (range: IpRange) => {
    const block = readCidr(range.CidrIp ?? '');
    return range.Description !== SERVED_SOURCE_RULE && (!block || !inside.some((b) => cidrWithin(block, b)));
  };
  return new Map(groups.map((g) => [g.GroupId!, (g.IpPermissions ?? []).flatMap((p) => [
    ...(p.IpRanges ?? []).filter(exposes).map((r) => r.CidrIp!),
    ...(p.PrefixListIds ?? []).map((l) => `prefix list ${l.PrefixListId}`),
    ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6!),
  ])]));
}
