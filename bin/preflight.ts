import { DescribeAccountAttributesCommand, DescribeAddressesCommand, EC2Client, paginateDescribeInstanceTypeOfferings } from '@aws-sdk/client-ec2';

/** What a first deployment will ask of the account and region. */
export interface PreflightOptions {
  /** The NAT instance type, such as t4g.nano. */
  readonly instanceType: string;
  /** The zones the NATs go into. */
  readonly zones: readonly string[];
  /** How many Elastic IPs the deployment allocates (one per NAT, less any given allocation IDs). */
  readonly elasticIps: number;
}

export interface PreflightReport {
  readonly instanceType: string;
  /** The zones of the region that offer the instance type. */
  readonly offeredZones: string[];
  readonly elasticIpsInUse: number;
  readonly elasticIpQuota?: number;
  readonly elasticIpsNeeded: number;
  readonly problems: string[];
  readonly ok: boolean;
}

/**
 * Checks, before a first deployment, that every chosen zone offers the instance type (where one
 * does not, the deployment waits its whole boot timeout and rolls back) and that the account can
 * allocate the Elastic IPs.
 */
export async function preflight(ec2: EC2Client, options: PreflightOptions): Promise<PreflightReport> {
  const offered = new Set<string>();
  const pages = paginateDescribeInstanceTypeOfferings({ client: ec2 }, {
    LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: [options.instanceType] }],
  });
  for await (const page of pages) {
    for (const offering of page.InstanceTypeOfferings ?? []) {
      offered.add(offering.Location!);
    }
  }
  const offeredZones = [...offered].sort();
  const problems: string[] = [];
  for (const zone of options.zones.filter((z) => !offered.has(z))) {
    problems.push(offeredZones.length === 0
      ? `no zone of the region offers ${options.instanceType}: choose another instance type`
      : `${zone} does not offer ${options.instanceType}: choose zones among ${offeredZones.join(', ')} (-c azs=...), or another instance type`);
  }
  const inUse = ((await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []).filter((a) => a.Domain !== 'standard').length;
  const attribute = ((await ec2.send(new DescribeAccountAttributesCommand({}))).AccountAttributes ?? []).find((a) => a.AttributeName === 'vpc-max-elastic-ips');
  const quota = Number(attribute?.AttributeValues?.[0]?.AttributeValue);
  const elasticIpQuota = Number.isFinite(quota) ? quota : undefined;
  if (elasticIpQuota !== undefined && options.elasticIps > 0 && inUse + options.elasticIps > elasticIpQuota) {
    problems.push(`the account holds ${inUse} of its ${elasticIpQuota} Elastic IPs in this region, and the deployment needs ${options.elasticIps} more: ` +
      'release unused ones, give existing ones (-c eipAllocationIds=...), or ask for a higher quota (Service Quotas, EC2, "EC2-VPC Elastic IPs")');
  }
  return {
    instanceType: options.instanceType, offeredZones, elasticIpsInUse: inUse, elasticIpQuota, elasticIpsNeeded: options.elasticIps,
    problems: [...new Set(problems)], ok: problems.length === 0,
  };
}

/** The report as a person reads it. */
export function formatPreflight(report: PreflightReport, zones: readonly string[]): string {
  const lines = [
    `${report.instanceType} is offered in: ${report.offeredZones.join(', ') || 'no zone of this region'}`,
    `chosen zones: ${zones.join(', ')}`,
    `Elastic IPs: ${report.elasticIpsInUse} in use, ${report.elasticIpsNeeded} needed, quota ${report.elasticIpQuota ?? 'unknown'}`,
  ];
  lines.push(report.ok ? 'OK: a first deployment can proceed.' : `${report.problems.length} problem(s):`, ...report.problems.map((p) => `- ${p}`));
  return `${lines.join('\n')}\n`;
}
