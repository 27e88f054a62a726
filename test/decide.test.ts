import { Decision, NatHealth, NatObservation, WatchdogConfig, assessNat, isLeavingState, planRoutes } from '../assets/watchdog/decide';
import { HANDOFF_PROOF_SECONDS, HEARTBEAT_MAX_AGE_SECONDS, HEARTBEAT_PERIOD_SECONDS } from '../assets/contract';
import { CONFIG, onHome } from './fakes/watchdog';

/**
 * The watchdog's decisions (decide.ts) as the pure functions they are: no AWS SDK here, so that
 * npm run test:mutation runs this file against each mutant quickly. The handler's error paths
 * are in watchdog-logic.test.ts, its AWS calls in watchdog.moto.test.ts.
 */
const NOW = new Date('2026-11-24T12:00:00Z');
const at = (now: Date, leaving = new Set<string>()) => ({ now, leaving, bootTimeoutSeconds: 900 });

const good = (eni: string, instance: string): NatObservation => ({
  networkInterfaceId: eni, instanceId: instance, attachmentStatus: 'attached', instanceState: 'running',
  instanceStatus: 'ok', systemStatus: 'ok', lastHeartbeat: new Date(NOW.getTime() - 60_000),
  attachTime: new Date(NOW.getTime() - 3600_000), lifecycleState: 'InService',
});
const healthy = (eni: string): NatHealth => ({ networkInterfaceId: eni, healthy: true, state: 'healthy', reason: 'ok' });
const sick = (eni: string): NatHealth => ({ networkInterfaceId: eni, healthy: false, state: 'unhealthy', reason: 'broken' });
const targets = (decisions: Decision[]) => Object.fromEntries(decisions.map((d) => [d.routeTableId, [d.action, d.target]]));

