import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { NatInstanceProvider, USER_DATA_LIMIT_BYTES } from '../lib';
import { SKIP_BUNDLING, embeddedFiles, userDataScripts, vpcWithProvider } from './helpers';

const assets = path.join(__dirname, '..', 'assets');

describe('NatInstanceProvider in a plain ec2.Vpc of a user stack', () => {
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
        NetworkInterfaceId: stack.resolve(provider.natInstances[i].networkInterface.ref),
      });
    });
  });

  test('configuredGateways names each zone\'s interface', () => {
    expect(provider.configuredGateways.map((g) => stack.resolve(g.gatewayId)))
      .toEqual(provider.natInstances.map((nat) => stack.resolve(nat.networkInterface.ref)));
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

  test('user data carries both scripts byte for byte, and fits in 16 KiB', () => {
    for (const script of userDataScripts(template)) {
      const files = embeddedFiles(script);
      expect(Object.keys(files).sort()).toEqual(['/opt/nat-instance/configure-nat.sh', '/opt/nat-instance/nat-bootstrap.sh']);
      expect(files['/opt/nat-instance/configure-nat.sh'].equals(fs.readFileSync(path.join(assets, 'configure-nat.sh')))).toBe(true);
      expect(files['/opt/nat-instance/nat-bootstrap.sh'].equals(fs.readFileSync(path.join(assets, 'nat-bootstrap.sh')))).toBe(true);
      expect(script.startsWith('#!/bin/bash\nset -euo pipefail\n')).toBe(true);
      // References resolve to IDs of about their placeholders' length; a 128-character stack name is the worst case.
      const worstCase = script.replace(/--stack-name \S+/, `--stack-name ${'S'.repeat(128)}`);
      expect(Buffer.byteLength(worstCase)).toBeLessThan(USER_DATA_LIMIT_BYTES);
    }
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
    expect(userDataScripts(ipam.template)[0]).toContain(`--vpc-cidr \${${vpcId}.CidrBlock}`);
  });

  test('the provider refuses to serve a second VPC', () => {
    expect(() => new ec2.Vpc(stack, 'Second', { natGatewayProvider: provider })).toThrow('A NatInstanceProvider serves one VPC; create one provider per VPC');
  });

  test('securityGroup before use is an error that says what to do', () => {
    expect(() => new NatInstanceProvider().securityGroup).toThrow('Pass the NatInstanceProvider to a Vpc before reading its securityGroup');
  });
});

describe('NatInstanceProvider props', () => {
  test('one NAT for three zones: all private subnets route to it', () => {
    const { stack, provider, template } = vpcWithProvider({}, { natGateways: 1, availabilityZones: ['a-1a', 'a-1b', 'a-1c'] });
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    const eni = stack.resolve(provider.natInstances[0].networkInterface.ref);
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

  test('an explicit matching architecture is accepted', () => {
    const { template } = vpcWithProvider({ instanceType: new ec2.InstanceType('c6i.large'), architecture: ec2.InstanceArchitecture.X86_64 }, { maxAzs: 1 });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ ImageId: { Ref: Match.stringLikeRegexp('x8664') } }),
    });
  });

  test('defaults are public constants', () => {
    expect(NatInstanceProvider.DEFAULT_INSTANCE_TYPE).toBe('t4g.nano');
    expect(NatInstanceProvider.DEFAULT_ROOT_VOLUME_SIZE).toBe(8);
    expect(NatInstanceProvider.DEFAULT_BOOT_TIMEOUT.toMinutes()).toBe(15);
  });

  const invalid: Array<[string, () => unknown, string]> = [
    ['arm64 type with x86_64 image', () => new NatInstanceProvider({ instanceType: new ec2.InstanceType('t4g.small'), architecture: ec2.InstanceArchitecture.X86_64 }),
      "Invalid architecture: got 'x86_64'; expected the architecture of instanceType t4g.small, arm64"],
    ['unsupported family', () => new NatInstanceProvider({ instanceType: new ec2.InstanceType('p5.48xlarge') }), "Invalid instanceType: got 'p5.48xlarge'"],
    ['boot timeout too short', () => new NatInstanceProvider({ bootTimeout: Duration.seconds(30) }),
      "Invalid bootTimeout: got '30 seconds'; expected from 1 minute to 12 hours (CloudFormation's limit)"],
    ['fractional volume size', () => new NatInstanceProvider({ rootVolumeSize: 8.5 }), 'Invalid rootVolumeSize: got 8.5'],
    ['additional CIDR with host bits', () => new NatInstanceProvider({ additionalCidrs: ['100.64.0.1/16'] }),
      "Invalid additionalCidrs: got '100.64.0.1/16'; expected a network address: host bits are set, did you mean 100.64.0.0/16?"],
    ['additional CIDR that would relay the internet', () => new NatInstanceProvider({ additionalCidrs: ['0.0.0.0/0'] }),
      "Invalid additionalCidrs: got '0.0.0.0/0'; expected an IPv4 CIDR block with a prefix from /8 to /28"],
    ['more allocation IDs than NATs', () => vpcWithProvider({ eipAllocationIds: ['eipalloc-01234567', 'eipalloc-89abcdef'] }, { maxAzs: 1 }),
      'Invalid eipAllocationIds: got ["eipalloc-01234567","eipalloc-89abcdef"]; expected exactly 1 allocation ID, one for each NAT instance'],
  ];
  test.each(invalid)('rejects %s', (_name, build, message) => {
    expect(build).toThrow(message);
  });

  test('a rejected provider leaves no resources in the stack', () => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Partial');
    const provider = new NatInstanceProvider({ eipAllocationIds: ['eipalloc-01234567'] });
    expect(() => new ec2.Vpc(stack, 'Vpc', { natGatewayProvider: provider, maxAzs: 2 })).toThrow('Invalid eipAllocationIds');
    expect(provider.natInstances).toHaveLength(0);
    expect(stack.node.tryFindChild('Vpc')?.node.findAll().filter((c) => c.node.id === 'NatInstance')).toHaveLength(0);
  });
});
