import * as contract from '../assets/contract';

/**
 * The contract's values are what deployed stacks, their alarms and dashboards, nat-doctor and
 * operators' scripts already use: renaming one breaks them, so each is pinned here, on purpose,
 * as a literal. A change that means it updates this test in the same commit.
 */
describe('assets/contract.ts', () => {
  test('names: the metric namespace and dimensions, the metrics, the tags, the hooks, the events, the environment variable', () => {
    expect({
      METRIC_NAMESPACE: contract.METRIC_NAMESPACE, NAT_METRIC_DIMENSION: contract.NAT_METRIC_DIMENSION, METRIC: contract.METRIC,
      HANDOFF_INSTANCE_DIMENSION: contract.HANDOFF_INSTANCE_DIMENSION, NAT_GROUP_TAG: contract.NAT_GROUP_TAG, HOME_INTERFACE_TAG: contract.HOME_INTERFACE_TAG,
      MANUAL_ROUTE_TAG: contract.MANUAL_ROUTE_TAG, BOOT_TIMEOUT_TAG: contract.BOOT_TIMEOUT_TAG, LAUNCH_HOOK_NAME: contract.LAUNCH_HOOK_NAME,
      TERMINATE_HOOK_NAME: contract.TERMINATE_HOOK_NAME, LIFECYCLE_EVENT: contract.LIFECYCLE_EVENT, SPOT_EVENT: contract.SPOT_EVENT,
      CONTROLLER_CONFIG_VARIABLE: contract.CONTROLLER_CONFIG_VARIABLE, SERVED_SOURCE_RULE: contract.SERVED_SOURCE_RULE,
    }).toEqual({
      METRIC_NAMESPACE: 'NatInstance', NAT_METRIC_DIMENSION: 'NetworkInterfaceId',
      METRIC: { heartbeat: 'Heartbeat', conntrackUsage: 'ConntrackUsage', allowanceExceeded: 'AllowanceExceeded', routeMoved: 'RouteMoved', handoffReady: 'HandoffReady' },
      HANDOFF_INSTANCE_DIMENSION: 'InstanceId', NAT_GROUP_TAG: 'NatInstanceGroup', HOME_INTERFACE_TAG: 'NatInstanceHomeInterface',
      MANUAL_ROUTE_TAG: 'NatInstanceManualRoute', BOOT_TIMEOUT_TAG: 'NatInstanceBootTimeout', LAUNCH_HOOK_NAME: 'NatInstanceLaunch',
      TERMINATE_HOOK_NAME: 'NatInstanceTerminate',
      LIFECYCLE_EVENT: { launching: 'EC2 Instance-launch Lifecycle Action', terminating: 'EC2 Instance-terminate Lifecycle Action' },
      SPOT_EVENT: { interruption: 'EC2 Spot Instance Interruption Warning', rebalance: 'EC2 Instance Rebalance Recommendation' },
      CONTROLLER_CONFIG_VARIABLE: 'WATCHDOG_CONFIG', SERVED_SOURCE_RULE: 'Traffic to NAT from the VPC',
    });
  });

  test('each NAT publishes in a namespace of its own', () => {
    expect(contract.natMetricNamespace('eni-0123456789abcdef0')).toBe('NatInstance/eni-0123456789abcdef0');
  });

  test('times and limits: the heartbeat\'s, the boot window\'s, the handoff\'s, the security group\'s', () => {
    expect({
      HEARTBEAT_PERIOD_SECONDS: contract.HEARTBEAT_PERIOD_SECONDS, CHECK_TIMER_ACCURACY_SECONDS: contract.CHECK_TIMER_ACCURACY_SECONDS,
      DATAPOINT_ALIGNMENT_SECONDS: contract.DATAPOINT_ALIGNMENT_SECONDS, PUBLICATION_DELAY_SECONDS: contract.PUBLICATION_DELAY_SECONDS,
      HEARTBEAT_MAX_AGE_SECONDS: contract.HEARTBEAT_MAX_AGE_SECONDS, HANDOFF_PROOF_SECONDS: contract.HANDOFF_PROOF_SECONDS,
      HEARTBEAT_FUTURE_TOLERANCE_SECONDS: contract.HEARTBEAT_FUTURE_TOLERANCE_SECONDS, DEFAULT_BOOT_TIMEOUT_SECONDS: contract.DEFAULT_BOOT_TIMEOUT_SECONDS,
      HANDOFF_PORT: contract.HANDOFF_PORT, DEFAULT_HANDOFF_WAIT_SECONDS: contract.DEFAULT_HANDOFF_WAIT_SECONDS,
      LAUNCH_RUNNING_WAIT_SECONDS: contract.LAUNCH_RUNNING_WAIT_SECONDS, DETACH_WAIT_SECONDS: contract.DETACH_WAIT_SECONDS,
      SECURITY_GROUP_INBOUND_RULES: contract.SECURITY_GROUP_INBOUND_RULES,
    }).toEqual({
      HEARTBEAT_PERIOD_SECONDS: 60, CHECK_TIMER_ACCURACY_SECONDS: 1, DATAPOINT_ALIGNMENT_SECONDS: 60, PUBLICATION_DELAY_SECONDS: 30,
      // Two checks missed, on top of the datapoint's alignment and its publication delay.
      HEARTBEAT_MAX_AGE_SECONDS: 210, HANDOFF_PROOF_SECONDS: 210,
      HEARTBEAT_FUTURE_TOLERANCE_SECONDS: 5, DEFAULT_BOOT_TIMEOUT_SECONDS: 900,
      HANDOFF_PORT: 7460, DEFAULT_HANDOFF_WAIT_SECONDS: 240, SECURITY_GROUP_INBOUND_RULES: 60,
      LAUNCH_RUNNING_WAIT_SECONDS: 60, DETACH_WAIT_SECONDS: 30,
    });
  });

  test('the special IPv4 blocks, each named', () => {
    expect(contract.SPECIAL_IPV4_BLOCKS).toEqual([
      { cidr: '0.0.0.0/8', name: '"this network"' },
      { cidr: '127.0.0.0/8', name: 'loopback' },
      { cidr: '169.254.0.0/16', name: 'link-local (instance metadata, DNS, time)' },
      { cidr: '224.0.0.0/4', name: 'multicast' },
      { cidr: '240.0.0.0/4', name: 'reserved, with the broadcast address' },
    ]);
  });
});
