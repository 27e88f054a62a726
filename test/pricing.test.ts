import { SUPPORTED_INSTANCE_FAMILIES } from '../lib/instance-types';
import { CostInput, estimate, gbPerMonthAt, loadBandwidth, loadPrices, recommendType, sizingLadder, sustainedGbps } from '../tools/pricing';

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
