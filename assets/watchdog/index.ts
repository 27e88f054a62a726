/**
 * The route watchdog: keeps every private route table's default route on a healthy NAT.
 *
 * Invoked by EC2 instance state changes, by the Auto Scaling terminate lifecycle hook of each
 * NAT group (before the instance goes), and on a schedule. Each invocation observes every NAT
 * and route table (five read calls), decides (decide.ts), replaces the routes that must move,
 * logs each decision as one JSON line, emits a RouteMoved metric (embedded metric format) per
 * move, and completes the lifecycle action if there was one.
 */
import { AutoScalingClient, CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DescribeInstanceStatusCommand, DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand, EC2Client, ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { CurrentRoute, Decision, NatObservation, WatchdogConfig, assessNat, planRoutes } from './decide';
import { lastHeartbeats } from './heartbeat';
import { HEARTBEAT_MAX_AGE_SECONDS, MANUAL_ROUTE_TAG, METRIC, METRIC_NAMESPACE } from '../contract';

export * from './decide';

const DEFAULT_ROUTE = '0.0.0.0/0';
const STOPPING_STATES = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

export interface Clients {
  readonly ec2: EC2Client;
  readonly autoscaling: AutoScalingClient;
  readonly cloudwatch: CloudWatchClient;
}

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

export interface EvaluationResult {
  readonly decisions: Decision[];
  readonly moved: number;
  readonly apiCalls: number;
}

type Log = (entry: Record<string, unknown>) => void;
const jsonLog: Log = (entry) => process.stdout.write(`${JSON.stringify(entry)}\n`);

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled']);

/** Counts calls and retries throttled ones with exponential back-off and jitter (at most 5 tries). */
export class Caller {
  calls = 0;
  constructor(private readonly baseDelayMs = 100, private readonly attempts = 5) {}

  async call<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.calls++;
      try {
        return await fn();
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (!THROTTLING.has(name) || attempt >= this.attempts) {
          throw error;
        }
        const delay = this.baseDelayMs * 2 ** (attempt - 1) * (1 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** Reads the state of every NAT and route table: five calls whatever the number of zones. */
export async function observe(config: WatchdogConfig, clients: Clients, caller: Caller, now: Date) {
  const enis = config.nats.map((n) => n.networkInterfaceId);
  const interfaces = (await caller.call(() => clients.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: enis }))))
    .NetworkInterfaces ?? [];
  const attached = new Map(interfaces.map((i) => [i.NetworkInterfaceId!, i.Attachment]));
  const instanceIds = [...new Set(interfaces.map((i) => i.Attachment?.InstanceId).filter((id): id is string => !!id))];
  const statuses = instanceIds.length === 0 ? [] : (await caller.call(() => clients.ec2.send(new DescribeInstanceStatusCommand({
    InstanceIds: instanceIds, IncludeAllInstances: true,
  })))).InstanceStatuses ?? [];
  const status = new Map(statuses.map((s) => [s.InstanceId!, s]));
  // An instance Auto Scaling is taking out of service still passes every check until it stops.
  const lifecycle = instanceIds.length === 0 ? [] : (await caller.call(() => clients.autoscaling.send(new DescribeAutoScalingInstancesCommand({
    InstanceIds: instanceIds,
  })))).AutoScalingInstances ?? [];
  const lifecycleState = new Map(lifecycle.map((i) => [i.InstanceId!, i.LifecycleState]));

  // Up to an hour ahead: a heartbeat stamped in the future must be seen to be refused.
  const heartbeat = await lastHeartbeats((command) => caller.call(() => clients.cloudwatch.send(command)), enis,
    new Date(now.getTime() - (HEARTBEAT_MAX_AGE_SECONDS + 300) * 1000), new Date(now.getTime() + 3600_000));

  const observations: NatObservation[] = enis.map((eni) => {
    const attachment = attached.get(eni);
    const s = attachment?.InstanceId ? status.get(attachment.InstanceId) : undefined;
    return {
      networkInterfaceId: eni,
      instanceId: attachment?.InstanceId,
      attachmentStatus: attachment?.Status,
      attachTime: attachment?.AttachTime ? new Date(attachment.AttachTime) : undefined,
      lifecycleState: attachment?.InstanceId ? lifecycleState.get(attachment.InstanceId) : undefined,
      instanceState: s?.InstanceState?.Name,
      instanceStatus: s?.InstanceStatus?.Status,
      systemStatus: s?.SystemStatus?.Status,
      lastHeartbeat: heartbeat.get(eni),
    };
  });

  const tables = (await caller.call(() => clients.ec2.send(new DescribeRouteTablesCommand({
    RouteTableIds: config.routeTables.map((t) => t.routeTableId),
  })))).RouteTables ?? [];
  const routes: CurrentRoute[] = tables.map((t) => {
    const route = (t.Routes ?? []).find((r) => r.DestinationCidrBlock === DEFAULT_ROUTE);
    const manual = (t.Tags ?? []).some((tag) => tag.Key === MANUAL_ROUTE_TAG);
    return { routeTableId: t.RouteTableId!, networkInterfaceId: route?.NetworkInterfaceId, state: route?.State, ...(manual ? { manual } : {}) };
  });
  return { observations, routes };
}

/** One evaluation: observe, decide, move what must move, log every decision. */
export async function evaluate(config: WatchdogConfig, clients: Clients, options: { leaving?: string[]; now?: Date; log?: Log; caller?: Caller } = {}): Promise<EvaluationResult> {
  const now = options.now ?? new Date();
  const log = options.log ?? jsonLog;
  const caller = options.caller ?? new Caller();
  const leaving = new Set(options.leaving ?? []);
  const { observations, routes } = await observe(config, clients, caller, now);
  const health = observations.map((o) => assessNat(o, { now, leaving, bootTimeoutSeconds: config.bootTimeoutSeconds }));
  for (const h of health) {
    log({ event: 'nat-health', ...h });
  }
  const decisions = planRoutes(config, health, routes);
  let moved = 0;
  const failures: Error[] = [];
  for (const decision of decisions) {
    if (decision.action === 'move' && decision.target) {
      try {
        await caller.call(() => clients.ec2.send(new ReplaceRouteCommand({
          RouteTableId: decision.routeTableId, DestinationCidrBlock: DEFAULT_ROUTE, NetworkInterfaceId: decision.target,
        })));
      } catch (error) {
        // One table's failure must not keep the others on a broken NAT.
        failures.push(error as Error);
        log({ ...decision, event: 'route-decision', error: `${(error as Error).name}: ${(error as Error).message}` });
        continue;
      }
      moved++;
      log({
        ...decision, event: 'route-decision',
        _aws: { Timestamp: now.getTime(), CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [['RouteTableId'], []], Metrics: [{ Name: METRIC.routeMoved, Unit: 'Count' }] }] },
        RouteTableId: decision.routeTableId,
        RouteMoved: 1,
      });
    } else {
      log({ ...decision, event: 'route-decision' });
    }
  }
  if (failures.length > 0) {
    // Fail the invocation so that it is retried; the tables that could move have moved.
    throw new Error(`${failures.length} route(s) could not be moved: ${failures.map((f) => f.message).join('; ')}`);
  }
  return { decisions, moved, apiCalls: caller.calls };
}

