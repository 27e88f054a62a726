import { GetMetricDataCommand, GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { HANDOFF_INSTANCE_DIMENSION, METRIC, NAT_METRIC_DIMENSION, natMetricNamespace } from '../contract';

type Send = (command: GetMetricDataCommand) => Promise<GetMetricDataCommandOutput>;

/** One query of a NAT's own metric: its maximum per minute, in the NAT's namespace. */
function natMetricQuery(id: string, eni: string, metricName: string, extraDimensions: Array<{ Name: string; Value: string }> = []) {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: natMetricNamespace(eni), MetricName: metricName, Dimensions: [{ Name: NAT_METRIC_DIMENSION, Value: eni }, ...extraDimensions] },
      Period: 60,
      Stat: 'Maximum',
    },
    ReturnData: true,
  };
}

/**
 * The latest heartbeat of each NAT interface (the Heartbeat metric the NAT's self-check publishes
 * in the NAT's own namespace) between `start` and `end`, in one GetMetricData call. Shared by the
 * route watchdog and nat-doctor; `send` is how the caller issues the call (with its retries).
 */
export async function lastHeartbeats(send: Send, enis: readonly string[], start: Date, end: Date): Promise<Map<string, Date | undefined>> {
  const results = (await send(new GetMetricDataCommand({
    StartTime: start,
    EndTime: end,
    MetricDataQueries: enis.map((eni, i) => natMetricQuery(`h${i}`, eni, METRIC.heartbeat)),
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
export async function handoffReady(send: Send, eni: string, instanceId: string, start: Date, end: Date): Promise<number | undefined> {
  const [result] = (await send(new GetMetricDataCommand({
    StartTime: start,
    EndTime: end,
    MetricDataQueries: [natMetricQuery('handoff', eni, METRIC.handoffReady, [{ Name: HANDOFF_INSTANCE_DIMENSION, Value: instanceId }])],
  }))).MetricDataResults ?? [];
  const values = result?.Values ?? [];
  return values.length === 0 ? undefined : Math.max(...values);
}
