import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { natMetricNamespace } from '../assets/contract';
import { NatInstanceStackProps } from '../lib';
import { SelfHealingNat } from '../lib/nat-instance';
import { natStack } from './helpers';

/**
 * Least privilege and safe defaults, checked over the whole template of several
 * configurations, not just where the code means to put them.
 */
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CONFIGURATIONS: Record<string, NatInstanceStackProps> = {
  defaults: {},
  'three zones': { azs: 3 },
  'x86 with a KMS key and an extra CIDR': { instanceType: new ec2.InstanceType('c6i.large'), ebsKmsKeyArn: KEY, additionalCidrs: ['100.64.0.0/16'] },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- template JSON is untyped
type Json = any;
type Resources = Record<string, { Type: string; Properties: Record<string, Json>; DependsOn?: string[] }>;

describe.each(Object.entries(CONFIGURATIONS))('%s', (_name, props) => {
  const stack = natStack(props);
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  test('no security group admits 0.0.0.0/0 or ::/0, and none opens port 22', () => {
    const rules = [
      ...ofType('AWS::EC2::SecurityGroup').flatMap(([, r]) => r.Properties.SecurityGroupIngress ?? []),
      ...ofType('AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties),
    ];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.CidrIp).not.toBe('0.0.0.0/0');
      expect(rule.CidrIpv6).toBeUndefined();
      expect(rule.FromPort).not.toBe(22);
      // All-protocol rules come only from the VPC's own blocks.
      expect(['10.0.0.0/16', '100.64.0.0/16']).toContain(rule.CidrIp);
    }
  });

  test('no key pair; IMDSv2 required with hop limit 1; every volume encrypted', () => {
    const templates = ofType('AWS::EC2::LaunchTemplate');
    expect(templates.length).toBeGreaterThan(0);
    for (const [, lt] of templates) {
      const data = lt.Properties.LaunchTemplateData;
      expect(data.KeyName).toBeUndefined();
      expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
      expect(data.BlockDeviceMappings.length).toBeGreaterThan(0);
      for (const mapping of data.BlockDeviceMappings) {
        expect(mapping.Ebs.Encrypted).toBe(true);
        expect(mapping.Ebs.KmsKeyId).toBe(props.ebsKmsKeyArn);
      }
    }
    expect(ofType('AWS::EC2::Volume')).toEqual([]);
    expect(ofType('AWS::EC2::KeyPair')).toEqual([]);
  });

  test('no IAM statement with a wildcard action, and none that touches addresses or other interfaces', () => {
    const policies = ofType('AWS::IAM::Policy');
    expect(policies.length).toBeGreaterThan(0);
    for (const [, policy] of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [statement.Action].flat();
        for (const action of actions) {
          expect(action).not.toContain('*');
          expect(['ec2:AssociateAddress', 'ec2:DisassociateAddress', 'ec2:CreateNetworkInterface', 'iam:PassRole']).not.toContain(action);
        }
      }
    }
  });

  test('no role has a managed policy, and none may read SSM parameters, documents or Run Command messages', () => {
    const roles = ofType('AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(2);
    for (const [, role] of roles) {
      expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
    }
    const actions = ofType('AWS::IAM::Policy').flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Array<Record<string, Json>>).flatMap((s) => [s.Action].flat()));
    expect(actions).toContain('ssm:UpdateInstanceInformation');
    expect(actions.filter((a: string) => /^ssm:(Get|Describe|List|Send)|^ec2messages:/.test(a))).toEqual([]);
  });

  test('no NAT\'s role may move a network interface: a compromised NAT cannot take another\'s', () => {
    for (const nat of stack.natProvider.natInstances) {
      const roleRef = stack.resolve(nat.role.roleName);
      const policies = ofType('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]));
      expect(policies).toHaveLength(1);
      const actions = policies.flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Array<Record<string, Json>>).flatMap((s) => [s.Action].flat()));
      expect(actions.length).toBeGreaterThan(0);
      expect(actions.filter((a: string) => /^ec2:|^\*$|:\*$/.test(a))).toEqual([]);
    }
  });

  test('only the controller may move the NAT interfaces, and only the stack\'s, between instances of NAT groups', () => {
    const movers = ofType('AWS::IAM::Policy').flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Array<Record<string, Json>>)
      .filter((s) => [s.Action].flat().some((a: string) => /^ec2:(Attach|Detach)NetworkInterface$/.test(a))));
    expect(movers).toHaveLength(1);
    const [statement] = movers;
    const enis = stack.natProvider.natInstances.map((n) => JSON.stringify(stack.resolve(n.networkInterfaceId)));
    const resources = [statement.Resource].flat().map((r: Json) => JSON.stringify(r));
    expect(resources.filter((r: string) => r.includes(':network-interface/'))).toHaveLength(enis.length);
    for (const eni of enis) {
      expect(resources.some((r: string) => r.includes(eni))).toBe(true);
    }
    expect(resources.filter((r: string) => !r.includes(':network-interface/'))).toEqual([expect.stringContaining(':instance/*')]);
    expect(statement.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/NatInstanceGroup': (stack.natProvider.natInstances as SelfHealingNat[]).map((n) => n.groupTag) } });
  });

  test('VPC flow logs are on, kept for a limited time', () => {
    expect(ofType('AWS::EC2::FlowLog')).toHaveLength(1);
    const [[, group]] = ofType('AWS::Logs::LogGroup');
    expect(group.Properties.RetentionInDays).toBe(30);
  });
});

