import { SUPPORTED_INSTANCE_FAMILIES } from '../lib/instance-types';
import {
  BandwidthTable, CostInput, PriceTable, VCPUS, estimate, formatCost, gbPerMonthAt, loadBandwidth, loadPrices, recommendType, sizedTypes, sizingLadder, sustainedGbps,
} from '../tools/pricing';

/** The cost tool's arithmetic, in-process; test/cost.test.ts runs npm run cost itself. */
const prices = loadPrices();
const bandwidth = loadBandwidth();
const DEFAULT: CostInput = {
  region: 'us-east-1', gbPerMonth: 100, natCount: 2, instanceType: 't4g.nano', rootVolumeSize: 8, routeWatchdog: true, alarms: true, dashboard: false, detailedMonitoring: false,
};

describe('estimate', () => {
  test('the default deployment at 100 GB a month in us-east-1, item by item', () => {
    const report = estimate(DEFAULT, prices);
    expect(report.lines.map((l) => [l.natInstance, l.natGateway])).toEqual([
      [6.13, 65.7], // 2 × 0.0042 × 730; 2 × 0.045 × 730
      [7.3, 7.3], // one public IPv4 address per NAT instance and per gateway, 0.005 × 730 each
      [1.28, 0], // 2 × 8 GiB × 0.08
      [1.48, 0], // 2 heartbeat metrics × 0.30; 2 NATs × 1 PutMetricData call a minute, $0.01 per 1000
      [0.95, 0], // 2 heartbeats read a minute, $0.01 per 1000 metrics; Lambda 0.5 s × 256 MB a minute
      [0.5, 0], // 5 alarms × 0.10: status check and heartbeat per NAT, failover
      [0, 4.5], // 100 GB × 0.045
    ]);
    expect([report.natInstanceTotal, report.natGatewayTotal]).toEqual([17.64, 77.5]);
    // The floor: instances, one public IPv4 each, root volumes. The default is within 1.25x of it.
    expect(report.floor).toBe(14.71);
    expect(report.natInstanceTotal / report.floor).toBeLessThanOrEqual(1.25);
    expect(report.natInstanceTotal).toBeLessThanOrEqual(18.4);
    expect(report.pricesDate).toBe('2026-11-01');
  });

  test('detailed monitoring, the opt-in level: two more metrics and alarms per NAT, and the dashboard', () => {
    const detailed = estimate({ ...DEFAULT, detailedMonitoring: true, dashboard: true }, prices);
    // 6 metrics x 0.30 and 2 calls a minute per NAT; the controller; 9 alarms x 0.10 and a dashboard 3.00
    expect(detailed.lines.slice(3, 6).map((l) => l.natInstance)).toEqual([3.55, 0.95, 3.9]);
    expect(detailed.natInstanceTotal).toBe(23.11);
  });

  test('traffic costs the gateways only; the watchdog can be left out', () => {
    const heavy = estimate({ ...DEFAULT, gbPerMonth: 10_000 }, prices);
    expect(heavy.natGatewayTotal - estimate(DEFAULT, prices).natGatewayTotal).toBeCloseTo(9900 * 0.045, 2);
    expect(heavy.natInstanceTotal).toBe(17.64);
    // Without failover there is no failover alarm; the controller itself stays.
    expect(estimate({ ...DEFAULT, routeWatchdog: false, alarms: false }, prices).natInstanceTotal).toBe(17.14);
  });

  test('every supported instance type has a price in every region of the table', () => {
    for (const [region, table] of Object.entries(prices.regions)) {
      for (const [family, info] of Object.entries(SUPPORTED_INSTANCE_FAMILIES)) {
        expect([region, family, typeof table.largeHourly[family]]).toEqual([region, family, 'number']);
        for (const size of info.sizes) {
          expect([family, size, typeof prices.sizeFactors[size]]).toEqual([family, size, 'number']);
        }
      }
    }
  });

  test('Spot: the instances at the given Spot price, everything else as on demand', () => {
    const spot = estimate({ ...DEFAULT, spotHourly: 0.0016 }, prices);
    expect(spot.lines[0]).toEqual({ item: 'compute: 2 × t4g.nano on Spot at $0.0016/h / 2 × NAT gateway hours', natInstance: 2.34, natGateway: 65.7 }); // 2 × 0.0016 × 730
    expect(spot.lines.slice(1)).toEqual(estimate(DEFAULT, prices).lines.slice(1));
    expect(spot.natInstanceTotal).toBe(13.85);
    expect(() => estimate({ ...DEFAULT, spotHourly: 0 }, prices)).toThrow("--spot-price: got '0'; expected the Spot price in USD an hour, more than 0");
    expect(() => estimate({ ...DEFAULT, spotHourly: NaN }, prices)).toThrow("--spot-price: got 'NaN'");
  });

  test('each line says what it prices', () => {
    expect(estimate(DEFAULT, prices).lines.map((l) => l.item)).toEqual([
      'compute: 2 × t4g.nano / 2 × NAT gateway hours',
      'public IPv4 addresses (one Elastic IP per NAT / per gateway)',
      'EBS gp3 root volumes (8 GiB each)',
      'self-check metrics (1 per NAT, published every minute)',
      'controller: heartbeat reads, Lambda',
      'alarms (5)',
      'data processing (100 GB)',
    ]);
    const detailed = estimate({ ...DEFAULT, detailedMonitoring: true, dashboard: true, alarms: false }, prices).lines;
    expect([detailed[3].item, detailed[5].item]).toEqual(['self-check metrics (3 per NAT, published every minute)', 'alarms (0) and dashboard (the first 3 of an account are free)']);
    expect(detailed[5].natInstance).toBe(3); // the dashboard alone
  });

  test('two public addresses per NAT cost two per gateway too, for the same connections to one destination', () => {
    const two = estimate({ ...DEFAULT, publicIps: 2 }, prices).lines[1];
    expect(two).toEqual({ item: 'public IPv4 addresses (2 Elastic IPs per NAT / per gateway)', natInstance: 14.6, natGateway: 14.6 }); // 2 × 2 × 0.005 × 730
  });

  test('no traffic at all is a deployment too: the gateways cost their hours and addresses', () => {
    const idle = estimate({ ...DEFAULT, gbPerMonth: 0 }, prices);
    expect(idle.lines[6]).toEqual({ item: 'data processing (0 GB)', natInstance: 0, natGateway: 0 });
    expect(idle.natGatewayTotal).toBe(73);
  });

  test('an instance type the table has no price for in that region is named', () => {
    const partial: PriceTable = { ...prices, regions: { ...prices.regions, 'us-east-1': { ...prices.regions['us-east-1'], largeHourly: {} } } };
    expect(() => estimate(DEFAULT, partial)).toThrow('no price for t4g.nano in us-east-1 in cost/prices.json');
  });

  test('the printed report: both columns, the totals, the ratio and the floor', () => {
    expect(formatCost(estimate(DEFAULT, prices), DEFAULT)).toBe([
      'monthly, us-east-1                                            NAT instances  NAT gateways',
      'compute: 2 × t4g.nano / 2 × NAT gateway hours                         $6.13        $65.70',
      'public IPv4 addresses (one Elastic IP per NAT / per gateway)          $7.30         $7.30',
      'EBS gp3 root volumes (8 GiB each)                                     $1.28         $0.00',
      'self-check metrics (1 per NAT, published every minute)                $1.48         $0.00',
      'controller: heartbeat reads, Lambda                                   $0.95         $0.00',
      'alarms (5)                                                            $0.50         $0.00',
      'data processing (100 GB)                                              $0.00         $4.50',
      'total                                                                $17.64        $77.50',
      '',
      'NAT instances cost 23% of NAT gateways at 100 GB a month, and 1.20× their floor of $14.71 (instances, one public IPv4 each, ' +
      'root volumes). Prices of 2026-11-01 (cost/prices.json); internet data transfer out is the same for both and left out.',
      '',
    ].join('\n'));
  });

  test('a share below 1% keeps one significant digit, and no gateway cost prints 0%', () => {
    const report = { ...estimate(DEFAULT, prices), natInstanceTotal: 0.5, natGatewayTotal: 100 };
    expect(formatCost(report, DEFAULT)).toContain('NAT instances cost 0.5% of NAT gateways');
    expect(formatCost({ ...report, natInstanceTotal: 1 }, DEFAULT)).toContain('NAT instances cost 1% of NAT gateways');
    expect(formatCost({ ...report, natGatewayTotal: 0 }, DEFAULT)).toContain('NAT instances cost 0% of NAT gateways');
  });

  test('bad input names the option, the value and what is allowed', () => {
    expect(() => estimate({ ...DEFAULT, region: 'mars-1' }, prices)).toThrow("--region: got 'mars-1'; expected one of the regions in cost/prices.json: us-east-1, eu-west-1");
    expect(() => estimate({ ...DEFAULT, gbPerMonth: -1 }, prices)).toThrow("--gb-per-month: got '-1'; expected a number of GB, 0 or more");
    expect(() => estimate({ ...DEFAULT, instanceType: 'p5.large' }, prices)).toThrow("Invalid instanceType: got 'p5.large'");
  });
});

