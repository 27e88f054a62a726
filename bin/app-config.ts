import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { NatInstanceStackProps } from '../lib';
import { COMPLIANCE_PACKS } from '../lib/compliance';
import { SHELL_VALUE_FORMS } from '../lib/shell-forms';
import { NatConfigError } from '../lib/validation';

/** The app's default stack name. */
export const DEFAULT_STACK_NAME = 'NatInstance';

type Kind = 'string' | 'number' | 'list' | 'boolean' | 'instanceType' | 'creditSpecification' | 'zones' | 'images' | 'packs';

/**
 * The CDK context keys the app reads, each the name of a {@link NatInstanceStackProps} prop
 * (but `stackName`). The README's configuration table lists the same keys.
 */
export const CONTEXT_KEYS: Readonly<Record<string, Kind>> = {
  stackName: 'string',
  vpcCidr: 'string',
  azs: 'zones',
  natCount: 'number',
  publicSubnetCidrMask: 'number',
  privateSubnetCidrMask: 'number',
  instanceType: 'instanceType',
  creditSpecification: 'creditSpecification',
  amiIds: 'images',
  eipAllocationIds: 'list',
  additionalCidrs: 'list',
  rootVolumeSize: 'number',
  ebsKmsKeyArn: 'string',
  flowLogs: 'boolean',
  logEncryption: 'boolean',
  flowLogRetentionDays: 'number',
  routeWatchdog: 'boolean',
  controllerReservedConcurrency: 'number',
  maxInstanceLifetimeDays: 'number',
  connectionHandoff: 'boolean',
  spot: 'boolean',
  publicIpsPerNat: 'number',
  alarms: 'boolean',
  alarmTopicArn: 'string',
  alarmEmail: 'string',
  dashboard: 'boolean',
  detailedMonitoring: 'boolean',
  compliance: 'packs',
};

/** Context keys the app no longer reads, and what to do instead. */
const REMOVED_KEYS: Readonly<Record<string, string>> = {
  architecture: 'no architecture key: it was removed in 0.2.0, and the instance type alone decides it (t4g, c7g, m7g... are arm64; t3, c6i, m7i... are x86_64)',
};

/** Context keys that belong to the CDK itself rather than to this app. */
function isCdkKey(key: string): boolean {
  return key.startsWith('@') || key.includes(':') || key === 'cli-telemetry' || key === 'acknowledged-issue-numbers';
}

/** What the app needs to build its stack. */
export interface AppConfig {
  readonly stackName: string;
  /** The cdk-nag packs to run beside AWS Solutions, by their short names. */
  readonly compliance: CompliancePack[];
  readonly props: NatInstanceStackProps;
}

/**
 * Reads the app's configuration from CDK context (cdk.json and `-c key=value`). Values typed on
 * the command line arrive as strings: whole numbers become numbers, true and false booleans,
 * and comma-separated lists arrays, and everything else is passed on as it is for the stack to validate, so that
 * its error names the value the user typed. A key the app does not know is an error, since a
 * typo would otherwise fall back to a default without a word.
 */
export function configFromContext(context: Record<string, unknown>): AppConfig {
  const props: Record<string, unknown> = {};
  let stackName = DEFAULT_STACK_NAME;
  let compliance: CompliancePack[] = [];
  for (const [key, raw] of Object.entries(context)) {
    if (isCdkKey(key)) {
      continue;
    }
    if (Object.hasOwn(REMOVED_KEYS, key)) {
      throw new NatConfigError('context key', key, REMOVED_KEYS[key]);
    }
    const kind = Object.hasOwn(CONTEXT_KEYS, key) ? CONTEXT_KEYS[key] : undefined;
    if (!kind) {
      throw new NatConfigError('context key', key, `one of ${Object.keys(CONTEXT_KEYS).join(', ')}${suggest(key)}`);
    }
    if (key === 'stackName') {
      if (typeof raw !== 'string' || !SHELL_VALUE_FORMS.stack.test(raw)) {
        throw new NatConfigError('stackName', raw, 'a CloudFormation stack name: a letter, then letters, digits and hyphens, 128 characters at most');
      }
      stackName = raw;
    } else if (kind === 'packs') {
      compliance = compliancePacks(raw);
    } else if (kind === 'zones' && typeof raw === 'string' && /^[a-z]{2}-/.test(raw.trim())) {
      // -c azs=us-east-1a,us-east-1c names the zones; -c azs=3 counts them.
      props.availabilityZones = convert('azs', 'list', raw);
    } else if (kind === 'zones' && Array.isArray(raw)) {
      props.availabilityZones = raw;
    } else if (kind === 'images') {
      props.machineImage = pinnedImage(raw);
    } else {
      props[key] = convert(key, kind === 'zones' ? 'number' : kind, raw);
    }
  }
  return { stackName, compliance, props: props as NatInstanceStackProps };
}