/**
 * No NAT can vouch for another: CloudWatch's cloudwatch:namespace condition cannot restrict
 * dimensions, so each NAT publishes in a namespace of its own and may publish nowhere else. moto
 * ignores IAM conditions, so this is proven over the synthesized policies, evaluated the way IAM
 * evaluates these statements (an unknown condition counts as satisfied, so that the proof errs
 * towards "allowed").
 */
describe('a forged heartbeat (NAT A for NAT B) is denied by IAM', () => {
  const stack = natStack({ azs: 3 });
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const nats = stack.natProvider.natInstances as SelfHealingNat[];
  const namespaceOf = (nat: SelfHealingNat) => stack.resolve(natMetricNamespace(nat.networkInterfaceId));
  type Statement = { Effect: string; Action: string | string[]; Resource: Json; Condition?: Record<string, Record<string, Json>> };

  /** The statements of every policy attached to a role, by the role's logical ID. */
  const statementsOf = (roleId: string): Statement[] => Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles ?? []).some((ref: Json) => ref.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
  const actionMatches = (pattern: string, action: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.:]/g, '\\$&')).join('.*')}$`, 'i').test(action);
  /** May a principal with these statements PutMetricData into this namespace? */
  const mayPublish = (statements: Statement[], namespace: Json) => statements.some((s) => s.Effect === 'Allow'
    && [s.Action].flat().some((a) => actionMatches(a, 'cloudwatch:PutMetricData'))
    && Object.entries(s.Condition ?? {}).every(([operator, keys]) => Object.entries(keys).every(([key, value]) => {
      if (key !== 'cloudwatch:namespace') {
        return true;
      }
      if (operator === 'StringEquals') {
        return [value].flat().some((v) => JSON.stringify(v) === JSON.stringify(namespace));
      }
      return true; // StringLike or anything else: assume it matches
    })));

  test('each NAT publishes into its own namespace only, and cannot publish into another\'s', () => {
    expect(nats).toHaveLength(3);
    for (const a of nats) {
      const roleId = stack.getLogicalId(a.role.node.defaultChild as CfnElement);
      const statements = statementsOf(roleId);
      expect(mayPublish(statements, namespaceOf(a))).toBe(true);
      for (const b of nats.filter((n) => n !== a)) {
        expect(mayPublish(statements, namespaceOf(b))).toBe(false);
      }
      // Nor into the shared namespace the controller's RouteMoved metric uses.
      expect(mayPublish(statements, 'NatInstance')).toBe(false);
    }
  });

  test('no other role of the stack may publish metrics at all (the controller logs its metric)', () => {
    const natRoles = new Set(nats.map((n) => stack.getLogicalId(n.role.node.defaultChild as CfnElement)));
    const others = Object.entries(resources).filter(([id, r]) => r.Type === 'AWS::IAM::Role' && !natRoles.has(id));
    expect(others.length).toBeGreaterThan(0);
    for (const [id] of others) {
      for (const nat of nats) {
        expect(mayPublish(statementsOf(id), namespaceOf(nat))).toBe(false);
      }
    }
  });

  test('the evaluator does allow what a policy without the condition would allow (it can fail)', () => {
    const open: Statement[] = [{ Effect: 'Allow', Action: 'cloudwatch:Put*', Resource: '*' }];
    expect(mayPublish(open, namespaceOf(nats[1]))).toBe(true);
    const like: Statement[] = [{ Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringLike: { 'cloudwatch:namespace': 'NatInstance/*' } } }];
    expect(mayPublish(like, namespaceOf(nats[1]))).toBe(true);
  });

  test('the alarms read each NAT\'s metrics from that NAT\'s own namespace, as the controller and nat-doctor do (lastHeartbeats)', () => {
    expect(natMetricNamespace('eni-0123456789abcdef0')).toBe('NatInstance/eni-0123456789abcdef0');
    for (const nat of nats) {
      expect(stack.resolve(nat.metricHeartbeat().namespace)).toEqual(namespaceOf(nat));
    }
  });
});
