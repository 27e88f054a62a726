/**
 * Names shared by the constructs (synth time), the route watchdog (Lambda) and nat-doctor (CLI),
 * defined once. Plain values only: this module is bundled into the Lambda and the CLI, so it
 * must not import aws-cdk-lib.
 */

/** The CloudWatch namespace of the NATs' own metrics and of the watchdog's RouteMoved metric. */
export const METRIC_NAMESPACE = 'NatInstance';

/** The dimension of every per-NAT metric: the NAT's static interface. */
export const NAT_METRIC_DIMENSION = 'NetworkInterfaceId';

/** The metrics the NATs and the watchdog publish. */
export const METRIC = {
  /** One per successful self-check of a NAT. */
  heartbeat: 'Heartbeat',
  /** Connection-tracking table use, in percent. */
  conntrackUsage: 'ConntrackUsage',
  /** Packets the instance dropped for exceeding its ENA allowances. */
  allowanceExceeded: 'AllowanceExceeded',
  /** One per private default route the watchdog moved. */
  routeMoved: 'RouteMoved',
} as const;

/** The tag that ties a NAT's interface, group and instances to the IAM conditions of its role. */
export const NAT_GROUP_TAG = 'NatInstanceGroup';

/** The tag on each private route table that names the NAT interface it uses while that NAT is healthy. */
export const HOME_INTERFACE_TAG = 'NatInstanceHomeInterface';
