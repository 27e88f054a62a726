/**
 * The route watchdog's decisions, as pure functions: which NATs are healthy, and where each
 * private route table's default route should point. No AWS calls here.
 */

/** One NAT, as the stack configured it. */
export interface NatConfig {
  readonly az: string;
  readonly networkInterfaceId: string;
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
  /** CloudWatch namespace of the NATs' heartbeat metric. */
  readonly heartbeatNamespace: string;
  /** A heartbeat older than this many seconds makes a NAT unhealthy. */
  readonly heartbeatMaxAgeSeconds: number;
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
  readonly instanceState?: string;
  readonly instanceStatus?: string;
  readonly systemStatus?: string;
  /** When the NAT's own self-check last published its heartbeat. */
  readonly lastHeartbeat?: Date;
}

export interface NatHealth {
  readonly networkInterfaceId: string;
  readonly healthy: boolean;
  readonly reason: string;
}

/** Auto Scaling lifecycle states of an instance that is on its way out of service. */
export function isLeavingState(state: string | undefined): boolean {
  return state !== undefined && (/^Terminat/.test(state) || /^(Detaching|Detached|EnteringStandby|Standby)$/.test(state));
}

/**
 * A NAT is healthy when its interface is attached to a running instance that passes both status
 * checks, that is not on its way out, and whose self-check published a recent heartbeat. A new
 * instance's checks stay "initializing" for minutes after it took the interface over; its own
 * heartbeat since then (its self-check verified NAT) counts for them, so that a replacement does
 * not fail the zone over and back for nothing.
 */
export function assessNat(observation: NatObservation, now: Date, maxAgeSeconds: number, leaving: ReadonlySet<string>): NatHealth {
  const unhealthy = (reason: string): NatHealth => ({ networkInterfaceId: observation.networkInterfaceId, healthy: false, reason });
  if (!observation.instanceId) {
    return unhealthy('interface not attached to any instance');
  }
  if (observation.attachmentStatus !== 'attached') {
    return unhealthy(`interface ${observation.attachmentStatus ?? 'in an unknown state'} on ${observation.instanceId}`);
  }
  if (leaving.has(observation.instanceId) || isLeavingState(observation.lifecycleState)) {
    return unhealthy(`instance ${observation.instanceId} is being stopped or terminated${observation.lifecycleState ? ` (${observation.lifecycleState})` : ''}`);
  }
  if (observation.instanceState !== 'running') {
    return unhealthy(`instance ${observation.instanceId} is ${observation.instanceState ?? 'unknown'}`);
  }
  const checks = [observation.instanceStatus, observation.systemStatus];
  const checksText = `status checks: instance ${observation.instanceStatus ?? 'unknown'}, system ${observation.systemStatus ?? 'unknown'}`;
  if (checks.some((c) => c !== 'ok' && c !== 'initializing')) {
    return unhealthy(checksText);
  }
  if (!observation.lastHeartbeat) {
    return unhealthy('no heartbeat from the NAT self-check');
  }
  const age = (now.getTime() - observation.lastHeartbeat.getTime()) / 1000;
  if (age > maxAgeSeconds) {
    return unhealthy(`last heartbeat ${Math.round(age)} s ago (limit ${maxAgeSeconds} s)`);
  }
  if (checks.includes('initializing')) {
    // Heartbeat timestamps are the start of their one-minute period.
    const sinceAttach = observation.attachTime && observation.lastHeartbeat.getTime() >= observation.attachTime.getTime() - 60_000;
    if (!sinceAttach) {
      return unhealthy(`${checksText}, and no heartbeat since it took the interface over`);
    }
    return { networkInterfaceId: observation.networkInterfaceId, healthy: true, reason: `booting (${checksText}), self-check passed ${Math.round(age)} s ago` };
  }
  return { networkInterfaceId: observation.networkInterfaceId, healthy: true, reason: `heartbeat ${Math.round(age)} s ago` };
}

/** The current default route of a route table. */
export interface CurrentRoute {
  readonly routeTableId: string;
  /** The interface the default route points at, if it points at one. */
  readonly networkInterfaceId?: string;
  /** active or blackhole, as EC2 reports it; missing when there is no default route. */
  readonly state?: string;
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
  const load = new Map(config.nats.map((n) => [n.networkInterfaceId, 0]));
  const current = new Map(routes.map((r) => [r.routeTableId, r]));

  return config.routeTables.map((table) => {
    const route = current.get(table.routeTableId);
    const base = { routeTableId: table.routeTableId, az: table.az, current: route?.networkInterfaceId, currentState: route?.state };
    let target: string | undefined;
    let reason: string;
    if (!route || (route.networkInterfaceId === undefined && route.state === undefined)) {
      return { ...base, target: undefined, action: 'hold' as const, reason: 'no default route yet; CloudFormation creates it' };
    }
    if (healthy.has(table.homeNetworkInterfaceId)) {
      target = table.homeNetworkInterfaceId;
      reason = 'home NAT healthy';
    } else if (route.networkInterfaceId && healthy.has(route.networkInterfaceId) && route.state !== 'blackhole') {
      target = route.networkInterfaceId;
      reason = `home NAT unhealthy (${reasons.get(table.homeNetworkInterfaceId) ?? 'not observed'}): staying on the healthy NAT it already uses`;
    } else {
      const fallback = config.nats
        .filter((n) => healthy.has(n.networkInterfaceId))
        .sort((a, b) => load.get(a.networkInterfaceId)! - load.get(b.networkInterfaceId)!)[0];
      const why = reasons.get(table.homeNetworkInterfaceId) ?? 'home NAT not observed';
      if (!fallback) {
        return { ...base, target: route?.networkInterfaceId, action: 'hold' as const, reason: `home NAT unhealthy (${why}) and no other NAT healthy: left as it is` };
      }
      target = fallback.networkInterfaceId;
      reason = `home NAT unhealthy (${why}): failed over to ${fallback.az}`;
    }
    load.set(target, (load.get(target) ?? 0) + 1);
    const action: Action = route?.networkInterfaceId === target && route.state !== 'blackhole' ? 'keep' : 'move';
    return { ...base, target, action, reason };
  });
}