describe('assessNat', () => {
  test('the age limit is two check periods, a datapoint\'s alignment and its publication delay, from the contract', () => {
    expect(HEARTBEAT_MAX_AGE_SECONDS).toBe(2 * HEARTBEAT_PERIOD_SECONDS + 60 + 30);
  });

  test.each([
    ['healthy', {}, true, 'heartbeat 60 s ago'],
    ['being detached', { attachmentStatus: 'detaching' }, false, 'interface detaching on i-1'],
    ['no instance', { instanceId: undefined, attachmentStatus: undefined }, false, 'interface not attached to any instance'],
    ['instance stopped', { instanceState: 'stopped' }, false, 'instance i-1 is stopped'],
    ['instance state not reported', { instanceState: undefined }, false, 'instance i-1 is unknown'],
    ['a Spot NAT leaving its group', { lifecycleState: 'Terminating:Wait' }, false, 'instance i-1 is being stopped or terminated (Terminating:Wait)'],
    ['instance status not reported', { instanceStatus: undefined }, false, 'status checks: instance unknown, system ok'],
    ['system status not reported', { systemStatus: undefined }, false, 'status checks: instance ok, system unknown'],
    ['no attach time reported: judged by its heartbeat alone', { attachTime: undefined }, true, 'heartbeat 60 s ago'],
    ['status check impaired', { instanceStatus: 'impaired' }, false, 'status checks: instance impaired, system ok'],
    ['still initializing, its self-check beating', { systemStatus: 'initializing' }, true, 'booting (status checks: instance ok, system initializing), self-check passed 60 s ago'],
    ['no heartbeat yet', { lastHeartbeat: undefined }, false, 'no heartbeat from the NAT self-check'],
    ['stale heartbeat', { lastHeartbeat: new Date(NOW.getTime() - 211_000) }, false, 'last heartbeat 211 s ago (limit 210 s)'],
    ['a heartbeat at the age limit', { lastHeartbeat: new Date(NOW.getTime() - 210_000) }, true, 'heartbeat 210 s ago'],
    ['a heartbeat stamped in the future', { lastHeartbeat: new Date(NOW.getTime() + 3600_000) }, false, 'last heartbeat stamped 3600 s in the future; a NAT\'s own check never does that'],
    ['a heartbeat just past the clock-skew tolerance', { lastHeartbeat: new Date(NOW.getTime() + 6_000) }, false, 'last heartbeat stamped 6 s in the future; a NAT\'s own check never does that'],
    ['a heartbeat within the clock-skew tolerance', { lastHeartbeat: new Date(NOW.getTime() + 5_000) }, true, 'heartbeat -5 s ago'],
  ])('%s', (_name, change, isHealthy, reason) => {
    const health = assessNat({ ...good('eni-a', 'i-1'), ...change }, at(NOW));
    expect(health).toEqual({ networkInterfaceId: 'eni-a', healthy: isHealthy, state: isHealthy ? 'healthy' : 'unhealthy', reason });
  });

  test('a new instance without a heartbeat since it took the interface: replacing inside its boot window, unhealthy after', () => {
    const fresh = { ...good('eni-a', 'i-2'), instanceStatus: 'initializing', attachTime: new Date(NOW.getTime() - 120_000), lastHeartbeat: undefined };
    expect(assessNat(fresh, at(NOW))).toEqual({
      networkInterfaceId: 'eni-a', healthy: false, state: 'replacing',
      reason: 'new instance i-2 took the interface over 120 s ago and has not yet proved NAT (boot window 900 s)',
    });
    // The old instance's heartbeat does not make the new one healthy, nor a failure.
    expect(assessNat({ ...fresh, lastHeartbeat: new Date(NOW.getTime() - 200_000) }, at(NOW))).toMatchObject({ state: 'replacing' });
    expect(assessNat(fresh, { ...at(NOW), bootTimeoutSeconds: 60 })).toMatchObject({ state: 'unhealthy', reason: 'no heartbeat from the NAT self-check' });
    // Leaving or stopped beats replacing.
    expect(assessNat({ ...fresh, instanceState: 'stopped' }, at(NOW))).toMatchObject({ state: 'unhealthy' });
  });

  test('with the handoff on, a replacement keeps its routes for HANDOFF_PROOF_SECONDS from the attach, not a second more', () => {
    const taken = (seconds: number) => ({ ...good('eni-a', 'i-2'), lifecycleState: 'Pending:Wait', attachTime: new Date(NOW.getTime() - seconds * 1000), lastHeartbeat: undefined });
    expect(assessNat(taken(HANDOFF_PROOF_SECONDS), { ...at(NOW), handoff: true })).toMatchObject({ state: 'replacing', keepRoutes: true });
    expect(assessNat(taken(HANDOFF_PROOF_SECONDS + 1), { ...at(NOW), handoff: true })).toEqual(expect.not.objectContaining({ keepRoutes: expect.anything() }));
    expect(assessNat(taken(HANDOFF_PROOF_SECONDS + 1), { ...at(NOW), handoff: true }).state).toBe('replacing');
    // Without the handoff, the routes moved away before the attach and are not held.
    expect(assessNat(taken(10), at(NOW))).toEqual(expect.not.objectContaining({ keepRoutes: expect.anything() }));
    expect(assessNat(taken(10), { ...at(NOW), handoff: false })).toEqual(expect.not.objectContaining({ keepRoutes: expect.anything() }));
    // Proved, it is simply healthy.
    expect(assessNat({ ...taken(10), lastHeartbeat: NOW }, { ...at(NOW), handoff: true })).toEqual(expect.objectContaining({ healthy: true, state: 'healthy' }));
    expect(assessNat({ ...taken(10), lastHeartbeat: NOW }, { ...at(NOW), handoff: true })).not.toHaveProperty('keepRoutes');
  });

  test('an instance its group reports unhealthy (a Spot warning, a failed self-check) is unhealthy while it still beats', () => {
    expect(assessNat({ ...good('eni-a', 'i-1'), healthStatus: 'UNHEALTHY' }, at(NOW)))
      .toEqual({ networkInterfaceId: 'eni-a', healthy: false, state: 'unhealthy', reason: 'instance i-1 is marked unhealthy in its Auto Scaling group, which replaces it' });
    expect(assessNat({ ...good('eni-a', 'i-1'), healthStatus: 'Unhealthy' }, at(NOW))).toMatchObject({ healthy: false });
    expect(assessNat({ ...good('eni-a', 'i-1'), healthStatus: 'HEALTHY' }, at(NOW))).toMatchObject({ healthy: true });
    expect(assessNat({ ...good('eni-a', 'i-1'), healthStatus: undefined }, at(NOW))).toMatchObject({ healthy: true });
  });

  test('an instance on its way out is unhealthy even while it still passes every check', () => {
    expect(assessNat(good('eni-a', 'i-1'), at(NOW, new Set(['i-1'])))).toMatchObject({ healthy: false, reason: 'instance i-1 is being stopped or terminated (InService)' });
    expect(assessNat({ ...good('eni-a', 'i-1'), lifecycleState: 'Terminating:Wait' }, at(NOW)))
      .toMatchObject({ healthy: false, reason: 'instance i-1 is being stopped or terminated (Terminating:Wait)' });
    expect(assessNat({ ...good('eni-a', 'i-1'), lifecycleState: 'Standby' }, at(NOW))).toMatchObject({ healthy: false });
  });

  test('a launch waiting for its proof (Pending:Wait) counts no heartbeat from before its attach, not even of the same minute', () => {
    const pending = { ...good('eni-a', 'i-2'), lifecycleState: 'Pending:Wait', attachTime: new Date(NOW.getTime() - 30_000), lastHeartbeat: new Date(NOW.getTime() - 59_000) };
    expect(assessNat(pending, at(NOW))).toMatchObject({ healthy: false, state: 'replacing' });
    expect(assessNat({ ...pending, lastHeartbeat: new Date(NOW.getTime() - 10_000) }, at(NOW))).toMatchObject({ healthy: true, state: 'healthy' });
    // In service, a beat of the attach's minute is the holder's own.
    expect(assessNat({ ...pending, lifecycleState: 'InService' }, at(NOW))).toMatchObject({ healthy: true, state: 'healthy' });
  });

  test('a replacement still initializing counts as healthy once its own self-check has beaten since it took the interface', () => {
    const booting = { ...good('eni-a', 'i-2'), instanceStatus: 'initializing', systemStatus: 'initializing', attachTime: new Date(NOW.getTime() - 90_000) };
    expect(assessNat(booting, at(NOW))).toMatchObject({ healthy: true, reason: expect.stringMatching(/^booting \(status checks: instance initializing/) });
    // The heartbeat is from the instance it replaced, before this one attached.
    expect(assessNat({ ...booting, lastHeartbeat: new Date(NOW.getTime() - 170_000) }, at(NOW)))
      .toMatchObject({ healthy: false, state: 'replacing' });
    // Past its boot window, the same is a fault.
    expect(assessNat({ ...booting, attachTime: new Date(NOW.getTime() - 1000_000), lastHeartbeat: new Date(NOW.getTime() - 1060_000) }, at(NOW)))
      .toMatchObject({ healthy: false, state: 'unhealthy' });
  });
});

describe('planRoutes', () => {
  test('all healthy: every table stays on its home NAT', () => {
    expect(targets(planRoutes(CONFIG, CONFIG.nats.map((n) => healthy(n.networkInterfaceId)), onHome))).toEqual({
      'rtb-a': ['keep', 'eni-a'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'],
    });
  });

  test('one NAT down: its table moves to the least-loaded healthy NAT', () => {
    const decisions = planRoutes(CONFIG, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], onHome);
    expect(targets(decisions)).toEqual({ 'rtb-a': ['move', 'eni-b'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'] });
    expect(decisions[0].reason).toBe('home NAT unhealthy (broken): failed over to az-b');
  });

  test('two NATs down: both tables go to the one healthy NAT', () => {
    expect(targets(planRoutes(CONFIG, [sick('eni-a'), sick('eni-b'), healthy('eni-c')], onHome))).toEqual({
      'rtb-a': ['move', 'eni-c'], 'rtb-b': ['move', 'eni-c'], 'rtb-c': ['keep', 'eni-c'],
    });
  });

  test('the home NAT healthy again: the table moves back', () => {
    const failedOver = onHome.map((r) => (r.routeTableId === 'rtb-a' ? { ...r, networkInterfaceId: 'eni-b' } : r));
    expect(targets(planRoutes(CONFIG, CONFIG.nats.map((n) => healthy(n.networkInterfaceId)), failedOver))['rtb-a']).toEqual(['move', 'eni-a']);
  });

  test('failover is sticky: a table already on a healthy NAT stays there while its home is down', () => {
    const onC = onHome.map((r) => (r.routeTableId === 'rtb-a' ? { ...r, networkInterfaceId: 'eni-c' } : r));
    // B came back after A's table went to C: moving A's table to the less loaded B would cut its connections.
    expect(targets(planRoutes(CONFIG, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], onC))['rtb-a']).toEqual(['keep', 'eni-c']);
  });

  test('no NAT healthy: nothing moves, and nothing points at a NAT not seen healthy', () => {
    const decisions = planRoutes(CONFIG, CONFIG.nats.map((n) => sick(n.networkInterfaceId)), onHome);
    expect(decisions.map((d) => d.action)).toEqual(['hold', 'hold', 'hold']);
    expect(decisions.map((d) => d.target)).toEqual(['eni-a', 'eni-b', 'eni-c']);
  });

  test('a blackholed route is repointed; a missing one is left to CloudFormation', () => {
    const routes = [{ routeTableId: 'rtb-a', networkInterfaceId: 'eni-a', state: 'blackhole' }, { routeTableId: 'rtb-b' }, onHome[2]];
    const decisions = planRoutes(CONFIG, CONFIG.nats.map((n) => healthy(n.networkInterfaceId)), routes);
    expect(targets(decisions)).toEqual({ 'rtb-a': ['move', 'eni-a'], 'rtb-b': ['hold', undefined], 'rtb-c': ['keep', 'eni-c'] });
    expect(decisions[1].reason).toBe('no default route yet; CloudFormation creates it');
  });

  test('with failover off (routeWatchdog: false), a table stays on its home NAT even when it is down', () => {
    const decisions = planRoutes({ ...CONFIG, failover: false }, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], onHome);
    expect(targets(decisions)).toEqual({ 'rtb-a': ['hold', 'eni-a'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'] });
    expect(decisions[0].reason).toBe('home NAT unhealthy (broken) and failover is off (routeWatchdog: false): left as it is');
    // It still brings a failed-over table home once its NAT is healthy.
    const away = onHome.map((r) => (r.routeTableId === 'rtb-a' ? { ...r, networkInterfaceId: 'eni-b' } : r));
    expect(targets(planRoutes({ ...CONFIG, failover: false }, CONFIG.nats.map((n) => healthy(n.networkInterfaceId)), away))['rtb-a']).toEqual(['move', 'eni-a']);
  });

  test('a table under manual control is left alone, whatever the health of its NATs', () => {
    const routes = onHome.map((r) => (r.routeTableId === 'rtb-a' ? { ...r, networkInterfaceId: 'eni-c', manual: true } : r));
    const decisions = planRoutes(CONFIG, CONFIG.nats.map((n) => healthy(n.networkInterfaceId)), routes);
    expect(targets(decisions)).toEqual({ 'rtb-a': ['hold', 'eni-c'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'] });
    expect(decisions[0].reason).toBe('under manual control (tagged NatInstanceManualRoute): left alone');
    expect(targets(planRoutes(CONFIG, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], routes))['rtb-a']).toEqual(['hold', 'eni-c']);
  });

  test('a route with a target but no state reported is a route, not a missing one', () => {
    const routes = onHome.map((r) => (r.routeTableId === 'rtb-a' ? { routeTableId: 'rtb-a', networkInterfaceId: 'eni-a' } : r));
    expect(targets(planRoutes(CONFIG, CONFIG.nats.map((n) => healthy(n.networkInterfaceId)), routes))['rtb-a']).toEqual(['keep', 'eni-a']);
  });

  test('a blackholed route on another healthy NAT is failed over afresh, not kept there', () => {
    const routes = onHome.map((r) => (r.routeTableId === 'rtb-a' ? { ...r, networkInterfaceId: 'eni-b', state: 'blackhole' } : r));
    const decision = planRoutes(CONFIG, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], routes)[0];
    expect(decision).toMatchObject({ action: 'move', reason: 'home NAT unhealthy (broken): failed over to az-b' });
  });

  test('idempotent: planning again on the result moves nothing', () => {
    const health = [sick('eni-a'), healthy('eni-b'), healthy('eni-c')];
    const first = planRoutes(CONFIG, health, onHome);
    const after = first.map((d) => ({ routeTableId: d.routeTableId, networkInterfaceId: d.target, state: 'active' }));
    expect(planRoutes(CONFIG, health, after).every((d) => d.action === 'keep')).toBe(true);
  });
});

describe('isLeavingState: the Auto Scaling states of an instance on its way out, exactly', () => {
  test.each([
    ['Terminating', true], ['Terminating:Wait', true], ['Terminating:Proceed', true], ['Terminated', true],
    ['Detaching', true], ['Detached', true], ['EnteringStandby', true], ['Standby', true],
    [undefined, false], ['InService', false], ['Pending:Wait', false],
    // A warm pool's instances are not serving: their Terminating is no NAT leaving.
    ['Warmed:Terminating', false], ['Warmed:Terminated', false], ['Warmed:Detached', false],
    ['StandbyWait', false], ['NotDetached', false],
  ])('%s: %s', (state, leaving) => {
    expect(isLeavingState(state)).toBe(leaving);
  });
});

describe('assessNat at its boundaries', () => {
  test('a launch waiting for its proof: a heartbeat stamped at the very second of the attach counts', () => {
    const attach = new Date(NOW.getTime() - 30_000);
    const pending = { ...good('eni-a', 'i-2'), lifecycleState: 'Pending:Wait', attachTime: attach, lastHeartbeat: attach };
    expect(assessNat(pending, at(NOW))).toMatchObject({ healthy: true, state: 'healthy' });
    expect(assessNat({ ...pending, lastHeartbeat: new Date(attach.getTime() - 1) }, at(NOW))).toMatchObject({ state: 'replacing' });
  });

  test('an instance the event names as leaving, whatever its group says', () => {
    expect(assessNat(good('eni-a', 'i-1'), at(NOW, new Set(['i-1'])))).toMatchObject({ state: 'unhealthy', reason: 'instance i-1 is being stopped or terminated (InService)' });
    expect(assessNat({ ...good('eni-a', 'i-1'), lifecycleState: undefined }, at(NOW, new Set(['i-1'])))).toMatchObject({ reason: 'instance i-1 is being stopped or terminated' });
  });

  test('the boot window includes its last second', () => {
    const fresh = { ...good('eni-a', 'i-2'), attachTime: new Date(NOW.getTime() - 900_000), lastHeartbeat: undefined };
    expect(assessNat(fresh, at(NOW))).toMatchObject({ state: 'replacing', reason: 'new instance i-2 took the interface over 900 s ago and has not yet proved NAT (boot window 900 s)' });
    expect(assessNat({ ...fresh, attachTime: new Date(NOW.getTime() - 900_001) }, at(NOW))).toMatchObject({ state: 'unhealthy', reason: 'no heartbeat from the NAT self-check' });
  });

  test('still initializing, past its boot window, with only a beat from before the attach: unhealthy, and why', () => {
    const late = { ...good('eni-a', 'i-2'), instanceStatus: 'initializing', attachTime: new Date(NOW.getTime() - 100_000), lastHeartbeat: new Date(NOW.getTime() - 200_000) };
    expect(assessNat(late, { ...at(NOW), bootTimeoutSeconds: 60 })).toEqual({
      networkInterfaceId: 'eni-a', healthy: false, state: 'unhealthy',
      reason: 'status checks: instance initializing, system ok, and no heartbeat since it took the interface over',
    });
  });

  test('an attachment in an unknown state is named so', () => {
    expect(assessNat({ ...good('eni-a', 'i-1'), attachmentStatus: undefined }, at(NOW))).toMatchObject({ reason: 'interface in an unknown state on i-1' });
  });
});

describe('planRoutes: where a zone fails over to', () => {
  const THREE: WatchdogConfig = {
    ...CONFIG,
    routeTables: [
      { routeTableId: 'rtb-b', az: 'az-b', homeNetworkInterfaceId: 'eni-b' },
      { routeTableId: 'rtb-a1', az: 'az-a', homeNetworkInterfaceId: 'eni-a' },
      { routeTableId: 'rtb-a2', az: 'az-a', homeNetworkInterfaceId: 'eni-a' },
      { routeTableId: 'rtb-a3', az: 'az-a', homeNetworkInterfaceId: 'eni-a' },
    ],
  };
  const routes = THREE.routeTables.map((t) => ({ routeTableId: t.routeTableId, networkInterfaceId: t.homeNetworkInterfaceId, state: 'active' }));

  test('to the healthy NAT with the fewest tables so far, then in configuration order', () => {
    // B carries its own table; C none: A's first table goes to C, the next to B (one each), the third to B.
    expect(targets(planRoutes(THREE, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], routes))).toEqual({
      'rtb-b': ['keep', 'eni-b'], 'rtb-a1': ['move', 'eni-c'], 'rtb-a2': ['move', 'eni-b'], 'rtb-a3': ['move', 'eni-c'],
    });
    // Only B healthy: every table of A goes to it.
    expect(targets(planRoutes(THREE, [sick('eni-a'), healthy('eni-b'), sick('eni-c')], routes))).toEqual({
      'rtb-b': ['keep', 'eni-b'], 'rtb-a1': ['move', 'eni-b'], 'rtb-a2': ['move', 'eni-b'], 'rtb-a3': ['move', 'eni-b'],
    });
  });

  test('a table with a route to no interface (a peering, a gateway) is moved, not taken for missing', () => {
    const other = [{ routeTableId: 'rtb-a', state: 'active' }, ...onHome.slice(1)];
    expect(planRoutes(CONFIG, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], other)[0]).toMatchObject({ action: 'move', target: 'eni-b' });
    const blackholed = [{ routeTableId: 'rtb-a', networkInterfaceId: 'eni-a', state: 'blackhole' }, ...onHome.slice(1)];
    expect(planRoutes(CONFIG, [healthy('eni-a'), healthy('eni-b'), healthy('eni-c')], blackholed)[0])
      .toMatchObject({ action: 'move', target: 'eni-a', reason: 'home NAT healthy' });
    // No default route at all, or one with neither target nor state: left for CloudFormation.
    for (const missing of [[], [{ routeTableId: 'rtb-a' }]]) {
      expect(planRoutes(CONFIG, [sick('eni-a'), healthy('eni-b'), healthy('eni-c')], missing)[0])
        .toEqual({ routeTableId: 'rtb-a', az: 'az-a', current: undefined, currentState: undefined, target: undefined, action: 'hold', reason: 'no default route yet; CloudFormation creates it' });
    }
  });

  test('the reasons name what was seen, or that the home NAT was not observed', () => {
    const unobserved = planRoutes(CONFIG, [healthy('eni-b'), healthy('eni-c')], onHome);
    expect(unobserved[0]).toMatchObject({ action: 'move', target: 'eni-b', reason: 'home NAT unhealthy (home NAT not observed): failed over to az-b' });
    const away = [{ ...onHome[0], networkInterfaceId: 'eni-c' }, ...onHome.slice(1)];
    expect(planRoutes(CONFIG, [healthy('eni-b'), healthy('eni-c')], away)[0])
      .toMatchObject({ action: 'keep', target: 'eni-c', reason: 'home NAT unhealthy (not observed): staying on the healthy NAT it already uses' });
    expect(planRoutes({ ...CONFIG, failover: false }, [healthy('eni-b'), healthy('eni-c')], onHome)[0])
      .toMatchObject({ action: 'hold', reason: 'home NAT unhealthy (not observed) and failover is off (routeWatchdog: false): left as it is' });
    expect(planRoutes(CONFIG, [sick('eni-a'), sick('eni-b'), sick('eni-c')], onHome)[0])
      .toMatchObject({ action: 'hold', target: 'eni-a', reason: 'home NAT unhealthy (broken) and no other NAT healthy: left as it is' });
  });
});

describe('planRoutes with a replacement that took the connection state', () => {
  const keeping: NatHealth = { networkInterfaceId: 'eni-a', healthy: false, state: 'replacing', reason: 'proving', keepRoutes: true };
  test.each<[string, NatHealth, Array<{ routeTableId: string; networkInterfaceId?: string; state?: string }>, Record<string, [string, string | undefined]>]>([
    ['its table still on it is held there', keeping, onHome, { 'rtb-a': ['hold', 'eni-a'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'] }],
    ['a blackholed route is not held: it fails over', keeping, [{ ...onHome[0], state: 'blackhole' }, ...onHome.slice(1)], { 'rtb-a': ['move', 'eni-b'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'] }],
    ['a table already elsewhere stays there, not brought to the unproved NAT', keeping, [{ ...onHome[0], networkInterfaceId: 'eni-c' }, ...onHome.slice(1)], { 'rtb-a': ['keep', 'eni-c'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'] }],
    ['a replacement without keepRoutes fails its table over', { ...keeping, keepRoutes: undefined }, onHome, { 'rtb-a': ['move', 'eni-b'], 'rtb-b': ['keep', 'eni-b'], 'rtb-c': ['keep', 'eni-c'] }],
  ])('%s', (_name, a, routes, expected) => {
    const decisions = planRoutes(CONFIG, [a, healthy('eni-b'), healthy('eni-c')], routes);
    expect(targets(decisions)).toEqual(expected);
    if (expected['rtb-a'][0] === 'hold') {
      expect(decisions[0].reason).toBe(`home NAT is a replacement that took the connection state (proving): kept on it while it proves NAT, up to ${HANDOFF_PROOF_SECONDS} s`);
    }
  });
});
