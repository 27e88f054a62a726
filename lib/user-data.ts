import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Aws, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { CHECK_TIMER_ACCURACY_SECONDS, HANDOFF_INSTANCE_DIMENSION, HANDOFF_PORT, HEARTBEAT_PERIOD_SECONDS, METRIC, NAT_METRIC_DIMENSION } from '../assets/contract';
import { BOOT_SCRIPTS_DIR } from './paths';
import { SHELL_VALUE_FORMS, hasShellForm } from './shell-forms';

/** Where user data installs the scripts on the instance. */
export const INSTALL_DIR = '/opt/nat-instance';

/** EC2 refuses user data above 16 KiB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/**
 * What this project allows its user data: three quarters of EC2's limit, room for the embedded
 * loader and library and the most additionalCidrs, with a margin below the limit.
 */
export const USER_DATA_BUDGET_BYTES = 12 * 1024;

/** The loader, embedded in the user data; it fetches the rest. */
export const LOADER = 'load.sh';

/** Embedded beside the loader: what the loader and the bootstrap share. */
export const LIBRARY = 'nat-lib.sh';

/** The scripts the loader fetches, verified by their SHA-256. */
export const FETCHED_SCRIPTS = ['configure-nat.sh', 'nat-bootstrap.sh'] as const;

/** Fetched as well when replacements take the connection state (`connectionHandoff`). */
export const HANDOFF_SCRIPT = 'conntrack-handoff.sh';

const HEREDOC_END = 'NAT_INSTANCE_SCRIPT_END';

/** Reads a script of this package's boot scripts. */
export function readAsset(name: string): Buffer {
  return fs.readFileSync(path.join(BOOT_SCRIPTS_DIR, name));
}

/** One boot script in the stack's asset bucket, with the digest the loader checks. */
interface FetchedScript {
  readonly name: string;
  readonly asset: s3assets.Asset;
  readonly sha256: string;
}

/**
 * The boot scripts as assets of the stack, one file each (no archive to unpack on the instance),
 * shared by every NAT of a provider.
 */
export class BootScripts extends Construct {
  public readonly scripts: readonly FetchedScript[];

  constructor(scope: Construct, id: string, options: { readonly handoff?: boolean } = {}) {
    super(scope, id);
    this.scripts = [...FETCHED_SCRIPTS, ...(options.handoff ? [HANDOFF_SCRIPT] : [])].map((name) => ({
      name,
      asset: new s3assets.Asset(this, name.replace(/\W/g, ''), { path: path.join(BOOT_SCRIPTS_DIR, name) }),
      sha256: crypto.createHash('sha256').update(readAsset(name)).digest('hex'),
    }));
  }

  /** Lets a NAT role read exactly these objects, and nothing else of the bucket. */
  public grantRead(role: iam.IRole): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'FetchBootScripts',
      actions: ['s3:GetObject'],
      resources: this.scripts.map((s) => Stack.of(this).formatArn({
        service: 's3', region: '', account: '', resource: s.asset.s3BucketName, resourceName: s.asset.s3ObjectKey,
      })),
    }));
  }
}

/** What the first boot needs to know. */
export interface BootstrapOptions {
  /** The scripts to fetch. */
  readonly scripts: BootScripts;
  /** The static network interface to attach. */
  readonly networkInterfaceId: string;
  /** The NAT's own metric namespace. */
  readonly metricNamespace: string;
  /** Whether the NAT also publishes its load metrics (connection tracking, ENA allowances). */
  readonly detailedMonitoring: boolean;
  /** The CIDR blocks the NAT serves (validated literals or tokens). */
  readonly vpcCidrs: string[];
  /** The stack and logical ID to signal when the NAT is up, or has failed. */
  readonly stackName: string;
  readonly signalResource: string;
  /**
   * The static interface's private address, where the old NAT serves its connection state:
   * given, the instance takes that state before the interface reaches it.
   */
  readonly handoffAddress?: string;
}

/**
 * A command that writes a shipped script to the instance, byte for byte, gzip-compressed and
 * base64-encoded. gzip output here has no timestamp, so synth stays deterministic.
 */
