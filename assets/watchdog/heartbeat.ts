import { GetMetricDataCommand, GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { HANDOFF_INSTANCE_DIMENSION, METRIC, NAT_METRIC_DIMENSION, natMetricNamespace } from '../contract';

/**
 * The latest heartbeat of each NAT interface (the Heartbeat metric the NAT's self-check publishes
 * in the NAT's own namespace) between `start` and `end`, in one GetMetricData call. Shared by the
 * route watchdog and nat-doctor; `send` is how the caller issues the call (with its retries).
 */
export async function lastHeartbeats(
  send: (command: GetMetricDataCommand) => Promise<GetMetricDataCommandOutput>,
  enis: readonly string[], start: Date, end: Date,
): Promise<Map<string, Date | undefined>> {
  const results = (await send(new GetMetricDataCommand({
    StartTime: start,
    EndTime: end,
    MetricDataQueries: enis.map((eni, i) => ({
      Id: `h${i}`,
      MetricStat: {
        Metric: { Namespace: natMetricNamespace(eni), MetricName: METRIC.heartbeat, Dimensions: [{ Name: NAT_METRIC_DIMENSION, Value: eni }] },
        Period: 60,
        Stat: 'Maximum',
      },
      ReturnData: true,
    })),
  }))).MetricDataResults ?? [];
  return new Map(results.map((m) => {
    const latest = (m.Timestamps ?? []).map((t) => new Date(t).getTime()).sort((a, b) => b - a)[0];
    return [enis[Number(m.Id!.slice(1))], latest === undefined ? undefined : new Date(latest)];
  }));
}

/**
 * The flows a replacement took from the NAT holding the interface, as that NAT reported them
 * (HandoffReady for the interface and the replacement), or undefined while it has not. The
 * replacement's instance ID in the dimensions makes any datapoint in the window this handoff's.
 */
export async function handoffReady(
  send: (command: GetMetricDataCommand) => Promise<GetMetricDataCommandOutput>,
  eni: string, instanceId: string, start: Date, end: Date,
): Promise<number | undefined> {
  const [result] = (await send(new GetMetricDataCommand({
    StartTime: start,
    EndTime: end,
    MetricDataQueries: [{
      Id: 'handoff',
      MetricStat: {
        Metric: {
          Namespace: natMetricNamespace(eni), MetricName: METRIC.handoffReady,
          Dimensions: [{ Name: NAT_METRIC_DIMENSION, Value: eni }, { Name: HANDOFF_INSTANCE_DIMENSION, Value: instanceId }],
        },
        Period: 60,
        Stat: 'Maximum',
      },
      ReturnData: true,
    }],
  }))).MetricDataResults ?? [];
  const values = result?.Values ?? [];
  return values.length === 0 ? undefined : Math.max(...values);
}
