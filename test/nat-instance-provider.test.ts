import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Fn, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DEFAULT_HANDOFF_WAIT_SECONDS, HANDOFF_INSTANCE_DIMENSION, HANDOFF_PORT, METRIC, SECURITY_GROUP_INBOUND_RULES, SPECIAL_IPV4_BLOCKS, SPOT_EVENT } from '../assets/contract';
import { SelfHealingNatProvider } from '../lib';
import { MAX_ADDITIONAL_CIDRS } from '../lib/nat-instance-provider';
import { SelfHealingNat } from '../lib/nat-instance';
import { SHELL_VALUE_FORMS, hasShellForm } from '../lib/shell-forms';
import { USER_DATA_BUDGET_BYTES, shellValue } from '../lib/user-data';
import { embeddedFiles, userDataScripts, vpcWithProvider } from './helpers';

const assets = path.join(__dirname, '..', 'assets', 'boot');

/** A provider in a plain ec2.Vpc, not yet synthesized. */
function vpcWithProviderUnsynthesized(props: ConstructorParameters<typeof SelfHealingNatProvider>[0]) {
  const stack = new Stack(new App(), 'UserStack');
  const provider = new SelfHealingNatProvider(props);
  new ec2.Vpc(stack, 'Vpc', { natGatewayProvider: provider, maxAzs: 1 });
  return { stack, provider };
}
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('SelfHealingNatProvider in a plain ec2.Vpc of a user stack', () => {
  const { stack, provider, vpc, template } = vpcWithProvider({}, { maxAzs: 2 });

  test('one NAT instance per public subnet, no NAT gateway, private routes to the same-zone interface', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
    template.resourceCountIs('AWS::EC2::NetworkInterface', 2);
    expect(provider.natInstances).toHaveLength(2);
    vpc.privateSubnets.forEach((subnet, i) => {
      template.hasResourceProperties('AWS::EC2::Route', {
        RouteTableId: stack.resolve(subnet.routeTable.routeTableId),
        DestinationCidrBlock: '0.0.0.0/0',
        NetworkInterfaceId: stack.resolve(provider.natInstances[i].networkInterfaceId),
      });
    });
  });

  test('configuredGateways names each zone\'s interface', () => {
    expect(provider.configuredGateways.map((g) => stack.resolve(g.gatewayId)))
      .toEqual(provider.natInstances.map((nat) => stack.resolve(nat.networkInterfaceId)));
    expect(provider.configuredGateways.map((g) => g.az)).toEqual(vpc.availabilityZones);
  });

  test('the security group admits the VPC CIDR and nothing else', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^NAT instances') } });
    const [group] = Object.values(groups);
    expect(group.Properties.SecurityGroupIngress).toEqual([
      { CidrIp: '10.0.0.0/16', IpProtocol: '-1', Description: 'Traffic to NAT from the VPC' },
    ]);
    for (const rule of group.Properties.SecurityGroupIngress) {
      expect(rule.CidrIp).not.toBe('0.0.0.0/0');
      expect(rule.CidrIpv6).toBeUndefined();
    }
  });

  test('user data carries the loader byte for byte, which fetches the other scripts by their SHA-256', () => {
    const sha = (name: string) => crypto.createHash('sha256').update(fs.readFileSync(path.join(assets, name))).digest('hex');
    for (const script of userDataScripts(template)) {
      const files = embeddedFiles(script);
      expect(Object.keys(files)).toEqual(['/opt/nat-instance/nat-lib.sh', '/opt/nat-instance/load.sh']);
      for (const name of ['nat-lib.sh', 'load.sh']) {
        expect(files[`/opt/nat-instance/${name}`].equals(fs.readFileSync(path.join(assets, name)))).toBe(true);
      }
      expect(script.startsWith('#!/bin/bash\nset -euo pipefail\n')).toBe(true);
      const bucket = "'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}'";
      for (const name of ['configure-nat.sh', 'nat-bootstrap.sh']) {
        expect(script).toMatch(new RegExp(`--fetch '${name}' ${escape(bucket)} '[0-9a-f]{64}\\.sh' '${sha(name)}' `));
      }
      expect(script).toMatch(/\n\/opt\/nat-instance\/load\.sh --region '\$\{AWS::Region\}' --stack-name 'UserStack' --resource '\w+' --eni-id '\$\{\w+\}' --fetch .* -- --vpc-cidr '10\.0\.0\.0\/16' --metric-namespace /);
    }
  });

  test('each NAT role may read exactly the two script objects of the asset bucket', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes('FetchBootScripts'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      const statement = policy.Properties.PolicyDocument.Statement.find((s: { Sid?: string }) => s.Sid === 'FetchBootScripts');
      expect(statement.Action).toBe('s3:GetObject');
      expect(statement.Resource).toHaveLength(2);
      for (const resource of statement.Resource) {
        const text = JSON.stringify(resource);
        expect(text).toMatch(/":s3:::",\{"Fn::Sub":"cdk-hnb659fds-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}"\},"\/[0-9a-f]{64}\.sh"\]\]\}$/);
        expect(text).not.toContain('*');
      }
    }
  });

  // The most blocks allowed, each with the longest text a block can have.
  const longest = Array.from({ length: MAX_ADDITIONAL_CIDRS }, (_, i) => `${160 + i}.200.200.240/28`);
  test.each([
    ['the default configuration', {}, {}],
    [`the largest: ${MAX_ADDITIONAL_CIDRS} more CIDR blocks, a VPC from IPAM`, { additionalCidrs: longest },
      { ipAddresses: ec2.IpAddresses.awsIpamAllocation({ ipv4IpamPoolId: 'ipam-pool-0123456789abcdef0', ipv4NetmaskLength: 20, defaultSubnetIpv4NetmaskLength: 24 }) }],
  ])('user data stays within 12 KiB: %s, with a 128-character stack name', (_name, props, vpcProps) => {
    const { template: t } = vpcWithProvider(props, { maxAzs: 1, ...vpcProps });
    for (const script of userDataScripts(t)) {
      // References resolve to IDs of about their placeholders' length; the stack name is the longest.
      const worstCase = script.replace(/--stack-name '\S+'/, `--stack-name '${'S'.repeat(128)}'`);
      expect(Buffer.byteLength(worstCase)).toBeLessThanOrEqual(USER_DATA_BUDGET_BYTES);
      expect(USER_DATA_BUDGET_BYTES).toBe(12 * 1024);
    }
  });

  test(`the most additionalCidrs (${MAX_ADDITIONAL_CIDRS}) fill the security group's inbound rules to the quota, and one more is refused`, () => {
    const { template: t } = vpcWithProvider({ additionalCidrs: longest }, { maxAzs: 1 });
    const [group] = Object.values(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^NAT instances') } }));
    expect(group.Properties.SecurityGroupIngress).toHaveLength(SECURITY_GROUP_INBOUND_RULES);
    // What connections adds counts too, and fails synth before any template is written.
    const full = vpcWithProviderUnsynthesized({ additionalCidrs: longest });
    full.provider.connections.allowFrom(ec2.Peer.ipv4('192.168.0.0/24'), ec2.Port.tcp(443));
    expect(() => Template.fromStack(full.stack)).toThrow("The NATs' security group has 61 inbound rules, over Amazon VPC's quota of 60 per security group");
    expect(() => new SelfHealingNatProvider({ additionalCidrs: [...longest, '10.200.0.0/16'] }))
      .toThrow(`Invalid additionalCidrs: got '60 blocks'; expected at most 59: the NATs' security group admits the VPC's block and each of these by one inbound rule, and a security group holds 60`);
  });

  test('a VPC whose CIDR is chosen at deployment (IPAM) is referenced in the rules and the boot', () => {
    const ipam = vpcWithProvider({}, {
      maxAzs: 1,
      ipAddresses: ec2.IpAddresses.awsIpamAllocation({ ipv4IpamPoolId: 'ipam-pool-0123456789abcdef0', ipv4NetmaskLength: 20, defaultSubnetIpv4NetmaskLength: 24 }),
    });
    const vpcId = ipam.stack.getLogicalId(ipam.vpc.node.defaultChild as ec2.CfnVPC);
    ipam.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [Match.objectLike({ CidrIp: { 'Fn::GetAtt': [vpcId, 'CidrBlock'] } })],
    });
    expect(userDataScripts(ipam.template)[0]).toContain(`--vpc-cidr '\${${vpcId}.CidrBlock}'`);
  });

  test('the provider refuses to serve a second VPC', () => {
    expect(() => new ec2.Vpc(stack, 'Second', { natGatewayProvider: provider })).toThrow('A SelfHealingNatProvider serves one VPC; create one provider per VPC');
  });

  test('securityGroup before use is an error that says what to do', () => {
    expect(() => new SelfHealingNatProvider().securityGroup).toThrow('Pass the SelfHealingNatProvider to a Vpc before reading its securityGroup');
  });
});