function embedScript(name: string): string {
  const encoded = zlib.gzipSync(readAsset(name), { level: 9 }).toString('base64');
  const lines = encoded.match(/.{1,76}/g) ?? [];
  return [`base64 -d <<'${HEREDOC_END}' | gunzip > ${INSTALL_DIR}/${name}`, ...lines, HEREDOC_END].join('\n');
}


/**
 * A value for the boot command line, single-quoted for the shell: a literal must have its form
 * (so no quote, space, newline or `$`), and a token may only be one whole token, or stand in
 * plain text, never beside anything the shell would read.
 */
export function shellValue(form: keyof typeof SHELL_VALUE_FORMS, value: string | number): string {
  const text = String(value);
  const literal = !Token.isUnresolved(text);
  const oneToken = /^\$\{Token\[[A-Za-z0-9_.-]+\]\}$/.test(text);
  if (literal ? !hasShellForm(form, text) : !oneToken && !text.split(/\$\{Token\[[A-Za-z0-9_.-]+\]\}/).every((part) => /^[A-Za-z0-9/._-]*$/.test(part))) {
    throw new Error(`A value for the NAT user data does not have the form of ${form}: ${JSON.stringify(text).slice(0, 120)}`);
  }
  return `'${text}'`;
}

/**
 * Adds the NAT boot to a Linux user data: the loader and the library it shares with the
 * bootstrap, embedded; the loader waits for the static interface, fetches the other scripts from
 * the stack's asset bucket, checks each against its SHA-256 and runs the bootstrap.
 */
export function addNatBoot(userData: ec2.UserData, options: BootstrapOptions): void {
  const fetches = options.scripts.scripts.map((s) =>
    `--fetch ${shellValue('script', s.name)} ${shellValue('bucket', s.asset.s3BucketName)} ${shellValue('key', s.asset.s3ObjectKey)} ${shellValue('sha256', s.sha256)}`);
  userData.addCommands(
    'set -euo pipefail',
    `install -d -m 0755 ${INSTALL_DIR}`,
    embedScript(LIBRARY),
    embedScript(LOADER),
    `chmod 0755 ${INSTALL_DIR}/${LOADER}`,
    [
      `${INSTALL_DIR}/${LOADER}`,
      `--region ${shellValue('region', Aws.REGION)}`,
      `--stack-name ${shellValue('stack', options.stackName)}`,
      `--resource ${shellValue('resource', options.signalResource)}`,
      `--eni-id ${shellValue('eni', options.networkInterfaceId)}`,
      ...(options.handoffAddress !== undefined ? ['--before-interface'] : []),
      ...fetches,
      '--',
      ...options.vpcCidrs.map((cidr) => `--vpc-cidr ${shellValue('vpc-cidr', cidr)}`),
      // The contract's values, so that no script holds a second copy of them.
      `--metric-namespace ${shellValue('namespace', options.metricNamespace)}`,
      `--metric-dimension ${shellValue('metric', NAT_METRIC_DIMENSION)}`,
      `--heartbeat-metric ${shellValue('metric', METRIC.heartbeat)}`,
      ...(options.detailedMonitoring
        ? [`--conntrack-metric ${shellValue('metric', METRIC.conntrackUsage)} --allowance-metric ${shellValue('metric', METRIC.allowanceExceeded)}`] : []),
      `--check-period ${shellValue('period', HEARTBEAT_PERIOD_SECONDS)} --check-accuracy ${shellValue('accuracy', CHECK_TIMER_ACCURACY_SECONDS)}`,
      ...(options.handoffAddress !== undefined ? [
        `--handoff-address ${shellValue('address', options.handoffAddress)} --handoff-port ${shellValue('port', HANDOFF_PORT)}`,
        `--handoff-metric ${shellValue('metric', METRIC.handoffReady)} --handoff-dimension ${shellValue('metric', HANDOFF_INSTANCE_DIMENSION)}`,
      ] : []),
    ].join(' '),
  );
  // Tokens render as placeholders of about their resolved length; keep room for long names.
  const estimate = Buffer.byteLength(userData.render(), 'utf8') + 256;
  if (estimate > USER_DATA_BUDGET_BYTES) {
    throw new Error(`The NAT instance user data is about ${estimate} bytes, over this project's budget of ${USER_DATA_BUDGET_BYTES} (EC2 allows ${USER_DATA_LIMIT_BYTES}); shorten assets/boot/${LOADER}`);
  }
}
