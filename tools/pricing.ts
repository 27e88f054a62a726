/**
 * The cost tool's arithmetic: both options' monthly cost from cost/prices.json, and what each
 * instance type carries for good from cost/bandwidth.json. No CDK app here, so that it is tested
 * in-process (test/pricing.test.ts) and mutated (npm run test:mutation); npm run cost
 * (tools/cost.ts) reads the deployment and prints.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tableLines } from '../bin/cli';
import { parseInstanceType } from '../lib/instance-types';

const ROOT = path.join(__dirname, '..');

export interface RegionPrices {
  readonly largeHourly: Record<string, number>;
  readonly publicIpv4Hourly: number;
  readonly ebsGp3GbMonth: number;
  readonly natGatewayHourly: number;
  readonly natGatewayPerGb: number;
  readonly cloudwatchMetricMonth: number;
  readonly cloudwatchPer1000Requests: number;
  readonly cloudwatchPer1000MetricsRequested: number;
  readonly lambdaArmGbSecond: number;
  readonly cloudwatchAlarmMonth: number;
  readonly cloudwatchDashboardMonth: number;
}

export interface PriceTable {
  readonly date: string;
  readonly currency: string;
  readonly source: string;
  readonly hoursPerMonth: number;
  readonly sizeFactors: Record<string, number>;
  readonly regions: Record<string, RegionPrices>;
}

export function loadPrices(file = path.join(ROOT, 'cost', 'prices.json')): PriceTable {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PriceTable;
}

export interface CostInput {
  readonly region: string;
  readonly gbPerMonth: number;
  readonly natCount: number;
  readonly instanceType: string;
  readonly rootVolumeSize: number;
  readonly routeWatchdog: boolean;
  readonly alarms: boolean;
  readonly dashboard: boolean;
  /** The NATs' load metrics and their alarms (detailedMonitoring). */
  readonly detailedMonitoring: boolean;
  /** The NATs run on Spot at this price, in USD an hour (spot=true with --spot-price). */
  readonly spotHourly?: number;
  /** Public addresses of each NAT (publicIpsPerNat), and so of each gateway. @default 1 */
  readonly publicIps?: number;
}

export interface CostLine {
  readonly item: string;
  readonly natInstance: number;
  readonly natGateway: number;
}

