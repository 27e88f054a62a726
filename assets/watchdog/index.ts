/**
 * The route watchdog: keeps every private route table's default route on a healthy NAT.
 *
 * Invoked by EC2 instance state changes, by the Auto Scaling terminate lifecycle hook of each
 * NAT group (before the instance goes), and on a schedule. Each invocation observes every NAT
 * and route table (five read calls), decides (decide.ts), replaces the routes that must move,
 * logs each decision as one JSON line, emits a RouteMoved metric (embedded metric format) per
 * move, and completes the lifecycle action if there was one.
 */
import {
  AutoScalingClient, CompleteLifecycleActionCommand, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, SetInstanceHealthCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudFormationClient, SignalResourceCommand } from '@aws-sdk/client-cloudformation';
import {
  AttachNetworkInterfaceCommand, DescribeInstanceStatusCommand, DescribeInstancesCommand, DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand, DetachNetworkInterfaceCommand,
  EC2Client, ModifyNetworkInterfaceAttributeCommand, ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { CurrentRoute, Decision, NatConfig, NatHealth, NatObservation, WatchdogConfig, assessNat, planRoutes } from './decide';
import { LifecycleAction, WatchdogEvent, configFromEnvironment, groupNameOf, readEvent } from './events';
import { handoffReady, lastHeartbeats } from './heartbeat';
import {
  DETACH_WAIT_SECONDS, HEARTBEAT_MAX_AGE_SECONDS, LAUNCH_HOOK_NAME, LAUNCH_RUNNING_WAIT_SECONDS, MANUAL_ROUTE_TAG, METRIC, METRIC_NAMESPACE, NAT_GROUP_TAG,
} from '../contract';

export * from './decide';
export * from './events';
export type { CompactConfig } from '../contract';

const DEFAULT_ROUTE = '0.0.0.0/0';

export interface Clients {
  readonly ec2: EC2Client;
  readonly autoscaling: AutoScalingClient;
  readonly cloudwatch: CloudWatchClient;
  /** To signal a NAT ready to CloudFormation; without it no signal is sent. */
  readonly cloudformation?: CloudFormationClient;
}

export interface EvaluationResult {
  readonly decisions: Decision[];
  readonly moved: number;
  readonly apiCalls: number;
}

type Log = (entry: Record<string, unknown>) => void;
const jsonLog: Log = (entry) => process.stdout.write(`${JSON.stringify(entry)}\n`);
/** An AWS error as one log field. */
const describeError = (error: unknown) => `${(error as Error).name}: ${(error as Error).message}`;

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
  const membership = new Map(lifecycle.map((i) => [i.InstanceId!, i]));

  // Up to an hour ahead: a heartbeat stamped in the future must be seen to be refused.
  const heartbeat = await lastHeartbeats((command) => caller.call(() => clients.cloudwatch.send(command)), enis,
    new Date(now.getTime() - (HEARTBEAT_MAX_AGE_SECONDS + 300) * 1000), new Date(now.getTime() + 3600_000));

  const observations: NatObservation[] = enis.map((eni) => {
    const attachment = attached.get(eni);
    const s = attachment?.InstanceId ? status.get(attachment.InstanceId) : undefined;
    const m = attachment?.InstanceId ? membership.get(attachment.InstanceId) : undefined;
    return {
      networkInterfaceId: eni,
      instanceId: attachment?.InstanceId,
      attachmentStatus: attachment?.Status,
      attachTime: attachment?.AttachTime ? new Date(attachment.AttachTime) : undefined,
      lifecycleState: m?.LifecycleState,
      groupName: m?.AutoScalingGroupName,
      healthStatus: m?.HealthStatus,
      instanceState: s?.InstanceState?.Name,
      instanceStatus: s?.InstanceStatus?.Status,
      systemStatus: s?.SystemStatus?.Status,
      lastHeartbeat: heartbeat.get(eni),
    };
  });

  // With no table to ask for, DescribeRouteTables would answer with every table of the region.
  const tables = config.routeTables.length === 0 ? [] : (await caller.call(() => clients.ec2.send(new DescribeRouteTablesCommand({
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
  const health = observations.map((o) => assessNat(o, { now, leaving, bootTimeoutSeconds: config.bootTimeoutSeconds, handoff: (config.handoffWaitSeconds ?? 0) > 0 }));
  for (const h of health) {
    log({ event: 'nat-health', ...h });
  }
  const decisions = planRoutes(config, health, routes);
  let moved = 0;
  const failures: Error[] = [];
  for (const decision of decisions) {
    if (decision.action === 'move' && decision.target) {
      try {
        const stale = await staleness(clients, caller, decision, observations.find((o) => o.networkInterfaceId === decision.target));
        if (stale) {
          // The decision rests on state that has changed since this invocation observed it (another
          // invocation moved the route, or the target's interface moved): dropped, and the next
          // event or poll decides afresh.
          log({ ...decision, event: 'route-decision', action: 'keep', reason: `stale: ${stale}` });
          continue;
        }
        await caller.call(() => clients.ec2.send(new ReplaceRouteCommand({
          RouteTableId: decision.routeTableId, DestinationCidrBlock: DEFAULT_ROUTE, NetworkInterfaceId: decision.target,
        })));
      } catch (error) {
        // One table's failure must not keep the others on a broken NAT.
        failures.push(error as Error);
        log({ ...decision, event: 'route-decision', error: describeError(error) });
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
  await settleLaunches(config, clients, caller, observations, health, now, log);
  await reattachOrphans(config, clients, caller, observations, log);
  if (failures.length > 0) {
    // Fail the invocation so that it is retried; the tables that could move have moved.
    throw new Error(`${failures.length} route(s) could not be moved: ${failures.map((f) => f.message).join('; ')}`);
  }
  return { decisions, moved, apiCalls: caller.calls };
}

/**
 * Why a move no longer holds, read just before it is made, or undefined if it does. Events can
 * run the controller several times at once, and EC2 has no conditional ReplaceRoute: each move
 * is checked against the route (its target, and whether it is now under manual control) and the
 * target interface (still attached to the instance observed healthy) as they are right now.
 */
async function staleness(clients: Clients, caller: Caller, decision: Decision, target: NatObservation | undefined): Promise<string | undefined> {
  const table = (await caller.call(() => clients.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [decision.routeTableId] }))))
    .RouteTables?.find((t) => t.RouteTableId === decision.routeTableId);
  const now = table?.Routes?.find((r) => r.DestinationCidrBlock === DEFAULT_ROUTE)?.NetworkInterfaceId;
  if (now !== decision.current) {
    return `the route now points at ${now ?? 'nothing'}, not ${decision.current ?? 'nothing'} as observed`;
  }
  if ((table?.Tags ?? []).some((tag) => tag.Key === MANUAL_ROUTE_TAG)) {
    return `the table is now under manual control (${MANUAL_ROUTE_TAG})`;
  }
  const eni = (await caller.call(() => clients.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [decision.target!] }))))
    .NetworkInterfaces?.find((i) => i.NetworkInterfaceId === decision.target);
  const attachment = eni?.Attachment;
  if (attachment?.Status !== 'attached' || attachment.InstanceId !== target?.instanceId) {
    return `${decision.target} is now ${attachment?.Status ?? 'detached'}${attachment?.InstanceId ? ` to ${attachment.InstanceId}` : ''}, not attached to ${target?.instanceId ?? 'an instance'} as observed`;
  }
  return undefined;
}

/**
 * A new NAT instance waits in Pending:Wait with its interface until it has proved NAT (its own
 * heartbeat since it took the interface): then its launch completes and the planning above brings
 * its zone's routes home. One that has not proved NAT within its boot window is abandoned, and
 * its zone's routes stay where they are, on a NAT that works.
 */
async function settleLaunches(config: WatchdogConfig, clients: Clients, caller: Caller, observations: readonly NatObservation[],
  health: readonly NatHealth[], now: Date, log: Log): Promise<void> {
  for (const [i, o] of observations.entries()) {
    if (o.lifecycleState !== 'Pending:Wait' || !o.instanceId || !o.groupName) {
      continue;
    }
    // A momentary state (the interface still attaching, checks not yet reported) is no verdict:
    // abandon only past the boot window, or an instance that is going anyway.
    const expired = o.attachTime !== undefined && now.getTime() - o.attachTime.getTime() > config.bootTimeoutSeconds * 1000;
    const gone = o.instanceState !== undefined && !['pending', 'running'].includes(o.instanceState);
    const result = health[i].state === 'healthy' ? 'CONTINUE' : expired || gone ? 'ABANDON' : undefined;
    if (!result) {
      continue;
    }
    try {
      await caller.call(() => clients.autoscaling.send(new CompleteLifecycleActionCommand({
        AutoScalingGroupName: o.groupName, LifecycleHookName: LAUNCH_HOOK_NAME, InstanceId: o.instanceId, LifecycleActionResult: result,
      })));
      log({ event: 'launch-complete', instanceId: o.instanceId, networkInterfaceId: o.networkInterfaceId, result, reason: health[i].reason });
      if (result === 'CONTINUE') {
        await signalReady(config, clients, caller, o, log);
      }
    } catch (error) {
      // Completed already, or timed out: Auto Scaling has decided.
      log({ event: 'launch-complete-failed', instanceId: o.instanceId, result, error: describeError(error) });
    }
  }
}

/**
 * Tells CloudFormation that a NAT is ready, once the controller (not the instance) has judged it
 * so: a deployment moves to the next zone only when this zone's new NAT carries traffic. Outside
 * a deployment CloudFormation refuses the signal, which is logged.
 */
async function signalReady(config: WatchdogConfig, clients: Clients, caller: Caller, o: NatObservation, log: Log): Promise<void> {
  const nat = config.nats.find((n) => n.networkInterfaceId === o.networkInterfaceId);
  if (!clients.cloudformation || !config.stackName || !nat?.signalResource) {
    return;
  }
  try {
    await caller.call(() => clients.cloudformation!.send(new SignalResourceCommand({
      StackName: config.stackName, LogicalResourceId: nat.signalResource, UniqueId: o.instanceId, Status: 'SUCCESS',
    })));
    log({ event: 'signalled', instanceId: o.instanceId, resource: nat.signalResource });
  } catch (error) {
    log({ event: 'signal-refused', instanceId: o.instanceId, error: describeError(error) });
  }
}

/**
 * An interface that no instance holds (a lost launch event, a rolled-back update that took the
 * new instance away) goes to the newest running or pending instance of its NAT's group, if there
 * is one; that instance's own check brings NAT up through it.
 */
async function reattachOrphans(config: WatchdogConfig, clients: Clients, caller: Caller, observations: readonly NatObservation[], log: Log): Promise<void> {
  for (const o of observations.filter((x) => !x.instanceId)) {
    const nat = config.nats.find((n) => n.networkInterfaceId === o.networkInterfaceId);
    if (!nat?.groupTag) {
      continue;
    }
    const reservations = (await caller.call(() => clients.ec2.send(new DescribeInstancesCommand({
      Filters: [{ Name: `tag:${NAT_GROUP_TAG}`, Values: [nat.groupTag!] }, { Name: 'instance-state-name', Values: ['running'] }],
    })))).Reservations ?? [];
    const newest = reservations.flatMap((r) => r.Instances ?? [])
      .sort((a, b) => new Date(b.LaunchTime ?? 0).getTime() - new Date(a.LaunchTime ?? 0).getTime())[0];
    if (!newest?.InstanceId) {
      log({ event: 'orphan-interface', networkInterfaceId: o.networkInterfaceId, reason: 'no running instance of its group to give it to' });
      continue;
    }
    await caller.call(() => clients.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: o.networkInterfaceId, InstanceId: newest.InstanceId, DeviceIndex: 1 })));
    log({ event: 'interface-reattached', networkInterfaceId: o.networkInterfaceId, instanceId: newest.InstanceId });
  }
}

