import * as fs from 'fs';
import * as path from 'path';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CONTEXT_KEYS, DEFAULT_STACK_NAME, configFromContext } from '../bin/app-config';

describe('configFromContext', () => {
  test('no app keys: the default stack name and no props', () => {
    expect(configFromContext({})).toEqual({ stackName: DEFAULT_STACK_NAME, compliance: [], props: {} });
  });

  test('CDK keys (feature flags, aws:cdk:*, cli-telemetry) are not the app\'s and pass untouched', () => {
    const config = configFromContext({
      '@aws-cdk/aws-ec2:restrictDefaultSecurityGroup': true,
      'aws:cdk:enable-path-metadata': true,
      'cli-telemetry': false,
      'acknowledged-issue-numbers': [1234],
    });
    expect(config.props).toEqual({});
  });

  test('-c strings become the typed props the stack takes: numbers, lists, an instance type, a credit mode', () => {
    const config = configFromContext({
      stackName: 'EgressVpc', vpcCidr: '10.1.0.0/16', azs: '3', natCount: ' 2 ', publicSubnetCidrMask: '26',
      privateSubnetCidrMask: '19', instanceType: 't4g.micro', creditSpecification: 'Standard', rootVolumeSize: '10',
      eipAllocationIds: 'eipalloc-01234567, eipalloc-89abcdef', additionalCidrs: '100.64.0.0/16', compliance: 'nist, pci', maxInstanceLifetimeDays: '14',
    });
    expect(config.props.instanceType).toBeInstanceOf(ec2.InstanceType);
    expect(config).toEqual({
      stackName: 'EgressVpc',
      compliance: ['nist', 'pci'],
      props: {
        vpcCidr: '10.1.0.0/16', azs: 3, natCount: 2, publicSubnetCidrMask: 26, privateSubnetCidrMask: 19,
        instanceType: new ec2.InstanceType('t4g.micro'), creditSpecification: ec2.CpuCredits.STANDARD, rootVolumeSize: 10,
        eipAllocationIds: ['eipalloc-01234567', 'eipalloc-89abcdef'], additionalCidrs: ['100.64.0.0/16'], maxInstanceLifetimeDays: 14,
      },
    });
  });

  test('values from cdk.json keep their JSON types', () => {
    expect(configFromContext({ azs: 3, eipAllocationIds: ['eipalloc-01234567'] }).props).toEqual({ azs: 3, eipAllocationIds: ['eipalloc-01234567'] });
  });

  test('words where numbers belong pass through for the stack to reject by name', () => {
    expect(configFromContext({ azs: 'three' }).props).toEqual({ azs: 'three' });
    expect(configFromContext({ natCount: '-1' }).props).toEqual({ natCount: -1 });
  });

  test('an unknown key is an error that suggests the key meant', () => {
    expect(() => configFromContext({ natcount: '1' })).toThrow("Invalid context key: got 'natcount'; expected one of stackName, vpcCidr, azs, natCount");
    expect(() => configFromContext({ natcount: '1' })).toThrow('(did you mean natCount?)');
    expect(() => configFromContext({ vpcCdir: '10.0.0.0/16' })).toThrow('(did you mean vpcCidr?)');
    expect(() => configFromContext({ colour: 'blue' })).toThrow(/expected one of [^(]*$/);
  });

  test('the removed architecture key says what replaced it', () => {
    expect(() => configFromContext({ architecture: 'arm64' })).toThrow(
      "Invalid context key: got 'architecture'; expected no architecture key: it was removed in 0.2.0, and the instance type alone decides it");
  });

  test('a stack name CloudFormation would refuse is rejected', () => {
    expect(() => configFromContext({ stackName: '1nat' })).toThrow("Invalid stackName: got '1nat'; expected a CloudFormation stack name");
    expect(() => configFromContext({ stackName: 'nat_instance' })).toThrow("Invalid stackName: got 'nat_instance'");
  });

  test('every key is documented in the README configuration table', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    for (const key of Object.keys(CONTEXT_KEYS)) {
      expect(readme).toMatch(new RegExp(`^\\| \`${key}\` \\|`, 'm'));
    }
  });
});

describe('azs: a count or the zones by name', () => {
  test('-c azs=3 counts; -c azs=us-east-1a,us-east-1c names them', () => {
    expect(configFromContext({ azs: '3' }).props).toEqual({ azs: 3 });
    expect(configFromContext({ azs: 'us-east-1a, us-east-1c' }).props).toEqual({ availabilityZones: ['us-east-1a', 'us-east-1c'] });
    expect(configFromContext({ azs: ['eu-west-1b'] }).props).toEqual({ availabilityZones: ['eu-west-1b'] });
    // A word is no zone name: it stays azs, for the stack to refuse by that name.
    expect(configFromContext({ azs: 'three' }).props).toEqual({ azs: 'three' });
  });
});

describe('amiIds: a pinned image', () => {
  test('REGION=AMI pairs become a generic Linux image of those regions', () => {
    const { props } = configFromContext({ amiIds: 'eu-west-1=ami-0123456789abcdef0, us-east-1=ami-89abcdef' });
    expect(props.machineImage).toBeInstanceOf(ec2.GenericLinuxImage);
    expect((props.machineImage as unknown as { amiMap: Record<string, string> }).amiMap).toEqual({ 'eu-west-1': 'ami-0123456789abcdef0', 'us-east-1': 'ami-89abcdef' });
  });

  test.each([
    ['no region', 'ami-0123456789abcdef0', "Invalid amiIds: got 'ami-0123456789abcdef0'; expected REGION=AMI pairs such as eu-west-1=ami-0123456789abcdef0"],
    ['no image', 'eu-west-1=', "Invalid amiIds: got 'eu-west-1='"],
    ['an image ID that is not one', 'eu-west-1=ami-XYZ', "Invalid amiIds: got 'eu-west-1=ami-XYZ'"],
    ['a region twice', 'eu-west-1=ami-01234567,eu-west-1=ami-89abcdef', "Invalid amiIds: got 'eu-west-1=ami-89abcdef'; expected one image per region: eu-west-1 is given twice"],
    ['nothing', '', "Invalid amiIds: got ''; expected REGION=AMI pairs"],
  ])('refuses %s', (_name, value, message) => {
    expect(() => configFromContext({ amiIds: value })).toThrow(message);
  });
});
