import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { decodeConfig } from '../assets/watchdog/index';
import { SelfHealingNatProvider, NatInstanceStack } from '../lib';
import { natStack } from './helpers';

describe('RouteWatchdog in the stack', () => {
  const stack = natStack({ azs: 3, natCount: 2 });
  const template = Template.fromStack(stack);
  const watchdogFunction = stack.natProvider.watchdogFunction!;
  const ref = (value: string) => stack.resolve(value);

  test('a Node.js function on arm64 with the NATs and route tables in its configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 60,
      Environment: { Variables: { WATCHDOG_CONFIG: Match.anyValue() } },
    });
    const config = JSON.stringify(ref((watchdogFunction.node.defaultChild as never as { environment: unknown }).environment as string));
    const nats = stack.natProvider.natInstances;
    for (const nat of nats) {
      expect(config).toContain(JSON.stringify(ref(nat.networkInterfaceId)).slice(1, -1));
    }
    // Three private route tables, the third (zone without a NAT) at home on NAT 0.
    expect(stack.vpc.privateSubnets).toHaveLength(3);
  });

  test('the configuration maps each private route table to its home NAT', () => {
    const [resource] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
    const join = resource.Properties.Environment.Variables.WATCHDOG_CONFIG['Fn::Join'] as [string, unknown[]];
    const text = join[1].map((part) => (typeof part === 'string' ? part : (part as { Ref: string }).Ref)).join(join[0]);
    // The compact form (Lambda allows 4 KB of environment), decoded as the function decodes it.
    const config = decodeConfig(JSON.parse(text));
    const id = (value: string) => (ref(value) as { Ref: string }).Ref;
    const enis = stack.natProvider.natInstances.map((n) => id(n.networkInterfaceId));
    expect(config.routeTables.map((t) => [t.routeTableId, t.homeNetworkInterfaceId]))
      .toEqual(stack.vpc.privateSubnets.map((s, i) => [id(s.routeTable.routeTableId), enis[[0, 1, 0][i]]]));
    expect(config.nats.map((n) => n.networkInterfaceId)).toEqual(enis);
    expect(config).toMatchObject({ bootTimeoutSeconds: 900 });
    expect(text.length).toBeLessThan(1000);
  });

  test('IAM: routes only of the private route tables, lifecycle only of NAT groups, reads on *', () => {
    const tableArns = stack.vpc.privateSubnets.map((s) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':route-table/', ref(s.routeTable.routeTableId)]],
    }));
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref((watchdogFunction.role!).roleName)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ObserveNats',
            Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeInstanceStatus', 'ec2:DescribeRouteTables', 'autoscaling:DescribeAutoScalingInstances', 'cloudwatch:GetMetricData'],
            Resource: '*',
          }),
          Match.objectLike({ Sid: 'MovePrivateDefaultRoutes', Action: 'ec2:ReplaceRoute', Resource: tableArns }),
          Match.objectLike({ Sid: 'ReleaseTerminatingNat', Action: 'autoscaling:CompleteLifecycleAction', Condition: { StringLike: { 'aws:ResourceTag/NatInstanceGroup': '*' } } }),
        ]),
      },
    });
  });

  test('triggers: a schedule, instance stops, and the NAT groups\' terminate lifecycle hooks', () => {
    template.resourceCountIs('AWS::Events::Rule', 3);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] } },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
        detail: { AutoScalingGroupName: stack.natProvider.natInstances.map((n) => ref(n.autoScalingGroup.autoScalingGroupName)) },
      },
    });
    template.resourceCountIs('AWS::Lambda::Permission', 3);
    template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 2);
    for (const nat of stack.natProvider.natInstances) {
      template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
        AutoScalingGroupName: ref(nat.autoScalingGroup.autoScalingGroupName),
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 60,
        DefaultResult: 'CONTINUE',
      });
    }
  });

  test('private route tables carry their home NAT interface for nat-doctor', () => {
    const enis = stack.natProvider.natInstances.map((n) => ref(n.networkInterfaceId));
    stack.vpc.privateSubnets.forEach((subnet, i) => {
      const table = template.toJSON().Resources[(ref(subnet.routeTable.routeTableId) as { Ref: string }).Ref];
      expect(table.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'NatInstanceHomeInterface', Value: enis[[0, 1, 0][i]] }]));
    });
  });

  test('a configuration too large for Lambda\'s environment fails at synth, saying what to do', () => {
    expect(() => natStack({ azs: 6, vpcCidr: '10.0.0.0/16', privateSubnetCidrMask: 20, publicSubnetCidrMask: 24 })).not.toThrow();
    const provider = new SelfHealingNatProvider();
    const app = new App();
    const big = new Stack(app, 'Big');
    const subnets = Array.from({ length: 25 }, (_, i) => ({ name: `Private${i}`, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 }));
    expect(() => new ec2.Vpc(big, 'Vpc', {
      natGatewayProvider: provider, ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/16'),
      availabilityZones: ['a', 'b', 'c', 'd', 'e', 'f'].map((z) => `us-east-1${z}`),
      subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26 }, ...subnets],
    })).toThrow(/route watchdog's configuration for 150 route tables and 6 NATs would be about \d+ bytes, over Lambda's 4096-byte environment; turn the watchdog off/);
  });

  test('the watchdog can be turned off', () => {
    const off = Template.fromStack(natStack({ routeWatchdog: false }));
    off.resourceCountIs('AWS::Events::Rule', 0);
    off.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
    expect(Object.keys(off.findResources('AWS::Lambda::Function'))).toHaveLength(1);
  });

  test('the function bundles with esbuild from npm (no Docker), the SDK left to the runtime', () => {
    const app = new App();
    new NatInstanceStack(app, 'Bundled', { azs: 1 });
    const dir = app.synth().directory;
    const bundles = fs.readdirSync(dir)
      .filter((d) => d.startsWith('asset.') && fs.existsSync(path.join(dir, d, 'index.js')))
      .map((d) => fs.readFileSync(path.join(dir, d, 'index.js'), 'utf8'));
    const watchdogBundle = bundles.find((b) => b.includes('RouteMoved'));
    expect(watchdogBundle).toBeDefined();
    expect(watchdogBundle).toMatch(/require\("@aws-sdk\/client-ec2"\)/);
    expect(watchdogBundle!.length).toBeLessThan(50_000);
  });
});