const nothing = (caller: Caller): EvaluationResult => ({ decisions: [], moved: 0, apiCalls: caller.calls });

/** The NAT whose group this is, by the group's NatInstanceGroup tag; undefined for any other group. */
async function natOfGroup(config: WatchdogConfig, clients: Clients, caller: Caller, groupName: unknown): Promise<NatConfig | undefined> {
  const name = groupNameOf(groupName);
  if (name === undefined) {
    return undefined;
  }
  const groups = (await caller.call(() => clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] })))).AutoScalingGroups ?? [];
  const tag = groups[0]?.Tags?.find((t) => t.Key === NAT_GROUP_TAG)?.Value;
  return tag === undefined ? undefined : config.nats.find((n) => n.groupTag === tag);
}

type Sleep = (ms: number) => Promise<void>;
const defaultSleep: Sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the handler needs besides the event: the clock and the sleep, both replaced in tests. */
export interface HandleOptions {
  readonly now?: Date;
  readonly sleep?: Sleep;
}


/**
 * Asks every second, at most `attempts` times, until `check` answers; an answer of undefined
 * means "not yet". Each wait the controller makes is bounded by this one loop.
 */
async function poll<T>(attempts: number, sleep: Sleep, check: () => Promise<T | undefined>, timeout: string): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const answer = await check();
    if (answer !== undefined) {
      return answer;
    }
    await sleep(1000);
  }
  throw new Error(timeout);
}

