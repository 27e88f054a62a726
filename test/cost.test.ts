import { spawnSync } from 'child_process';
import * as path from 'path';
import { SUPPORTED_INSTANCE_FAMILIES } from '../lib/instance-types';
import { CostInput, estimate, loadPrices } from '../tools/cost';

const prices = loadPrices();
const DEFAULT: CostInput = { region: 'us-east-1', gbPerMonth: 100, natCount: 2, instanceType: 't4g.nano', rootVolumeSize: 8, routeWatchdog: true, alarms: true, dashboard: true };

describe('estimate', () => {
  test('the default deployment at 100 GB a month in us-east-1, item by item', () => {
    const report = estimate(DEFAULT, prices);
    expect(report.lines.map((l) => [l.natInstance, l.natGateway])).toEqual([
      [6.13, 65.7], // 2 × 0.0042 × 730; 2 × 0.045 × 730
      [14.6, 7.3], // two public IPv4 addresses per NAT instance, one per gateway, 0.005 × 730 each
      [1.28, 0], // 2 × 8 GiB × 0.08
      [3.55, 0], // 6 metrics × 0.30; 2 NATs × 2 PutMetricData calls a minute, $0.01 per 1000
      [0.95, 0], // 2 heartbeats read a minute, $0.01 per 1000 metrics; Lambda 0.5 s × 256 MB a minute
      [3.9, 0], // 9 alarms × 0.10, a dashboard 3.00
      [0, 4.5], // 100 GB × 0.045
    ]);
    expect([report.natInstanceTotal, report.natGatewayTotal]).toEqual([30.41, 77.5]);
    expect(report.pricesDate).toBe('2026-11-01');
  });

  test('traffic costs the gateways only; the watchdog can be left out', () => {
    const heavy = estimate({ ...DEFAULT, gbPerMonth: 10_000 }, prices);
    expect(heavy.natGatewayTotal - estimate(DEFAULT, prices).natGatewayTotal).toBeCloseTo(9900 * 0.045, 2);
    expect(heavy.natInstanceTotal).toBe(30.41);
    expect(estimate({ ...DEFAULT, routeWatchdog: false, alarms: false, dashboard: false }, prices).natInstanceTotal).toBe(25.56);
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
    expect(result.stdout).toMatch(/^total\s+\$30\.41\s+\$77\.50$/m);
    expect(result.stdout).toContain('NAT instances cost 39% of NAT gateways at 100 GB a month. Prices of 2026-11-01');
  });

  test('-c options change the deployment, and bad ones are refused as synth refuses them', () => {
    expect(run('-c', 'azs=3', '-c', 'natCount=1').stdout).toMatch(/compute: 1 × t4g\.nano/);
    const bad = run('-c', 'azs=three');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("cost: Invalid azs: got 'three'; expected a whole number from 1 to 6");
  });
});
