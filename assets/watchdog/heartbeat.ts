import { GetMetricDataCommand, GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { METRIC, NAT_METRIC_DIMENSION, natMetricNamespace } from '../contract';

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
