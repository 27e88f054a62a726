import { CloudFormationClient, paginateListStackResources } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DescribeAddressesCommand, DescribeInstanceStatusCommand, DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand, DescribeSubnetsCommand, EC2Client,
} from '@aws-sdk/client-ec2';
import { lastHeartbeats } from '../assets/watchdog/heartbeat';
import { HOME_INTERFACE_TAG, METRIC_NAMESPACE, NAT_GROUP_TAG } from '../assets/contract';

/** The AWS clients nat-doctor uses. */
export interface DoctorClients {
  readonly ec2: EC2Client;
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
  readonly target?: string;
  readonly state: string;
  /** home: the NAT it uses while that NAT is healthy; failed-over: another NAT; none: no NAT route. */
  readonly placement: 'home' | 'failed-over' | 'none';
}

export interface ZoneReport {
  readonly az: string;
  readonly networkInterfaceId: string;
  readonly instanceId?: string;
  readonly instanceState?: string;
  readonly statusChecks?: string;
  readonly attached: boolean;
  readonly sourceDestCheck: boolean;
  readonly publicIp?: string;
  readonly openToInternet: boolean;
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
  /** A heartbeat older than this is a problem. @default 180 */
  readonly heartbeatMaxAgeSeconds?: number;
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

/**
 * Looks at every NAT of a VPC (its interfaces tagged NatInstanceGroup) and at every route table
 * whose default route goes to a NAT interface or nowhere, and lists what is wrong.
 */
export async function diagnose(clients: DoctorClients, options: DoctorOptions): Promise<DoctorReport> {
  const now = options.now ?? new Date();
  const maxAge = options.heartbeatMaxAgeSeconds ?? 180;
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
  const enis = interfaces.map((i) => i.NetworkInterfaceId!);
  const instanceIds = interfaces.map((i) => i.Attachment?.InstanceId).filter((id): id is string => !!id);
  const statuses = instanceIds.length === 0 ? [] : (await clients.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: instanceIds, IncludeAllInstances: true }))).InstanceStatuses ?? [];
  const addresses = enis.length === 0 ? [] : (await clients.ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'network-interface-id', Values: enis }] }))).Addresses ?? [];
  const groupIds = [...new Set(interfaces.flatMap((i) => (i.Groups ?? []).map((g) => g.GroupId!)))];
  const groups = groupIds.length === 0 ? [] : (await clients.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }))).SecurityGroups ?? [];
  const openGroups = new Set(groups.filter((g) => (g.IpPermissions ?? []).some((p) =>
    (p.IpRanges ?? []).some((r) => r.CidrIp === '0.0.0.0/0') || (p.Ipv6Ranges ?? []).some((r) => r.CidrIpv6 === '::/0'))).map((g) => g.GroupId!));
  const lastBeat = enis.length === 0 ? new Map<string, Date | undefined>()
    : await lastHeartbeats((command) => clients.cloudwatch.send(command), METRIC_NAMESPACE, enis, new Date(now.getTime() - 3600_000), new Date(now.getTime() + 60_000));

  const subnets = (await clients.ec2.send(new DescribeSubnetsCommand({ Filters: [vpcFilter] }))).Subnets ?? [];
  const subnetAz = new Map(subnets.map((s) => [s.SubnetId!, s.AvailabilityZone!]));
  const tables = (await clients.ec2.send(new DescribeRouteTablesCommand({ Filters: [vpcFilter] }))).RouteTables ?? [];
  const eniAz = new Map(interfaces.map((i) => [i.NetworkInterfaceId!, i.AvailabilityZone!]));
  const routes: RouteReport[] = [];
  for (const table of tables) {
    const route = (table.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
    const tagged = table.Tags?.find((t) => t.Key === HOME_INTERFACE_TAG)?.Value;
    // The stack's private tables carry their home NAT in a tag; others count only if they route
    // to an interface. Public (internet gateway) and isolated (no default route) tables are not ours.
    if (!tagged && !route?.NetworkInterfaceId) {
      continue;
    }
    const az = (table.Associations ?? []).map((a) => (a.SubnetId ? subnetAz.get(a.SubnetId) : undefined)).find((z) => z);
    const home = tagged ?? interfaces.find((i) => i.AvailabilityZone === az)?.NetworkInterfaceId;
    const target = route?.NetworkInterfaceId;
    const placement = !target || !eniAz.has(target) ? 'none' : target === home ? 'home' : 'failed-over';
    routes.push({ routeTableId: table.RouteTableId!, az, home, target, state: route?.State ?? 'missing', placement });
  }

  const zones: ZoneReport[] = interfaces.map((i) => {
    const eni = i.NetworkInterfaceId!;
    const az = i.AvailabilityZone!;
    const instanceId = i.Attachment?.InstanceId;
    const status = statuses.find((s) => s.InstanceId === instanceId);
    const beat = lastBeat.get(eni);
    const age = beat === undefined ? undefined : Math.round((now.getTime() - beat.getTime()) / 1000);
    const zone: ZoneReport = {
      az, networkInterfaceId: eni, instanceId,
      instanceState: status?.InstanceState?.Name,
      statusChecks: status ? `${status.InstanceStatus?.Status}/${status.SystemStatus?.Status}` : undefined,
      attached: i.Attachment?.Status === 'attached',
      sourceDestCheck: i.SourceDestCheck ?? true,
      publicIp: addresses.find((a) => a.NetworkInterfaceId === eni)?.PublicIp,
      openToInternet: (i.Groups ?? []).some((g) => openGroups.has(g.GroupId!)),
      heartbeatAgeSeconds: age,
      // Each NAT's row lists the tables whose home it is, wherever their traffic goes now.
      routes: routes.filter((r) => r.home === eni),
    };
    const add = (problem: string, fix: string) => problems.push({ az, problem, fix });
    if (!zone.attached) {
      add(`NAT interface ${eni} is not attached to an instance`, `look at the Auto Scaling group's activity: aws autoscaling describe-scaling-activities --auto-scaling-group-name <the NatInstanceGroup=${i.TagSet?.find((t) => t.Key === NAT_GROUP_TAG)?.Value} group>`);
    } else if (zone.instanceState === 'running' && /initializing/.test(zone.statusChecks ?? '') && !/impaired/.test(zone.statusChecks ?? '')) {
      add(`NAT instance ${instanceId} is booting (status checks ${zone.statusChecks})`, 'wait a few minutes and run nat-doctor again');
    } else if (zone.instanceState !== 'running' || zone.statusChecks !== 'ok/ok') {
      add(`NAT instance ${instanceId} is ${zone.instanceState ?? 'unknown'}, status checks ${zone.statusChecks ?? 'unknown'}`, 'Auto Scaling replaces an impaired instance; if it does not, terminate it: aws ec2 terminate-instances --instance-ids ' + instanceId);
    }
    if (zone.sourceDestCheck) {
      add(`source/dest check is on for ${eni}, so EC2 drops forwarded traffic`, `aws ec2 modify-network-interface-attribute --network-interface-id ${eni} --no-source-dest-check`);
    }
    if (!zone.publicIp) {
      add(`no Elastic IP on ${eni}, so egress has no stable public address`, `aws ec2 associate-address --allocation-id <eipalloc-...> --network-interface-id ${eni}`);
    }
    if (zone.openToInternet) {
      add(`a security group of ${eni} admits 0.0.0.0/0 or ::/0`, 'revoke the rule: the NAT needs traffic from the VPC CIDR blocks only');
    }
    if (age === undefined || age > maxAge) {
      add(age === undefined ? `no heartbeat from the NAT self-check of ${eni}` : `last heartbeat ${age} s ago (limit ${maxAge} s)`,
        `open a session (aws ssm start-session --target ${instanceId ?? '<instance>'}) and run: systemctl status nat-instance nat-instance-check.timer`);
    }
    return zone;
  });
  for (const route of routes) {
    if (route.state === 'blackhole' || route.state === 'missing') {
      problems.push({ az: route.az ?? '-', problem: `default route of ${route.routeTableId} is ${route.state}${route.target ? ` (${route.target})` : ''}`,
        fix: 'the route watchdog repairs it within a minute while a NAT is healthy; by hand: aws ec2 replace-route --route-table-id ' + route.routeTableId + ' --destination-cidr-block 0.0.0.0/0 --network-interface-id <a healthy NAT interface>' });
    } else if (route.placement === 'failed-over') {
      const home = zones.find((z) => z.networkInterfaceId === route.home);
      if (home && !problems.some((p) => p.az === home.az)) {
        problems.push({ az: route.az!, problem: `${route.routeTableId} still goes through another zone's NAT although its own is healthy`, fix: 'check the route watchdog\'s logs (RouteWatchdog function in CloudWatch Logs)' });
      }
    }
  }
  return { vpcId, zones, problems, healthy: problems.length === 0 };
}

