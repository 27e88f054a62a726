import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  CONTROLLER_CONFIG_VARIABLE, CompactConfig, DETACH_WAIT_SECONDS, LAUNCH_RUNNING_WAIT_SECONDS, LIFECYCLE_EVENT, NAT_GROUP_TAG, SPOT_EVENT,
} from '../assets/contract';
import { COMPLIANCE_PACKS, LOGS_ENCRYPTED_BY_SERVICE, acknowledgeOwnPolicy, acknowledgeRule } from './compliance';
import { SelfHealingNat, anyAutoScalingGroupArn } from './nat-instance';
import { CONTROLLER_BUNDLE_DIR } from './paths';

/** A private route table and the NAT interface it uses while that NAT is healthy. */
export interface WatchedRouteTable {
  readonly routeTableId: string;
  readonly az: string;
  readonly homeNetworkInterfaceId: string;
}

/** Properties of a {@link RouteWatchdog}. */
export interface RouteWatchdogProps {
  /** The NATs to watch. */
  readonly nats: SelfHealingNat[];

  /** The route tables whose default route the watchdog keeps on a healthy NAT. */
  readonly routeTables: WatchedRouteTable[];

  /**
   * How often the watchdog evaluates when no event comes (a NAT that hangs without its
   * instance changing state shows only in its missing heartbeat).
   *
   * @default Duration.minutes(1)
   */
  readonly schedule?: Duration;

  /** How long a new NAT may take to prove that NAT works: its boot window. */
  readonly bootTimeout: Duration;

  /**
   * Whether a zone's routes may move to another zone's NAT while its own is unhealthy or being
   * replaced. Without it the controller still attaches each NAT's interface and completes its
   * launches, but leaves every route on its home NAT.
   */
  readonly failover: boolean;

  /**
   * How long a planned replacement waits for the new instance to take the old NAT's connection
   * state before the interface moves (the provider's `connectionHandoff`).
   *
   * @default - no handoff: the zone's routes move to another zone first
   */
  readonly handoffWait?: Duration;

  /**
   * Whether the NATs run on Spot: the controller then acts on Spot interruption warnings and
   * rebalance recommendations, and may mark a NAT instance unhealthy.
   *
   * @default false
   */
  readonly spot?: boolean;

  /**
   * Reserved concurrency of the function: 1 runs one invocation at a time.
   *
   * @default - none: each route change is checked against the route just before it is made
   */
  readonly reservedConcurrency?: number;

  /**
   * A KMS key for the function's log group.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * A Lambda function that keeps every private route table's default route on a healthy NAT:
 * its own zone's while that NAT is healthy, another zone's NAT otherwise, and back again. It
 * reacts to instance state changes and to the NAT groups' terminate lifecycle hooks (before
 * the instance goes), and evaluates on a schedule for what events do not show.
 */
export class RouteWatchdog extends Construct {
  public static readonly DEFAULT_SCHEDULE = Duration.minutes(1);
  /** Lambda's limit on the size of a function's environment, in bytes. */
  public static readonly ENVIRONMENT_LIMIT = 4096;

  /** The function's timeout without the handoff. */
  public static readonly DEFAULT_TIMEOUT = Duration.seconds(60);

  /**
   * The function's timeout: with the handoff, a launch waits for the new instance to run, for the
   * handoff, and for the interface to come free, with 30 s of margin for the calls.
   */
  public static timeoutFor(handoffWait?: Duration): Duration {
    return handoffWait === undefined ? RouteWatchdog.DEFAULT_TIMEOUT
      : Duration.seconds(LAUNCH_RUNNING_WAIT_SECONDS + handoffWait.toSeconds() + DETACH_WAIT_SECONDS + 30);
  }