test('the special ranges additionalCidrs refuses are the ones configure-nat.sh never forwards to', () => {
  const script = fs.readFileSync(path.join(assets, 'configure-nat.sh'), 'utf8');
  const list = /^readonly NO_FORWARD_TO=\(([^)]*)\)$/m.exec(script);
  expect(list?.[1].split(' ')).toEqual(SPECIAL_IPV4_BLOCKS.map((b) => b.cidr));
});

describe('values written into the user data', () => {
  const FORMS = Object.keys(SHELL_VALUE_FORMS) as Array<keyof typeof SHELL_VALUE_FORMS>;
  const hostile = ["it's", 'a b', 'x\ny', '$(reboot)', '`reboot`', 'a;b', '', 'é', 'a'.repeat(2000)];
  test.each(hostile.map((v) => [JSON.stringify(v).slice(0, 30), v]))('a literal %s is refused for every form', (_name, value) => {
    for (const form of FORMS) {
      expect(() => shellValue(form, value)).toThrow(`A value for the NAT user data does not have the form of ${form}`);
    }
  });

  test('well-formed literals and whole tokens are single-quoted; text around a token must be plain', () => {
    expect(shellValue('vpc-cidr', '10.0.0.0/16')).toBe("'10.0.0.0/16'");
    expect(shellValue('period', 60)).toBe("'60'");
    expect(() => shellValue('vpc-cidr', '10.0.0.0/33')).toThrow('vpc-cidr');
    expect(() => shellValue('vpc-cidr', '010.0.0.0/16')).toThrow('vpc-cidr');
    expect(shellValue('eni', Fn.ref('Eni'))).toMatch(/^'\$\{Token\[TOKEN\.\d+\]\}'$/);
    expect(shellValue('namespace', `NatInstance/${Fn.ref('Eni')}`)).toMatch(/^'NatInstance\/\$\{Token\[/);
    expect(() => shellValue('namespace', `x'; reboot; '${Fn.ref('Eni')}`)).toThrow('namespace');
  });

  // Samples near each form's edges: the construct and the boot scripts must agree on every one.
  const SAMPLES: Record<keyof typeof SHELL_VALUE_FORMS, string[]> = {
    'region': ['eu-west-1', 'us-gov-west-1', 'eu-west', 'EU-west-1', 'eu-west-1a', 'e-west-1'],
    'stack': ['NatInstance', 'a', 'A'.repeat(128), 'A'.repeat(129), '1nat', 'nat_instance', 'nat-1'],
    'resource': ['VpcPublicSubnet1NatInstanceGroup', 'a'.repeat(255), 'a'.repeat(256), 'a-b', 'a.b'],
    'eni': ['eni-0123456789abcdef0', 'eni-01234567', 'eni-0123456', 'eni-0123456789abcdef01', 'eni-0123456789ABCDEF0', 'eni-'],
    'vpc-cidr': ['10.0.0.0/16', '100.64.0.0/8', '1.2.3.4/32', '10.0.0.0/7', '10.0.0.0/33', '256.0.0.0/16', '010.0.0.0/16', '10.0.0.0/08', '10.0.0.0'],
    'namespace': ['NatInstance/eni-0123456789abcdef0', 'a#b:c', 'x'.repeat(255), 'x'.repeat(256), 'a b', 'a,b'],
    'metric': ['Heartbeat', 'H', 'H'.repeat(64), 'H'.repeat(65), '9Heartbeat', 'Heart_beat', 'Heart.beat'],
    'period': ['10', '60', '9999', '9', '10000', '060', '6e1'],
    'accuracy': ['1', '999', '0', '1000', '01', '+1'],
    'script': ['configure-nat.sh', 'a.sh', `${'a'.repeat(64)}.sh`, `${'a'.repeat(65)}.sh`, 'Configure.sh', 'nat.bash', '-a.sh'],
    'bucket': ['cdk-hnb659fds-assets-111122223333-eu-west-1', 'abc', 'ab', 'a'.repeat(63), 'a'.repeat(64), 'Abc', 'abc-', '.abc'],
    'key': ['0123abcd.sh', 'a/b/c.sh', 'a..b', 'a//b', '/a', 'a/', 'a b', 'a'.repeat(1024), 'a'.repeat(1025)],
    'sha256': ['a'.repeat(64), 'a'.repeat(63), 'A'.repeat(64), 'g'.repeat(64)],
    'address': ['10.0.0.9', '0.0.0.0', '255.255.255.255', '256.0.0.1', '10.0.0', '010.0.0.9', '10.0.0.9/32', '10.0.0.9 '],
    'port': ['1', '7460', '65535', '65536', '0', '07460', '-1', '99999', '6553a'],
  };

  test('the construct and the boot scripts judge every sample of every form alike', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...FORMS].sort());
    // The scripts' table of forms: nat-lib.sh's, and what nat-bootstrap.sh and load.sh add to it.
    const additions = ['nat-bootstrap.sh', 'load.sh'].map((f) => /^FORM\+=\([\s\S]*?^\)$/m.exec(fs.readFileSync(path.join(assets, f), 'utf8'))![0]);
    const cases = FORMS.flatMap((form) => SAMPLES[form].map((value) => [form, value] as const));
    const script = ['PROG=test', `. '${path.join(assets, 'nat-lib.sh')}'`, ...additions,
      'while IFS=$\'\\t\' read -r form value; do if valid "$form" "$value"; then echo yes; else echo no; fi; done'].join('\n');
    const result = spawnSync('bash', ['-c', script], { input: cases.map(([f, v]) => `${f}\t${v}\n`).join(''), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const shell = result.stdout.trim().split('\n');
    expect(cases.map(([form, value], i) => [form, value.slice(0, 40), shell[i]]))
      .toEqual(cases.map(([form, value]) => [form, value.slice(0, 40), hasShellForm(form, value) ? 'yes' : 'no']));
    // Each form has samples on both sides.
    for (const form of FORMS) {
      expect(new Set(SAMPLES[form].map((v) => hasShellForm(form, v)))).toEqual(new Set([true, false]));
    }
  });
});