/** The report as a table a person reads. */
export function formatReport(report: DoctorReport): string {
  const rows = [['AZ', 'NAT interface', 'instance', 'state', 'checks', 'src/dst', 'Elastic IP', 'exposure', 'heartbeat', 'private default routes']];
  for (const z of report.zones) {
    rows.push([
      z.az, z.networkInterfaceId, z.instanceId ?? '-', z.attached ? z.instanceState ?? '?' : 'detached', z.statusChecks ?? '-',
      z.sourceDestCheck ? 'ON' : 'off', z.publicIp ?? '-', z.openToInternet ? 'OPEN' : 'VPC only',
      z.heartbeatAgeSeconds === undefined ? 'never' : `${z.heartbeatAgeSeconds} s ago`,
      z.routes.map((r) => `${r.routeTableId} ${r.state}${r.placement === 'failed-over' ? ' (failed over)' : ''}`).join(', ') || '-',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const failedOver = report.zones.flatMap((z) => z.routes).filter((r) => r.placement === 'failed-over');
  lines.push('', `VPC ${report.vpcId}: ${report.zones.length} NAT(s), ${failedOver.length} route table(s) failed over`);
  if (report.problems.length === 0) {
    lines.push('OK: every NAT is healthy and every private default route is active.');
  } else {
    lines.push(`${report.problems.length} problem(s):`);
    for (const p of report.problems) {
      lines.push(`- [${p.az}] ${p.problem}`, `  fix: ${p.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
