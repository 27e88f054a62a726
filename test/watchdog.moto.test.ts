import {
  AutoScalingClient, CompleteLifecycleActionCommand, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, SetInstanceHealthCommand,
} from '@aws-sdk/client-auto-scaling';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { CloudFormationClient, CreateStackCommand, SignalResourceCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  AssociateRouteTableCommand, AttachInternetGatewayCommand, AuthorizeSecurityGroupIngressCommand, AttachNetworkInterfaceCommand, CreateInternetGatewayCommand, CreateRouteCommand, CreateRouteTableCommand,
  CreateSubnetCommand, CreateTagsCommand, DeleteRouteCommand, DescribeImagesCommand, DescribeRouteTablesCommand, DetachNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand, EC2Client, ModifyNetworkInterfaceAttributeCommand, ReplaceRouteCommand, RunInstancesCommand, StartInstancesCommand,
  StopInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { HANDOFF_PROOF_SECONDS, MANUAL_ROUTE_TAG, SERVED_SOURCE_RULE, SPOT_EVENT } from '../assets/contract';
import { mockClient } from 'aws-sdk-client-mock';
import { Caller, evaluate, handleEvent } from '../assets/watchdog/index';
import { diagnose, formatReport } from '../bin/doctor';
import { preflight } from '../bin/preflight';
import { describeUnless } from './lab';
import { BuiltVpc, Moto, buildVpc, handoffReported, heartbeat, motoUnavailableReason } from './moto';

/**
 * The route watchdog and nat-doctor against a real EC2 API (moto's server): a VPC with NAT
 * instances built through the SDK, then instances stopped, terminated and detached, and the
 * routes read back. Auto Scaling's CompleteLifecycleAction, which moto does not implement, is
 * mocked.
 */
describeUnless(motoUnavailableReason(), 'route watchdog and nat-doctor against moto', () => {
  const moto = new Moto();
  let ec2: EC2Client;
  let cloudwatch: CloudWatchClient;
  const autoscaling = new AutoScalingClient({ region: 'us-east-1' });
  const autoscalingMock = mockClient(autoscaling);
  const quiet = () => undefined;
  let vpcs = 0;

  beforeAll(async () => {
    await moto.start();
    ec2 = new EC2Client(moto.clientConfig);
    cloudwatch = new CloudWatchClient(moto.clientConfig);
  }, 60_000);
  afterAll(() => moto.stop());
  beforeEach(() => {
    autoscalingMock.reset();
    autoscalingMock.on(CompleteLifecycleActionCommand).resolves({});
    // moto's instances belong to no Auto Scaling group: none is leaving service.
    autoscalingMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    // The group nat-group-N carries the NatInstanceGroup tag nat-N of zone N's NAT.
    autoscalingMock.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames?: string[] }) => ({
      AutoScalingGroups: (input.AutoScalingGroupNames ?? []).filter((n) => /^nat-group-\d$/.test(n)).map((n) => ({
        AutoScalingGroupName: n, MinSize: 1, MaxSize: 1, DesiredCapacity: 1, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: 'EC2', CreatedTime: new Date(),
        Tags: [{ Key: 'NatInstanceGroup', Value: n.replace('nat-group-', 'nat-'), ResourceId: n, ResourceType: 'auto-scaling-group', PropagateAtLaunch: true }],
      })),
    }));
  });

  const clients = () => ({ ec2, cloudwatch, autoscaling });
  const build = (azs = 3, tables = 1, beatAt?: Date) => buildVpc(ec2, cloudwatch, azs, tables, ++vpcs, beatAt);
  const routeTargets = async (vpc: BuiltVpc) => {
    const tables = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: vpc.config.routeTables.map((t) => t.routeTableId) }))).RouteTables!;
    return Object.fromEntries(tables.map((t) => [t.RouteTableId!, t.Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.NetworkInterfaceId]));
  };
  const homes = (vpc: BuiltVpc) => Object.fromEntries(vpc.config.routeTables.map((t) => [t.routeTableId, t.homeNetworkInterfaceId]));
  const doctor = (vpc: BuiltVpc) => diagnose({ ec2, autoscaling, cloudwatch, cloudformation: new CloudFormationClient(moto.clientConfig) }, { vpcId: vpc.vpcId });

  test('all healthy: nothing moves, and nat-doctor reports every zone healthy', async () => {
    const vpc = await build();
    const result = await evaluate(vpc.config, clients(), { log: quiet });
    expect(result).toMatchObject({ moved: 0, apiCalls: 5 });
    expect(await routeTargets(vpc)).toEqual(homes(vpc));

    const report = await doctor(vpc);
    expect(report.problems).toEqual([]);
    expect(report.zones.map((z) => [z.az, z.attached, z.instanceState, z.statusChecks, z.sourceDestCheck, z.exposedTo, !!z.publicIp])).toEqual(
      vpc.zones.map((z) => [z.az, true, 'running', 'ok/ok', false, [], true]));
    expect(report.zones.every((z) => z.routes.length === 1 && z.routes[0].placement === 'home' && z.routes[0].state === 'active')).toBe(true);
    expect(formatReport(report)).toContain('OK: every NAT is healthy and every private default route is active.');
  });

  test('a NAT instance stops: its zone fails over at the event, and back once it runs and beats again', async () => {
    const vpc = await build();
    const [a, b] = vpc.zones;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [a.instanceId] }));
    const started = Date.now();
    const result = await handleEvent({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': a.instanceId, state: 'stopping' } },
      vpc.config, clients(), quiet);
    const seconds = (Date.now() - started) / 1000;
    expect(result.moved).toBe(1);
    expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(b.networkInterfaceId);
    expect(seconds).toBeLessThan(5);
    process.stdout.write(`watchdog: instance stop event to last ReplaceRoute: ${seconds.toFixed(3)} s\n`);

    const report = await doctor(vpc);
    expect(report.healthy).toBe(false);
    // The controller's own judgement, word for word.
    expect(report.problems.map((p) => p.problem)).toContain(`NAT ${a.networkInterfaceId} (${a.instanceId}) is unhealthy: instance ${a.instanceId} is stopped`);
    expect(report.zones.find((z) => z.az === a.az)).toMatchObject({ state: 'unhealthy', health: `instance ${a.instanceId} is stopped` });
    // Each zone's row lists its own private route tables: A's now goes through B's NAT.
    expect(report.zones.find((z) => z.az === a.az)!.routes).toEqual([
      { routeTableId: a.routeTableIds[0], az: a.az, home: a.networkInterfaceId, target: b.networkInterfaceId, state: 'active', placement: 'failed-over' },
    ]);
    expect(report.zones.find((z) => z.az === b.az)!.routes.map((r) => r.placement)).toEqual(['home']);
    expect(formatReport(report)).toContain(`${a.routeTableIds[0]} active (failed-over)`);

    await ec2.send(new StartInstancesCommand({ InstanceIds: [a.instanceId] }));
    await heartbeat(cloudwatch, a.networkInterfaceId);
    expect((await evaluate(vpc.config, clients(), { log: quiet })).moved).toBe(1);
    expect(await routeTargets(vpc)).toEqual(homes(vpc));
    expect((await doctor(vpc)).problems).toEqual([]);
  });

  test('a decision on stale state is dropped: another invocation moved the route between observation and change', async () => {
    const vpc = await build();
    const [a, , c] = vpc.zones;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [a.instanceId] }));
    // Right after this invocation reads the route tables, a concurrent one moves zone A to C.
    const racing = new EC2Client(moto.clientConfig);
    let raced = false;
    racing.middlewareStack.add((next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'DescribeRouteTablesCommand' && !raced) {
        raced = true;
        await ec2.send(new ReplaceRouteCommand({ RouteTableId: a.routeTableIds[0], DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: c.networkInterfaceId }));
      }
      return result;
    }, { step: 'initialize' });
    const log: Array<Record<string, unknown>> = [];
    const result = await evaluate(vpc.config, { ...clients(), ec2: racing }, { log: (e) => log.push(e) });
    expect(raced).toBe(true);
    expect(result.moved).toBe(0);
    expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(c.networkInterfaceId);
    expect(log).toContainEqual(expect.objectContaining({
      event: 'route-decision', routeTableId: a.routeTableIds[0], action: 'keep',
      reason: `stale: the route now points at ${c.networkInterfaceId}, not ${a.networkInterfaceId} as observed`,
    }));
    // The next evaluation starts from the route as it is, on a healthy NAT, and keeps it there.
    expect((await evaluate(vpc.config, clients(), { log: quiet })).moved).toBe(0);
  });

  test('a decision on stale state is dropped: the target\'s interface left the instance observed healthy, or the table went manual', async () => {
    const vpc = await build();
    const [a, b] = vpc.zones;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [a.instanceId] }));
    const racing = new EC2Client(moto.clientConfig);
    let race: (() => Promise<unknown>) | undefined = async () => {
      // B's interface leaves its instance (a replacement takes it) right after the observation.
      const attachment = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [b.networkInterfaceId] }))).NetworkInterfaces![0].Attachment!;
      await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachment.AttachmentId! }));
    };
    racing.middlewareStack.add((next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'DescribeRouteTablesCommand' && race) {
        const run = race;
        race = undefined;
        await run();
      }
      return result;
    }, { step: 'initialize' });
    const log: Array<Record<string, unknown>> = [];
    const result = await evaluate(vpc.config, { ...clients(), ec2: racing }, { log: (e) => log.push(e) });
    expect(result.moved).toBe(0);
    expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(a.networkInterfaceId);
    expect(log).toContainEqual(expect.objectContaining({
      event: 'route-decision', routeTableId: a.routeTableIds[0], action: 'keep',
      reason: `stale: ${b.networkInterfaceId} is now detached, not attached to ${b.instanceId} as observed`,
    }));

    // Now the table goes under manual control between observation and change.
    race = () => ec2.send(new CreateTagsCommand({ Resources: [a.routeTableIds[0]], Tags: [{ Key: MANUAL_ROUTE_TAG, Value: 'true' }] }));
    log.length = 0;
    // Zone B's own table moves away from its detached interface; zone A's stays where it is.
    expect((await evaluate(vpc.config, { ...clients(), ec2: racing }, { log: (e) => log.push(e) })).moved).toBe(1);
    expect(log).toContainEqual(expect.objectContaining({
      event: 'route-decision', routeTableId: a.routeTableIds[0], action: 'keep', reason: `stale: the table is now under manual control (${MANUAL_ROUTE_TAG})`,
    }));
    expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(a.networkInterfaceId);
  });

  test('a terminate lifecycle action moves the zone away before the instance goes, then releases it', async () => {
    const vpc = await build();
    const [, b] = vpc.zones;
    const result = await handleEvent({
      source: 'aws.autoscaling', 'detail-type': 'EC2 Instance-terminate Lifecycle Action',
      detail: { EC2InstanceId: b.instanceId, AutoScalingGroupName: 'nat-group-1', LifecycleHookName: 'NatInstanceTerminate', LifecycleActionToken: 'token' },
    }, vpc.config, clients(), quiet);
    expect(result.moved).toBe(1);
    expect((await routeTargets(vpc))[b.routeTableIds[0]]).not.toBe(b.networkInterfaceId);
    expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input.InstanceId)).toEqual([b.instanceId]);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [b.instanceId] }));
    // The scheduled run after the instance is gone keeps the route where it is.
    expect((await evaluate(vpc.config, clients(), { log: quiet })).moved).toBe(0);
  });

  test('a detached interface and a stale heartbeat each fail over; no NAT healthy leaves routes alone', async () => {
    const vpc = await build();
    const [a, b, c] = vpc.zones;
    const attachment = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [c.networkInterfaceId] }))).NetworkInterfaces![0].Attachment!;
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachment.AttachmentId }));
    // Four minutes on, only A has published a heartbeat since: B's is stale.
    const later = new Date(Date.now() + 240_000);
    await heartbeat(cloudwatch, a.networkInterfaceId, later);
    const result = await evaluate(vpc.config, clients(), { log: quiet, now: later });
    expect(result.moved).toBe(2);
    const targets = await routeTargets(vpc);
    expect([targets[a.routeTableIds[0]], targets[b.routeTableIds[0]], targets[c.routeTableIds[0]]]).toEqual([a.networkInterfaceId, a.networkInterfaceId, a.networkInterfaceId]);

    // The orphaned interface went back to the running instance of C's group; until that instance
    // beats again, C is no NAT to route through.
    const held = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [c.networkInterfaceId] }))).NetworkInterfaces![0].Attachment?.InstanceId;
    expect(held).toBe(c.instanceId);
    const report = await diagnose({ ec2, autoscaling, cloudwatch, cloudformation: new CloudFormationClient(moto.clientConfig) }, { vpcId: vpc.vpcId, now: later });
    expect(report.problems.map((p) => [p.az, p.problem])).toEqual(expect.arrayContaining([
      [c.az, expect.stringMatching(new RegExp(`^NAT ${c.networkInterfaceId} \\(${c.instanceId}\\) is unhealthy: last heartbeat \\d+ s ago`))],
      [b.az, expect.stringMatching(new RegExp(`^NAT ${b.networkInterfaceId} \\(${b.instanceId}\\) is unhealthy: last heartbeat \\d+ s ago \\(limit 210 s\\)$`))],
    ]));

    // Ten minutes on nobody has beaten: nothing is healthy, so nothing moves.
    const muchLater = new Date(Date.now() + 600_000);
    expect((await evaluate(vpc.config, clients(), { log: quiet, now: muchLater })).decisions.map((d) => d.action)).toEqual(['hold', 'hold', 'hold']);
  });

  test('nat-doctor: an isolated table is not ours, and a zone without a NAT sharing another\'s is at home there', async () => {
    const vpc = await build(1);
    const [a] = vpc.zones;
    const isolated = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpc.vpcId }))).RouteTable!.RouteTableId!;
    const isolatedSubnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.vpcId, CidrBlock: `10.${vpcs}.250.0/24`, AvailabilityZone: 'us-east-1b' }))).Subnet!.SubnetId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: isolated, SubnetId: isolatedSubnet }));
    const shared = (await ec2.send(new CreateRouteTableCommand({
      VpcId: vpc.vpcId, TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: 'NatInstanceHomeInterface', Value: a.networkInterfaceId }] }],
    }))).RouteTable!.RouteTableId!;
    const sharedSubnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.vpcId, CidrBlock: `10.${vpcs}.251.0/24`, AvailabilityZone: 'us-east-1c' }))).Subnet!.SubnetId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: shared, SubnetId: sharedSubnet }));
    await ec2.send(new CreateRouteCommand({ RouteTableId: shared, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: a.networkInterfaceId }));
    const report = await doctor(vpc);
    expect(report.problems).toEqual([]);
    expect(report.zones[0].routes.map((r) => [r.routeTableId, r.az, r.placement])).toEqual([[a.routeTableIds[0], a.az, 'home'], [shared, 'us-east-1c', 'home']]);
    expect(JSON.stringify(report)).not.toContain(isolated);
  });

  test('a heartbeat stamped in the future is not fresh: the zone fails over, and nat-doctor says why', async () => {
    const vpc = await build(2, 1, new Date(Date.now() - 300_000));
    const [a, b] = vpc.zones;
    await heartbeat(cloudwatch, a.networkInterfaceId, new Date(Date.now() + 1800_000));
    await heartbeat(cloudwatch, b.networkInterfaceId);
    const result = await evaluate(vpc.config, clients(), { log: quiet });
    expect(result.decisions.find((d) => d.routeTableId === a.routeTableIds[0])).toMatchObject({ action: 'move', target: b.networkInterfaceId });
    const report = await doctor(vpc);
    expect(report.zones[0]).toMatchObject({ state: 'unhealthy', health: expect.stringMatching(/^last heartbeat stamped 1[78]\d\d s in the future/) });
  });

  test('a replacement inside its boot window reads "replacing", not a failure, and routes keep away from it', async () => {
    // Every heartbeat is five minutes old; B's NAT beats now, A's interface moves to a new instance.
    const vpc = await build(2, 1, new Date(Date.now() - 300_000));
    const [a, b] = vpc.zones;
    await heartbeat(cloudwatch, b.networkInterfaceId);
    const attachment = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [a.networkInterfaceId] }))).NetworkInterfaces![0].Attachment!;
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachment.AttachmentId }));
    const image = (await ec2.send(new DescribeImagesCommand({ MaxResults: 1 }))).Images![0].ImageId!;
    const subnet = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [a.networkInterfaceId] }))).NetworkInterfaces![0].SubnetId!;
    const replacement = (await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, SubnetId: subnet, InstanceType: 't4g.nano' }))).Instances![0].InstanceId!;
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: a.networkInterfaceId, InstanceId: replacement, DeviceIndex: 1 }));

    const report = await doctor(vpc);
    expect(report.zones[0]).toMatchObject({ state: 'replacing', instanceId: replacement, health: expect.stringMatching(new RegExp(`^new instance ${replacement} took the interface over \\d+ s ago`)) });
    expect(report.problems).toEqual([]);
    expect(formatReport(report)).toMatch(/OK: no problem; replacing: us-east-1a \(new instance/);
    const result = await evaluate(vpc.config, clients(), { log: quiet });
    expect(result.decisions.find((d) => d.routeTableId === a.routeTableIds[0])).toMatchObject({ action: 'move', target: b.networkInterfaceId });
  });

  test('nat-doctor: a private default route to the internet gateway is an error, a missing one gets create-route', async () => {
    const vpc = await build(2);
    const [a, b] = vpc.zones;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc.vpcId }));
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: a.routeTableIds[0], DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    await ec2.send(new DeleteRouteCommand({ RouteTableId: b.routeTableIds[0], DestinationCidrBlock: '0.0.0.0/0' }));
    const report = await doctor(vpc);
    expect(report.healthy).toBe(false);
    expect(report.problems).toEqual([
      {
        az: a.az,
        problem: `the default route of ${a.routeTableIds[0]} goes to ${igw}, which is no NAT of this VPC: private traffic bypasses the NAT`,
        fix: `aws ec2 replace-route --route-table-id ${a.routeTableIds[0]} --destination-cidr-block 0.0.0.0/0 --network-interface-id ${a.networkInterfaceId}`,
      },
      {
        az: b.az,
        problem: `${b.routeTableIds[0]} has no default route`,
        fix: `aws ec2 create-route --route-table-id ${b.routeTableIds[0]} --destination-cidr-block 0.0.0.0/0 --network-interface-id ${b.networkInterfaceId}`,
      },
    ]);
    expect(report.zones[0].routes[0]).toMatchObject({ placement: 'bypass', target: igw });
  });

  test('a route table under manual control is left alone by the controller and is no problem to nat-doctor', async () => {
    const vpc = await build(2);
    const [a, b] = vpc.zones;
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: a.routeTableIds[0], DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: b.networkInterfaceId }));
    await ec2.send(new CreateTagsCommand({ Resources: [a.routeTableIds[0]], Tags: [{ Key: MANUAL_ROUTE_TAG, Value: 'change 1234' }] }));
    const result = await evaluate(vpc.config, clients(), { log: quiet });
    expect(result.moved).toBe(0);
    expect(result.decisions[0]).toMatchObject({ action: 'hold', reason: `under manual control (tagged ${MANUAL_ROUTE_TAG}): left alone` });
    expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(b.networkInterfaceId);
    const report = await doctor(vpc);
    expect(report.problems).toEqual([]);
    expect(report.zones[0].routes[0]).toMatchObject({ placement: 'manual', target: b.networkInterfaceId });
  });

  const LAUNCH = 'EC2 Instance-launch Lifecycle Action';
  /** A new instance in zone A's subnet, in Pending:Wait in A's group, as Auto Scaling launches it. */
  const launch = async (vpc: BuiltVpc) => {
    const [a] = vpc.zones;
    const subnet = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [a.networkInterfaceId] }))).NetworkInterfaces![0].SubnetId!;
    const image = (await ec2.send(new DescribeImagesCommand({ MaxResults: 1 }))).Images![0].ImageId!;
    const fresh = (await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, SubnetId: subnet, InstanceType: 't4g.nano' }))).Instances![0].InstanceId!;
    autoscalingMock.on(DescribeAutoScalingInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
      AutoScalingInstances: (input.InstanceIds ?? []).filter((id) => id === fresh || id === a.instanceId).map((id) => ({
        InstanceId: id, AutoScalingGroupName: 'nat-group-0', LifecycleState: id === fresh ? 'Pending:Wait' : 'InService',
        AvailabilityZone: a.az, HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false,
      })),
    }));
    return fresh;
  };
  const event = (instanceId: string, group = 'nat-group-0') => ({
    source: 'aws.autoscaling', 'detail-type': LAUNCH,
    detail: { EC2InstanceId: instanceId, AutoScalingGroupName: group, LifecycleHookName: 'NatInstanceLaunch', LifecycleActionToken: 'token-launch' },
  });
  const holder = async (eni: string) => (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] }))).NetworkInterfaces![0].Attachment?.InstanceId;

  /** The EC2 calls a handler makes, in order. */
  const recorder = () => {
    const calls: string[] = [];
    const client = new EC2Client(moto.clientConfig);
    client.middlewareStack.add((next, context) => async (args) => {
      calls.push(context.commandName as string);
      return next(args);
    }, { step: 'initialize', name: 'recordCalls' });
    return { calls, client };
  };

  describe('the controller owns the interface: launch, planned replacement, a failed new instance', () => {
    test('planned replacement: routes move away before the interface moves, the launch completes once NAT is proved, routes come home', async () => {
      const vpc = await build(2);
      const [a, b] = vpc.zones;
      const fresh = await launch(vpc);
      const { calls, client: recording } = recorder();
      const started = Date.now();
      await handleEvent(event(fresh), vpc.config, { ...clients(), ec2: recording }, quiet);
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`controller: launch event to the interface attached to the new instance: ${seconds.toFixed(3)} s (moto)\n`);
      expect(seconds).toBeLessThan(5);
      expect(await holder(a.networkInterfaceId)).toBe(fresh);
      const order = ['ReplaceRouteCommand', 'DetachNetworkInterfaceCommand', 'AttachNetworkInterfaceCommand'].map((c) => calls.indexOf(c));
      expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]))).toBe(true);
      // No moment without a working route target: A's table went to B's healthy NAT first.
      expect(await routeTargets(vpc)).toEqual({ [a.routeTableIds[0]]: b.networkInterfaceId, [b.routeTableIds[0]]: b.networkInterfaceId });
      expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);

      // Before its first heartbeat it is replacing: the launch stays pending, the routes stay on B.
      expect((await evaluate(vpc.config, clients(), { log: quiet })).moved).toBe(0);
      expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);

      // Its first heartbeat in a minute that starts after the attach is its proof (a beat of the
      // attach's own minute could be the old instance's).
      const nextMinute = new Date(Date.now() + 65_000);
      await heartbeat(cloudwatch, a.networkInterfaceId, nextMinute);
      const cloudformation = mockClient(new CloudFormationClient({ region: 'us-east-1' }));
      cloudformation.on(SignalResourceCommand).resolves({});
      const settled = await evaluate(vpc.config, { ...clients(), cloudformation: cloudformation as never as CloudFormationClient }, { log: quiet, now: new Date(nextMinute.getTime() + 5_000) });
      expect(settled.moved).toBe(1);
      expect(await routeTargets(vpc)).toEqual(homes(vpc));
      expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([{
        AutoScalingGroupName: 'nat-group-0', LifecycleHookName: 'NatInstanceLaunch', InstanceId: fresh, LifecycleActionResult: 'CONTINUE',
      }]);
      // The controller, not the instance, tells CloudFormation the zone is done: only then does a
      // deployment move on to the next zone.
      expect(cloudformation.commandCalls(SignalResourceCommand).map((c) => c.args[0].input)).toEqual([
        { StackName: 'NatTest', LogicalResourceId: 'NatGroup0', UniqueId: fresh, Status: 'SUCCESS' },
      ]);
    });

    describe('with the connection-state handoff on', () => {
      test('the old NAT reports the state taken: no route moves through the move, nor while the new NAT proves itself', async () => {
        // The old NAT's last beat a second back: before the second the new instance's attach is
        // stamped with (moto stamps attachments to the second), so not the new one's proof.
        const vpc = await build(2, 1, new Date(Date.now() - 1000));
        const [a] = vpc.zones;
        const config = { ...vpc.config, handoffWaitSeconds: 30 };
        const fresh = await launch(vpc);
        const { calls, client } = recorder();
        const logs: Array<Record<string, unknown>> = [];
        let waits = 0;
        // The old NAT answers on the third poll, as it would once the new one has imported.
        const sleep = async () => {
          if (++waits === 2) {
            await handoffReported(cloudwatch, a.networkInterfaceId, fresh, 1010);
          }
        };
        const started = Date.now();
        await handleEvent(event(fresh), config, { ...clients(), ec2: client }, (entry) => logs.push(entry), { sleep });
        const seconds = (Date.now() - started) / 1000;
        process.stdout.write(`controller: handoff reported to the interface attached to the new instance: ${seconds.toFixed(3)} s of controller work (moto, polls not slept)\n`);
        expect(await holder(a.networkInterfaceId)).toBe(fresh);
        expect(calls).not.toContain('ReplaceRouteCommand');
        expect(calls.indexOf('DetachNetworkInterfaceCommand')).toBeLessThan(calls.indexOf('AttachNetworkInterfaceCommand'));
        expect(logs).toContainEqual(expect.objectContaining({ event: 'handoff-ready', instanceId: fresh, flows: 1010 }));
        expect(logs).toContainEqual(expect.objectContaining({ event: 'interface-attached', instanceId: fresh, handoff: 1010 }));
        expect(await routeTargets(vpc)).toEqual(homes(vpc));

        // The scheduled run before its proof holds the zone on it, rather than cut what it took.
        const proving = await evaluate(config, clients(), { log: quiet, now: new Date(Date.now() + 30_000) });
        expect(proving.moved).toBe(0);
        expect(proving.decisions.find((d) => d.routeTableId === a.routeTableIds[0])).toMatchObject({ action: 'hold' });
        expect(await routeTargets(vpc)).toEqual(homes(vpc));
        // Proved: the launch completes, and nothing moved at any point.
        const nextMinute = new Date(Date.now() + 65_000);
        await heartbeat(cloudwatch, a.networkInterfaceId, nextMinute);
        const settled = await evaluate(config, clients(), { log: quiet, now: new Date(nextMinute.getTime() + 5_000) });
        expect(settled.moved).toBe(0);
        expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input.LifecycleActionResult)).toEqual(['CONTINUE']);
        expect(await routeTargets(vpc)).toEqual(homes(vpc));
      });

      test('a new NAT that took the state but proves nothing within HANDOFF_PROOF_SECONDS: its zone fails over', async () => {
        const vpc = await build(2);
        const [a, b] = vpc.zones;
        const config = { ...vpc.config, handoffWaitSeconds: 30 };
        const fresh = await launch(vpc);
        await handoffReported(cloudwatch, a.networkInterfaceId, fresh, 3);
        await handleEvent(event(fresh), config, clients(), quiet, { sleep: async () => undefined });
        const late = new Date(Date.now() + (HANDOFF_PROOF_SECONDS + 30) * 1000);
        await heartbeat(cloudwatch, b.networkInterfaceId, late);
        expect((await evaluate(config, clients(), { log: quiet, now: late })).moved).toBe(1);
        expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(b.networkInterfaceId);
      });

      test.each([
        ['no word from the old NAT within the wait', undefined, 3],
        ['a word for another instance', 'i-0123456789abcdef0', 3],
      ])('%s: the replacement falls back to moving the routes first', async (_name, other, wait) => {
        const vpc = await build(2);
        const [a, b] = vpc.zones;
        const fresh = await launch(vpc);
        if (other) {
          await handoffReported(cloudwatch, a.networkInterfaceId, other, 5);
        }
        const { calls, client } = recorder();
        const logs: Array<Record<string, unknown>> = [];
        let waits = 0;
        await handleEvent(event(fresh), { ...vpc.config, handoffWaitSeconds: wait }, { ...clients(), ec2: client }, (entry) => logs.push(entry), { sleep: async () => { waits++; } });
        expect(waits).toBe(wait);
        expect(logs).toContainEqual(expect.objectContaining({ event: 'handoff-unavailable', instanceId: fresh, reason: expect.stringContaining(`within ${wait} s`) }));
        const order = ['ReplaceRouteCommand', 'DetachNetworkInterfaceCommand', 'AttachNetworkInterfaceCommand'].map((c) => calls.indexOf(c));
        expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]))).toBe(true);
        expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(b.networkInterfaceId);
        expect(await holder(a.networkInterfaceId)).toBe(fresh);
      });

      test('an old NAT that is not healthy is not waited for: routes move first at once', async () => {
        // Heartbeats five minutes old: every NAT is past HEARTBEAT_MAX_AGE_SECONDS.
        const vpc = await build(2, 1, new Date(Date.now() - 300_000));
        const [a, b] = vpc.zones;
        await heartbeat(cloudwatch, b.networkInterfaceId);
        const fresh = await launch(vpc);
        const logs: Array<Record<string, unknown>> = [];
        let waits = 0;
        await handleEvent(event(fresh), { ...vpc.config, handoffWaitSeconds: 30 }, clients(), (entry) => logs.push(entry), { sleep: async () => { waits++; } });
        expect(waits).toBe(0);
        expect(logs).toContainEqual(expect.objectContaining({ event: 'handoff-skipped', reason: expect.stringMatching(/^the NAT holding the interface is not healthy: /) }));
        expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(b.networkInterfaceId);
      });
    });

    test('a new instance that never proves NAT is abandoned after its boot window, and its zone keeps egress through another', async () => {
      const vpc = await build(2);
      const [a, b] = vpc.zones;
      const fresh = await launch(vpc);
      await handleEvent(event(fresh), vpc.config, clients(), quiet);
      const pastBootWindow = new Date(Date.now() + (vpc.config.bootTimeoutSeconds + 60) * 1000);
      await heartbeat(cloudwatch, b.networkInterfaceId, pastBootWindow);
      await evaluate(vpc.config, clients(), { log: quiet, now: pastBootWindow });
      expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input.LifecycleActionResult)).toEqual(['ABANDON']);
      expect((await routeTargets(vpc))[a.routeTableIds[0]]).toBe(b.networkInterfaceId);
    });

    test('a launch waiting for its proof is not abandoned for a momentary state, only past its boot window', async () => {
      const vpc = await build(2);
      const fresh = await launch(vpc);
      await handleEvent(event(fresh), vpc.config, clients(), quiet);
      // Within the window, even with the old heartbeat long stale: no verdict yet.
      await evaluate(vpc.config, clients(), { log: quiet, now: new Date(Date.now() + 400_000) });
      expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    });

    test('a launch event for an instance older than the interface\'s holder leaves the interface with the newer one', async () => {
      const vpc = await build(2);
      const [a] = vpc.zones;
      // moto stamps launch times to the second: the new instance must launch in a later one, or
      // neither is the newer.
      await new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)));
      const fresh = await launch(vpc);
      await handleEvent(event(fresh), vpc.config, clients(), quiet);
      // A late event for the old instance (its group replaced it, say) must not take it back.
      const logs: Array<Record<string, unknown>> = [];
      await handleEvent(event(a.instanceId), vpc.config, clients(), (entry) => logs.push(entry));
      expect(await holder(a.networkInterfaceId)).toBe(fresh);
      expect(logs).toContainEqual(expect.objectContaining({ event: 'ignored', reason: `a newer instance, ${fresh}, holds the interface` }));
    });

    test('a repeated launch event finds the interface attached already and moves nothing', async () => {
      const vpc = await build(2);
      const fresh = await launch(vpc);
      await handleEvent(event(fresh), vpc.config, clients(), quiet);
      const logs: Array<Record<string, unknown>> = [];
      const again = await handleEvent(event(fresh), vpc.config, clients(), (entry) => logs.push(entry));
      expect(again.moved).toBe(0);
      expect(logs.map((l) => l.event)).toContain('interface-attached-already');
      expect(await holder(vpc.zones[0].networkInterfaceId)).toBe(fresh);
    });

    test.each([
      ['null', null],
      ['a string', 'launch'],
      ['an event with no detail', { 'detail-type': LAUNCH }],
      ['a detail of null', { 'detail-type': LAUNCH, detail: null }],
      ['a group of another stack', { 'detail-type': LAUNCH, detail: { EC2InstanceId: 'i-0123456789abcdef0', AutoScalingGroupName: 'someone-elses-group' } }],
      ['an instance ID that is not one', { 'detail-type': LAUNCH, detail: { EC2InstanceId: 'i-$(reboot)', AutoScalingGroupName: 'nat-group-0' } }],
      ['a terminate action of another stack', { 'detail-type': 'EC2 Instance-terminate Lifecycle Action', detail: { EC2InstanceId: 'i-0123456789abcdef0', AutoScalingGroupName: 'other' } }],
    ])('bad input (%s) is logged, never thrown, and touches nothing', async (_name, input) => {
      const vpc = await build(1);
      const logs: Array<Record<string, unknown>> = [];
      const result = await handleEvent(input as never, vpc.config, clients(), (entry) => logs.push(entry));
      expect(result.moved).toBe(0);
      expect(logs).toEqual([expect.objectContaining({ event: 'ignored', reason: expect.any(String) })]);
      expect(await holder(vpc.zones[0].networkInterfaceId)).toBe(vpc.zones[0].instanceId);
      expect(autoscalingMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    });

    test('an expired lifecycle token is logged, not thrown', async () => {
      const vpc = await build(2);
      autoscalingMock.on(CompleteLifecycleActionCommand).rejects(Object.assign(new Error('No active Lifecycle Action found with token token'), { name: 'ValidationError' }));
      const logs: Array<Record<string, unknown>> = [];
      await expect(handleEvent({
        source: 'aws.autoscaling', 'detail-type': 'EC2 Instance-terminate Lifecycle Action',
        detail: { EC2InstanceId: vpc.zones[1].instanceId, AutoScalingGroupName: 'nat-group-1', LifecycleHookName: 'NatInstanceTerminate', LifecycleActionToken: 'token' },
      }, vpc.config, clients(), (entry) => logs.push(entry))).resolves.toMatchObject({ moved: 1 });
      expect(logs).toContainEqual(expect.objectContaining({ event: 'lifecycle-already-complete', error: 'No active Lifecycle Action found with token token' }));
    });
  });

  describe('Spot: a warning is a planned replacement', () => {
    /** Zone A's instance in its group, with the health its group reports. */
    const membership = (vpc: BuiltVpc, health: () => string) => {
      autoscalingMock.on(DescribeAutoScalingInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => ({
        AutoScalingInstances: (input.InstanceIds ?? []).filter((id) => id === vpc.zones[0].instanceId).map((id) => ({
          InstanceId: id, AutoScalingGroupName: 'nat-group-0', LifecycleState: 'InService', HealthStatus: health(),
          AvailabilityZone: vpc.zones[0].az, ProtectedFromScaleIn: false,
        })),
      }));
    };
    const warning = (type: string, instanceId: unknown) => ({ source: 'aws.ec2', 'detail-type': type, detail: { 'instance-id': instanceId as string, 'instance-action': 'terminate' } });

    test.each([SPOT_EVENT.interruption, SPOT_EVENT.rebalance])('%s: the zone\'s routes move at once, the instance is marked for replacement, and the routes keep away from it', async (type) => {
      const vpc = await build(2);
      const [a, b] = vpc.zones;
      let health = 'HEALTHY';
      membership(vpc, () => health);
      autoscalingMock.on(SetInstanceHealthCommand).callsFake(() => { health = 'UNHEALTHY'; return {}; });
      const config = { ...vpc.config, spot: true };
      const logs: Array<Record<string, unknown>> = [];
      const started = Date.now();
      const result = await handleEvent(warning(type, a.instanceId), config, clients(), (entry) => logs.push(entry));
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`Spot (${type}): warning to routes moved and the instance marked: ${seconds.toFixed(3)} s (moto)\n`);
      expect(seconds).toBeLessThan(5);
      expect(result.moved).toBe(1);
      expect(await routeTargets(vpc)).toEqual({ [a.routeTableIds[0]]: b.networkInterfaceId, [b.routeTableIds[0]]: b.networkInterfaceId });
      expect(autoscalingMock.commandCalls(SetInstanceHealthCommand).map((c) => c.args[0].input)).toEqual([
        { InstanceId: a.instanceId, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false },
      ]);
      expect(logs).toContainEqual(expect.objectContaining({ event: 'spot-replacement', instanceId: a.instanceId, moved: 1 }));
      // Every run after, until its group replaces it: it is still running and beating, but its
      // group's word keeps the routes away.
      const later = await evaluate(config, clients(), { log: quiet });
      expect(later.moved).toBe(0);
      expect(later.decisions.find((d) => d.routeTableId === a.routeTableIds[0])).toMatchObject({ action: 'keep', target: b.networkInterfaceId });

      // Its group launches the replacement first: the interface moves to it, and the routes come
      // home once it has proved NAT.
      const fresh = await launch(vpc);
      await handleEvent(event(fresh), config, clients(), quiet);
      expect(await holder(a.networkInterfaceId)).toBe(fresh);
      const nextMinute = new Date(Date.now() + 65_000);
      await heartbeat(cloudwatch, a.networkInterfaceId, nextMinute);
      await heartbeat(cloudwatch, b.networkInterfaceId, nextMinute);
      expect((await evaluate(config, clients(), { log: quiet, now: new Date(nextMinute.getTime() + 5_000) })).moved).toBe(1);
      expect(await routeTargets(vpc)).toEqual(homes(vpc));
    });

    test.each<[string, (vpc: BuiltVpc) => unknown, boolean, string]>([
      ['NATs that do not run on Spot', (vpc) => vpc.zones[0].instanceId, false, 'the NATs do not run on Spot'],
      ['an instance of no NAT group', () => 'i-0123456789abcdef0', true, 'not an instance of this stack\'s NAT groups'],
      ['an instance ID that is not one', () => 'i-$(reboot)', true, 'no valid instance ID'],
      ['no instance ID', () => undefined, true, 'no valid instance ID'],
    ])('a warning for %s is logged and touches nothing', async (_name, instance, spot, reason) => {
      const vpc = await build(2);
      membership(vpc, () => 'HEALTHY');
      autoscalingMock.on(SetInstanceHealthCommand).resolves({});
      const logs: Array<Record<string, unknown>> = [];
      const result = await handleEvent(warning(SPOT_EVENT.interruption, instance(vpc)), { ...vpc.config, spot }, clients(), (entry) => logs.push(entry));
      expect(result.moved).toBe(0);
      expect(logs).toEqual([expect.objectContaining({ event: 'ignored', reason })]);
      expect(autoscalingMock.commandCalls(SetInstanceHealthCommand)).toHaveLength(0);
      expect(await routeTargets(vpc)).toEqual(homes(vpc));
    });
  });

  test('nat-doctor names source/dest check left on, with the command that fixes it', async () => {
    const vpc = await build(1);
    const [a] = vpc.zones;
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: a.networkInterfaceId, SourceDestCheck: { Value: true } }));
    const report = await doctor(vpc);
    expect(report.problems).toEqual([{
      az: a.az,
      problem: `source/dest check is on for ${a.networkInterfaceId}, so EC2 drops forwarded traffic`,
      fix: `aws ec2 modify-network-interface-attribute --network-interface-id ${a.networkInterfaceId} --no-source-dest-check`,
    }]);
    expect(formatReport(report)).toMatch(/1 problem\(s\):\n- \[us-east-1a\] source\/dest check is on/);
  });

  test('nat-doctor: any source outside the VPC but the blocks the stack serves exposes the NAT, not only 0.0.0.0/0', async () => {
    const vpc = await build(1);
    const [a] = vpc.zones;
    const eni = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [a.networkInterfaceId] }))).NetworkInterfaces![0];
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({
      GroupId: eni.Groups![0].GroupId!,
      IpPermissions: [
        // A block the stack serves (additionalCidrs), by the stack's own rule: no exposure.
        { IpProtocol: '-1', IpRanges: [{ CidrIp: '100.64.0.0/16', Description: SERVED_SOURCE_RULE }] },
        // A private network the stack does not serve is exposure all the same, as are public ones.
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '172.31.0.0/16' }, { CidrIp: '203.0.113.0/24' }], Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32' }] },
      ],
    }));
    const report = await doctor(vpc);
    expect(report.zones[0].exposedTo).toEqual(['172.31.0.0/16', '203.0.113.0/24', '2001:db8::/32']);
    expect(report.problems).toEqual([{
      az: a.az,
      problem: `a security group of ${a.networkInterfaceId} admits 172.31.0.0/16, 203.0.113.0/24, 2001:db8::/32, outside the VPC's blocks and the blocks the stack serves`,
      fix: 'revoke the rule: the NAT needs traffic from the VPC\'s CIDR blocks (and networks routed to it) only',
    }]);
    expect(formatReport(report)).toContain('EXPOSED');
  });

  describe('the nat-doctor command, as its shipped bundle', () => {
    const run = (args: string[]) => {
      const result = spawnSync('node', [path.join(__dirname, '..', 'dist', 'nat-doctor.js'), ...args], {
        encoding: 'utf8', timeout: 60_000,
        env: { ...process.env, AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' },
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    };

    test('--help documents it; bad usage exits 2', () => {
      const help = run(['--help']);
      expect(help).toMatchObject({ status: 0, stdout: expect.stringContaining('Usage: nat-doctor (--stack NAME | --vpc-id VPC_ID)') });
      expect(run([])).toMatchObject({ status: 2, stderr: expect.stringContaining('give exactly one of --stack or --vpc-id') });
      // The age limit is the controller's, not an option: the two cannot disagree.
      expect(run(['--vpc-id', 'vpc-1', '--max-heartbeat-age', '999'])).toMatchObject({ status: 2, stderr: expect.stringContaining("Unknown option '--max-heartbeat-age'") });
    });

    test('a healthy VPC: a table and exit 0; --json for machines; a stopped NAT: exit 1 with the reason', async () => {
      const vpc = await build(2);
      const table = run(['--vpc-id', vpc.vpcId]);
      expect(table.status).toBe(0);
      expect(table.stdout).toMatch(/^AZ\s+NAT interface\s+instance\s+state/);
      expect(table.stdout).toContain(vpc.zones[0].networkInterfaceId);
      const json = JSON.parse(run(['--vpc-id', vpc.vpcId, '--json']).stdout);
      expect(json).toMatchObject({ vpcId: vpc.vpcId, healthy: true, problems: [] });
      expect(json.zones).toHaveLength(2);

      await ec2.send(new StopInstancesCommand({ InstanceIds: [vpc.zones[1].instanceId] }));
      const broken = run(['--vpc-id', vpc.vpcId]);
      expect(broken.status).toBe(1);
      expect(broken.stdout).toContain(`is unhealthy: instance ${vpc.zones[1].instanceId} is stopped`);
      expect(broken.stdout).toContain('fix: ');
    });

    test('--stack finds the stack\'s VPC through CloudFormation', async () => {
      const cloudformation = new CloudFormationClient(moto.clientConfig);
      await cloudformation.send(new CreateStackCommand({
        StackName: 'EmptyNat', TemplateBody: JSON.stringify({ Resources: { Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.250.0.0/16' } } } }),
      }));
      const result = run(['--stack', 'EmptyNat']);
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(/no NAT interface \(tag NatInstanceGroup\) in vpc-/);
    });
  });

  describe('nat-doctor preflight: zones that offer the instance type, Elastic IPs the account can allocate', () => {
    test('a zone that does not offer the type is named, with the zones that do', async () => {
      const report = await preflight(ec2, { instanceType: 't4g.nano', zones: ['us-east-1a', 'us-east-1z'], elasticIps: 0 });
      // (Needing no Elastic IP, the account's addresses are no problem here.)
      expect(report.offeredZones.length).toBeGreaterThan(0);
      expect(report.offeredZones).not.toContain('us-east-1z');
      expect(report.problems).toEqual([`us-east-1z does not offer t4g.nano: choose zones among ${report.offeredZones.join(', ')} (-c azs=...), or another instance type`]);
      expect(report.ok).toBe(false);
      const good = await preflight(ec2, { instanceType: 't4g.nano', zones: report.offeredZones.slice(0, 2), elasticIps: 0 });
      expect(good).toMatchObject({ ok: true, problems: [] });
    });

    test('more Elastic IPs than the quota leaves room for is a problem, with what to do', async () => {
      const probe = await preflight(ec2, { instanceType: 't4g.nano', zones: [], elasticIps: 0 });
      expect(probe.elasticIpQuota).toBeGreaterThan(0);
      // moto does not enforce the quota, so other tests may have allocated past it already.
      const room = probe.elasticIpQuota! - probe.elasticIpsInUse;
      expect(probe.ok).toBe(true); // needing none cannot fail
      if (room > 0) {
        expect((await preflight(ec2, { instanceType: 't4g.nano', zones: [], elasticIps: room })).ok).toBe(true);
      }
      const need = Math.max(room + 1, 1);
      const over = await preflight(ec2, { instanceType: 't4g.nano', zones: [], elasticIps: need });
      expect(over.problems).toEqual([expect.stringMatching(new RegExp(`^the account holds ${probe.elasticIpsInUse} of its ${probe.elasticIpQuota} Elastic IPs in this region, and the deployment needs ${need} more: release unused ones`))]);
    });

    test('the command: a clear report and exit 1 for a problem, exit 2 for bad usage', () => {
      const env = { ...process.env, AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
      const run = (...args: string[]) => spawnSync('node', [path.join(__dirname, '..', 'dist', 'nat-doctor.js'), 'preflight', ...args], { encoding: 'utf8', timeout: 60_000, env });
      const bad = run('--azs', 'us-east-1z', '--elastic-ips', '0');
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/^t4g\.nano is offered in: us-east-1a/);
      expect(bad.stdout).toContain('- us-east-1z does not offer t4g.nano');
      expect(run('--azs', 'everywhere')).toMatchObject({ status: 2, stderr: expect.stringContaining("--azs: got 'everywhere'; expected zone names such as us-east-1a,us-east-1c") });
      expect(run('--azs', 'us-east-1a', '--instance-type', 'huge')).toMatchObject({ status: 2, stderr: expect.stringContaining("--instance-type: got 'huge'") });
      expect(run('--azs', 'us-east-1a', '--elastic-ips', 'lots')).toMatchObject({ status: 2, stderr: expect.stringContaining("--elastic-ips: got 'lots'; expected a whole number from 0 to 100") });
      expect(run('--azs', 'us-east-1a', '--elastic-ips=-1')).toMatchObject({ status: 2, stderr: expect.stringContaining("--elastic-ips: got '-1'") });
    });
  });

  test('measured: one evaluation of 6 zones and 60 route tables', async () => {
    const vpc = await build(6, 10);
    expect(vpc.config.routeTables).toHaveLength(60);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const caller = new Caller();
      const started = process.hrtime.bigint();
      const result = await evaluate(vpc.config, clients(), { log: quiet, caller });
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      expect(result).toMatchObject({ moved: 0, apiCalls: 5 });
    }
    await ec2.send(new StopInstancesCommand({ InstanceIds: [vpc.zones[0].instanceId] }));
    const started = process.hrtime.bigint();
    const failover = await evaluate(vpc.config, clients(), { log: quiet });
    const failoverMs = Number(process.hrtime.bigint() - started) / 1e6;
    // Five reads, then for each of the 10 tables a read of its route and of its target just before the change.
    expect(failover).toMatchObject({ moved: 10, apiCalls: 35 });
    const median = [...times].sort((x, y) => x - y)[2];
    process.stdout.write(`watchdog: 6 zones, 60 route tables: 5 API calls and ${median.toFixed(0)} ms per evaluation (median of 5); ` +
      `failing one zone over: ${failover.apiCalls} calls, ${failoverMs.toFixed(0)} ms\n`);
    expect(median).toBeLessThan(5000);
  }, 120_000);
});
