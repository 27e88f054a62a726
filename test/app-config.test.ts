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

describe('what -c strings become, kind by kind', () => {
  const PACKS = 'a comma-separated list of nist, hipaa, pci, serverless, each once';
  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['true and false in any case and spacing are booleans', { flowLogs: ' TRUE ', spot: 'False', alarms: true }, { flowLogs: true, spot: false, alarms: true }],
    ['other words stay as typed, for the stack to refuse', { spot: 'yes', routeWatchdog: '1', flowLogs: 'untrue', alarms: 'falsely' }, { spot: 'yes', routeWatchdog: '1', flowLogs: 'untrue', alarms: 'falsely' }],
    ['a string key keeps true as a string', { alarmEmail: 'true', vpcCidr: '10.2.0.0/16' }, { alarmEmail: 'true', vpcCidr: '10.2.0.0/16' }],
    ['whole numbers with spaces and leading zeros', { natCount: ' 007 ', rootVolumeSize: '-3' }, { natCount: 7, rootVolumeSize: -3 }],
    ['what is not a whole number stays as typed', { natCount: '1e3', azs: '2x', publicIpsPerNat: 'x2', rootVolumeSize: '-0', flowLogRetentionDays: '99999999999999999999' },
      { natCount: '1e3', azs: '2x', publicIpsPerNat: 'x2', rootVolumeSize: '-0', flowLogRetentionDays: '99999999999999999999' }],
    ['a number key given a list from cdk.json keeps it', { natCount: [3] }, { natCount: [3] }],
    ['a list key keeps a lone number as a one-item list', { eipAllocationIds: '12', additionalCidrs: ' 100.64.0.0/16 ' }, { eipAllocationIds: ['12'], additionalCidrs: ['100.64.0.0/16'] }],
    ['zones named with a leading space', { azs: ' us-east-1a' }, { availabilityZones: ['us-east-1a'] }],
    ['a count that only contains a zone-like part is no zone list', { azs: '3us-east-1a' }, { azs: '3us-east-1a' }],
    ['a credit mode is trimmed and lower-cased', { creditSpecification: ' Unlimited ' }, { creditSpecification: 'unlimited' }],
  ])('%s', (_name, context, props) => {
    expect(configFromContext(context).props).toEqual(props);
  });

  test('an instance type is trimmed', () => {
    expect(String(configFromContext({ instanceType: ' t4g.micro ' }).props.instanceType)).toBe('t4g.micro');
  });

  test('REGION=AMI pairs from cdk.json, or with empty items between commas', () => {
    const amiMap = (raw: unknown) => (configFromContext({ amiIds: raw }).props.machineImage as unknown as { amiMap: Record<string, string> }).amiMap;
    expect(amiMap(['eu-west-1=ami-01234567'])).toEqual({ 'eu-west-1': 'ami-01234567' });
    expect(amiMap('eu-west-1=ami-01234567, ,')).toEqual({ 'eu-west-1': 'ami-01234567' });
  });

  test('compliance packs from -c or from a cdk.json list', () => {
    expect(configFromContext({ compliance: ['hipaa', 'serverless'] }).compliance).toEqual(['hipaa', 'serverless']);
    expect(configFromContext({ compliance: ' pci ' }).compliance).toEqual(['pci']);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['an instance type that is no string', { instanceType: 5 }, 'Invalid instanceType: got 5; expected an instance type FAMILY.SIZE such as t4g.nano'],
    ['a credit mode that is no string', { creditSpecification: 7 }, 'Invalid creditSpecification: got 7; expected standard or unlimited'],
    ['a list with an empty item', { eipAllocationIds: 'a,,b' }, "Invalid eipAllocationIds: got 'a,,b'; expected a comma-separated list of one or more items, none empty (leave the key out for none)"],
    ['a list of nothing but a comma', { additionalCidrs: ',' }, "Invalid additionalCidrs: got ','; expected a comma-separated list of one or more items"],
    ['a list of zones with an empty item', { azs: 'us-east-1a,,us-east-1b' }, "Invalid azs: got 'us-east-1a,,us-east-1b'; expected a comma-separated list"],
    ['image pairs that are only commas', { amiIds: ' , ' }, "Invalid amiIds: got ' , '; expected REGION=AMI pairs such as eu-west-1=ami-0123456789abcdef0, comma-separated, one per region"],
    ['an image pair that is no string', { amiIds: [5] }, 'Invalid amiIds: got 5; expected REGION=AMI pairs'],
    ['a stack name that is a list', { stackName: ['Nat'] }, 'Invalid stackName: got ["Nat"]; expected a CloudFormation stack name'],
    ['no compliance pack', { compliance: '' }, `Invalid compliance: got ''; expected ${PACKS}`],
    ['an empty list of packs', { compliance: [] }, `Invalid compliance: got []; expected ${PACKS}`],
    ['a pack twice', { compliance: 'nist, nist' }, `Invalid compliance: got 'nist, nist'; expected ${PACKS}`],
    ['a pack that is no string', { compliance: ['nist', 5] }, `Invalid compliance: got 5; expected ${PACKS}`],
    ['an unknown pack', { compliance: 'nist,sox' }, `Invalid compliance: got 'sox'; expected ${PACKS}`],
    ['a pack inside a list inside the list', { compliance: [['nist']] }, `Invalid compliance: got ["nist"]; expected ${PACKS}`],
    ['an image pair inside a list inside the list', { amiIds: [['eu-west-1=ami-01234567']] }, 'Invalid amiIds: got ["eu-west-1=ami-01234567"]; expected REGION=AMI pairs'],
    ['packs that are no list', { compliance: 42 }, `Invalid compliance: got 42; expected ${PACKS}`],
  ])('refuses %s', (_name, context, message) => {
    expect(() => configFromContext(context)).toThrow(message);
  });

  test('CDK keys are those starting with @ or holding a colon, and only those', () => {
    expect(() => configFromContext({ 'natCount@': '1' })).toThrow("Invalid context key: got 'natCount@'");
    expect(configFromContext({ '@aws-cdk/core:x': 1, 'a:b': 2 }).props).toEqual({});
  });

  test('a suggestion only within two edits of a key, in any case; none otherwise', () => {
    expect(() => configFromContext({ NATCOUNT: '1' })).toThrow('(did you mean natCount?)');
    expect(() => configFromContext({ natCountXY: '1' })).toThrow('(did you mean natCount?)');
    // Three edits from natcount: no suggestion, and the message ends with the keys.
    expect(() => configFromContext({ xynatcoun: '1' })).toThrow(/expected one of stackName, .*, compliance$/);
    expect(() => configFromContext({ colour: 'blue' })).toThrow(/, detailedMonitoring, compliance$/);
  });
});