describe('SelfHealingNatProvider props', () => {
  test('one NAT for three zones: all private subnets route to it', () => {
    const { stack, provider, template } = vpcWithProvider({}, { natGateways: 1, availabilityZones: ['a-1a', 'a-1b', 'a-1c'] });
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    const eni = stack.resolve(provider.natInstances[0].networkInterfaceId);
    expect(Object.values(template.findResources('AWS::EC2::Route', { Properties: { NetworkInterfaceId: eni } }))).toHaveLength(3);
  });

  test('instance type, boot timeout and volume size reach the launch template and group', () => {
    const { template } = vpcWithProvider(
      { instanceType: new ec2.InstanceType('m7g.large'), bootTimeout: Duration.minutes(5), rootVolumeSize: 20 }, { maxAzs: 1 });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 'm7g.large', BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 20 }) })] }),
    });
    template.hasResource('AWS::AutoScaling::AutoScalingGroup', { CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT5M' } } });
  });

  describe('connectionHandoff', () => {
    const { stack, vpc, template } = vpcWithProvider({ connectionHandoff: true }, { maxAzs: 2 });
    const plain = vpcWithProvider({}, { maxAzs: 2 }).template;

    test('an S3 gateway endpoint on the public subnets\' route tables, which every NAT group waits for', () => {
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3'])] }),
        RouteTableIds: vpc.publicSubnets.map((s) => stack.resolve(s.routeTable.routeTableId)),
      });
      const endpoint = Object.keys(template.findResources('AWS::EC2::VPCEndpoint'))[0];
      for (const group of Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup'))) {
        expect(group.DependsOn).toContain(endpoint);
      }
      plain.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    });

    test('no new ingress: the group admits the VPC already, and each NAT serves the handoff to its own subnet only', () => {
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      const groups = (t: Template) => Object.values(t.findResources('AWS::EC2::SecurityGroup')).map((g) => g.Properties.SecurityGroupIngress);
      expect(groups(template)).toEqual(groups(plain));
    });

    test('the controller waits for the handoff, with the time for it', () => {
      const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }))[0];
      expect(fn.Properties.Timeout).toBe(60 + DEFAULT_HANDOFF_WAIT_SECONDS + 30 + 30);
      expect(JSON.stringify(fn.Properties.Environment.Variables)).toContain(`\\"ho\\":${DEFAULT_HANDOFF_WAIT_SECONDS}`);
      const plainFn = Object.values(plain.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }))[0];
      expect(plainFn.Properties.Timeout).toBe(60);
      expect(JSON.stringify(plainFn.Properties.Environment.Variables)).not.toContain('\\"ho\\"');
    });

    test('user data: the loader fetches before the interface, conntrack-handoff.sh too, and setup gets the interface\'s own address', () => {
      const scripts = userDataScripts(template);
      expect(scripts).toHaveLength(2);
      for (const script of scripts) {
        const command = script.split('\n').find((l) => l.startsWith('/opt/nat-instance/load.sh '))!;
        expect(command).toContain(' --before-interface ');
        expect(command).toMatch(/--fetch 'conntrack-handoff\.sh' '[^']+' '[^']+' '[0-9a-f]{64}'/);
        expect(command).toMatch(new RegExp(`--handoff-address '\\$\\{\\w*NatInstanceNetworkInterface\\w+\\.PrimaryPrivateIpAddress\\}' --handoff-port '${HANDOFF_PORT}' ` +
          `--handoff-metric '${METRIC.handoffReady}' --handoff-dimension '${HANDOFF_INSTANCE_DIMENSION}'$`));
      }
      for (const script of userDataScripts(plain)) {
        expect(script).not.toMatch(/--before-interface|handoff|conntrack-handoff/);
      }
    });
  });

  test('publicIpsPerNat 2: a secondary address on each interface, and an Elastic IP for it that each group waits for', () => {
    const { template, provider, stack } = vpcWithProvider({ publicIpsPerNat: 2 }, { maxAzs: 2 });
    template.resourceCountIs('AWS::EC2::EIP', 4);
    template.resourceCountIs('AWS::EC2::EIPAssociation', 4);
    for (const nat of provider.natInstances as SelfHealingNat[]) {
      const eni = stack.getLogicalId(nat.networkInterface);
      template.hasResourceProperties('AWS::EC2::NetworkInterface', { Description: Match.stringLikeRegexp(nat.node.path), SecondaryPrivateIpAddressCount: 1 });
      const [second] = nat.extraElasticIps;
      template.hasResourceProperties('AWS::EC2::EIPAssociation', {
        AllocationId: { 'Fn::GetAtt': [stack.getLogicalId(second), 'AllocationId'] },
        NetworkInterfaceId: { Ref: eni },
        PrivateIpAddress: { 'Fn::Select': [0, { 'Fn::GetAtt': [eni, 'SecondaryPrivateIpAddresses'] }] },
      });
      const association = Object.entries(template.findResources('AWS::EC2::EIPAssociation', { Properties: { PrivateIpAddress: Match.anyValue(), NetworkInterfaceId: { Ref: eni } } }))[0][0];
      expect(template.toJSON().Resources[stack.getLogicalId(nat.autoScalingGroup.node.defaultChild as never)].DependsOn).toContain(association);
    }
    // One address: no secondary, as before.
    const plain = vpcWithProvider({}, { maxAzs: 2 }).template;
    plain.resourceCountIs('AWS::EC2::EIP', 2);
    expect(Object.values(plain.findResources('AWS::EC2::NetworkInterface')).map((r) => r.Properties.SecondaryPrivateIpAddressCount)).toEqual([undefined, undefined]);
  });

  describe('spot', () => {
    const { template } = vpcWithProvider({ spot: true }, { maxAzs: 2 });
    const plain = vpcWithProvider({}, { maxAzs: 2 }).template;

    test('each group asks for Spot capacity of its type only, and launches a replacement before the old instance goes', () => {
      const groups = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup'));
      expect(groups).toHaveLength(2);
      for (const group of groups) {
        expect(group.Properties.LaunchTemplate).toBeUndefined();
        expect(group.Properties.MixedInstancesPolicy).toEqual({
          LaunchTemplate: { LaunchTemplateSpecification: expect.objectContaining({ LaunchTemplateId: expect.anything(), Version: expect.anything() }) },
          InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'price-capacity-optimized' },
        });
        expect(group.Properties.InstanceMaintenancePolicy).toEqual({ MinHealthyPercentage: 100, MaxHealthyPercentage: 200 });
      }
      for (const group of Object.values(plain.findResources('AWS::AutoScaling::AutoScalingGroup'))) {
        expect([group.Properties.MixedInstancesPolicy, group.Properties.InstanceMaintenancePolicy]).toEqual([undefined, undefined]);
      }
    });

    test('the controller hears Spot warnings and may mark only NAT groups\' instances unhealthy', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { 'source': ['aws.ec2'], 'detail-type': [SPOT_EVENT.interruption, SPOT_EVENT.rebalance] },
      });
      const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
      const mark = statements.find((st) => st.Sid === 'ReplaceWarnedSpotNat');
      expect(mark).toMatchObject({ Action: 'autoscaling:SetInstanceHealth', Effect: 'Allow' });
      expect(Object.keys(mark.Condition.StringEquals)).toEqual(['aws:ResourceTag/NatInstanceGroup']);
      const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }))[0];
      expect(JSON.stringify(fn.Properties.Environment.Variables)).toContain('\\"sp\\":1');
      // Without Spot, neither the rule nor the permission.
      expect(Object.values(plain.findResources('AWS::Events::Rule')).some((r) => JSON.stringify(r).includes('Spot'))).toBe(false);
      expect(Object.values(plain.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement).map((st) => st.Sid)).not.toContain('ReplaceWarnedSpotNat');
    });

    test.each<[string, ConstructorParameters<typeof SelfHealingNatProvider>[0], Partial<ec2.VpcProps>, string]>([
      ['a single NAT', { spot: true }, { maxAzs: 2, natGateways: 1 }, 'Invalid spot: got true; expected at least two NATs for Spot (this VPC has 1)'],
      ['failover off', { spot: true, routeWatchdog: false }, { maxAzs: 2 }, "Invalid spot: got true; expected no Spot without the route watchdog's failover (routeWatchdog: false)"],
    ])('is refused with %s', (_name, props, vpcProps, message) => {
      expect(() => vpcWithProvider(props, vpcProps)).toThrow(message);
    });
  });

  test('a maximum instance lifetime: the group replaces older instances, launching the new one first', () => {
    const { template } = vpcWithProvider({ maxInstanceLifetime: Duration.days(14) }, { maxAzs: 1 });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MaxInstanceLifetime: 14 * 86_400,
      InstanceMaintenancePolicy: { MinHealthyPercentage: 100, MaxHealthyPercentage: 200 },
    });
    // By default neither: an instance stays until it fails or a deployment replaces it.
    const [group] = Object.values(vpcWithProvider({}, { maxAzs: 1 }).template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect([group.Properties.MaxInstanceLifetime, group.Properties.InstanceMaintenancePolicy]).toEqual([undefined, undefined]);
  });

  test('the default image follows the instance type\'s architecture', () => {
    const arm = vpcWithProvider({}, { maxAzs: 1 }).template;
    arm.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: { Ref: Match.stringLikeRegexp('arm64') } }) });
    const x86 = vpcWithProvider({ instanceType: new ec2.InstanceType('c6i.large') }, { maxAzs: 1 }).template;
    x86.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: { Ref: Match.stringLikeRegexp('x8664') } }) });
  });

  test('a pinned machine image is used as given, with no SSM parameter', () => {
    const machineImage = ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' });
    const { template } = vpcWithProvider({ machineImage }, { maxAzs: 1 });
    const [lt] = Object.values(template.findResources('AWS::EC2::LaunchTemplate'));
    const [map] = lt.Properties.LaunchTemplateData.ImageId['Fn::FindInMap'];
    expect(template.toJSON().Mappings[map]).toEqual({ 'us-east-1': { ami: 'ami-0123456789abcdef0' } });
    // Reading the image's OS before building (to refuse Windows) leaves no second map behind.
    expect(Object.keys(template.toJSON().Mappings)).toEqual([map]);
    expect(Object.keys(template.toJSON().Parameters ?? {}).filter((p) => /SsmParameterValue/.test(p))).toEqual([]);
  });

  test('a Windows image is refused: the boot scripts need Linux', () => {
    const stack = new Stack(new App(), 'Windows');
    const provider = new SelfHealingNatProvider({ machineImage: ec2.MachineImage.genericWindows({ 'us-east-1': 'ami-0123456789abcdef0' }) });
    expect(() => new ec2.Vpc(stack, 'Vpc', { natGatewayProvider: provider, maxAzs: 1 }))
      .toThrow("Invalid machineImage: got an instance of GenericWindowsImage; expected a Linux image: Amazon Linux 2023 or a derivative");
  });

  test.each([ec2.CpuCredits.STANDARD, ec2.CpuCredits.UNLIMITED])('CPU credit mode %s of a burstable type reaches the launch template', (credits) => {
    const { template } = vpcWithProvider({ creditSpecification: credits }, { maxAzs: 1 });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ CreditSpecification: { CpuCredits: credits } }) });
  });

  test('no credit mode is set unless asked for', () => {
    const { template } = vpcWithProvider({}, { maxAzs: 1 });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ CreditSpecification: Match.absent() }) });
  });

  test('connections: the NATs\' security group, open to more sources on request', () => {
    const stack = new Stack(new App(), 'Connections');
    const provider = new SelfHealingNatProvider();
    new ec2.Vpc(stack, 'Vpc', { natGatewayProvider: provider, maxAzs: 1 });
    expect(() => new SelfHealingNatProvider().connections).toThrow('Pass the SelfHealingNatProvider to a Vpc before reading its connections');
    expect(provider.connections.securityGroups).toEqual([provider.securityGroup]);
    provider.connections.allowFrom(ec2.Peer.ipv4('100.64.0.0/16'), ec2.Port.tcp(443), 'peered network');
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '100.64.0.0/16', FromPort: 443, ToPort: 443 })]),
    });
  });

  test('metric helpers name each NAT\'s own metrics', () => {
    const { stack, provider } = vpcWithProvider({}, { maxAzs: 2 });
    const [a, b] = provider.natInstances;
    const heartbeat = a.metricHeartbeat();
    expect({ ns: heartbeat.namespace, name: heartbeat.metricName, stat: heartbeat.statistic, period: heartbeat.period.toSeconds() })
      .toEqual({ ns: a.metricNamespace, name: 'Heartbeat', stat: 'SampleCount', period: 60 });
    expect(stack.resolve(heartbeat.dimensions)).toEqual({ NetworkInterfaceId: stack.resolve(a.networkInterfaceId) });
    expect(stack.resolve(b.metricConntrackUsage().dimensions)).toEqual({ NetworkInterfaceId: stack.resolve(b.networkInterfaceId) });
    expect(a.metricConntrackUsage()).toMatchObject({ metricName: 'ConntrackUsage', statistic: 'Maximum' });
    expect(a.metricAllowanceExceeded()).toMatchObject({ metricName: 'AllowanceExceeded', statistic: 'Sum' });
    for (const [metric, name, stat] of [[a.metricStatusCheckFailed(), 'StatusCheckFailed', 'Maximum'], [a.metricNetworkIn(), 'NetworkIn', 'Sum'], [a.metricNetworkOut(), 'NetworkOut', 'Sum']] as const) {
      expect({ ns: metric.namespace, name: metric.metricName, stat: metric.statistic }).toEqual({ ns: 'AWS/EC2', name, stat });
      expect(stack.resolve(metric.dimensions)).toEqual({ AutoScalingGroupName: stack.resolve(a.autoScalingGroup.autoScalingGroupName) });
    }
    expect(a.metricHeartbeat({ period: Duration.minutes(5), statistic: 'Sum' })).toMatchObject({ statistic: 'Sum' });
  });

  test('defaults are public constants', () => {
    expect(SelfHealingNatProvider.DEFAULT_INSTANCE_TYPE).toBe('t4g.nano');
    expect(SelfHealingNatProvider.DEFAULT_ROOT_VOLUME_SIZE).toBe(8);
    expect(SelfHealingNatProvider.DEFAULT_BOOT_TIMEOUT.toMinutes()).toBe(15);
  });

  const invalid: Array<[string, () => unknown, string]> = [
    ['a credit mode for a type that is not burstable', () => new SelfHealingNatProvider({ instanceType: new ec2.InstanceType('c7g.medium'), creditSpecification: ec2.CpuCredits.STANDARD }),
      "Invalid creditSpecification: got 'standard'; expected no credit mode for c7g.medium, which is not burstable: only T3, T3a and T4g instances earn CPU credits"],
    ['an unknown credit mode', () => new SelfHealingNatProvider({ creditSpecification: 'free' as ec2.CpuCredits }),
      "Invalid creditSpecification: got 'free'; expected one of standard, unlimited (ec2.CpuCredits)"],
    ['unsupported family', () => new SelfHealingNatProvider({ instanceType: new ec2.InstanceType('p5.48xlarge') }), "Invalid instanceType: got 'p5.48xlarge'"],
    ['instance lifetime under a day', () => new SelfHealingNatProvider({ maxInstanceLifetime: Duration.hours(12) }),
      "Invalid maxInstanceLifetime: got '43200 seconds'; expected whole seconds from 1 to 365 days (the Auto Scaling group's limits), such as Duration.days(14)"],
    ['instance lifetime over a year', () => new SelfHealingNatProvider({ maxInstanceLifetime: Duration.days(366) }),
      "Invalid maxInstanceLifetime: got '31622400 seconds'; expected whole seconds from 1 to 365 days"],
    ['boot timeout too short', () => new SelfHealingNatProvider({ bootTimeout: Duration.seconds(30) }),
      "Invalid bootTimeout: got '30 seconds'; expected whole seconds from 1 minute to 2 hours (the launch hook's limit, which the boot waits in)"],
    ['boot timeout beyond the launch hook', () => new SelfHealingNatProvider({ bootTimeout: Duration.hours(3) }),
      "Invalid bootTimeout: got '10800 seconds'; expected whole seconds from 1 minute to 2 hours"],
    ['fractional volume size', () => new SelfHealingNatProvider({ rootVolumeSize: 8.5 }), 'Invalid rootVolumeSize: got 8.5'],
    ['additional CIDR with host bits', () => new SelfHealingNatProvider({ additionalCidrs: ['100.64.0.1/16'] }),
      "Invalid additionalCidrs: got '100.64.0.1/16'; expected a network address: host bits are set, did you mean 100.64.0.0/16?"],
    ['additional CIDR that would relay the internet', () => new SelfHealingNatProvider({ additionalCidrs: ['0.0.0.0/0'] }),
      "Invalid additionalCidrs: got '0.0.0.0/0'; expected an IPv4 CIDR block with a prefix from /8 to /28"],
    ['fewer allocation IDs than NATs', () => vpcWithProvider({ eipAllocationIds: ['eipalloc-01234567'] }, { maxAzs: 2 }),
      'Invalid eipAllocationIds: got ["eipalloc-01234567"]; expected at least 2 allocation IDs, one for each NAT instance (a longer list is a pool whose first 2 are used)'],
    ['a malformed ID in the pool', () => vpcWithProvider({ eipAllocationIds: ['eipalloc-01234567', 'eip-89abcdef'] }, { maxAzs: 1 }),
      "Invalid eipAllocationIds: got 'eip-89abcdef'; expected Elastic IP allocation IDs such as eipalloc-0123456789abcdef0"],
    ['the same ID for two NATs', () => vpcWithProvider({ eipAllocationIds: ['eipalloc-01234567', 'eipalloc-01234567'] }, { maxAzs: 2 }),
      'expected each allocation ID once: eipalloc-01234567 is given twice'],
  ];
  test.each(invalid)('rejects %s', (_name, build, message) => {
    expect(build).toThrow(message);
  });

  test('a rejected provider leaves no resources in the stack', () => {
    const stack = new Stack(new App(), 'Partial');
    const provider = new SelfHealingNatProvider({ eipAllocationIds: ['eipalloc-01234567'] });
    expect(() => new ec2.Vpc(stack, 'Vpc', { natGatewayProvider: provider, maxAzs: 2 })).toThrow('Invalid eipAllocationIds');
    expect(provider.natInstances).toHaveLength(0);
    expect(stack.node.tryFindChild('Vpc')?.node.findAll().filter((c) => c.node.id === 'NatInstance')).toHaveLength(0);
  });
});

