import { App, CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { NatInstanceStack } from '../lib';
import { composeApp } from '../bin/compose';
import { SelfHealingNat } from '../lib/nat-instance';
import { natStack, natTemplate, userDataScripts } from './helpers';

describe('NatInstanceStack with defaults', () => {
  const stack = natStack();
  const template = Template.fromStack(stack);
  const ref = (value: string) => stack.resolve(value);

  test('creates exactly these resources, and no NAT gateway', () => {
    const counts: Record<string, number> = {};
    for (const resource of Object.values(template.toJSON().Resources) as Array<{ Type: string }>) {
      counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
    }
    expect(counts).toEqual({
      'AWS::EC2::VPC': 1,
      'AWS::EC2::InternetGateway': 1,
      'AWS::EC2::VPCGatewayAttachment': 1,
      'AWS::EC2::Subnet': 4,
      'AWS::EC2::RouteTable': 4,
      'AWS::EC2::SubnetRouteTableAssociation': 4,
      'AWS::EC2::Route': 4,
      'AWS::EC2::SecurityGroup': 1,
      'AWS::EC2::NetworkInterface': 2,
      'AWS::EC2::EIP': 2,
      'AWS::EC2::EIPAssociation': 2,
      'AWS::EC2::LaunchTemplate': 2,
      'AWS::AutoScaling::AutoScalingGroup': 2,
      'AWS::IAM::Role': 5,
      'AWS::IAM::Policy': 5,
      'AWS::IAM::InstanceProfile': 2,
      'AWS::Lambda::Function': 2,
      'Custom::VpcRestrictDefaultSG': 1,
      'AWS::Logs::LogGroup': 3,
      'AWS::EC2::FlowLog': 1,
      'AWS::Events::Rule': 4,
      'AWS::Lambda::Permission': 4,
      'AWS::CloudWatch::Alarm': 5,
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  test('VPC: default CIDR with DNS, spanning the first two zones of the region', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', {
      CidrBlock: '10.0.0.0/16',
      EnableDnsHostnames: true,
      EnableDnsSupport: true,
    });
    expect(stack.vpc.availabilityZones.map(ref)).toEqual([0, 1].map((i) => ({ 'Fn::Select': [i, { 'Fn::GetAZs': '' }] })));
  });

  test('internet gateway attached to the VPC', () => {
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.hasResourceProperties('AWS::EC2::InternetGateway', {});
    template.resourceCountIs('AWS::EC2::VPCGatewayAttachment', 1);
    template.hasResourceProperties('AWS::EC2::VPCGatewayAttachment', {
      VpcId: ref(stack.vpc.vpcId),
      InternetGatewayId: ref(stack.vpc.internetGatewayId!),
    });
  });

  test('subnets: a public /24 and a private /20 in each zone; neither gives a public address on launch', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    const expected = [
      ['Public', 0, '10.0.0.0/24', false], ['Public', 1, '10.0.1.0/24', false],
      ['Private', 0, '10.0.16.0/20', false], ['Private', 1, '10.0.32.0/20', false],
    ] as const;
    for (const [type, az, cidr, mapPublicIp] of expected) {
      template.hasResourceProperties('AWS::EC2::Subnet', {
        CidrBlock: cidr,
        AvailabilityZone: { 'Fn::Select': [az, { 'Fn::GetAZs': '' }] },
        MapPublicIpOnLaunch: mapPublicIp,
        Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: type }]),
      });
    }
  });

  test('route tables: one per subnet, each associated with its subnet', () => {
    template.resourceCountIs('AWS::EC2::RouteTable', 4);
    template.resourceCountIs('AWS::EC2::SubnetRouteTableAssociation', 4);
    for (const subnet of [...stack.vpc.publicSubnets, ...stack.vpc.privateSubnets]) {
      template.hasResourceProperties('AWS::EC2::RouteTable', { VpcId: ref(stack.vpc.vpcId), Tags: Match.anyValue() });
      template.hasResourceProperties('AWS::EC2::SubnetRouteTableAssociation', {
        SubnetId: ref(subnet.subnetId),
        RouteTableId: ref(subnet.routeTable.routeTableId),
      });
    }
  });

  test('routes: public subnets to the internet gateway, each private subnet to the NAT interface of its own zone', () => {
    template.resourceCountIs('AWS::EC2::Route', 4);
    for (const subnet of stack.vpc.publicSubnets) {
      template.hasResourceProperties('AWS::EC2::Route', {
        RouteTableId: ref(subnet.routeTable.routeTableId),
        DestinationCidrBlock: '0.0.0.0/0',
        GatewayId: ref(stack.vpc.internetGatewayId!),
      });
    }
    const nats = stack.natProvider.natInstances;
    stack.vpc.privateSubnets.forEach((subnet, i) => {
      expect(ref(nats[i].availabilityZone)).toEqual(ref(subnet.availabilityZone));
      template.hasResourceProperties('AWS::EC2::Route', {
        RouteTableId: ref(subnet.routeTable.routeTableId),
        DestinationCidrBlock: '0.0.0.0/0',
        NetworkInterfaceId: ref(nats[i].networkInterfaceId),
      });
    });
  });

  test('NAT interfaces: one per zone in its public subnet, source/dest check off, in the NAT security group', () => {
    template.resourceCountIs('AWS::EC2::NetworkInterface', 2);
    stack.vpc.publicSubnets.forEach((subnet) => {
      template.hasResourceProperties('AWS::EC2::NetworkInterface', {
        SubnetId: ref(subnet.subnetId),
        SourceDestCheck: false,
        GroupSet: [ref(stack.natProvider.securityGroup.securityGroupId)],
      });
    });
  });

  test('Elastic IPs: one per NAT, associated with its static interface rather than an instance', () => {
    template.resourceCountIs('AWS::EC2::EIP', 2);
    template.hasResourceProperties('AWS::EC2::EIP', { Domain: 'vpc' });
    template.resourceCountIs('AWS::EC2::EIPAssociation', 2);
    for (const nat of stack.natProvider.natInstances) {
      template.hasResourceProperties('AWS::EC2::EIPAssociation', {
        AllocationId: ref((nat as SelfHealingNat).elasticIp!.attrAllocationId),
        NetworkInterfaceId: ref(nat.networkInterfaceId),
        InstanceId: Match.absent(),
      });
    }
  });

  test('security group: all protocols from the VPC CIDR only, no SSH, egress to the internet', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: ref(stack.vpc.vpcId),
      SecurityGroupIngress: [{ CidrIp: '10.0.0.0/16', IpProtocol: '-1', Description: Match.anyValue() }],
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1', Description: Match.anyValue() }],
    });
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('launch templates: AL2023 arm64 from SSM, t4g.nano, IMDSv2 with hop limit 1, encrypted gp3, no key pair', () => {
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 2);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: {
        InstanceType: 't4g.nano',
        ImageId: { Ref: Match.stringLikeRegexp('al2023amikernel.*arm64') },
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 8, DeleteOnTermination: true } }],
        // No public address of its own: one public IPv4 per NAT, the Elastic IP of its static interface.
        NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, Groups: [ref(stack.natProvider.securityGroup.securityGroupId)] }],
        IamInstanceProfile: { Arn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
        KeyName: Match.absent(),
        UserData: Match.anyValue(),
      },
    });
    const parameters = template.toJSON().Parameters;
    const imageParameter = Object.entries(parameters).find(([name]) => /al2023/.test(name))!;
    expect(imageParameter[1]).toEqual({
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64',
    });
  });

  test('Auto Scaling groups: exactly one instance in its public subnet, waits for the boot signal, replaced group by group', () => {
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
    stack.natProvider.natInstances.forEach((nat, i) => {
      template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
        Properties: {
          MinSize: '1',
          MaxSize: '1',
          VPCZoneIdentifier: [ref(stack.vpc.publicSubnets[i].subnetId)],
          LaunchTemplate: { LaunchTemplateId: ref((nat as SelfHealingNat).launchTemplate.launchTemplateId!), Version: Match.anyValue() },
          Tags: Match.arrayWith([{ Key: 'NatInstanceGroup', Value: Match.anyValue(), PropagateAtLaunch: true }]),
        },
        CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT15M' } },
        UpdatePolicy: Match.objectLike({ AutoScalingReplacingUpdate: { WillReplace: true } }),
        DependsOn: Match.arrayWith([
          stack.getLogicalId(stack.vpc.publicSubnets[i].node.findChild('DefaultRoute') as ec2.CfnRoute),
          stack.getLogicalId(nat.node.findChild('ElasticIpAssociation') as ec2.CfnEIPAssociation),
          Match.stringLikeRegexp('NatInstanceRoleDefaultPolicy'),
        ]),
      });
    });
  });

  test('Elastic IP associations wait for the internet gateway route', () => {
    stack.natProvider.natInstances.forEach((nat, i) => {
      const association = template.toJSON().Resources[stack.getLogicalId(nat.node.findChild('ElasticIpAssociation') as ec2.CfnEIPAssociation)];
      expect(association.DependsOn).toContain(stack.getLogicalId(stack.vpc.publicSubnets[i].node.findChild('DefaultRoute') as ec2.CfnRoute));
    });
  });

  test('instance roles: assumed by EC2, Session Manager, their own health and metrics, and no interface', () => {
    template.resourceCountIs('AWS::IAM::InstanceProfile', 2);
    for (const nat of stack.natProvider.natInstances) {
      template.hasResourceProperties('AWS::IAM::InstanceProfile', { Roles: [ref(nat.role.roleName)] });
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } }] },
        ManagedPolicyArns: Match.absent(),
      });
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [ref(nat.role.roleName)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: 'cloudformation:SignalResource', Resource: { Ref: 'AWS::StackId' } }),
            Match.objectLike({ Sid: 'FetchBootScripts', Action: 's3:GetObject' }),
            Match.objectLike({
              Action: 'autoscaling:SetInstanceHealth',
              Condition: { StringEquals: { 'aws:ResourceTag/NatInstanceGroup': Match.anyValue() } },
              // Auto Scaling group ARNs have a colon, not a slash, after autoScalingGroup.
              Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':autoscaling:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':autoScalingGroup:*:autoScalingGroupName/*']] },
            }),
            Match.objectLike({
              Action: 'cloudwatch:PutMetricData', Resource: '*',
              Condition: { StringEquals: { 'cloudwatch:namespace': { 'Fn::Join': ['', ['NatInstance/', ref(nat.networkInterfaceId)]] } } },
            }),
            Match.objectLike({
              Sid: 'SessionManagerRegister', Action: 'ssm:UpdateInstanceInformation',
              Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':instance/*']] },
            }),
            Match.objectLike({
              Sid: 'SessionManagerChannels', Resource: '*',
              Action: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
            }),
          ]),
        },
      });
    }
    template.resourceCountIs('AWS::IAM::Role', 5);
    template.resourceCountIs('AWS::IAM::Policy', 5);
  });

  test('no IAM statement grants every action; "*" resources only for reads and the conditioned heartbeat', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions = [statement.Action].flat();
        expect(actions).not.toContain('*');
        if (statement.Resource === '*') {
          for (const action of actions) {
            if (action === 'cloudwatch:PutMetricData') {
              expect(statement.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': { 'Fn::Join': ['', ['NatInstance/', { Ref: expect.stringMatching(/NetworkInterface/) }]] } } });
            } else {
              // The channel actions of a Session Manager session support no resource-level permissions.
              expect(action).toMatch(/^ec2:Describe|^autoscaling:Describe|^cloudwatch:GetMetricData$|^ssmmessages:(Create|Open)(Control|Data)Channel$/);
            }
          }
        }
      }
    }
  });

  test('the default security group is stripped of its rules (custom resource and its function)', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
    template.hasResourceProperties('Custom::VpcRestrictDefaultSG', {
      DefaultSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Vpc'), 'DefaultSecurityGroup'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: '__entrypoint__.handler', Runtime: Match.stringLikeRegexp('^nodejs') });
    // It waits for its log policy; its DependsOn on the role it already GetAtts is gone (cfn-lint W3005).
    template.hasResource('AWS::Lambda::Function', { Properties: { Handler: '__entrypoint__.handler' }, DependsOn: [Match.stringLikeRegexp('^DefaultSecurityGroupProviderLogging')] });
  });

  test('the default security group\'s function has no managed policy and writes only to its own log group', () => {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: '__entrypoint__.handler' } }));
    const group = fn.Properties.LoggingConfig.LogGroup.Ref as string;
    expect(template.toJSON().Resources[group]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    const roleName = fn.Properties.Role['Fn::GetAtt'][0] as string;
    expect(template.toJSON().Resources[roleName].Properties.ManagedPolicyArns).toBeUndefined();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleName }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [group, 'Arn'] } }] },
    });
  });

  test('flow logs: all traffic of the VPC to a log group kept 30 days and retained with the stack deleted', () => {
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceId: ref(stack.vpc.vpcId),
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: ref(stack.flowLogGroup!.logGroupName),
      DeliverLogsPermissionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FlowLogIAMRole'), 'Arn'] },
    });
    const group = template.toJSON().Resources[stack.getLogicalId(stack.flowLogGroup!.node.defaultChild as CfnResource)];
    expect(group).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'vpc-flow-logs.amazonaws.com' } })] },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('FlowLogGroup'), 'Arn'] } })]) },
    });
  });

  test('outputs: the VPC and, per NAT, its egress address, interface and group', () => {
    template.hasOutput('VpcId', { Value: ref(stack.vpc.vpcId) });
    stack.natProvider.natInstances.forEach((nat, i) => {
      template.hasOutput(`Nat${i}PublicAddress`, { Value: ref(nat.publicIp!) });
      template.hasOutput(`Nat${i}NetworkInterface`, { Value: ref(nat.networkInterfaceId) });
      template.hasOutput(`Nat${i}AutoScalingGroup`, { Value: ref(nat.autoScalingGroup.autoScalingGroupName) });
    });
  });

  test('user data runs the loader for this stack and NAT, with the interface and the VPC CIDR for the bootstrap', () => {
    const scripts = userDataScripts(template);
    expect(scripts).toHaveLength(2);
    stack.natProvider.natInstances.forEach((nat, i) => {
      const eni = (stack.resolve(nat.networkInterfaceId) as { Ref: string }).Ref;
      const asg = stack.getLogicalId(nat.autoScalingGroup.node.defaultChild as ec2.CfnInstance);
      expect(scripts[i]).toMatch(new RegExp(`^/opt/nat-instance/load\\.sh --region '\\$\\{AWS::Region\\}' --stack-name 'TestNat' --resource '${asg}' ` +
        `--eni-id '\\$\\{${eni}\\}' --fetch 'configure-nat\\.sh' .* --fetch 'nat-bootstrap\\.sh' .* -- --vpc-cidr '10\\.0\\.0\\.0/16' ` +
        `--metric-namespace 'NatInstance/\\$\\{${eni}\\}' --metric-dimension 'NetworkInterfaceId' --heartbeat-metric 'Heartbeat' ` +
        "--check-period '60' --check-accuracy '1'$", 'm'));
    });
  });
});

describe('NatInstanceStack options', () => {
  test('maxInstanceLifetimeDays: every NAT group replaces instances that old, launching first', () => {
    const t = Template.fromStack(natStack({ maxInstanceLifetimeDays: 14 }));
    expect(Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup')).map((g) => [g.Properties.MaxInstanceLifetime, g.Properties.InstanceMaintenancePolicy]))
      .toEqual(Array(2).fill([1_209_600, { MinHealthyPercentage: 100, MaxHealthyPercentage: 200 }]));
    expect(() => natStack({ maxInstanceLifetimeDays: 0 })).toThrow("Invalid maxInstanceLifetimeDays: got 0; expected a whole number from 1 to 365 days (the Auto Scaling group's limits)");
  });

  test('connectionHandoff: the S3 endpoint on the public route tables, and user data that takes the state first', () => {
    const stack = natStack({ connectionHandoff: true });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', { RouteTableIds: stack.vpc.publicSubnets.map((s) => stack.resolve(s.routeTable.routeTableId)) });
    expect(userDataScripts(t).every((script) => / --before-interface .* --handoff-address /.test(script))).toBe(true);
    expect(() => natStack({ connectionHandoff: 'yes' as never })).toThrow("Invalid connectionHandoff: got 'yes'; expected true or false");
  });

  test('logEncryption: one rotated key, usable by CloudWatch Logs of this account and region only, on every log group', () => {
    const encrypted = natStack({ logEncryption: true });
    const t = Template.fromStack(encrypted);
    t.resourceCountIs('AWS::KMS::Key', 1);
    const keyId = encrypted.getLogicalId(encrypted.logKey!.node.defaultChild as CfnResource);
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({
        Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:*']] } } },
      })]) },
    });
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3);
    for (const group of groups) {
      expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
    Template.fromStack(natStack()).resourceCountIs('AWS::KMS::Key', 0);
  });

  test('three zones with one NAT: every private subnet routes to the one NAT', () => {
    const stack = natStack({ azs: 3, natCount: 1 });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::Subnet', 6);
    template.resourceCountIs('AWS::EC2::NetworkInterface', 1);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    const eni = stack.resolve(stack.natProvider.natInstances[0].networkInterfaceId);
    for (const subnet of stack.vpc.privateSubnets) {
      template.hasResourceProperties('AWS::EC2::Route', { RouteTableId: stack.resolve(subnet.routeTable.routeTableId), NetworkInterfaceId: eni });
    }
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  test('three zones with two NATs: the zone without a NAT routes to NAT (index mod 2), the others to their own', () => {
    const stack = natStack({ azs: 3, natCount: 2 });
    const template = Template.fromStack(stack);
    const enis = stack.natProvider.natInstances.map((nat) => stack.resolve(nat.networkInterfaceId));
    const expectedNat = [0, 1, 0];
    stack.vpc.privateSubnets.forEach((subnet, i) => {
      template.hasResourceProperties('AWS::EC2::Route', {
        RouteTableId: stack.resolve(subnet.routeTable.routeTableId),
        NetworkInterfaceId: enis[expectedNat[i]],
      });
    });
  });

  test('six zones in an environment-agnostic stack select six zones at deployment', () => {
    const stack = natStack({ azs: 6 });
    expect(stack.vpc.availabilityZones.map((az) => stack.resolve(az))).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => ({ 'Fn::Select': [i, { 'Fn::GetAZs': '' }] })));
    Template.fromStack(stack).resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 6);
  });

  test('a stack with a concrete environment uses the zone names it knows', () => {
    const app = new App({ context: { 'availability-zones:account=111111111111:region=eu-west-1': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] } });
    const stack = new NatInstanceStack(app, 'Env', { env: { account: '111111111111', region: 'eu-west-1' }, azs: 3 });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'eu-west-1c' });
    expect(() => new NatInstanceStack(app, 'TooMany', { env: { account: '111111111111', region: 'eu-west-1' }, azs: 4 }))
      .toThrow("Invalid azs: got 4; expected at most 3, the number of availability zones known for eu-west-1");
  });

  test('custom CIDR, subnet sizes, instance type and volume size', () => {
    const template = natTemplate({
      vpcCidr: '172.16.0.0/20', publicSubnetCidrMask: 28, privateSubnetCidrMask: 22, instanceType: new ec2.InstanceType('c7gn.medium'), rootVolumeSize: 16,
    });
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '172.16.0.0/20' });
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '172.16.0.0/28' });
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '172.16.4.0/22' });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'c7gn.medium',
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 16 }) })],
      }),
    });
  });

  test('an x86 instance type takes the x86_64 image', () => {
    const template = natTemplate({ instanceType: new ec2.InstanceType('t3.micro') });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 't3.micro', ImageId: { Ref: Match.stringLikeRegexp('al2023amikernel.*x8664') } }),
    });
  });

  test('given Elastic IP allocations are associated instead of new ones', () => {
    const stack = natStack({ eipAllocationIds: ['eipalloc-0123456789abcdef0', 'eipalloc-0fedcba9876543210'] });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    template.resourceCountIs('AWS::EC2::EIPAssociation', 2);
    template.hasResourceProperties('AWS::EC2::EIPAssociation', { AllocationId: 'eipalloc-0fedcba9876543210' });
    template.hasOutput('Nat0PublicAddress', { Value: 'eipalloc-0123456789abcdef0' });
  });

  test('additional CIDR blocks are admitted by the security group and passed to the NAT', () => {
    const template = natTemplate({ additionalCidrs: ['100.64.0.0/16'] });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: '10.0.0.0/16', IpProtocol: '-1' }),
        Match.objectLike({ CidrIp: '100.64.0.0/16', IpProtocol: '-1' }),
      ],
    });
    expect(userDataScripts(template)[0]).toMatch(/ --vpc-cidr '10\.0\.0\.0\/16' --vpc-cidr '100\.64\.0\.0\/16' --metric-namespace /);
  });

  test('flow logs can be turned off, or kept longer', () => {
    const off = natTemplate({ flowLogs: false });
    off.resourceCountIs('AWS::EC2::FlowLog', 0);
    expect(Object.keys(off.findResources('AWS::Logs::LogGroup')).filter((id) => id.startsWith('FlowLog'))).toEqual([]);
    natTemplate({ flowLogRetentionDays: 365 }).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('a customer managed KMS key encrypts the root volumes', () => {
    const key = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    natTemplate({ ebsKmsKeyArn: key }).hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true, KmsKeyId: key }) })] }),
    });
  });
});

describe('NatInstanceStack in zones chosen by name', () => {
  test('subnets and NATs in exactly the zones named, one NAT each by default', () => {
    const stack = natStack({ availabilityZones: ['us-east-1a', 'us-east-1c', 'us-east-1f'] });
    const template = Template.fromStack(stack);
    const zones = Object.values(template.findResources('AWS::EC2::Subnet')).map((r) => r.Properties.AvailabilityZone);
    expect(zones).toEqual(['us-east-1a', 'us-east-1c', 'us-east-1f', 'us-east-1a', 'us-east-1c', 'us-east-1f']);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 3);
    expect(stack.natProvider.natInstances.map((n) => n.availabilityZone)).toEqual(['us-east-1a', 'us-east-1c', 'us-east-1f']);
  });

  test('-c azs=NAMES reaches the stack through the app', () => {
    const app = new App({ context: { azs: 'eu-west-1b,eu-west-1c' } });
    const stack = composeApp(app);
    expect(stack.vpc.availabilityZones).toEqual(['eu-west-1b', 'eu-west-1c']);
  });

  test.each([
    ['both a count and names', { azs: 2, availabilityZones: ['us-east-1a'] }, "Invalid availabilityZones: got [\"us-east-1a\"]; expected either a number of zones (azs) or their names (availabilityZones), not both"],
    ['a name that is no zone', { availabilityZones: ['us-east-1'] }, "Invalid availabilityZones: got 'us-east-1'; expected 1 to 6 distinct availability zone names"],
    ['a zone twice', { availabilityZones: ['us-east-1a', 'us-east-1a'] }, 'Invalid availabilityZones: got ["us-east-1a","us-east-1a"]; expected 1 to 6 distinct'],
    ['seven zones', { availabilityZones: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((z) => `us-east-1${z}`) }, 'expected 1 to 6 distinct availability zone names'],
    ['none', { availabilityZones: [] }, 'Invalid availabilityZones: got []; expected 1 to 6'],
    ['more NATs than named zones', { availabilityZones: ['us-east-1a'], natCount: 2 }, 'Invalid natCount: got 2; expected a whole number 1'],
  ])('refuses %s', (_name, props, message) => {
    expect(() => natStack(props as never)).toThrow(message);
  });

  test('a zone of another region than the stack\'s is refused', () => {
    const app = new App();
    expect(() => new NatInstanceStack(app, 'Env', { env: { account: '111111111111', region: 'eu-west-1' }, availabilityZones: ['us-east-1a'] }))
      .toThrow("Invalid availabilityZones: got 'us-east-1a'; expected zones of the stack's region, eu-west-1");
  });
});

test('-c amiIds pins the image: the launch templates take it from a region map, not the latest from SSM', () => {
  const app = new App({ context: { amiIds: 'us-east-1=ami-0123456789abcdef0,eu-west-1=ami-89abcdef' } });
  const template = Template.fromStack(composeApp(app)).toJSON();
  const maps = Object.values(template.Mappings ?? {}) as Array<Record<string, { ami: string }>>;
  expect(maps).toContainEqual({ 'us-east-1': { ami: 'ami-0123456789abcdef0' }, 'eu-west-1': { ami: 'ami-89abcdef' } });
  expect(Object.keys(template.Parameters ?? {}).filter((p) => /SsmParameterValue.*al2023/i.test(p))).toEqual([]);
});
