import { spawnSync } from 'child_process';
import * as path from 'path';

/** npm run cost as a user runs it, in a process of its own; test/pricing.test.ts covers its arithmetic. */
describe('npm run cost', () => {
  // node --import tsx, not npx tsx: npx alone costs 0.4 s a run.
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join('tools', 'cost.ts'), ...args], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 60_000 });

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

  test('--gbps picks the cheapest type that carries the traffic for good, and prices both options at it', () => {
    const result = run('--gbps', '0.1');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('0.1 Gbit/s for good through each NAT: t4g.small (baseline 0.128, burst 5 Gbit/s) is the cheapest supported type that carries it.');
    expect(result.stdout).toMatch(/^compute: 2 × t4g\.small \/ 2 × NAT gateway hours\s+\$24\.53\s+\$65\.70$/m);
    // 0.1 Gbit/s for 730 hours is 32,850 GB through each of the two NATs
    expect(result.stdout).toMatch(/^data processing \(65700 GB\)\s+\$0\.00\s+\$2956\.50$/m);
    expect(result.stdout).toContain('NAT instances cost 1% of NAT gateways at 65700 GB a month');
  });

  test('--gbps with an instance type chosen says whether it carries the traffic', () => {
    expect(run('--gbps', '0.5', '-c', 'instanceType=t4g.nano').stdout)
      .toContain('t4g.nano carries 0.032 Gbit/s for good, less than 0.5: it throttles once its burst is spent; c6g.medium is the cheapest that carries 0.5.');
    expect(run('--gbps', '0.5', '-c', 'instanceType=c6gn.medium').stdout).toContain('c6gn.medium carries 1.6 Gbit/s for good.\n');
  });

  test('-c publicIpsPerNat=2: two addresses per NAT, and as many per gateway for the same connections', () => {
    const result = run('-c', 'publicIpsPerNat=2');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^public IPv4 addresses \(2 Elastic IPs per NAT \/ per gateway\)\s+\$14\.60\s+\$14\.60$/m); // 2 × 2 × 0.005 × 730
    expect(result.stdout).toMatch(/^total\s+\$24\.94\s+\$84\.80$/m);
  });

  test('-c spot=true --spot-price prices the Spot option', () => {
    const result = run('-c', 'spot=true', '--spot-price', '0.0016');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^compute: 2 × t4g\.nano on Spot at \$0\.0016\/h \/ 2 × NAT gateway hours\s+\$2\.34\s+\$65\.70$/m);
    expect(result.stdout).toMatch(/^total\s+\$13\.85\s+\$77\.50$/m);
  });

  test.each([
    [['-c', 'spot=true'], 'cost: -c spot=true needs --spot-price USD: Spot prices change every few minutes, and no table of them ships here (see --help)'],
    [['--spot-price', '0.0016'], 'cost: --spot-price prices the Spot option: give -c spot=true with it'],
    [['-c', 'spot=true', '--spot-price', 'cheap'], "cost: --spot-price: got 'cheap'; expected a number from 0.0001 to 100"],
    [['--gbps', '80'], "cost: --gbps: got '80'; no supported instance type carries that for good (the most is 75 Gbit/s): split the traffic over more NATs"],
    [['--gbps', '1', '--gb-per-month', '5'], 'cost: --gbps and --gb-per-month both set the traffic; give one of them'],
  ])('refuses %j as a usage error', (args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test('--sizes prints the sizing ladder with its dates', () => {
    const result = run('--sizes');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^t4g\.nano\s+0\.032\s+5\s+0\.032\s+\$3\.07$/m);
    expect(result.stdout).toContain('bandwidth of 2026-11-26, prices of 2026-11-01');
  });
});