/**
 * Waits until the first instance is running (an interface cannot be attached to a pending one);
 * returns the launch time of each instance.
 */
function untilRunning(clients: Clients, caller: Caller, instanceIds: string[], sleep: Sleep): Promise<Map<string, number>> {
  return poll(LAUNCH_RUNNING_WAIT_SECONDS, sleep, async () => {
    const instances = ((await caller.call(() => clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: instanceIds })))).Reservations ?? [])
      .flatMap((r) => r.Instances ?? []);
    const state = instances.find((i) => i.InstanceId === instanceIds[0])?.State?.Name;
    if (state === 'running') {
      return new Map(instances.map((i) => [i.InstanceId!, new Date(i.LaunchTime ?? 0).getTime()]));
    }
    if (state !== 'pending') {
      throw new Error(`instance ${instanceIds[0]} is ${state ?? 'not found'}, so the interface stays where it is`);
    }
    return undefined;
  }, `instance ${instanceIds[0]} was not running within ${LAUNCH_RUNNING_WAIT_SECONDS} s; the interface stays where it is`);
}

/** Waits until an interface is free to attach again. */
function untilAvailable(clients: Clients, caller: Caller, eni: string, sleep: Sleep): Promise<true> {
  return poll(DETACH_WAIT_SECONDS, sleep, async () => {
    const status = (await caller.call(() => clients.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] })))).NetworkInterfaces?.[0]?.Status;
    return status === 'available' ? true : undefined;
  }, `${eni} did not become available within ${DETACH_WAIT_SECONDS} s of its detachment`);
}

