import { WatchdogConfig } from '../../assets/watchdog/decide';

/** Three zones, a NAT and a route table in each: the controller's tests' configuration. */
export const CONFIG: WatchdogConfig = {
  nats: [
    { az: 'az-a', networkInterfaceId: 'eni-a', groupTag: 'nat-a' },
    { az: 'az-b', networkInterfaceId: 'eni-b', groupTag: 'nat-b' },
    { az: 'az-c', networkInterfaceId: 'eni-c', groupTag: 'nat-c' },
  ],
  routeTables: [
    { routeTableId: 'rtb-a', az: 'az-a', homeNetworkInterfaceId: 'eni-a' },
    { routeTableId: 'rtb-b', az: 'az-b', homeNetworkInterfaceId: 'eni-b' },
    { routeTableId: 'rtb-c', az: 'az-c', homeNetworkInterfaceId: 'eni-c' },
  ],
  bootTimeoutSeconds: 900,
};

/** Every table's default route on its home NAT. */
export const onHome = CONFIG.routeTables.map((t) => ({ routeTableId: t.routeTableId, networkInterfaceId: t.homeNetworkInterfaceId, state: 'active' }));
