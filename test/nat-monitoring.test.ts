import { Match, Template } from 'aws-cdk-lib/assertions';
import { natStack, userDataScripts } from './helpers';

describe('NatMonitoring in the stack, with detailed monitoring', () => {
  const topic = 'arn:aws:sns:eu-west-1:111122223333:nat-alarms';
  const stack = natStack({ alarmTopicArn: topic, detailedMonitoring: true });
  const template = Template.fromStack(stack);
  const ref = (value: string) => stack.resolve(value);
  const nats = stack.natProvider.natInstances;

  test('four alarms per NAT and one for failovers, each notifying the topic on alarm and on recovery', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4 * nats.length + 1);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
      expect(alarm.Properties.AlarmDescription.length).toBeGreaterThan(40);
    }
  });

  test.each([0, 1])('NAT %i: status check, heartbeat, conntrack table and ENA allowances', (i) => {
    const eni = [{ Name: 'NetworkInterfaceId', Value: ref(nats[i].networkInterfaceId) }];
    // Each NAT's own namespace, the only one its role may publish to.
    const own = { 'Fn::Join': ['', ['NatInstance/', ref(nats[i].networkInterfaceId)]] };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/EC2', MetricName: 'StatusCheckFailed', Statistic: 'Maximum', Period: 300,
      Dimensions: [{ Name: 'AutoScalingGroupName', Value: ref(nats[i].autoScalingGroup.autoScalingGroupName) }],
      Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: own, MetricName: 'Heartbeat', Statistic: 'SampleCount', Period: 60, Dimensions: eni,
      Threshold: 1, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 3,
      // A NAT that stops beating altogether is the case that matters most.
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: own, MetricName: 'ConntrackUsage', Statistic: 'Maximum', Dimensions: eni, Threshold: 80, ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: own, MetricName: 'AllowanceExceeded', Statistic: 'Sum', Period: 300, Dimensions: eni, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('a failover alarm on the watchdog\'s dimensionless RouteMoved metric', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'NatInstance', MetricName: 'RouteMoved', Statistic: 'Sum', Period: 60, Dimensions: Match.absent(), Threshold: 1,
    });
  });

  test('a dashboard of throughput, connections, heartbeats, route moves and the alarms', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const text of ['NetworkIn', 'NetworkOut', 'ConntrackUsage', 'Heartbeat', 'AllowanceExceeded', 'RouteMoved', 'NAT alarms']) {
      expect(body).toContain(text);
    }
  });

  test('alarmEmail: a topic of the stack\'s own, under a rotated key CloudWatch may use, TLS only, with the address subscribed', () => {
    const own = natStack({ alarmEmail: 'ops@example.com' });
    const t = Template.fromStack(own);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlarmTopicKey'), 'Arn'] } });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    // CloudWatch acting for this account's alarms only: the account, and an alarm ARN of it.
    const ownAlarms = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
    };
    // The topic policy replaces SNS's default: it must allow CloudWatch to publish, or no alarm
    // ever reaches the inbox; and it denies publishing to anyone but CloudWatch.
    const [policy] = Object.values(t.findResources('AWS::SNS::TopicPolicy'));
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({ Sid: 'CloudWatchAlarmsPublish', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Condition: ownAlarms }),
      expect.objectContaining({
        Sid: 'OnlyCloudWatchPublishes', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sns:Publish',
        Condition: { StringNotEquals: { 'aws:PrincipalServiceName': 'cloudwatch.amazonaws.com' } },
      }),
    ]);
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Condition: ownAlarms })]) },
    });
    const topicRef = own.resolve((own.node.findChild('AlarmTopic') as unknown as { topicArn: string }).topicArn);
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
    }
  });

  test('without a topic the alarms have no actions; alarms and dashboard can be turned off', () => {
    const quiet = Template.fromStack(natStack());
    for (const alarm of Object.values(quiet.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
    const noDashboard = Template.fromStack(natStack({ detailedMonitoring: true, dashboard: false }));
    noDashboard.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    noDashboard.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    // No failover, no failover to alarm on.
    Template.fromStack(natStack({ routeWatchdog: false })).resourceCountIs('AWS::CloudWatch::Alarm', 4);
    const none = Template.fromStack(natStack({ alarms: false }));
    none.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    none.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});

describe('NatMonitoring by default: what health needs, within 1.25x of the cost floor', () => {
  const stack = natStack();
  const template = Template.fromStack(stack);

  test('per NAT a status-check and a heartbeat alarm, one for failovers, and no dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2 * stack.natProvider.natInstances.length + 1);
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.MetricName).sort();
    expect(names).toEqual(['Heartbeat', 'Heartbeat', 'RouteMoved', 'StatusCheckFailed', 'StatusCheckFailed']);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    Template.fromStack(natStack({ dashboard: true })).resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('the NATs publish their heartbeat only: no load metrics in their boot arguments', () => {
    for (const script of userDataScripts(template)) {
      expect(script).toContain("--heartbeat-metric 'Heartbeat' --check-period '60'");
      expect(script).not.toContain('--conntrack-metric');
    }
    for (const script of userDataScripts(Template.fromStack(natStack({ detailedMonitoring: true })))) {
      expect(script).toContain("--heartbeat-metric 'Heartbeat' --conntrack-metric 'ConntrackUsage' --allowance-metric 'AllowanceExceeded' --check-period '60'");
    }
  });
});
