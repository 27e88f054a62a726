import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { UsageError, numberOption, parseCommandLine, runTool } from './cli';
import { diagnose, formatReport } from './doctor';
import { formatPreflight, preflight } from './preflight';

const USAGE = `Usage: nat-doctor (--stack NAME | --vpc-id VPC_ID) [--region REGION] [--json]
       nat-doctor preflight --azs ZONE,ZONE[,...] [--instance-type TYPE] [--elastic-ips N] [--region REGION] [--json]

Checks the NAT instances of a deployed VPC: per availability zone the NAT's health as the
controller judges it (healthy, replacing, or unhealthy and why: its instance, status checks and
self-check heartbeat), its interface and source/dest check, its Elastic IP, the exposure of its
security group, and each private route table's default route (active or blackhole; home, failed
over to another zone's NAT, under manual control, or bypassing the NAT altogether).

  --stack NAME              the CloudFormation stack deployed from this project
  --vpc-id VPC_ID           or the VPC itself
  --region REGION           default: the AWS SDK's (AWS_REGION, profile)
  --json                    print the report as JSON, for pipelines

preflight, before a first deployment: checks that every chosen zone offers the instance type
(default t4g.nano) and that the account can allocate the Elastic IPs (default one per zone).

Exits 0 when everything is healthy, 1 when anything is wrong (each problem with its fix),
2 on bad usage or when AWS cannot be asked.`;

const ZONE = /^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

async function runPreflight(argv: string[]): Promise<number> {
  const values = parseCommandLine(USAGE, {
    azs: { type: 'string' }, 'instance-type': { type: 'string', default: 't4g.nano' }, 'elastic-ips': { type: 'string' },
    region: { type: 'string' }, json: { type: 'boolean', default: false },
  }, argv);
  const zones = (values.azs ?? '').split(',').map((z) => z.trim()).filter((z) => z !== '');
  if (zones.length === 0 || zones.some((z) => !ZONE.test(z))) {
    throw new UsageError(`--azs: got '${values.azs ?? ''}'; expected zone names such as us-east-1a,us-east-1c`);
  }
  const instanceType = values['instance-type'];
  if (!INSTANCE_TYPE.test(instanceType)) {
    throw new UsageError(`--instance-type: got '${instanceType}'; expected an instance type such as t4g.nano`);
  }
  const eips = values['elastic-ips'] === undefined ? zones.length : numberOption('elastic-ips', values['elastic-ips'], 0, 100);
  try {
    const report = await preflight(new EC2Client({ region: values.region }), { instanceType, zones, elasticIps: eips });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatPreflight(report, zones));
    return report.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`nat-doctor: ${(error as Error).name}: ${(error as Error).message}\n`);
    return 2;
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'preflight') {
    return runPreflight(argv.slice(1));
  }
  const values = parseCommandLine(USAGE, {
    stack: { type: 'string' }, 'vpc-id': { type: 'string' }, region: { type: 'string' }, json: { type: 'boolean', default: false },
  }, argv);
  if (!values.stack === !values['vpc-id']) {
    throw new UsageError('give exactly one of --stack or --vpc-id');
  }
  const config = { region: values.region };
  try {
    const report = await diagnose(
      { ec2: new EC2Client(config), autoscaling: new AutoScalingClient(config), cloudwatch: new CloudWatchClient(config), cloudformation: new CloudFormationClient(config) },
      { stackName: values.stack, vpcId: values['vpc-id'] },
    );
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.healthy ? 0 : 1;
  } catch (error) {
    process.stderr.write(`nat-doctor: ${(error as Error).name}: ${(error as Error).message}\n`);
    return 2;
  }
}

if (require.main === module) {
  // Bad usage and AWS errors alike exit 2; a problem found exits 1.
  runTool('nat-doctor', USAGE, () => main(process.argv.slice(2)), 2);
}
