import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { decodeConfig } from '../assets/watchdog/index';
import { SelfHealingNatProvider, NatInstanceStack } from '../lib';
import { SelfHealingNat } from '../lib/nat-instance';
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
    // Each NAT's group is known by its tag, the same on the group itself.
    const groupTags = stack.natProvider.natInstances.map((n) => template.toJSON().Resources[stack.getLogicalId(n.autoScalingGroup.node.defaultChild as ec2.CfnInstance)]
      .Properties.Tags.find((t: { Key: string }) => t.Key === 'NatInstanceGroup').Value);
    expect(config.nats.map((n) => n.groupTag)).toEqual(groupTags);
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
            Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeInstanceStatus', 'ec2:DescribeInstances', 'ec2:DescribeRouteTables',
              'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeAutoScalingGroups', 'cloudwatch:GetMetricData'],
            Resource: '*',
          }),
          Match.objectLike({ Sid: 'MovePrivateDefaultRoutes', Action: 'ec2:ReplaceRoute', Resource: tableArns }),
          Match.objectLike({
            Sid: 'ReleaseTerminatingNat', Action: 'autoscaling:CompleteLifecycleAction',
            Condition: { StringEquals: { 'aws:ResourceTag/NatInstanceGroup': (stack.natProvider.natInstances as SelfHealingNat[]).map((n) => n.groupTag) } },
          }),
        ]),
      },
    });
  });

  test('triggers: a schedule, instance stops, and the NAT groups\' launch and terminate lifecycle hooks', () => {
    template.resourceCountIs('AWS::Events::Rule', 4);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] } },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
        // By the prefix of the stack's generated group names: a reference to a group would make the
        // rule wait for the group, and the group's first instance would wait for the rule in vain.
        detail: { AutoScalingGroupName: [{ prefix: 'TestNat-' }] },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance-launch Lifecycle Action'],
        detail: { AutoScalingGroupName: [{ prefix: 'TestNat-' }] },
      },
    });
    template.resourceCountIs('AWS::Lambda::Permission', 4);
    // The hooks are part of each group, not separate resources a group's first instance would miss.
    template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
    for (const nat of stack.natProvider.natInstances) {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        LaunchTemplate: Match.anyValue(),
        LifecycleHookSpecificationList: [
          { LifecycleHookName: 'NatInstanceLaunch', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: 900, DefaultResult: 'ABANDON' },
          { LifecycleHookName: 'NatInstanceTerminate', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 60, DefaultResult: 'CONTINUE' },
        ],
      });
      expect(nat.autoScalingGroup).toBeDefined();
    }
  });

  test('IAM: the controller moves the stack\'s NAT interfaces between NAT instances, and keeps source/dest check off', () => {
    const enis = stack.natProvider.natInstances.map((n) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':network-interface/', ref(n.networkInterfaceId)]] }));
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref((watchdogFunction.role!).roleName)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'MoveNatInterfaces', Action: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface'],
            Resource: [...enis, { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':instance/*']] }],
            // This stack's NAT groups only, by their tags.
            Condition: { StringEquals: { 'aws:ResourceTag/NatInstanceGroup': (stack.natProvider.natInstances as SelfHealingNat[]).map((n) => n.groupTag) } },
          }),
          Match.objectLike({ Sid: 'SignalNatReady', Action: 'cloudformation:SignalResource', Resource: { Ref: 'AWS::StackId' } }),
          Match.objectLike({ Sid: 'KeepSourceDestCheckOff', Action: 'ec2:ModifyNetworkInterfaceAttribute', Resource: enis }),
        ]),
      },
    });
  });

  test('every NAT group waits for the controller: its function, role, rules and permissions exist before any instance launches', () => {
    const resources = template.toJSON().Resources;
    const controller = Object.keys(resources).filter((id) => id.startsWith('VpcNatRouteWatchdog'));
    expect(controller.filter((id) => /Function|Role|Launching|Terminating|Permission/.test(id)).length).toBeGreaterThanOrEqual(6);
    for (const nat of stack.natProvider.natInstances) {
      const group = stack.getLogicalId(nat.autoScalingGroup.node.defaultChild as ec2.CfnInstance);
      for (const id of controller.filter((c) => /Function[0-9A-F]{8}$|NatLaunching[0-9A-F]{8}$|NatLaunchingAllowEventRule/.test(c))) {
        expect([group, resources[group].DependsOn]).toEqual([group, expect.arrayContaining([id])]);
      }
    }
  });

  test('zones are replaced one at a time: each NAT group waits for the one before it', () => {
    const groups = stack.natProvider.natInstances.map((n) => stack.getLogicalId(n.autoScalingGroup.node.defaultChild as ec2.CfnInstance));
    const resources = template.toJSON().Resources;
    expect(resources[groups[1]].DependsOn).toEqual(expect.arrayContaining([groups[0]]));
    expect(resources[groups[0]].DependsOn ?? []).not.toContain(groups[1]);
  });

  test('private route tables carry their home NAT interface for nat-doctor', () => {
    const enis = stack.natProvider.natInstances.map((n) => ref(n.networkInterfaceId));
    stack.vpc.privateSubnets.forEach((subnet, i) => {
      const table = template.toJSON().Resources[(ref(subnet.routeTable.routeTableId) as { Ref: string }).Ref];
      expect(table.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'NatInstanceHomeInterface', Value: enis[[0, 1, 0][i]] }]));
    });
  });

  test('no reserved concurrency unless asked for; controllerReservedConcurrency reserves it', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', ReservedConcurrentExecutions: Match.absent() });
    const reserved = Template.fromStack(natStack({ controllerReservedConcurrency: 1 }));
    reserved.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', ReservedConcurrentExecutions: 1 });
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

  test('routeWatchdog: false turns off failover only: the controller stays, since it attaches the interfaces', () => {
    const off = natStack({ routeWatchdog: false });
    const offTemplate = Template.fromStack(off);
    offTemplate.resourceCountIs('AWS::Events::Rule', 4);
    const [fn] = Object.values(offTemplate.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
    const join = fn.Properties.Environment.Variables.WATCHDOG_CONFIG['Fn::Join'] as [string, unknown[]];
    const text = join[1].map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(join[0]);
    expect(text).toContain('"fo":0');
    expect(JSON.stringify(stack.resolve((watchdogFunction.node.defaultChild as never as { environment: unknown }).environment))).toContain('\\"fo\\":1');
  });

  test('the function is the prebuilt bundle (no esbuild or Docker at synth), the SDK left to the runtime', () => {
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