/**
 * The configuration as the stack writes it into the function's environment, kept compact because
 * Lambda allows 4 KB of environment: nats as [interface, zone], route tables as [table, index of
 * its home NAT].
 */
export interface CompactConfig {
  /** The boot timeout, in seconds. */
  readonly boot: number;
  readonly nats: Array<[string, string]>;
  readonly tables: Array<[string, number]>;
}

export function decodeConfig(compact: CompactConfig): WatchdogConfig {
  const nats = compact.nats.map(([networkInterfaceId, az]) => ({ networkInterfaceId, az }));
  return {
    nats,
    routeTables: compact.tables.map(([routeTableId, home]) => ({ routeTableId, az: nats[home].az, homeNetworkInterfaceId: nats[home].networkInterfaceId })),
    bootTimeoutSeconds: compact.boot,
  };
}

/** Reads the configuration the stack put in the environment. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): WatchdogConfig {
  if (!env.WATCHDOG_CONFIG) {
    throw new Error('WATCHDOG_CONFIG is not set');
  }
  return decodeConfig(JSON.parse(env.WATCHDOG_CONFIG) as CompactConfig);
}

/** The Lambda handler. */
export async function handleEvent(event: WatchdogEvent, config: WatchdogConfig, clients: Clients, log: Log = jsonLog): Promise<EvaluationResult> {
  const detail = event.detail ?? {};
  const leaving: string[] = [];
  if (event['detail-type'] === 'EC2 Instance State-change Notification' && detail['instance-id'] && STOPPING_STATES.has(detail.state ?? '')) {
    leaving.push(detail['instance-id']);
  }
  const lifecycle = event['detail-type'] === 'EC2 Instance-terminate Lifecycle Action' && detail.EC2InstanceId;
  if (lifecycle) {
    leaving.push(detail.EC2InstanceId!);
  }
  log({ event: 'invocation', trigger: event['detail-type'] ?? 'direct', leaving });
  const caller = new Caller();
  let result: EvaluationResult | undefined;
  let failure: unknown;
  try {
    result = await evaluate(config, clients, { leaving, log, caller });
  } catch (error) {
    failure = error;
  }
  // Let the instance go even when the evaluation failed: holding it only delays the replacement.
  if (lifecycle) {
    try {
      await caller.call(() => clients.autoscaling.send(new CompleteLifecycleActionCommand({
        AutoScalingGroupName: detail.AutoScalingGroupName,
        LifecycleHookName: detail.LifecycleHookName,
        LifecycleActionToken: detail.LifecycleActionToken,
        InstanceId: detail.EC2InstanceId,
        LifecycleActionResult: 'CONTINUE',
      })));
      log({ event: 'lifecycle-complete', instanceId: detail.EC2InstanceId });
    } catch (error) {
      // A retried invocation finds the action completed (or timed out) already.
      if ((error as Error).name !== 'ValidationError') {
        failure ??= error;
      } else {
        log({ event: 'lifecycle-already-complete', instanceId: detail.EC2InstanceId, error: (error as Error).message });
      }
    }
  }
  if (failure !== undefined || !result) {
    throw failure;
  }
  return result;
}

let cached: { config: WatchdogConfig; clients: Clients } | undefined;

export async function handler(event: WatchdogEvent): Promise<EvaluationResult> {
  cached ??= {
    config: configFromEnvironment(),
    // Caller retries throttled calls itself, with a count of every call, so the SDK's own retries are off.
    clients: { ec2: new EC2Client({ maxAttempts: 1 }), autoscaling: new AutoScalingClient({ maxAttempts: 1 }), cloudwatch: new CloudWatchClient({ maxAttempts: 1 }) },
  };
  return handleEvent(event, cached.config, cached.clients);
}
