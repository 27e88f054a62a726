import { parseArgs } from 'util';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { diagnose, formatReport } from './doctor';

const USAGE = `Usage: nat-doctor (--stack NAME | --vpc-id VPC_ID) [--region REGION] [--json]

Checks the NAT instances of a deployed VPC: per availability zone the NAT's health as the
controller judges it (healthy, replacing, or unhealthy and why: its instance, status checks and
self-check heartbeat), its interface and source/dest check, its Elastic IP, the exposure of its
security group, and each private route table's default route (active or blackhole; home, failed
over to another zone's NAT, under manual control, or bypassing the NAT altogether).

  --stack NAME              the CloudFormation stack deployed from this project
  --vpc-id VPC_ID           or the VPC itself
  --region REGION           default: the AWS SDK's (AWS_REGION, profile)
  --json                    print the report as JSON, for pipelines

Exits 0 when everything is healthy, 1 when anything is wrong (each problem with its fix),
2 on bad usage or when AWS cannot be asked.`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        stack: { type: 'string' }, 'vpc-id': { type: 'string' }, region: { type: 'string' }, json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`nat-doctor: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.stack === !values['vpc-id']) {
    process.stderr.write(`nat-doctor: give exactly one of --stack or --vpc-id\n${USAGE}\n`);
    return 2;
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
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