  /** The watchdog function. */
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: RouteWatchdogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, encryptionKey: props.logEncryptionKey });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'NAT route watchdog: reads NAT health, replaces the default route of the private route tables',
    });
    logGroup.grantWrite(role);

    // The compact form assets/watchdog/events.ts decodes: Lambda allows 4 KB of environment.
    const eniOf = props.nats.map((nat) => nat.networkInterface.ref);
    const config: CompactConfig = {
      boot: props.bootTimeout.toSeconds(),
      fo: props.failover ? 1 : 0,
      st: stack.stackName,
      nats: props.nats.map((nat) => [nat.networkInterface.ref, nat.availabilityZone, nat.groupTag,
        stack.getLogicalId(nat.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup)]),
      tables: props.routeTables.map((t) => [t.routeTableId, eniOf.indexOf(t.homeNetworkInterfaceId)]),
      ...(props.handoffWait ? { ho: props.handoffWait.toSeconds() } : {}),
      ...(props.spot ? { sp: 1 } : {}),
    };
    // IDs resolve to 21 characters (rtb-/eni- and 17 digits); a zone name selected by index to at
    // most about 20. What does not fit must fail here, not at deployment.
    const estimate = 60 + props.routeTables.length * 30 + props.nats.length * 130;
    if (estimate > RouteWatchdog.ENVIRONMENT_LIMIT) {
      throw new Error(`The route watchdog's configuration for ${props.routeTables.length} route tables and ${props.nats.length} NATs ` +
        `would be about ${estimate} bytes, over Lambda's ${RouteWatchdog.ENVIRONMENT_LIMIT}-byte environment; turn the watchdog off (routeWatchdog: false) or use fewer private subnets`);
    }

    this.function = new lambda.Function(this, 'Function', {
      code: prebuiltCode(),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: RouteWatchdog.timeoutFor(props.handoffWait),
      role,
      logGroup,
      environment: { [CONTROLLER_CONFIG_VARIABLE]: stack.toJsonString(config) },
      description: 'Keeps private default routes on a healthy NAT instance',
      reservedConcurrentExecutions: props.reservedConcurrency,
    });

    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ObserveNats',
      // None of these supports resource-level permissions.
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeInstanceStatus', 'ec2:DescribeInstances', 'ec2:DescribeRouteTables',
        'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeAutoScalingGroups', 'cloudwatch:GetMetricData'],
      resources: ['*'],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'MovePrivateDefaultRoutes',
      // Replace only: creating a missing route is CloudFormation's job, and racing it would fail a deployment.
      actions: ['ec2:ReplaceRoute'],
      resources: props.routeTables.map((t) => stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: t.routeTableId })),
    }));
    const enis = props.nats.map((nat) => stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: nat.networkInterface.ref }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'MoveNatInterfaces',
      // The stack's NAT interfaces, between instances of NAT groups (their tag); instance IDs
      // exist only after launch.
      actions: ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface'],
      resources: [...enis, stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
      conditions: { StringEquals: { [`aws:ResourceTag/${NAT_GROUP_TAG}`]: props.nats.map((nat) => nat.groupTag) } },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'SignalNatReady',
      // The controller, not the instance, tells CloudFormation that a new NAT carries traffic.
      actions: ['cloudformation:SignalResource'],
      resources: [stack.stackId],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'KeepSourceDestCheckOff',
      actions: ['ec2:ModifyNetworkInterfaceAttribute'],
      resources: enis,
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReleaseTerminatingNat',
      // Launches and terminations of this stack's NAT groups only.
      actions: ['autoscaling:CompleteLifecycleAction'],
      resources: [anyAutoScalingGroupArn(stack)],
      conditions: { StringEquals: { [`aws:ResourceTag/${NAT_GROUP_TAG}`]: props.nats.map((nat) => nat.groupTag) } },
    }));

    if (props.spot) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ReplaceWarnedSpotNat',
        // A Spot NAT that is about to be reclaimed: its group replaces it, launching first.
        actions: ['autoscaling:SetInstanceHealth'],
        resources: [anyAutoScalingGroupArn(stack)],
        conditions: { StringEquals: { [`aws:ResourceTag/${NAT_GROUP_TAG}`]: props.nats.map((nat) => nat.groupTag) } },
      }));
    }

    const target = new targets.LambdaFunction(this.function, { retryAttempts: 2 });
    new events.Rule(this, 'Schedule', {
      schedule: events.Schedule.rate(props.schedule ?? RouteWatchdog.DEFAULT_SCHEDULE),
      targets: [target],
    });
    new events.Rule(this, 'InstanceStops', {
      eventPattern: {
        source: ['aws.ec2'],
        detailType: ['EC2 Instance State-change Notification'],
        detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] },
      },
      targets: [target],
    });
    if (props.spot) {
      // Any instance's warning reaches the function, which acts only on its NAT groups' instances.
      new events.Rule(this, 'SpotWarnings', {
        eventPattern: { source: ['aws.ec2'], detailType: [SPOT_EVENT.interruption, SPOT_EVENT.rebalance] },
        targets: [target],
      });
    }
    // The NAT groups' lifecycle hooks (declared in the groups themselves): a launch waits for the
    // interface, a termination for the routes to move away. The rules and the function must exist
    // before the groups launch anything, so they match the stack's groups by the prefix of their
    // generated names, not by a reference; the function knows its NATs' groups by their tag.
    for (const [id, detailType] of [['NatTerminating', LIFECYCLE_EVENT.terminating], ['NatLaunching', LIFECYCLE_EVENT.launching]]) {
      new events.Rule(this, id, {
        eventPattern: {
          source: ['aws.autoscaling'],
          detailType: [detailType],
          detail: { AutoScalingGroupName: [{ prefix: `${stack.stackName}-` }] },
        },
        targets: [target],
      });
    }

    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'Only Describe calls and cloudwatch:GetMetricData, none of which supports resource-level permissions.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
        reason: `Instance IDs exist only after launch; the ${NAT_GROUP_TAG} tag condition limits attach and detach to instances of NAT groups, and the interfaces are named.`,
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*]',
        reason: `Group ARNs hold UUIDs known only after creation; the ${NAT_GROUP_TAG} tag condition limits CompleteLifecycleAction (and, with Spot, SetInstanceHealth) to NAT groups.`,
      },
    );
    this.acknowledgeCompliance(role, logGroup, props);
    // The function waits for its role's policy; its DependsOn on the role itself repeats the
    // GetAtt of the role's ARN, which cfn-lint reports (W3005).
    const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as iam.CfnPolicy;
    (this.function.node.defaultChild as lambda.CfnFunction).addOverride('DependsOn', [stack.getLogicalId(policy)]);
  }

  /** Why the rules of the opt-in compliance packs that flag the controller do not apply. */
  private acknowledgeCompliance(role: iam.Role, logGroup: logs.LogGroup, props: RouteWatchdogProps): void {
    const fn = this.function;
    acknowledgeRule(fn, 'LambdaInsideVPC', 'The controller repairs the VPC\'s egress: inside the VPC it would need the NATs it repairs, or interface endpoints for five services at about $7 a month each per zone.');
    // Level-triggered: every run reconciles from what AWS reports, not from the event.
    const reconciles = 'The controller is level-triggered: each run, and the schedule every minute, reconciles the routes and interfaces from what AWS reports, so a failed or lost event is redone within a minute and a dead-letter queue would hold only stale events.';
    acknowledgeRule(fn, 'LambdaDLQ', reconciles, [COMPLIANCE_PACKS.nist, COMPLIANCE_PACKS.hipaa, COMPLIANCE_PACKS.serverless]);
    acknowledgeRule(this, 'EventBusDLQ', reconciles, [COMPLIANCE_PACKS.serverless]);
    acknowledgeRule(fn, 'LambdaTracing', 'Each decision is a JSON log line with its reason and the number of AWS calls made; active tracing would add xray:PutTraceSegments on * for no further insight.', [COMPLIANCE_PACKS.serverless]);
    acknowledgeOwnPolicy(role, 'The role\'s statements belong to it alone, scoped to this stack\'s interfaces, route tables and NAT groups');
    if (props.reservedConcurrency === undefined) {
      acknowledgeRule(fn, 'LambdaConcurrency', 'Reserved concurrency is offered (controllerReservedConcurrency) but not the default: accounts with the lowest Lambda quota cannot deploy it, and each route change is checked against the route just before it.',
        [COMPLIANCE_PACKS.nist, COMPLIANCE_PACKS.hipaa]);
    }
    if (props.logEncryptionKey === undefined) {
      acknowledgeRule(logGroup, 'CloudWatchLogGroupEncrypted', LOGS_ENCRYPTED_BY_SERVICE);
    }
  }
}

/**
 * The watchdog's code, bundled once when the package is built (tools/build.ts), so that
 * synthesizing needs neither esbuild nor Docker.
 */
function prebuiltCode(): lambda.Code {
  if (!fs.existsSync(path.join(CONTROLLER_BUNDLE_DIR, 'index.js'))) {
    throw new Error(`The route watchdog's prebuilt bundle is missing from ${CONTROLLER_BUNDLE_DIR}; in a clone of this repository, run npm run build`);
  }
  return lambda.Code.fromAsset(CONTROLLER_BUNDLE_DIR);
}
