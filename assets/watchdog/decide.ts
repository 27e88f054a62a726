/**
 * The route watchdog's decisions, as pure functions: which NATs are healthy, and where each
 * private route table's default route should point. No AWS calls here. nat-doctor judges health
 * with the same assessNat, so the two cannot disagree.
 */
import { HANDOFF_PROOF_SECONDS, HEARTBEAT_FUTURE_TOLERANCE_SECONDS, HEARTBEAT_MAX_AGE_SECONDS, MANUAL_ROUTE_TAG } from '../contract';

/** One NAT, as the stack configured it. */
export interface NatConfig {
  readonly az: string;
  readonly networkInterfaceId: string;
  /**
   * The NatInstanceGroup tag of its Auto Scaling group, interface and instances: how a lifecycle
   * event's group is known to be this NAT's. (Not the group's name: the rules and the function
   * must exist before the groups, so nothing of theirs may refer to a group.)
   */
  readonly groupTag?: string;
  /** The logical ID of its Auto Scaling group, to which CloudFormation expects a ready signal. */
  readonly signalResource?: string;
}

/** One private route table and the NAT interface it uses when that NAT is healthy. */
export interface RouteTableConfig {
  readonly routeTableId: string;
  readonly az: string;
  readonly homeNetworkInterfaceId: string;
}

/** What the watchdog watches; set by the stack in the function's environment. */
export interface WatchdogConfig {
  readonly nats: NatConfig[];
  readonly routeTables: RouteTableConfig[];
  /** How long a new NAT may take to prove that NAT works (the provider's bootTimeout). */
  readonly bootTimeoutSeconds: number;
  /** Whether routes may fail over to another zone's NAT (routeWatchdog). @default true */
  readonly failover?: boolean;
  /** The stack to signal a NAT ready to. */
  readonly stackName?: string;
  /**
   * How long a planned replacement waits for the new instance to take the old one's connection
   * state before the interface moves; without it, the zone's routes move to another zone first.
   */
  readonly handoffWaitSeconds?: number;
  /** Whether the NATs run on Spot, so that Spot warnings are acted on. */
  readonly spot?: boolean;
}

/** What the watchdog saw of one NAT. */
export interface NatObservation {
  readonly networkInterfaceId: string;
  /** The instance the interface is attached to, if attached. */
  readonly instanceId?: string;
  readonly attachmentStatus?: string;
  /** When the interface was attached to that instance. */
  readonly attachTime?: Date;
  /** The instance's Auto Scaling lifecycle state (InService, Terminating:Wait, ...). */
  readonly lifecycleState?: string;
  /** The instance's Auto Scaling group. */
  readonly groupName?: string;
  /** The instance's health in its Auto Scaling group (HEALTHY or UNHEALTHY). */
  readonly healthStatus?: string;
  readonly instanceState?: string;
  readonly instanceStatus?: string;
  readonly systemStatus?: string;
  /** When the NAT's own self-check last published its heartbeat. */
  readonly lastHeartbeat?: Date;
}

/**
 * healthy: routes may use the NAT. replacing: a new instance holds the interface and is still
 * within its boot window without having proved NAT; routes may not use it yet, but it is no
 * fault. unhealthy: anything else.
 */
export type NatState = 'healthy' | 'replacing' | 'unhealthy';

export interface NatHealth {
  readonly networkInterfaceId: string;
  readonly healthy: boolean;
  readonly state: NatState;
  readonly reason: string;
  /** A replacement that took the old NAT's connections: its zone's routes stay while it proves NAT. */
  readonly keepRoutes?: boolean;
}

/** What assessNat needs besides the observation. */
export interface AssessOptions {
  readonly now: Date;
  /** Instances known to be leaving (from the event being handled). */
  readonly leaving?: ReadonlySet<string>;
  /** The boot window of a new instance, from its attachment on. */
  readonly bootTimeoutSeconds: number;
  /** Whether replacements take the old NAT's connection state (WatchdogConfig.handoffWaitSeconds). */
  readonly handoff?: boolean;
}

/** Auto Scaling lifecycle states of an instance that is on its way out of service. */
export function isLeavingState(state: string | undefined): boolean {
  // No state reads as "undefined", which neither pattern matches.
  const s = String(state);
  return /^Terminat/.test(s) || /^(Detaching|Detached|EnteringStandby|Standby)$/.test(s);
}