describe('sizing by traffic', () => {
  test('what a type carries for good: its baseline, within what an internet gateway lets an instance send', () => {
    expect(sustainedGbps('t4g.nano', bandwidth)).toBe(0.032);
    expect(sustainedGbps('c6gn.medium', bandwidth)).toBe(1.6);
    // below 32 vCPUs at most 5 Gbit/s through an internet gateway, whatever the baseline
    expect(sustainedGbps('c7gn.large', bandwidth)).toBe(5);
    // from 32 vCPUs half the bandwidth, or 5, whichever is more
    expect(sustainedGbps('c6gn.8xlarge', bandwidth)).toBe(25);
    expect(sustainedGbps('c6g.8xlarge', bandwidth)).toBe(6);
    expect(sustainedGbps('m7i.large', bandwidth)).toBeUndefined();
  });

  test('the recommendation is the cheapest type that carries the traffic, at every step of the ladder', () => {
    expect(recommendType(0.032, 'us-east-1', prices, bandwidth)?.instanceType).toBe('t4g.nano');
    expect(recommendType(0.033, 'us-east-1', prices, bandwidth)?.instanceType).toBe('t4g.micro');
    expect(recommendType(3, 'us-east-1', prices, bandwidth)?.instanceType).toBe('c7gn.medium');
    expect(recommendType(80, 'us-east-1', prices, bandwidth)).toBeUndefined();
    expect(() => recommendType(-1, 'us-east-1', prices, bandwidth)).toThrow("--gbps: got '-1'; expected the sustained traffic through each NAT in Gbit/s, more than 0");
    const ladder = sizingLadder('us-east-1', prices, bandwidth);
    for (let i = 1; i < ladder.length; i++) {
      expect(ladder[i].monthly).toBeGreaterThanOrEqual(ladder[i - 1].monthly);
      expect(ladder[i].sustained).toBeGreaterThan(ladder[i - 1].sustained);
      // nothing cheaper than a step carries as much
      expect(recommendType(ladder[i].sustained, 'us-east-1', prices, bandwidth)).toEqual(ladder[i]);
    }
  });

  test('a burstable medium has 2 vCPUs and a Graviton medium 1: both below 32, so capped at 5', () => {
    expect(sustainedGbps('t4g.medium', bandwidth)).toBe(0.256);
    expect(sustainedGbps('c6g.medium', bandwidth)).toBe(0.5);
    const fast: BandwidthTable = { date: 'test', types: { 't4g.medium': { baseline: 40, burst: 40 }, 'c6g.4xlarge': { baseline: 40, burst: 40 }, 'c6g.8xlarge': { baseline: 40, burst: 40 } } };
    expect(sustainedGbps('t4g.medium', fast)).toBe(5);
    expect(sustainedGbps('c6g.4xlarge', fast)).toBe(5); // 16 vCPUs
    expect(sustainedGbps('c6g.8xlarge', fast)).toBe(20); // 32 vCPUs: half of 40
    const slow: BandwidthTable = { date: 'test', types: { 'c6g.8xlarge': { baseline: 4, burst: 4 } } };
    expect(sustainedGbps('c6g.8xlarge', slow)).toBe(4); // its baseline, below either cap
  });

  test('every supported size has a vCPU count, so that none is sized without the gateway\'s limit', () => {
    const sizes = new Set(Object.values(SUPPORTED_INSTANCE_FAMILIES).flatMap((info) => info.sizes));
    expect([...sizes].filter((size) => !(VCPUS[size] > 0))).toEqual([]);
    expect(() => sustainedGbps('p5.large', { date: 'test', types: { 'p5.large': { baseline: 1, burst: 1 } } })).toThrow("Invalid instanceType: got 'p5.large'");
  });

  test('sizedTypes: only types with a price and a bandwidth, cheapest first, and of two at one price the faster first', () => {
    const table: PriceTable = { ...prices, sizeFactors: { ...prices.sizeFactors }, regions: { r: { ...prices.regions['us-east-1'], largeHourly: { c6g: 0.1, c6gn: 0.1 } } } };
    const types: BandwidthTable = {
      date: 'test', types: {
        'c6g.large': { baseline: 0.75, burst: 10 }, 'c6gn.large': { baseline: 3, burst: 25 }, 't4g.nano': { baseline: 0.032, burst: 5 }, 'c6g.xlarge': { baseline: 1.25, burst: 10 },
      },
    };
    expect(sizedTypes('r', table, types).map((t) => [t.instanceType, t.sustained, t.monthly])).toEqual([
      ['c6gn.large', 3, 73], ['c6g.large', 0.75, 73], ['c6g.xlarge', 1.25, 146],
    ]);
    expect(sizedTypes('nowhere', table, types)).toEqual([]);
    expect(sizingLadder('r', table, types).map((t) => t.instanceType)).toEqual(['c6gn.large']);
  });

  test('the ladder of the README: each type that carries more for good than every cheaper one', () => {
    expect(sizingLadder('us-east-1', prices, bandwidth).map((t) => t.instanceType)).toEqual([
      't4g.nano', 't4g.micro', 't4g.small', 't4g.medium', 'c6g.medium', 'c7g.medium', 'c6gn.medium', 'c7gn.medium', 'c7gn.large',
      'c6g.8xlarge', 'c7g.8xlarge', 'c6gn.8xlarge', 'c7gn.8xlarge', 'c6in.24xlarge',
    ]);
    expect(() => recommendType(0, 'us-east-1', prices, bandwidth)).toThrow("--gbps: got '0'");
    expect(() => recommendType(Infinity, 'us-east-1', prices, bandwidth)).toThrow("--gbps: got 'Infinity'");
  });

  test('every supported type has AWS\'s figures, except the ten the table leaves out for want of a published one', () => {
    const without = Object.entries(SUPPORTED_INSTANCE_FAMILIES).flatMap(([family, info]) => info.sizes.map((size) => `${family}.${size}`))
      .filter((type) => !bandwidth.types[type]);
    expect(without).toEqual(['c7gn.xlarge', 'c7gn.12xlarge', 'c7gn.16xlarge', 'c7i.large', 'c7i.2xlarge', 'c7i.16xlarge', 'c7i.24xlarge', 'm7i.large', 'm7i.12xlarge', 'm7i.24xlarge']);
    for (const [type, figures] of Object.entries(bandwidth.types)) {
      expect([type, figures.baseline > 0, figures.burst >= figures.baseline]).toEqual([type, true, true]);
    }
    expect(gbPerMonthAt(1, prices)).toBe(328_500);
  });
});
