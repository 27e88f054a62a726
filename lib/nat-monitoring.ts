import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC, METRIC_NAMESPACE } from '../assets/contract';
import { ISelfHealingNat } from './nat-instance';
import { COMPLIANCE_PACKS, acknowledgeRule } from './compliance';

/** Properties of {@link NatMonitoring}. */
export interface NatMonitoringProps {
  /** The NATs to watch. */
  readonly nats: ISelfHealingNat[];

  /**
   * Where the alarms notify (alarm and OK).
   *
   * @default - no action: the alarms show in the console and on the dashboard
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Connection-tracking table use, in percent, above which a NAT is about to drop new flows.
   *
   * @default 80
   */
  readonly conntrackThresholdPercent?: number;

  /**
   * Whether the route watchdog is deployed, and so whether to alarm on its failovers.
   *
   * @default true
   */
  readonly watchdog?: boolean;

  /**
   * Whether to add a CloudWatch dashboard of the NATs' throughput, connections and health.
   *
   * @default true
   */
  readonly dashboard?: boolean;

  /**
   * Whether the NATs publish their load metrics, and so whether to alarm on them.
   *
   * @default false
   */
  readonly detailed?: boolean;
}

/**
 * Alarms and a dashboard for the NAT instances: per NAT, a failed status check and a missing
 * self-check heartbeat, and with detailed monitoring a connection-tracking table filling up and
 * ENA allowances exceeded (packets the instance dropped for exceeding its bandwidth, packet or
 * connection allowance); and one alarm when the route watchdog fails a zone over.
 */
export class NatMonitoring extends Construct {
  /** Every alarm, per NAT in order, then the failover alarm. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: NatMonitoringProps) {
    super(scope, id);
    props.nats.forEach((nat, i) => {
      const zone = `NAT ${i} (${nat.node.scope!.node.id})`;
      this.alarms.push(
        nat.metricStatusCheckFailed().createAlarm(this, `Nat${i}StatusCheckFailed`, {
          alarmDescription: `${zone}: the instance failed an EC2 status check; Auto Scaling replaces it, the route watchdog fails its zone over`,
          threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        nat.metricHeartbeat().createAlarm(this, `Nat${i}HeartbeatMissing`, {
          alarmDescription: `${zone}: no self-check heartbeat for 3 minutes; NAT is not verified in place (run nat-doctor)`,
          threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, evaluationPeriods: 3, datapointsToAlarm: 3,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      );
      if (props.detailed) {
        this.alarms.push(
          nat.metricConntrackUsage().createAlarm(this, `Nat${i}ConntrackHigh`, {
            alarmDescription: `${zone}: the connection-tracking table is over ${props.conntrackThresholdPercent ?? 80}% full; new flows will be dropped when it is full`,
            threshold: props.conntrackThresholdPercent ?? 80, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
          nat.metricAllowanceExceeded().createAlarm(this, `Nat${i}AllowanceExceeded`, {
            alarmDescription: `${zone}: packets dropped for exceeding the instance's bandwidth, packet-rate or connection allowance; choose a larger instance type`,
            threshold: 0, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        );
      }
    });
    const routeMoves = new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName: METRIC.routeMoved, statistic: 'Sum', period: Duration.minutes(1) });
    if (props.watchdog ?? true) {
      this.alarms.push(routeMoves.createAlarm(this, 'RouteFailover', {
        alarmDescription: 'The route watchdog moved a private default route: a zone failed over to another zone\'s NAT, or back',
        threshold: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }));
    }
    if (props.alarmTopic) {
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
        alarm.addOkAction(new actions.SnsAction(props.alarmTopic));
      }
    } else {
      acknowledgeRule(this, 'CloudWatchAlarmAction', 'No destination was given: the alarms act once alarmEmail or alarmTopicArn names one, and until then show in the console and the dashboard.',
        [COMPLIANCE_PACKS.nist, COMPLIANCE_PACKS.hipaa]);
    }

    if (props.dashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        widgets: [
          [
            new cloudwatch.GraphWidget({
              title: 'Throughput (bytes per 5 minutes)', width: 12,
              left: props.nats.flatMap((nat, i) => [
                nat.metricNetworkIn().with({ label: `NAT ${i} in` }),
                nat.metricNetworkOut().with({ label: `NAT ${i} out` }),
              ]),
            }),
            new cloudwatch.GraphWidget({
              title: 'Connection-tracking table use (%)', width: 12,
              left: props.nats.map((nat, i) => nat.metricConntrackUsage().with({ label: `NAT ${i}` })),
              leftYAxis: { min: 0, max: 100 },
            }),
          ],
          [
            new cloudwatch.GraphWidget({
              title: 'Self-check heartbeats and allowance drops', width: 12,
              left: props.nats.map((nat, i) => nat.metricHeartbeat().with({ label: `NAT ${i} heartbeats` })),
              right: props.nats.map((nat, i) => nat.metricAllowanceExceeded().with({ label: `NAT ${i} allowance drops` })),
            }),
            new cloudwatch.GraphWidget({ title: 'Route watchdog: routes moved', width: 12, left: [routeMoves] }),
          ],
          [new cloudwatch.AlarmStatusWidget({ title: 'NAT alarms', width: 24, alarms: this.alarms })],
        ],
      });
    }
  }
}