/**
 * A NAT is healthy when its interface is attached to a running instance that passes both status
 * checks, that is not on its way out, and whose self-check published a heartbeat that is recent
 * (HEARTBEAT_MAX_AGE_SECONDS) and not stamped in the future. A new instance's checks stay
 * "initializing" for minutes after it took the interface over; its own heartbeat since then (its
 * self-check verified NAT) counts for them, so that a replacement does not fail the zone over and
 * back for nothing. Until that first heartbeat, within its boot window, it is replacing.
 */
export function assessNat(observation: NatObservation, options: AssessOptions): NatHealth {
  const { now } = options;
  const leaving = options.leaving ?? new Set<string>();
  const eni = observation.networkInterfaceId;
  const unhealthy = (reason: string): NatHealth => ({ networkInterfaceId: eni, healthy: false, state: 'unhealthy', reason });
  if (!observation.instanceId) {
    return unhealthy('interface not attached to any instance');
  }
  if (observation.attachmentStatus !== 'attached') {
    return unhealthy(`interface ${observation.attachmentStatus ?? 'in an unknown state'} on ${observation.instanceId}`);
  }
  if (leaving.has(observation.instanceId) || isLeavingState(observation.lifecycleState)) {
    return unhealthy(`instance ${observation.instanceId} is being stopped or terminated${observation.lifecycleState ? ` (${observation.lifecycleState})` : ''}`);
  }
  // Marked so by the controller on a Spot warning, or by the instance's own failed check: its
  // group replaces it, so it keeps no route meanwhile.
  if (observation.healthStatus?.toUpperCase() === 'UNHEALTHY') {
    return unhealthy(`instance ${observation.instanceId} is marked unhealthy in its Auto Scaling group, which replaces it`);
  }
  if (observation.instanceState !== 'running') {
    return unhealthy(`instance ${observation.instanceId} is ${observation.instanceState ?? 'unknown'}`);
  }
  const checks = [observation.instanceStatus, observation.systemStatus];
  const checksText = `status checks: instance ${observation.instanceStatus ?? 'unknown'}, system ${observation.systemStatus ?? 'unknown'}`;
  if (checks.some((c) => c !== 'ok' && c !== 'initializing')) {
    return unhealthy(checksText);
  }
  const beat = observation.lastHeartbeat;
  const age = beat === undefined ? undefined : (now.getTime() - beat.getTime()) / 1000;
  const ahead = -(age ?? 0);
  if (ahead > HEARTBEAT_FUTURE_TOLERANCE_SECONDS) {
    return unhealthy(`last heartbeat stamped ${Math.round(ahead)} s in the future; a NAT's own check never does that`);
  }
  // CloudWatch stamps a datapoint with the start of its minute, so a beat in the minute of the
  // attach may be the previous holder's. A launch waiting for its proof (Pending:Wait) counts only
  // a minute that starts at or after the attach; otherwise a beat of that minute counts too.
  const slack = observation.lifecycleState === 'Pending:Wait' ? 0 : 60_000;
  const sinceAttach = beat !== undefined && observation.attachTime !== undefined && beat.getTime() >= observation.attachTime.getTime() - slack;
  const inBootWindow = observation.attachTime !== undefined && now.getTime() - observation.attachTime.getTime() <= options.bootTimeoutSeconds * 1000;
  if (!sinceAttach && inBootWindow) {
    const since = Math.round((now.getTime() - observation.attachTime!.getTime()) / 1000);
    const keepRoutes = options.handoff === true && since <= HANDOFF_PROOF_SECONDS;
    return {
      networkInterfaceId: eni, healthy: false, state: 'replacing',
      reason: `new instance ${observation.instanceId} took the interface over ${since} s ago and has not yet proved NAT (boot window ${options.bootTimeoutSeconds} s)`,
      ...(keepRoutes ? { keepRoutes } : {}),
    };
  }
  if (age === undefined) {
    return unhealthy('no heartbeat from the NAT self-check');
  }
  if (age > HEARTBEAT_MAX_AGE_SECONDS) {
    return unhealthy(`last heartbeat ${Math.round(age)} s ago (limit ${HEARTBEAT_MAX_AGE_SECONDS} s)`);
  }
  if (checks.includes('initializing')) {
    if (!sinceAttach) {
      return unhealthy(`${checksText}, and no heartbeat since it took the interface over`);
    }
    return { networkInterfaceId: eni, healthy: true, state: 'healthy', reason: `booting (${checksText}), self-check passed ${Math.round(age)} s ago` };
  }
  return { networkInterfaceId: eni, healthy: true, state: 'healthy', reason: `heartbeat ${Math.round(age)} s ago` };
}

