import { CONTROLLER_CONFIG_VARIABLE, LIFECYCLE_EVENT, SPOT_EVENT } from '../assets/contract';
import { EventIntent, STOPPING_STATES, configFromEnvironment, decodeConfig, groupNameOf, instanceIdOf, readEvent } from '../assets/watchdog/events';

/**
 * The controller's reading of its events and configuration (events.ts), in-process and without
 * the AWS SDK; watchdog.moto.test.ts sends the same events through the real handler.
 */
const LIFECYCLE_DETAIL = { EC2InstanceId: 'i-0123456789abcdef0', AutoScalingGroupName: 'stack-NatGroupA-1X', LifecycleHookName: 'hook', LifecycleActionToken: 'token-1' };

describe('readEvent', () => {
  const cases: Array<[string, unknown, boolean, EventIntent]> = [
    ['null', null, false, { kind: 'ignore', trigger: 'direct', reason: 'the event is not an object', leaving: [], received: { received: 'null' } }],
    ['a string', 'oops', false, { kind: 'ignore', trigger: 'direct', reason: 'the event is not an object', leaving: [], received: { received: '"oops"' } }],
    ['an array', [1], false, { kind: 'ignore', trigger: 'direct', reason: 'the event is not an object', leaving: [], received: { received: '[1]' } }],
    ['undefined', undefined, false, { kind: 'ignore', trigger: 'direct', reason: 'the event is not an object', leaving: [], received: { received: 'undefined' } }],
    ['the schedule', { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }, false, { kind: 'evaluate', trigger: 'Scheduled Event', leaving: [] }],
    ['a direct invocation', {}, false, { kind: 'evaluate', trigger: 'direct', leaving: [] }],
    ['a detail-type that is no string', { 'detail-type': 7 }, false, { kind: 'evaluate', trigger: 'direct', leaving: [] }],
    ['an instance stopping', { 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-b', state: 'stopping' } }, false,
      { kind: 'evaluate', trigger: 'EC2 Instance State-change Notification', leaving: ['i-b'] }],
    ['an instance starting', { 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-b', state: 'pending' } }, false,
      { kind: 'evaluate', trigger: 'EC2 Instance State-change Notification', leaving: [] }],
    ['a state change without its instance', { 'detail-type': 'EC2 Instance State-change Notification', detail: { state: 'stopped' } }, false,
      { kind: 'evaluate', trigger: 'EC2 Instance State-change Notification', leaving: [] }],
    ['a stopping state under another detail-type', { 'detail-type': 'Scheduled Event', detail: { 'instance-id': 'i-b', state: 'stopped' } }, false,
      { kind: 'evaluate', trigger: 'Scheduled Event', leaving: [] }],
    ['a state change whose detail is a string', { 'detail-type': 'EC2 Instance State-change Notification', detail: 'stopped' }, false,
      { kind: 'evaluate', trigger: 'EC2 Instance State-change Notification', leaving: [] }],
    ['a state change whose detail is null', { 'detail-type': 'EC2 Instance State-change Notification', detail: null }, false,
      { kind: 'evaluate', trigger: 'EC2 Instance State-change Notification', leaving: [] }],
    ['a launch', { 'detail-type': LIFECYCLE_EVENT.launching, detail: LIFECYCLE_DETAIL }, false,
      { kind: 'launch', trigger: LIFECYCLE_EVENT.launching, group: LIFECYCLE_DETAIL.AutoScalingGroupName, instanceId: LIFECYCLE_DETAIL.EC2InstanceId, leaving: [] }],
    ['a termination', { 'detail-type': LIFECYCLE_EVENT.terminating, detail: LIFECYCLE_DETAIL }, false, {
      kind: 'evaluate', trigger: LIFECYCLE_EVENT.terminating, group: LIFECYCLE_DETAIL.AutoScalingGroupName, instanceId: LIFECYCLE_DETAIL.EC2InstanceId,
      leaving: [LIFECYCLE_DETAIL.EC2InstanceId],
      lifecycle: { group: LIFECYCLE_DETAIL.AutoScalingGroupName, hook: 'hook', token: 'token-1', instanceId: LIFECYCLE_DETAIL.EC2InstanceId },
    }],
    ['a launch with a malformed instance', { 'detail-type': LIFECYCLE_EVENT.launching, detail: { ...LIFECYCLE_DETAIL, EC2InstanceId: 'i-$(reboot)' } }, false,
      { kind: 'ignore', trigger: LIFECYCLE_EVENT.launching, reason: 'no valid instance ID', leaving: [], received: { group: 'stack-NatGroupA-1X', instanceId: 'i-$(reboot)' } }],
    ['a termination without an instance', { 'detail-type': LIFECYCLE_EVENT.terminating, detail: { AutoScalingGroupName: 'g' } }, false,
      { kind: 'ignore', trigger: LIFECYCLE_EVENT.terminating, reason: 'no valid instance ID', leaving: [], received: { group: 'g', instanceId: 'undefined' } }],
    ['an interruption warning on Spot', { 'detail-type': SPOT_EVENT.interruption, detail: { 'instance-id': 'i-0abc' } }, true,
      { kind: 'spot', trigger: SPOT_EVENT.interruption, instanceId: 'i-0abc', leaving: ['i-0abc'] }],
    ['a rebalance recommendation on Spot', { 'detail-type': SPOT_EVENT.rebalance, detail: { 'instance-id': 'i-0abc' } }, true,
      { kind: 'spot', trigger: SPOT_EVENT.rebalance, instanceId: 'i-0abc', leaving: ['i-0abc'] }],
    ['a Spot warning with the NATs on demand', { 'detail-type': SPOT_EVENT.interruption, detail: { 'instance-id': 'i-0abc' } }, false,
      { kind: 'ignore', trigger: SPOT_EVENT.interruption, reason: 'the NATs do not run on Spot', leaving: [], received: { instanceId: 'i-0abc' } }],
    ['a Spot warning with a malformed instance', { 'detail-type': SPOT_EVENT.rebalance, detail: { 'instance-id': 42 } }, true,
      { kind: 'ignore', trigger: SPOT_EVENT.rebalance, reason: 'no valid instance ID', leaving: [], received: { instanceId: '42' } }],
  ];
  test.each(cases)('%s', (_name, event, spot, expected) => {
    expect(readEvent(event, spot)).toEqual(expected);
  });

  test('what an ignored event logs is cut short', () => {
    const long = 'x'.repeat(1000);
    expect(readEvent(long, false).received!.received).toHaveLength(200);
    const lifecycle = readEvent({ 'detail-type': LIFECYCLE_EVENT.terminating, detail: { AutoScalingGroupName: long, EC2InstanceId: long } }, false);
    expect(lifecycle.received).toEqual({ group: long.slice(0, 300), instanceId: long.slice(0, 40) });
    expect(readEvent({ 'detail-type': SPOT_EVENT.interruption, detail: { 'instance-id': long } }, true).received).toEqual({ instanceId: long.slice(0, 40) });
  });

  test('every stopping state takes the instance out of service, and only those', () => {
    expect([...STOPPING_STATES].sort()).toEqual(['shutting-down', 'stopped', 'stopping', 'terminated']);
    for (const state of STOPPING_STATES) {
      expect(readEvent({ 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-b', state } }, false).leaving).toEqual(['i-b']);
    }
  });
});

describe('instanceIdOf and groupNameOf: only well-formed values pass', () => {
  test.each([
    ['i-0', true], ['i-0123456789abcdef0', true], ['i-0123456789abcdef01', false], ['i-', false], ['i-ABC', false],
    [' i-0abc', false], ['i-0abc ', false], ['x-i-0abc', false], ['i-0abc\n', false], [7, false], [undefined, false], [['i-0abc'], false],
  ])('instance %p: %p', (value, ok) => {
    expect(instanceIdOf(value)).toBe(ok ? value : undefined);
  });

  test.each([
    ['g', true], ['stack-NatGroupA-1X', true], ['a+b=c,d.e@f/g:h_i-j', true], ['x'.repeat(255), true], ['x'.repeat(256), false],
    ['', false], ['a b', false], [' g', false], ['g\n', false], ['g;rm', false], [3, false], [null, false], [['g'], false],
  ])('group %p: %p', (value, ok) => {
    expect(groupNameOf(value)).toBe(ok ? value : undefined);
  });
});

describe('decodeConfig and configFromEnvironment', () => {
  test('the compact configuration of the environment decodes to the full one', () => {
    expect(decodeConfig({ boot: 900, fo: 1, nats: [['eni-a', 'az-a', 'nat-a'], ['eni-b', 'az-b', 'nat-b']], tables: [['rtb-a', 0], ['rtb-b', 1], ['rtb-c', 0]] })).toEqual({
      nats: [{ networkInterfaceId: 'eni-a', az: 'az-a', groupTag: 'nat-a' }, { networkInterfaceId: 'eni-b', az: 'az-b', groupTag: 'nat-b' }],
      routeTables: [
        { routeTableId: 'rtb-a', az: 'az-a', homeNetworkInterfaceId: 'eni-a' },
        { routeTableId: 'rtb-b', az: 'az-b', homeNetworkInterfaceId: 'eni-b' },
        { routeTableId: 'rtb-c', az: 'az-a', homeNetworkInterfaceId: 'eni-a' },
      ],
      bootTimeoutSeconds: 900,
      failover: true,
    });
  });

  test('failover is on unless fo is 0, and absent optional fields stay absent', () => {
    expect(decodeConfig({ boot: 60, fo: 0, nats: [], tables: [] })).toEqual({ nats: [], routeTables: [], bootTimeoutSeconds: 60, failover: false });
    expect(decodeConfig({ boot: 60, nats: [], tables: [] }).failover).toBe(true);
    expect(decodeConfig({ boot: 60, nats: [['eni-a', 'az-a', '', '']], tables: [] }).nats).toEqual([{ networkInterfaceId: 'eni-a', az: 'az-a' }]);
  });

  test('the stack to signal, the handoff wait, Spot and each group\'s logical ID come through', () => {
    expect(decodeConfig({ boot: 60, fo: 1, st: 'Nat', ho: 240, sp: 1, nats: [['eni-a', 'az-a', 'nat-a', 'NatGroupA']], tables: [['rtb-a', 0]] })).toEqual({
      nats: [{ networkInterfaceId: 'eni-a', az: 'az-a', groupTag: 'nat-a', signalResource: 'NatGroupA' }],
      routeTables: [{ routeTableId: 'rtb-a', az: 'az-a', homeNetworkInterfaceId: 'eni-a' }],
      bootTimeoutSeconds: 60, failover: true, stackName: 'Nat', handoffWaitSeconds: 240, spot: true,
    });
    expect(decodeConfig({ boot: 60, ho: 0, sp: 0, nats: [], tables: [] })).toEqual({ nats: [], routeTables: [], bootTimeoutSeconds: 60, failover: true });
  });

  test('the environment variable is read and decoded, and its absence named', () => {
    expect(configFromEnvironment({ [CONTROLLER_CONFIG_VARIABLE]: '{"boot":30,"fo":0,"nats":[],"tables":[]}' })).toEqual({ nats: [], routeTables: [], bootTimeoutSeconds: 30, failover: false });
    expect(() => configFromEnvironment({})).toThrow(`${CONTROLLER_CONFIG_VARIABLE} is not set`);
    expect(() => configFromEnvironment({ [CONTROLLER_CONFIG_VARIABLE]: '' })).toThrow(`${CONTROLLER_CONFIG_VARIABLE} is not set`);
  });
});