/** A short name of an opt-in cdk-nag pack. */
export type CompliancePack = keyof typeof COMPLIANCE_PACKS;

/** The packs of -c compliance=nist,hipaa,pci,serverless (or a list in cdk.json), each once. */
function compliancePacks(raw: unknown): CompliancePack[] {
  const expected = `a comma-separated list of ${Object.keys(COMPLIANCE_PACKS).join(', ')}, each once`;
  const names = typeof raw === 'string' ? raw.split(',').map((n) => n.trim()) : raw;
  if (!Array.isArray(names) || names.length === 0) {
    throw new NatConfigError('compliance', raw, expected);
  }
  for (const name of names) {
    if (typeof name !== 'string' || !Object.hasOwn(COMPLIANCE_PACKS, name)) {
      throw new NatConfigError('compliance', name, expected);
    }
  }
  if (new Set(names).size !== names.length) {
    throw new NatConfigError('compliance', raw, expected);
  }
  return names as CompliancePack[];
}

const AMI_PAIR = /^([a-z]{2}(?:-[a-z]+)+-\d+)=(ami-[0-9a-f]{8}(?:[0-9a-f]{9})?)$/;

/**
 * A pinned image from REGION=AMI pairs (-c amiIds=eu-west-1=ami-...,us-east-1=ami-...): the NATs
 * stay on it until you change it, rather than move to the newest Amazon Linux 2023 at a deploy.
 */
function pinnedImage(raw: unknown): ec2.IMachineImage {
  const expected = 'REGION=AMI pairs such as eu-west-1=ami-0123456789abcdef0, comma-separated, one per region';
  const pairs = typeof raw === 'string' ? raw.split(',').map((p) => p.trim()).filter((p) => p !== '') : raw;
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw new NatConfigError('amiIds', raw, expected);
  }
  const images: Record<string, string> = {};
  for (const pair of pairs) {
    const match = typeof pair === 'string' ? AMI_PAIR.exec(pair) : null;
    if (!match || Object.hasOwn(images, match[1])) {
      throw new NatConfigError('amiIds', pair, match ? `one image per region: ${match[1]} is given twice` : expected);
    }
    images[match[1]] = match[2];
  }
  return ec2.MachineImage.genericLinux(images);
}

function convert(key: string, kind: Kind, raw: unknown): unknown {
  if (kind === 'instanceType') {
    if (typeof raw !== 'string') {
      throw new NatConfigError(key, raw, 'an instance type FAMILY.SIZE such as t4g.nano');
    }
    return new ec2.InstanceType(raw.trim());
  }
  if (kind === 'creditSpecification') {
    if (typeof raw !== 'string') {
      throw new NatConfigError(key, raw, 'standard or unlimited');
    }
    // ec2.CpuCredits holds the lower-case names CloudFormation takes.
    return raw.trim().toLowerCase();
  }
  if (kind === 'number' && typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) {
    // A number that would not read back as typed (-0, or beyond 2^53) stays the string typed, so
    // that the error shows it.
    const n = Number(raw);
    return Number.isSafeInteger(n) && !Object.is(n, -0) ? n : raw;
  }
  if (kind === 'boolean' && typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) {
    return raw.trim().toLowerCase() === 'true';
  }
  if (kind === 'list' && typeof raw === 'string') {
    const items = raw.split(',').map((item) => item.trim());
    if (items.some((item) => item === '')) {
      throw new NatConfigError(key, raw, 'a comma-separated list of one or more items, none empty (leave the key out for none)');
    }
    return items;
  }
  return raw;
}

function suggest(key: string): string {
  const lower = key.toLowerCase();
  const close = Object.keys(CONTEXT_KEYS).find((known) => editDistance(known.toLowerCase(), lower) <= 2);
  return close ? ` (did you mean ${close}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