/** The current default route of a route table. */
export interface CurrentRoute {
  readonly routeTableId: string;
  /** The interface the default route points at, if it points at one. */
  readonly networkInterfaceId?: string;
  /** active or blackhole, as EC2 reports it; missing when there is no default route. */
  readonly state?: string;
  /** The table is tagged for an operator's manual control (MANUAL_ROUTE_TAG). */
  readonly manual?: boolean;
}

export type Action = 'keep' | 'move' | 'hold';

/** One route table's decision, logged as one JSON line. */
export interface Decision {
  readonly routeTableId: string;
  readonly az: string;
  readonly current?: string;
  readonly currentState?: string;
  readonly target?: string;
  readonly action: Action;
  readonly reason: string;
}

/**
 * Decides each route table's target: its home NAT when healthy; otherwise the healthy NAT it
 * already uses (a move would cut its connections for nothing), or else a healthy NAT of another
 * zone (the one with the fewest route tables so far, then in configuration order). With no
 * healthy NAT at all, or no default route yet (CloudFormation creates it), the route stays as it
 * is. A route is never pointed at a NAT that was not seen healthy.
 */
export function planRoutes(config: WatchdogConfig, health: readonly NatHealth[], routes: readonly CurrentRoute[]): Decision[] {
  const healthy = new Map(health.filter((h) => h.healthy).map((h) => [h.networkInterfaceId, h]));
  const reasons = new Map(health.map((h) => [h.networkInterfaceId, h.reason]));
  const keep = new Set(health.filter((h) => h.keepRoutes).map((h) => h.networkInterfaceId));
  const load = new Map(config.nats.map((n) => [n.networkInterfaceId, 0]));
  const current = new Map(routes.map((r) => [r.routeTableId, r]));

  return config.routeTables.map((table) => {
    const route = current.get(table.routeTableId);
    const base = { routeTableId: table.routeTableId, az: table.az, current: route?.networkInterfaceId, currentState: route?.state };
    let target: string | undefined;
    let reason: string;
    if (route?.manual) {
      return { ...base, target: route.networkInterfaceId, action: 'hold' as const, reason: `under manual control (tagged ${MANUAL_ROUTE_TAG}): left alone` };
    }
    if (!route || (route.networkInterfaceId === undefined && route.state === undefined)) {
      return { ...base, target: undefined, action: 'hold' as const, reason: 'no default route yet; CloudFormation creates it' };
    }
    if (healthy.has(table.homeNetworkInterfaceId)) {
      target = table.homeNetworkInterfaceId;
      reason = 'home NAT healthy';
    } else if (route.networkInterfaceId === table.homeNetworkInterfaceId && route.state !== 'blackhole' && keep.has(table.homeNetworkInterfaceId)) {
      // Moving now would cut the connections the replacement took over, for a NAT that is not
      // known to be broken; it has HANDOFF_PROOF_SECONDS from the attach to prove itself.
      return { ...base, target: route.networkInterfaceId, action: 'hold' as const, reason: `home NAT is a replacement that took the connection state (${reasons.get(table.homeNetworkInterfaceId)}): kept on it while it proves NAT, up to ${HANDOFF_PROOF_SECONDS} s` };
    } else if (config.failover === false) {
      return { ...base, target: route.networkInterfaceId, action: 'hold' as const, reason: `home NAT unhealthy (${reasons.get(table.homeNetworkInterfaceId) ?? 'not observed'}) and failover is off (routeWatchdog: false): left as it is` };
    } else if (route.networkInterfaceId && healthy.has(route.networkInterfaceId) && route.state !== 'blackhole') {
      target = route.networkInterfaceId;
      reason = `home NAT unhealthy (${reasons.get(table.homeNetworkInterfaceId) ?? 'not observed'}): staying on the healthy NAT it already uses`;
    } else {
      const fallback = config.nats
        .filter((n) => healthy.has(n.networkInterfaceId))
        .sort((a, b) => load.get(a.networkInterfaceId)! - load.get(b.networkInterfaceId)!)[0];
      const why = reasons.get(table.homeNetworkInterfaceId) ?? 'home NAT not observed';
      if (!fallback) {
        return { ...base, target: route.networkInterfaceId, action: 'hold' as const, reason: `home NAT unhealthy (${why}) and no other NAT healthy: left as it is` };
      }
      target = fallback.networkInterfaceId;
      reason = `home NAT unhealthy (${why}): failed over to ${fallback.az}`;
    }
    load.set(target, (load.get(target) ?? 0) + 1);
    const action: Action = route.networkInterfaceId === target && route.state !== 'blackhole' ? 'keep' : 'move';
    return { ...base, target, action, reason };
  });
}
