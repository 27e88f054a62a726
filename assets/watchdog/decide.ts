/**
 * The route watchdog's decisions, as pure functions: which NATs are healthy, and where each
 * private route table's default route should point. No AWS calls here.
 */

/** One NAT, as the stack configured it. */
export interface NatConfig {
  readonly az: string;
  readonly networkInterfaceId: string;
  readonly autoScalingGroupName: string;
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

/**
 * A NAT is healthy when its interface is attached to a running instance that passes both status
 * checks, that is not on its way out, and whose self-check published a recent heartbeat.
 */
export function assessNat(observation: NatObservation, now: Date, maxAgeSeconds: number, leaving: ReadonlySet<string>): NatHealth {
  const unhealthy = (reason: string): NatHealth => ({ networkInterfaceId: observation.networkInterfaceId, healthy: false, reason });
  if (!observation.instanceId) {
    return unhealthy('interface not attached to any instance');
  }
  if (observation.attachmentStatus !== 'attached') {
    return unhealthy(`interface ${observation.attachmentStatus ?? 'in an unknown state'} on ${observation.instanceId}`);
  }
  if (leaving.has(observation.instanceId)) {
    return unhealthy(`instance ${observation.instanceId} is being stopped or terminated`);
  }
  if (observation.instanceState !== 'running') {
    return unhealthy(`instance ${observation.instanceId} is ${observation.instanceState ?? 'unknown'}`);
  }
  if (observation.instanceStatus !== 'ok' || observation.systemStatus !== 'ok') {
    return unhealthy(`status checks: instance ${observation.instanceStatus ?? 'unknown'}, system ${observation.systemStatus ?? 'unknown'}`);
  }
  if (!observation.lastHeartbeat) {
    return unhealthy('no heartbeat from the NAT self-check');
  }
  const age = (now.getTime() - observation.lastHeartbeat.getTime()) / 1000;
  if (age > maxAgeSeconds) {
    return unhealthy(`last heartbeat ${Math.round(age)} s ago (limit ${maxAgeSeconds} s)`);
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
 * Decides each route table's target: its home NAT when healthy; otherwise a healthy NAT of
 * another zone (the one that has the fewest route tables so far, then in configuration order);
 * with no healthy NAT at all, the route stays as it is, since moving it could not help.
 * A route is never pointed at a NAT that was not seen healthy.
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
    if (healthy.has(table.homeNetworkInterfaceId)) {
      target = table.homeNetworkInterfaceId;
      reason = 'home NAT healthy';
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
