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
  /**
   * Published by the NAT that holds the interface once a replacement has taken its connection
   * state: the value is the flows it took, the dimensions the interface and the replacement.
   */
  handoffReady: 'HandoffReady',
} as const;

/**
 * The TCP port on which the NAT holding an interface serves its connection state to its
 * replacement, over the VPC (conntrack-handoff.sh serve, socket-activated).
 */
export const HANDOFF_PORT = 7460;

/** The second dimension of HandoffReady: the replacement that took the state. */
export const HANDOFF_INSTANCE_DIMENSION = 'InstanceId';

/**
 * How long the controller waits, by default, for a replacement to take the old NAT's connection
 * state before it falls back to moving the zone's routes to another zone first.
 */
export const DEFAULT_HANDOFF_WAIT_SECONDS = 240;

/**
 * How long the controller waits, on a launch, for the new instance to run, and, when it moves an
 * interface, for the interface to come free; the function's timeout with the handoff adds them.
 */
export const LAUNCH_RUNNING_WAIT_SECONDS = 60;
export const DETACH_WAIT_SECONDS = 30;

/** The tag that ties a NAT's interface, group and instances to the IAM conditions of its role. */
export const NAT_GROUP_TAG = 'NatInstanceGroup';

/** The tag on each private route table that names the NAT interface it uses while that NAT is healthy. */
export const HOME_INTERFACE_TAG = 'NatInstanceHomeInterface';

/**
 * A route table tagged with this key (any value) is under an operator's manual control: the
 * controller leaves its default route alone, and nat-doctor reports it as such.
 */
export const MANUAL_ROUTE_TAG = 'NatInstanceManualRoute';

/**
 * The namespace of one NAT's own metrics. Each NAT's role may publish to its own namespace only
 * (an IAM condition on cloudwatch:namespace, which cannot restrict dimensions), so that no NAT can
 * publish a heartbeat for another.
 */
export function natMetricNamespace(networkInterfaceId: string): string {
  return `${METRIC_NAMESPACE}/${networkInterfaceId}`;
}

/** How often each NAT checks itself and, if NAT works, publishes its heartbeat, in seconds. */
export const HEARTBEAT_PERIOD_SECONDS = 60;

/**
 * How late systemd may fire the check (the timer's AccuracySec). Its default of one minute would
 * let a one-minute timer fire about every two minutes.
 */
export const CHECK_TIMER_ACCURACY_SECONDS = 1;

/** CloudWatch stamps a one-minute datapoint with the start of its minute. */
export const DATAPOINT_ALIGNMENT_SECONDS = 60;

/** How long a published datapoint may take to be readable. */
export const PUBLICATION_DELAY_SECONDS = 30;

/**
 * A heartbeat older than this means the NAT is not verified: two checks in a row missed, on top of
 * the datapoint's alignment and its publication delay (210 s).
 */
export const HEARTBEAT_MAX_AGE_SECONDS = 2 * HEARTBEAT_PERIOD_SECONDS + DATAPOINT_ALIGNMENT_SECONDS + PUBLICATION_DELAY_SECONDS;

/**
 * How long a replacement that took the connection state keeps its zone's routes while it proves
 * NAT (its first heartbeat): as long as a heartbeat may take to be seen. Past it, the zone fails
 * over as for any NAT not proved, so a replacement that breaks after the move costs at most this.
 */
export const HANDOFF_PROOF_SECONDS = HEARTBEAT_MAX_AGE_SECONDS;

/**
 * A heartbeat stamped later than now by more than this is not fresh: CloudWatch accepts
 * timestamps up to two hours ahead, and a NAT's own check never sets one.
 */
export const HEARTBEAT_FUTURE_TOLERANCE_SECONDS = 5;

/** How long CloudFormation waits, by default, for a new NAT to report that NAT works. */
export const DEFAULT_BOOT_TIMEOUT_SECONDS = 15 * 60;

/** The tag on each NAT interface that holds its boot window in seconds, for nat-doctor. */
export const BOOT_TIMEOUT_TAG = 'NatInstanceBootTimeout';

/**
 * The lifecycle hooks every NAT group declares: at launch the controller attaches the static
 * interface and completes the action once the instance has proved NAT; at termination it moves
 * the zone's routes away first.
 */
export const LAUNCH_HOOK_NAME = 'NatInstanceLaunch';
export const TERMINATE_HOOK_NAME = 'NatInstanceTerminate';

/** The EventBridge detail types of the NAT groups' lifecycle hooks. */
export const LIFECYCLE_EVENT = {
  launching: 'EC2 Instance-launch Lifecycle Action',
  terminating: 'EC2 Instance-terminate Lifecycle Action',
} as const;

/**
 * The EventBridge detail types (source aws.ec2) that announce a Spot NAT's end: the two-minute
 * interruption warning, and the earlier rebalance recommendation. The controller treats either
 * as a planned replacement.
 */
export const SPOT_EVENT = {
  interruption: 'EC2 Spot Instance Interruption Warning',
  rebalance: 'EC2 Instance Rebalance Recommendation',
} as const;

/** The environment variable that carries the controller's configuration. */
export const CONTROLLER_CONFIG_VARIABLE = 'WATCHDOG_CONFIG';

/**
 * The controller's configuration as the construct writes it into the function's environment and
 * the controller and its tests read it, kept compact because Lambda allows 4 KB of environment:
 * route tables as [table, index of its home NAT].
 */
export interface CompactConfig {
  /** The boot timeout, in seconds. */
  readonly boot: number;
  /** 1 when routes may fail over to another zone's NAT. */
  readonly fo?: number;
  /** The stack, to signal a NAT ready to. */
  readonly st?: string;
  /** Seconds to wait for a replacement to take the connection state; absent when the handoff is off. */
  readonly ho?: number;
  /** 1 when the NATs run on Spot: the controller acts on Spot warnings. */
  readonly sp?: number;
  /** [interface, zone, NatInstanceGroup tag, group's logical ID] of each NAT. */
  readonly nats: Array<[string, string, string?, string?]>;
  readonly tables: Array<[string, number]>;
}

/**
 * IPv4 blocks that are no network to serve and no destination to forward to. The construct
 * refuses them in `additionalCidrs`; configure-nat.sh holds the same list (a test compares the
 * two) and drops forwarded packets to them, since the data plane must stand on its own.
 */
export const SPECIAL_IPV4_BLOCKS: ReadonlyArray<{ readonly cidr: string; readonly name: string }> = [
  { cidr: '0.0.0.0/8', name: '"this network"' },
  { cidr: '127.0.0.0/8', name: 'loopback' },
  { cidr: '169.254.0.0/16', name: 'link-local (instance metadata, DNS, time)' },
  { cidr: '224.0.0.0/4', name: 'multicast' },
  { cidr: '240.0.0.0/4', name: 'reserved, with the broadcast address' },
];

/** Amazon VPC's default quota of inbound rules per security group. */
export const SECURITY_GROUP_INBOUND_RULES = 60;

/**
 * The description of each inbound rule by which the NATs' security group admits a block the NAT
 * serves (the VPC's, and `additionalCidrs`): nat-doctor takes any other source as exposure.
 */
export const SERVED_SOURCE_RULE = 'Traffic to NAT from the VPC';
