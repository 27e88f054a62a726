/**
 * npm run cost -- [--region us-east-1] [--gb-per-month 100] [-c key=value ...]
 *
 * The monthly cost of the configured deployment (cdk.json context, overridden by -c) next to NAT
 * gateways for the same zones, from the price table in cost/prices.json. Internet data transfer
 * out, and cross-zone traffic where natCount < azs, cost the same either way and are left out.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { NatInstanceStack, SelfHealingNatProvider } from '../lib';
import { UsageError, numberOption, parseCommandLine, runTool, tableLines } from '../bin/cli';
import { configFromContext } from '../bin/app-config';
import { bundleWatchdog } from './build';
import {
  BandwidthTable, CostInput, PriceTable, SizedType, estimate, formatCost, gbPerMonthAt, loadBandwidth, loadPrices, recommendType, sizedTypes, sizingLadder, sustainedGbps,
} from './pricing';

const ROOT = path.join(__dirname, '..');

const USAGE = `Usage: npm run cost -- [--region REGION] [--gb-per-month GB | --gbps X] [--sizes] [--spot-price USD] [-c KEY=VALUE ...]

The monthly cost of the configured NAT instances (cdk.json context, overridden by -c) next to
NAT gateways for the same zones, from cost/prices.json and cost/bandwidth.json.

  --region REGION      a region of the price table (default us-east-1)
  --gb-per-month GB    data through the NATs a month, for the gateways' processing charge (default 100)
  --gbps X             sustained traffic through each NAT in Gbit/s: picks the cheapest instance
                       type that carries it for good, and prices both options at that traffic
  --sizes              the sizing ladder: each type that carries more for good than every cheaper one
  --spot-price USD     the Spot price of the instance type, in USD an hour, needed with -c spot=true
                       (Spot prices change every few minutes, and no table of them ships here;
                       aws ec2 describe-spot-price-history --instance-types TYPE
                       --product-descriptions Linux/UNIX --start-time NOW prints the current ones)
  -c, --context K=V    a context key of the app, as for cdk synth (repeatable)
  -h, --help           this text`;

function formatLadder(ladder: SizedType[], region: string, bandwidth: BandwidthTable, prices: PriceTable): string {
  const rows = [['type', 'baseline Gbit/s', 'burst Gbit/s', 'for good via internet gateway', `monthly, ${region}`],
    ...ladder.map((t) => [t.instanceType, String(t.baseline), String(t.burst), String(t.sustained), `$${t.monthly.toFixed(2)}`])];
  return `${tableLines(rows).join('\n')}\n\n` +
    `Instance hours only; bandwidth of ${bandwidth.date}, prices of ${prices.date} (cost/bandwidth.json, cost/prices.json).\n`;
}

function main(): number {
  const values = parseCommandLine(USAGE, {
    region: { type: 'string', default: 'us-east-1' },
    'gb-per-month': { type: 'string' },
    gbps: { type: 'string' },
    sizes: { type: 'boolean', default: false },
    'spot-price': { type: 'string' },
    context: { type: 'string', short: 'c', multiple: true, default: [] },
  });
  const prices = loadPrices();
  const bandwidth = loadBandwidth();
  if (!prices.regions[values.region]) {
    throw new UsageError(`--region: got '${values.region}'; expected one of the regions in cost/prices.json: ${Object.keys(prices.regions).join(', ')}`);
  }
  if (values.sizes) {
    process.stdout.write(formatLadder(sizingLadder(values.region, prices, bandwidth), values.region, bandwidth, prices));
    return 0;
  }
  if (values.gbps !== undefined && values['gb-per-month'] !== undefined) {
    throw new UsageError('--gbps and --gb-per-month both set the traffic; give one of them');
  }
  const gbps = values.gbps === undefined ? undefined : numberOption('gbps', values.gbps, 0.001, 1000, false);
  for (const pair of values.context) {
    if (!/^[A-Za-z@][^=]*=/.test(pair)) {
      throw new UsageError(`-c: got '${pair}'; expected KEY=VALUE, such as -c natCount=1`);
    }
  }
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  const context: Record<string, unknown> = { ...cdkJson.context };
  for (const pair of values.context) {
    const at = pair.indexOf('=');
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  // Building the stack validates the configuration exactly as synth does, and counts the NATs.
  const { props } = configFromContext(context);
  const spotHourly = values['spot-price'] === undefined ? undefined : numberOption('spot-price', values['spot-price'], 0.0001, 100, false);
  if ((props.spot === true) !== (spotHourly !== undefined)) {
    throw new UsageError(props.spot === true
      ? '-c spot=true needs --spot-price USD: Spot prices change every few minutes, and no table of them ships here (see --help)'
      : '--spot-price prices the Spot option: give -c spot=true with it');
  }
  let sizing = '';
  let instanceType = String(props.instanceType ?? SelfHealingNatProvider.DEFAULT_INSTANCE_TYPE);
  if (gbps !== undefined) {
    const chosen = recommendType(gbps, values.region, prices, bandwidth);
    if (!chosen) {
      throw new UsageError(`--gbps: got '${gbps}'; no supported instance type carries that for good ` +
        `(the most is ${Math.max(...sizedTypes(values.region, prices, bandwidth).map((t) => t.sustained))} Gbit/s): split the traffic over more NATs`);
    }
    const configured = String(props.instanceType ?? SelfHealingNatProvider.DEFAULT_INSTANCE_TYPE);
    // An instance type the user chose (in cdk.json or with -c) is judged, never replaced.
    if (props.instanceType !== undefined) {
      const carries = sustainedGbps(configured, bandwidth);
      sizing = carries === undefined
        ? `${configured} has no published bandwidth in cost/bandwidth.json; priced as asked.\n`
        : `${configured} carries ${carries} Gbit/s for good${carries < gbps ? `, less than ${gbps}: it throttles once its burst is spent; ${chosen.instanceType} is the cheapest that carries ${gbps}` : ''}.\n`;
    } else {
      instanceType = chosen.instanceType;
      sizing = `${gbps} Gbit/s for good through each NAT: ${chosen.instanceType} (baseline ${chosen.baseline}, burst ${chosen.burst} Gbit/s) is the cheapest supported type that carries it.\n`;
    }
  }
  const gbPerMonth = gbps !== undefined
    ? 0
    : numberOption('gb-per-month', values['gb-per-month'] ?? '100', 0, 1e9, false);
  bundleWatchdog(); // the stack takes the watchdog's code from its bundle, which a clone builds on demand
  const stack = new NatInstanceStack(new App(), 'Cost', props);
  const input: CostInput = {
    region: values.region,
    gbPerMonth: gbps !== undefined ? Math.round(gbPerMonthAt(gbps, prices) * stack.natProvider.natInstances.length) : gbPerMonth,
    natCount: stack.natProvider.natInstances.length,
    instanceType,
    rootVolumeSize: Number(props.rootVolumeSize ?? SelfHealingNatProvider.DEFAULT_ROOT_VOLUME_SIZE),
    routeWatchdog: props.routeWatchdog !== false,
    alarms: props.alarms !== false,
    dashboard: props.alarms !== false && (props.dashboard ?? props.detailedMonitoring ?? false) === true,
    detailedMonitoring: props.detailedMonitoring === true,
    ...(spotHourly !== undefined ? { spotHourly } : {}),
    publicIps: Number(props.publicIpsPerNat ?? SelfHealingNatProvider.DEFAULT_PUBLIC_IPS_PER_NAT),
  };
  process.stdout.write(sizing + formatCost(estimate(input, prices), input));
  return 0;
}

if (require.main === module) {
  runTool('cost', USAGE, main);
}