/**
 * A planned replacement keeps the zone's connections when the new instance holds the old one's
 * connection state before the interface moves (conntrack-handoff.sh, which the old NAT serves
 * over the VPC): then the routes stay on the interface through the move. Waits for the old
 * NAT's word that the new one has the state (HandoffReady), only while the old NAT is healthy;
 * returns the flows handed over, or undefined, and so the replacement that moves the routes to
 * another zone first, when the handoff is off, the old NAT is not healthy, or no word came.
 */
async function awaitHandoff(nat: NatConfig, instanceId: string, launchedAt: number | undefined, config: WatchdogConfig, clients: Clients,
  caller: Caller, log: Log, options: HandleOptions): Promise<number | undefined> {
  const wait = config.handoffWaitSeconds ?? 0;
  if (wait <= 0) {
    return undefined;
  }
  const eni = nat.networkInterfaceId;
  const now = options.now ?? new Date();
  const { observations } = await observe(config, clients, caller, now);
  const old = observations.find((o) => o.networkInterfaceId === eni)!;
  const health = assessNat(old, { now, bootTimeoutSeconds: config.bootTimeoutSeconds });
  if (!health.healthy) {
    log({ event: 'handoff-skipped', networkInterfaceId: eni, instanceId, reason: `the NAT holding the interface is not healthy: ${health.reason}` });
    return undefined;
  }
  // The replacement's own ID is in the metric's dimensions: any datapoint since it launched is its.
  const since = new Date((launchedAt ?? now.getTime()) - 60_000);
  try {
    const flows = await poll(wait, options.sleep ?? defaultSleep, async () => handoffReady(
      (command) => caller.call(() => clients.cloudwatch.send(command)), eni, instanceId, since, new Date(Math.max(Date.now(), now.getTime()) + 60_000),
    ), `${instanceId} did not report the connection state taken within ${wait} s`);
    log({ event: 'handoff-ready', networkInterfaceId: eni, instanceId, flows });
    return flows;
  } catch (error) {
    log({ event: 'handoff-unavailable', networkInterfaceId: eni, instanceId, reason: describeError(error), fallback: 'routes move to another zone first' });
    return undefined;
  }
}

