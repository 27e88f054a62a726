import { AutoScalingClient, CompleteLifecycleActionCommand, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeInstanceStatusCommand, DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand, EC2Client, ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Caller, handleEvent } from '../assets/watchdog/index';
import { CONFIG, onHome } from './fakes/watchdog';

/**
 * The handler's error paths (throttling, an API error mid-way, a concurrent invocation) with
 * aws-sdk-client-mock, where moto cannot produce them. Its decisions are in decide.test.ts.
 */
describe('handleEvent against mocked AWS APIs', () => {
  const ec2 = mockClient(EC2Client);
  const autoscaling = mockClient(AutoScalingClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const clients = { ec2: new EC2Client({}), autoscaling: new AutoScalingClient({}), cloudwatch: new CloudWatchClient({}) };
  const logs: Array<Record<string, unknown>> = [];
  const log = (entry: Record<string, unknown>) => { logs.push(entry); };

  beforeEach(() => {
    ec2.reset(); autoscaling.reset(); cloudwatch.reset(); logs.length = 0;
    ec2.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: ['a', 'b', 'c'].map((z) => ({ NetworkInterfaceId: `eni-${z}`, Attachment: { InstanceId: `i-${z}`, Status: 'attached' } })),
    });
    ec2.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: ['a', 'b', 'c'].map((z) => ({ InstanceId: `i-${z}`, InstanceState: { Name: 'running' }, InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } })),
    });
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [0, 1, 2].map((i) => ({ Id: `h${i}`, Timestamps: [new Date(Date.now() - 30_000)] })),
    });
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: onHome.map((r) => ({ RouteTableId: r.routeTableId, Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: r.networkInterfaceId, State: 'active' }] })),
    });
    ec2.on(ReplaceRouteCommand).resolves({});
    autoscaling.on(CompleteLifecycleActionCommand).resolves({});
    // Each group carries its NAT's NatInstanceGroup tag.
    autoscaling.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames?: string[] }) => ({
      AutoScalingGroups: (input.AutoScalingGroupNames ?? []).filter((n) => /^asg-[abc]$/.test(n)).map((n) => ({
        AutoScalingGroupName: n, MinSize: 1, MaxSize: 1, DesiredCapacity: 1, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: 'EC2', CreatedTime: new Date(),
        Tags: [{ Key: 'NatInstanceGroup', Value: n.replace('asg-', 'nat-'), ResourceId: n, ResourceType: 'auto-scaling-group', PropagateAtLaunch: true }],
      })),
    }));
    autoscaling.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: ['a', 'b', 'c'].map((z) => ({ InstanceId: `i-${z}`, LifecycleState: 'InService', AutoScalingGroupName: `asg-${z}`, AvailabilityZone: `az-${z}`, HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false })),
    });
  });

  const lifecycle = {
    source: 'aws.autoscaling', 'detail-type': 'EC2 Instance-terminate Lifecycle Action',
    detail: { EC2InstanceId: 'i-a', AutoScalingGroupName: 'asg-a', LifecycleHookName: 'hook', LifecycleActionToken: 'token-1' },
  };

  test('a scheduled run with everything healthy: five reads, no write', async () => {
    const result = await handleEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, CONFIG, clients, log);
    expect(result).toMatchObject({ moved: 0, apiCalls: 5 });
    expect(ec2.commandCalls(ReplaceRouteCommand)).toHaveLength(0);
    expect(logs.filter((l) => l.event === 'route-decision')).toHaveLength(3);
  });

  test('a terminate lifecycle action: the zone\'s route moves first, then the instance is let go', async () => {
    const result = await handleEvent(lifecycle, CONFIG, clients, log);
    expect(result.moved).toBe(1);
    expect(ec2.commandCalls(ReplaceRouteCommand).map((c) => c.args[0].input)).toEqual([
      { RouteTableId: 'rtb-a', DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: 'eni-b' },
    ]);
    expect(autoscaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([{
      AutoScalingGroupName: 'asg-a', LifecycleHookName: 'hook', LifecycleActionToken: 'token-1', InstanceId: 'i-a', LifecycleActionResult: 'CONTINUE',
    }]);
    const moved = logs.find((l) => l.RouteMoved === 1)!;
    expect(moved).toMatchObject({ event: 'route-decision', routeTableId: 'rtb-a', action: 'move', target: 'eni-b', RouteTableId: 'rtb-a' });
    expect((moved._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics).toEqual([
      // Per route table, and without dimensions for the failover alarm.
      { Namespace: 'NatInstance', Dimensions: [['RouteTableId'], []], Metrics: [{ Name: 'RouteMoved', Unit: 'Count' }] },
    ]);
  });

  test('an instance state change to stopping moves its zone at once', async () => {
    const result = await handleEvent({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-b', state: 'stopping' } }, CONFIG, clients, log);
    expect(ec2.commandCalls(ReplaceRouteCommand).map((c) => c.args[0].input.RouteTableId)).toEqual(['rtb-b']);
    expect(result.moved).toBe(1);
  });

  test('a state change of some other instance moves nothing', async () => {
    await handleEvent({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-other', state: 'terminated' } }, CONFIG, clients, log);
    expect(ec2.commandCalls(ReplaceRouteCommand)).toHaveLength(0);
  });

  test('throttled calls are retried with back-off and counted', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' });
    ec2.on(DescribeRouteTablesCommand).rejectsOnce(throttled).rejectsOnce(throttled).resolves({
      RouteTables: onHome.map((r) => ({ RouteTableId: r.routeTableId, Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: r.networkInterfaceId, State: 'active' }] })),
    });
    const result = await handleEvent({ 'detail-type': 'Scheduled Event' }, CONFIG, clients, log);
    expect(ec2.commandCalls(DescribeRouteTablesCommand)).toHaveLength(3);
    expect(result.apiCalls).toBe(7);
  });

  test('throttling that does not stop gives up after five tries with the error', async () => {
    const caller = new Caller(1, 5);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    await expect(caller.call(() => Promise.reject(throttled))).rejects.toThrow('Rate exceeded');
    expect(caller.calls).toBe(5);
  });

  test('other errors are not retried', async () => {
    const caller = new Caller(1, 5);
    await expect(caller.call(() => Promise.reject(Object.assign(new Error('no such route table'), { name: 'InvalidRouteTableID.NotFound' })))).rejects.toThrow('no such route table');
    expect(caller.calls).toBe(1);
  });

  test('an API error mid-way: the other tables still move, the lifecycle action is completed, and the error surfaces for a retry', async () => {
    ec2.on(ReplaceRouteCommand, { RouteTableId: 'rtb-a' }).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    const bothDown = { source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-a', state: 'stopping' } };
    autoscaling.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{ InstanceId: 'i-b', LifecycleState: 'Terminating:Wait', AutoScalingGroupName: 'asg-b', AvailabilityZone: 'az-b', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false }],
    });
    await expect(handleEvent(bothDown, CONFIG, clients, log)).rejects.toThrow('1 route(s) could not be moved: boom');
    expect(ec2.commandCalls(ReplaceRouteCommand).map((c) => [c.args[0].input.RouteTableId, c.args[0].input.NetworkInterfaceId])).toEqual([['rtb-a', 'eni-c'], ['rtb-b', 'eni-c']]);
    await expect(handleEvent(lifecycle, CONFIG, clients, log)).rejects.toThrow('boom');
    expect(autoscaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
  });

  test('when both the evaluation and the lifecycle completion fail, the evaluation\'s error surfaces', async () => {
    ec2.on(ReplaceRouteCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    autoscaling.on(CompleteLifecycleActionCommand).rejects(Object.assign(new Error('throttled'), { name: 'InternalFailure' }));
    await expect(handleEvent(lifecycle, CONFIG, clients, log)).rejects.toThrow('1 route(s) could not be moved: boom');
    expect(autoscaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
    // Alone, the completion's error surfaces.
    ec2.on(ReplaceRouteCommand).resolves({});
    await expect(handleEvent(lifecycle, CONFIG, clients, log)).rejects.toThrow('throttled');
  });

  test('a retried lifecycle invocation finds the action complete already, and does not fail for it', async () => {
    autoscaling.on(CompleteLifecycleActionCommand).rejects(Object.assign(new Error('No active Lifecycle Action found'), { name: 'ValidationError' }));
    await expect(handleEvent(lifecycle, CONFIG, clients, log)).resolves.toMatchObject({ moved: 1 });
    expect(logs.some((l) => l.event === 'lifecycle-already-complete')).toBe(true);
  });

  test('a concurrent invocation that already moved the route: the second run finds nothing to do', async () => {
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: onHome.map((r) => ({ RouteTableId: r.routeTableId, Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: r.routeTableId === 'rtb-a' ? 'eni-b' : r.networkInterfaceId, State: 'active' }] })),
    });
    const result = await handleEvent(lifecycle, CONFIG, clients, log);
    expect(result.moved).toBe(0);
    expect(ec2.commandCalls(ReplaceRouteCommand)).toHaveLength(0);
  });
});
