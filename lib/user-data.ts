import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { BOOT_SCRIPTS_DIR } from './paths';

/** Where user data installs the scripts on the instance. */
export const INSTALL_DIR = '/opt/nat-instance';

/** EC2 refuses user data above 16 KiB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

const HEREDOC_END = 'NAT_INSTANCE_SCRIPT_END';

/** What the first boot needs to know. */
export interface BootstrapOptions {
  /** The static network interface to attach. */
  readonly networkInterfaceId: string;
  /** The CIDR blocks the NAT serves (literal strings or tokens). */
  readonly vpcCidrs: string[];
  /** The stack and logical ID to signal when the NAT is up, or has failed. */
  readonly stackName: string;
  readonly signalResource: string;
}

/** Reads a script of this package's assets/ folder. */
export function readAsset(name: string): Buffer {
  return fs.readFileSync(path.join(BOOT_SCRIPTS_DIR, name));
}

/**
 * A command that writes an asset script to the instance, byte for byte. The script travels
 * gzip-compressed and base64-encoded: EC2 caps user data at 16 KiB, and both scripts in plain
 * text would not fit. gzip output here has no timestamp, so synth stays deterministic.
 */
function installScript(name: string): string {
  const encoded = zlib.gzipSync(readAsset(name), { level: 9 }).toString('base64');
  const lines = encoded.match(/.{1,76}/g) ?? [];
  return [`base64 -d <<'${HEREDOC_END}' | gunzip > ${INSTALL_DIR}/${name}`, ...lines, HEREDOC_END].join('\n');
}

/**
 * Adds the NAT boot to a Linux user data: it writes the shipped scripts to the instance,
 * unchanged, and runs the bootstrap. The scripts travel inside the user data rather than as S3
 * assets, so the instance needs no S3 access and no bootstrapped asset bucket to boot.
 */
export function addNatBoot(userData: ec2.UserData, options: BootstrapOptions): void {
  const cidrArgs = options.vpcCidrs.map((cidr) => `--vpc-cidr ${cidr}`).join(' ');
  userData.addCommands(
    'set -euo pipefail',
    `install -d -m 0755 ${INSTALL_DIR}`,
    installScript('configure-nat.sh'),
    installScript('nat-bootstrap.sh'),
    `chmod 0755 ${INSTALL_DIR}/configure-nat.sh ${INSTALL_DIR}/nat-bootstrap.sh`,
    [
      `${INSTALL_DIR}/nat-bootstrap.sh setup`,
      `--eni-id ${options.networkInterfaceId}`,
      cidrArgs,
      `--stack-name ${options.stackName}`,
      `--resource ${options.signalResource}`,
    ].join(' '),
  );
  // Tokens render as placeholders of about their resolved length; keep room for long stack names.
  const estimate = Buffer.byteLength(userData.render(), 'utf8') + 256;
  if (estimate > USER_DATA_LIMIT_BYTES) {
    throw new Error(`The NAT instance user data is about ${estimate} bytes, over EC2's limit of ${USER_DATA_LIMIT_BYTES}; shorten the scripts in assets/`);
  }
}