/**
 * A new instance of a NAT group is launching (Pending:Wait). Planned replacement: the zone's
 * routes move to another zone's healthy NAT first, then the interface moves from the old
 * instance to the new one. The launch completes later, once the new instance has proved NAT
 * (settleLaunches), and the routes come home then.
 */
async function attachToNewInstance(nat: NatConfig, instanceId: string, config: WatchdogConfig, clients: Clients, log: Log,
  options: HandleOptions = {}): Promise<EvaluationResult> {
  const caller = new Caller();
  const started = Date.now();
  const eni = nat.networkInterfaceId;
  const current = (await caller.call(() => clients.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] })))).NetworkInterfaces?.[0];
  const attachment = current?.Attachment;
  if (attachment?.InstanceId === instanceId) {
    log({ event: 'interface-attached-already', networkInterfaceId: eni, instanceId });
    return nothing(caller);
  }
  // The old instance keeps the interface until the new one can take it: running, and newer.
  const launched = await untilRunning(clients, caller, [instanceId, ...(attachment?.InstanceId ? [attachment.InstanceId] : [])], options.sleep ?? defaultSleep);
  if (attachment?.InstanceId && (launched.get(attachment.InstanceId) ?? 0) > (launched.get(instanceId) ?? 0)) {
    log({ event: 'ignored', reason: `a newer instance, ${attachment.InstanceId}, holds the interface`, networkInterfaceId: eni, instanceId });
    return nothing(caller);
  }
  let moved: EvaluationResult | undefined;
  let flows: number | undefined;
  if (attachment?.InstanceId) {
    flows = await awaitHandoff(nat, instanceId, launched.get(instanceId), config, clients, caller, log, options);
    if (flows === undefined) {
      moved = await evaluate(config, clients, { leaving: [attachment.InstanceId], log, caller, now: options.now });
    }
    await caller.call(() => clients.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachment.AttachmentId })));
    log({ event: 'interface-detached', networkInterfaceId: eni, instanceId: attachment.InstanceId });
    await untilAvailable(clients, caller, eni, options.sleep ?? defaultSleep);
  }
  await caller.call(() => clients.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instanceId, DeviceIndex: 1 })));
  if (current?.SourceDestCheck !== false) {
    await caller.call(() => clients.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: false } })));
  }
  log({ event: 'interface-attached', networkInterfaceId: eni, instanceId, az: nat.az, seconds: (Date.now() - started) / 1000, ...(flows !== undefined ? { handoff: flows } : {}) });
  return { decisions: moved?.decisions ?? [], moved: moved?.moved ?? 0, apiCalls: caller.calls };
}

/**
 * The Lambda handler's logic. Whatever arrives, it never throws on bad input: an event that is no
 * object, lacks its fields, or names an instance or group that is not one of this stack's NATs
 * is logged and left alone. Only AWS failures are thrown, so that EventBridge retries.
 */
