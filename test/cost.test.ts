import { spawnSync } from 'child_process';
import * as path from 'path';
import { SUPPORTED_INSTANCE_FAMILIES } from '../lib/instance-types';
import { CostInput, estimate, loadPrices } from '../tools/cost';

const prices = loadPrices();
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

  test('bad input names the option, the value and what is allowed', () => {
    expect(() => estimate({ ...DEFAULT, region: 'mars-1' }, prices)).toThrow("--region: got 'mars-1'; expected one of the regions in cost/prices.json: us-east-1, eu-west-1");
    expect(() => estimate({ ...DEFAULT, gbPerMonth: -1 }, prices)).toThrow("--gb-per-month: got '-1'; expected a number of GB, 0 or more");
    expect(() => estimate({ ...DEFAULT, instanceType: 'p5.large' }, prices)).toThrow("Invalid instanceType: got 'p5.large'");
  });
});

describe('npm run cost', () => {
  const run = (...args: string[]) => spawnSync('npx', ['tsx', path.join('tools', 'cost.ts'), ...args], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 60_000 });

  test('prints both options for the configured deployment', () => {
    const result = run('--gb-per-month', '100');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^total\s+\$17\.64\s+\$77\.50$/m);
    expect(result.stdout).toContain('NAT instances cost 23% of NAT gateways at 100 GB a month, and 1.20× their floor of $14.71 (instances, one public IPv4 each, root volumes). Prices of 2026-11-01');
    expect(run('-c', 'detailedMonitoring=true').stdout).toMatch(/^total\s+\$23\.11\s+\$77\.50$/m);
  });

  test('-c options change the deployment, and bad ones are refused as synth refuses them', () => {
    expect(run('-c', 'azs=3', '-c', 'natCount=1').stdout).toMatch(/compute: 1 × t4g\.nano/);
    const bad = run('-c', 'azs=three');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("cost: Invalid azs: got 'three'; expected a whole number from 1 to 6");
  });
});