/** The intents of aws-cdk's own tests of NatProvider.gateway's eipAllocationIds. */
describe('eipAllocationIds as NatProvider.gateway takes them', () => {
  const associations = (template: Template) => Object.values(template.findResources('AWS::EC2::EIPAssociation')).map((r) => r.Properties.AllocationId);

  test('one ID per NAT, in the order of the NAT subnets, and no Elastic IP allocated', () => {
    const { template } = vpcWithProvider({ eipAllocationIds: ['eipalloc-01234567', 'eipalloc-89abcdef'] }, { maxAzs: 2 });
    expect(associations(template)).toEqual(['eipalloc-01234567', 'eipalloc-89abcdef']);
    template.resourceCountIs('AWS::EC2::EIP', 0);
  });

  test('a pool longer than the NAT count: the first IDs are used', () => {
    const { template } = vpcWithProvider({ eipAllocationIds: ['eipalloc-01234567', 'eipalloc-89abcdef', 'eipalloc-0123456789abcdef0'] }, { maxAzs: 2 });
    expect(associations(template)).toEqual(['eipalloc-01234567', 'eipalloc-89abcdef']);
  });

  test('a token list (Fn.split of an import) is selected by index at deployment', () => {
    const { template } = vpcWithProvider({ eipAllocationIds: Fn.split(',', Fn.importValue('EgressAllocations')) }, { maxAzs: 2 });
    const split = { 'Fn::Split': [',', { 'Fn::ImportValue': 'EgressAllocations' }] };
    expect(associations(template)).toEqual([{ 'Fn::Select': [0, split] }, { 'Fn::Select': [1, split] }]);
    template.resourceCountIs('AWS::EC2::EIP', 0);
  });

  test('a list of tokens and literals: tokens are left for CloudFormation', () => {
    const { template } = vpcWithProvider({ eipAllocationIds: [Fn.importValue('First'), 'eipalloc-89abcdef'] }, { maxAzs: 2 });
    expect(associations(template)).toEqual([{ 'Fn::ImportValue': 'First' }, 'eipalloc-89abcdef']);
  });
});