export interface CostReport {
  readonly lines: CostLine[];
  /** Instances, one public IPv4 each and root volumes: what no NAT instance costs less than. */
  readonly floor: number;
  readonly natInstanceTotal: number;
  readonly natGatewayTotal: number;
  readonly pricesDate: string;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** The monthly cost of both options, item by item. */
export function estimate(input: CostInput, prices: PriceTable): CostReport {
  const region = prices.regions[input.region];
  if (!region) {
    throw new Error(`--region: got '${input.region}'; expected one of the regions in cost/prices.json: ${Object.keys(prices.regions).join(', ')}`);
  }
  if (!(Number.isFinite(input.gbPerMonth) && input.gbPerMonth >= 0)) {
    throw new Error(`--gb-per-month: got '${input.gbPerMonth}'; expected a number of GB, 0 or more`);
  }
  const type = parseInstanceType('instanceType', input.instanceType);
  if (input.spotHourly !== undefined && !(Number.isFinite(input.spotHourly) && input.spotHourly > 0)) {
    throw new Error(`--spot-price: got '${input.spotHourly}'; expected the Spot price in USD an hour, more than 0`);
  }
  const hourly = input.spotHourly ?? region.largeHourly[type.family] * prices.sizeFactors[type.size];
  if (!Number.isFinite(hourly)) {
    throw new Error(`no price for ${input.instanceType} in ${input.region} in cost/prices.json`);
  }
  const h = prices.hoursPerMonth;
  const n = input.natCount;
  const ips = input.publicIps ?? 1;
  const perMonthMinutes = h * 60;
  // Every minute each NAT publishes its heartbeat (one call), and with detailed monitoring two
  // load metrics (a second call); the controller, always deployed, reads every heartbeat.
  const metricsPerNat = input.detailedMonitoring ? 3 : 1;
  const callsPerMinute = input.detailedMonitoring ? 2 : 1;
  const selfCheck = n * metricsPerNat * region.cloudwatchMetricMonth + (perMonthMinutes * n * callsPerMinute / 1000) * region.cloudwatchPer1000Requests;
  const controller = (perMonthMinutes * n / 1000) * region.cloudwatchPer1000MetricsRequested + perMonthMinutes * 0.5 * 0.25 * region.lambdaArmGbSecond;
  const alarmCount = 2 * n + (input.detailedMonitoring ? 2 * n : 0) + (input.routeWatchdog ? 1 : 0);
  const lines: CostLine[] = [
    {
      item: `compute: ${n} × ${input.instanceType}${input.spotHourly !== undefined ? ` on Spot at $${input.spotHourly}/h` : ''} / ${n} × NAT gateway hours`,
      natInstance: n * hourly * h, natGateway: n * region.natGatewayHourly * h,
    },
    {
      // A gateway needs as many addresses as a NAT for the same connections to one destination.
      item: `public IPv4 addresses (${ips === 1 ? 'one Elastic IP' : `${ips} Elastic IPs`} per NAT / per gateway)`,
      natInstance: n * ips * region.publicIpv4Hourly * h, natGateway: n * ips * region.publicIpv4Hourly * h,
    },
    { item: `EBS gp3 root volumes (${input.rootVolumeSize} GiB each)`, natInstance: n * input.rootVolumeSize * region.ebsGp3GbMonth, natGateway: 0 },
    { item: `self-check metrics (${metricsPerNat} per NAT, published every minute)`, natInstance: selfCheck, natGateway: 0 },
    { item: 'controller: heartbeat reads, Lambda', natInstance: controller, natGateway: 0 },
    {
      item: `alarms (${input.alarms ? alarmCount : 0})${input.dashboard ? ' and dashboard (the first 3 of an account are free)' : ''}`,
      natInstance: (input.alarms ? alarmCount * region.cloudwatchAlarmMonth : 0) + (input.dashboard ? region.cloudwatchDashboardMonth : 0),
      natGateway: 0,
    },
    { item: `data processing (${input.gbPerMonth} GB)`, natInstance: 0, natGateway: input.gbPerMonth * region.natGatewayPerGb },
  ].map((l) => ({ ...l, natInstance: round(l.natInstance), natGateway: round(l.natGateway) }));
  return {
    lines,
    // What no NAT instance can cost less than: its instance, its one public address, its volume.
    floor: round(lines.slice(0, 3).reduce((s, l) => s + l.natInstance, 0)),
    natInstanceTotal: round(lines.reduce((s, l) => s + l.natInstance, 0)),
    natGatewayTotal: round(lines.reduce((s, l) => s + l.natGateway, 0)),
    pricesDate: prices.date,
  };
}

/** AWS's published network bandwidth of each supported instance type (cost/bandwidth.json). */
export interface BandwidthTable {
  readonly date: string;
  readonly types: Record<string, { readonly baseline: number; readonly burst: number }>;
}

export function loadBandwidth(file = path.join(ROOT, 'cost', 'bandwidth.json')): BandwidthTable {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BandwidthTable;
}

/**
 * vCPUs of a size: the internet gateway's limit depends on whether they are 32 or more. (A
 * medium has 1 on Graviton and 2 when burstable; either is far below 32.) Every supported size
 * has one: test/pricing.test.ts holds the two lists together.
 */
export const VCPUS: Readonly<Record<string, number>> = {
  nano: 2, micro: 2, small: 2, medium: 2, large: 2, xlarge: 4, '2xlarge': 8, '4xlarge': 16, '8xlarge': 32,
  '9xlarge': 36, '12xlarge': 48, '16xlarge': 64, '18xlarge': 72, '24xlarge': 96,
};

/**
 * The traffic a NAT of this type carries for good, in Gbit/s: its baseline, capped by what an
 * instance may send through an internet gateway (5 Gbit/s below 32 vCPUs, else half its
 * bandwidth or 5, whichever is more; EC2 User Guide, "Amazon EC2 instance network bandwidth").
 */
export function sustainedGbps(instanceType: string, bandwidth: BandwidthTable): number | undefined {
  const figures = bandwidth.types[instanceType];
  return figures ? carriedForGood(instanceType, figures) : undefined;
}

function carriedForGood(instanceType: string, figures: BandwidthTable['types'][string]): number {
  const type = parseInstanceType('instanceType', instanceType);
  const vcpus = VCPUS[type.size];
  const gatewayCap = vcpus >= 32 ? Math.max(5, figures.baseline / 2) : 5;
  return Math.min(figures.baseline, gatewayCap);
}

export interface SizedType {
  readonly instanceType: string;
  readonly baseline: number;
  readonly burst: number;
  readonly sustained: number;
  readonly monthly: number;
}

/** Every supported type with a published bandwidth and a price, cheapest first. */
export function sizedTypes(region: string, prices: PriceTable, bandwidth: BandwidthTable): SizedType[] {
  const table = prices.regions[region];
  return Object.entries(bandwidth.types).flatMap(([instanceType, figures]) => {
    const [family, size] = instanceType.split('.');
    const hourly = table?.largeHourly[family] * prices.sizeFactors[size];
    return Number.isFinite(hourly)
      ? [{ instanceType, baseline: figures.baseline, burst: figures.burst, sustained: carriedForGood(instanceType, figures), monthly: round(hourly * prices.hoursPerMonth) }]
      : [];
  }).sort((a, b) => a.monthly - b.monthly || b.sustained - a.sustained);
}

/** The cheapest supported type that carries `gbps` for good, or undefined past the largest. */
export function recommendType(gbps: number, region: string, prices: PriceTable, bandwidth: BandwidthTable): SizedType | undefined {
  if (!(Number.isFinite(gbps) && gbps > 0)) {
    throw new Error(`--gbps: got '${gbps}'; expected the sustained traffic through each NAT in Gbit/s, more than 0`);
  }
  return sizedTypes(region, prices, bandwidth).find((t) => t.sustained >= gbps);
}

/** The sizing ladder: each type that carries more for good than every cheaper one. */
export function sizingLadder(region: string, prices: PriceTable, bandwidth: BandwidthTable): SizedType[] {
  let best = 0;
  return sizedTypes(region, prices, bandwidth).filter((t) => (t.sustained > best ? ((best = t.sustained), true) : false));
}

/** GB a month at a sustained rate: Gbit/s × seconds in the table's month ÷ 8. */
export const gbPerMonthAt = (gbps: number, prices: PriceTable) => (gbps * 3600 * prices.hoursPerMonth) / 8;

export function formatCost(report: CostReport, input: CostInput): string {
  const rows = [['monthly, ' + input.region, 'NAT instances', 'NAT gateways'],
    ...report.lines.map((l) => [l.item, `$${l.natInstance.toFixed(2)}`, `$${l.natGateway.toFixed(2)}`]),
    ['total', `$${report.natInstanceTotal.toFixed(2)}`, `$${report.natGatewayTotal.toFixed(2)}`]];
  const text = tableLines(rows, { rightAligned: [1, 2] }).join('\n');
  const ratio = report.natGatewayTotal > 0 ? report.natInstanceTotal / report.natGatewayTotal : 0;
  // Whole percents from 1% up; below, one significant digit.
  const percent = Math.floor(ratio * 100) > 0 ? (ratio * 100).toFixed(0) : (ratio * 100).toPrecision(1);
  return `${text}\n\nNAT instances cost ${percent}% of NAT gateways at ${input.gbPerMonth} GB a month, ` +
    `and ${(report.natInstanceTotal / report.floor).toFixed(2)}× their floor of $${report.floor.toFixed(2)} (instances, one public IPv4 each, root volumes). ` +
    `Prices of ${report.pricesDate} (cost/prices.json); internet data transfer out is the same for both and left out.\n`;
}