export async function handleEvent(event: WatchdogEvent, config: WatchdogConfig, clients: Clients, log: Log = jsonLog,
  options: HandleOptions = {}): Promise<EvaluationResult> {
  const caller = new Caller();
  const intent = readEvent(event, config.spot === true);
  if (intent.kind === 'ignore') {
    log({ event: 'ignored', trigger: intent.trigger, reason: intent.reason, ...intent.received });
    return nothing(caller);
  }
  if (intent.kind === 'spot') {
    return spotWarning(intent.trigger, intent.instanceId!, config, clients, log, options);
  }
  if (intent.kind === 'launch' || intent.lifecycle) {
    const nat = await natOfGroup(config, clients, caller, intent.group);
    if (!nat) {
      log({ event: 'ignored', trigger: intent.trigger, reason: 'not one of this stack\'s NAT groups', group: String(intent.group).slice(0, 300), instanceId: intent.instanceId });
      return nothing(caller);
    }
    if (intent.kind === 'launch') {
      log({ event: 'invocation', trigger: intent.trigger, instanceId: intent.instanceId, group: intent.group, groupTag: nat.groupTag });
      return attachToNewInstance(nat, intent.instanceId!, config, clients, log, options);
    }
  }
  const leaving = [...intent.leaving];
  log({ event: 'invocation', trigger: intent.trigger, leaving });
  let result: EvaluationResult | undefined;
  let failure: unknown;
  try {
    result = await evaluate(config, clients, { leaving, log, caller, now: options.now });
  } catch (error) {
    failure = error;
  }
  // Let the instance go even when the evaluation failed: holding it only delays the replacement.
  if (intent.lifecycle) {
    // The evaluation's error, if any, is the one to surface: it is what a retry must redo.
    const lifecycleError = await completeLifecycle(intent.lifecycle, clients, caller, log);
    failure ??= lifecycleError;
  }
  if (failure !== undefined || !result) {
    throw failure;
  }
  return result;
}

/** Completes a terminate lifecycle action; returns the error to throw, if any. */
async function completeLifecycle(action: LifecycleAction, clients: Clients, caller: Caller, log: Log): Promise<unknown> {
  try {
    await caller.call(() => clients.autoscaling.send(new CompleteLifecycleActionCommand({
      AutoScalingGroupName: action.group,
      LifecycleHookName: action.hook,
      LifecycleActionToken: action.token,
      InstanceId: action.instanceId,
      LifecycleActionResult: 'CONTINUE',
    })));
    log({ event: 'lifecycle-complete', instanceId: action.instanceId });
  } catch (error) {
    // A retried invocation, or an expired token: Auto Scaling has already decided.
    if ((error as Error).name !== 'ValidationError') {
      return error;
    }
    log({ event: 'lifecycle-already-complete', instanceId: action.instanceId, error: (error as Error).message });
  }
  return undefined;
}

/**
 * A Spot NAT is about to go (an interruption warning) or likely to (a rebalance recommendation):
 * its zone's routes move to another zone's healthy NAT now, and the instance is marked unhealthy
 * so that its group replaces it, launching first, by the planned path (the interface moves to the
 * new instance, the routes come home once it has proved NAT). Any other instance is left alone.
 */
async function spotWarning(type: string, instanceId: string, config: WatchdogConfig, clients: Clients, log: Log, options: HandleOptions): Promise<EvaluationResult> {
  const caller = new Caller();
  const started = Date.now();
  const membership = (await caller.call(() => clients.autoscaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }))))
    .AutoScalingInstances?.find((i) => i.InstanceId === instanceId);
  const nat = await natOfGroup(config, clients, caller, membership?.AutoScalingGroupName);
  if (!nat) {
    log({ event: 'ignored', trigger: type, reason: 'not an instance of this stack\'s NAT groups', instanceId });
    return nothing(caller);
  }
  log({ event: 'invocation', trigger: type, leaving: [instanceId], groupTag: nat.groupTag });
  const result = await evaluate(config, clients, { leaving: [instanceId], log, caller, now: options.now });
  await caller.call(() => clients.autoscaling.send(new SetInstanceHealthCommand({ InstanceId: instanceId, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false })));
  log({ event: 'spot-replacement', trigger: type, instanceId, networkInterfaceId: nat.networkInterfaceId, moved: result.moved, seconds: (Date.now() - started) / 1000 });
  return { ...result, apiCalls: caller.calls };
}

let cached: { config: WatchdogConfig; clients: Clients } | undefined;

export async function handler(event: WatchdogEvent): Promise<EvaluationResult> {
  cached ??= {
    config: configFromEnvironment(),
    // Caller retries throttled calls itself, with a count of every call, so the SDK's own retries are off.
    clients: {
      ec2: new EC2Client({ maxAttempts: 1 }), autoscaling: new AutoScalingClient({ maxAttempts: 1 }), cloudwatch: new CloudWatchClient({ maxAttempts: 1 }),
      cloudformation: new CloudFormationClient({ maxAttempts: 1 }),
    },
  };
  return handleEvent(event, cached.config, cached.clients);
}
