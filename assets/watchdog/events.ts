/**
 * What an invocation asks of the controller, read from its event and its configuration without
 * any AWS call: the parsing half of the handler (index.ts), kept apart so that it is tested
 * in-process and mutated (npm run test:mutation) without the AWS SDK.
 *
 * Nothing here throws on a bad event: a value that is not what EventBridge sends is reported as
 * such, and the handler logs it and leaves everything as it is.
 */
import { CONTROLLER_CONFIG_VARIABLE, CompactConfig, LIFECYCLE_EVENT, SPOT_EVENT } from '../contract';
import { WatchdogConfig } from './decide';

/** The events the watchdog is subscribed to (EventBridge shapes, only the fields it reads). */
export interface WatchdogEvent {
  readonly source?: string;
  readonly 'detail-type'?: string;
  readonly detail?: {
    readonly 'instance-id'?: string;
    readonly state?: string;
    readonly EC2InstanceId?: string;
    readonly AutoScalingGroupName?: string;
    readonly LifecycleHookName?: string;
    readonly LifecycleActionToken?: string;
  };
}

/** The EC2 states in which an instance no longer forwards, or soon will not. */
export const STOPPING_STATES: ReadonlySet<string> = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);
const INSTANCE_ID = /^i-[0-9a-z]{1,17}$/;
const GROUP_NAME = /^[\w+=,.@/:-]{1,255}$/;
const STATE_CHANGE = 'EC2 Instance State-change Notification';

/** The instance ID if the value is a well-formed one, else undefined. */
export function instanceIdOf(value: unknown): string | undefined {
  return typeof value === 'string' && INSTANCE_ID.test(value) ? value : undefined;
}

/** The Auto Scaling group name if the value is a well-formed one, else undefined. */
export function groupNameOf(value: unknown): string | undefined {
  return typeof value === 'string' && GROUP_NAME.test(value) ? value : undefined;
}

/** A lifecycle action to complete once the evaluation is done: the instance is leaving its group. */
export interface LifecycleAction {
  readonly group: string | undefined;
  readonly hook: string | undefined;
  readonly token: string | undefined;
  readonly instanceId: string;
}

/** What the event asks for: `kind` says which of the fields are set. */
export interface EventIntent {
  /**
   * `ignore`: nothing to do (`reason` says why); `launch`: a NAT group launched `instanceId`;
   * `spot`: a Spot warning for `instanceId`; `evaluate`: observe and move routes, with `leaving`
   * out of service and `lifecycle` to complete after.
   */
  readonly kind: 'ignore' | 'launch' | 'spot' | 'evaluate';
  /** The event's detail-type, or `direct` for an invocation with none (the schedule, or by hand). */
  readonly trigger: string;
  readonly reason?: string;
  /** The group of a lifecycle event, as the event names it: the handler checks it is one of the NATs'. */
  readonly group?: unknown;
  readonly instanceId?: string;
  readonly leaving: readonly string[];
  readonly lifecycle?: LifecycleAction;
  /** For the log of an ignored event: what it carried, cut short. */
  readonly received?: Record<string, string>;
}

/** Reads an event. Lifecycle events still need their group checked against the NATs' tags. */
export function readEvent(event: unknown, spot: boolean): EventIntent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    return { kind: 'ignore', trigger: 'direct', reason: 'the event is not an object', leaving: [], received: { received: JSON.stringify(event)?.slice(0, 200) ?? String(event) } };
  }
  const e = event as WatchdogEvent;
  const trigger = typeof e['detail-type'] === 'string' ? e['detail-type'] : 'direct';
  // A detail that is no object reads as one without the fields: each is checked where it is used.
  const detail = e.detail ?? {};
  if (trigger === LIFECYCLE_EVENT.launching || trigger === LIFECYCLE_EVENT.terminating) {
    return lifecycleIntent(trigger, detail);
  }
  if (trigger === SPOT_EVENT.interruption || trigger === SPOT_EVENT.rebalance) {
    const instanceId = instanceIdOf(detail['instance-id']);
    if (!spot || !instanceId) {
      return {
        kind: 'ignore', trigger, reason: !spot ? 'the NATs do not run on Spot' : 'no valid instance ID', leaving: [],
        received: { instanceId: String(detail['instance-id']).slice(0, 40) },
      };
    }
    return { kind: 'spot', trigger, instanceId, leaving: [instanceId] };
  }
  const stopping = trigger === STATE_CHANGE && typeof detail['instance-id'] === 'string' && STOPPING_STATES.has(String(detail.state));
  return { kind: 'evaluate', trigger, leaving: stopping ? [detail['instance-id']!] : [] };
}

function lifecycleIntent(trigger: string, detail: NonNullable<WatchdogEvent['detail']>): EventIntent {
  const instanceId = instanceIdOf(detail.EC2InstanceId);
  if (!instanceId) {
    return {
      kind: 'ignore', trigger, reason: 'no valid instance ID', leaving: [],
      received: { group: String(detail.AutoScalingGroupName).slice(0, 300), instanceId: String(detail.EC2InstanceId).slice(0, 40) },
    };
  }
  if (trigger === LIFECYCLE_EVENT.launching) {
    return { kind: 'launch', trigger, group: detail.AutoScalingGroupName, instanceId, leaving: [] };
  }
  return {
    kind: 'evaluate', trigger, group: detail.AutoScalingGroupName, instanceId, leaving: [instanceId],
    lifecycle: { group: detail.AutoScalingGroupName, hook: detail.LifecycleHookName, token: detail.LifecycleActionToken, instanceId },
  };
}

export function decodeConfig(compact: CompactConfig): WatchdogConfig {
  const nats = compact.nats.map(([networkInterfaceId, az, groupTag, signalResource]) => ({
    networkInterfaceId, az, ...(groupTag ? { groupTag } : {}), ...(signalResource ? { signalResource } : {}),
  }));
  return {
    nats,
    routeTables: compact.tables.map(([routeTableId, home]) => ({ routeTableId, az: nats[home].az, homeNetworkInterfaceId: nats[home].networkInterfaceId })),
    bootTimeoutSeconds: compact.boot,
    failover: compact.fo !== 0,
    ...(compact.st ? { stackName: compact.st } : {}),
    ...(compact.ho ? { handoffWaitSeconds: compact.ho } : {}),
    ...(compact.sp ? { spot: true } : {}),
  };
}

/** Reads the configuration the stack put in the environment. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): WatchdogConfig {
  const raw = env[CONTROLLER_CONFIG_VARIABLE];
  if (!raw) {
    throw new Error(`${CONTROLLER_CONFIG_VARIABLE} is not set`);
  }
  return decodeConfig(JSON.parse(raw) as CompactConfig);
}
