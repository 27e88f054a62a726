/**
 * The NAT set-ups `npm run bench` measures beside configure-nat.sh: what each alternative runs on
 * its instance to make it a NAT, as shell commands for the lab's NAT host.
 *
 * aws-cdk's commands are read from the installed aws-cdk-lib itself. The others are re-expressed
 * from their public sources (pinned below): their instance metadata look-ups, AWS API calls and
 * package installs are left out, since the lab has no AWS and the packages are already there;
 * what they do to the kernel (sysctl, iptables) is kept as they do it. Each script runs with
 * EGRESS_IF (the NAT's interface), VPC_CIDR and SYSCTL_D (a scratch folder standing in for
 * /etc/sysctl.d) set, and with shims for sudo, yum, systemctl and service on PATH.
 */
import * as fs from 'fs';
import * as path from 'path';
import { aws_ec2 as ec2 } from 'aws-cdk-lib';
import { FULL_PATH, INTERNET_HOST, Lab, NAT_ADDRESS, RunResult, VPC_CIDR } from './lab';

export interface NatSetUp {
  /** Short name, used in the bench's JSON and on its command line. */
  readonly id: string;
  /** What the table and the chart call it. */
  readonly label: string;
  /** Where its commands come from. */
  readonly source: string;
  /**
   * For configure-nat.sh: further addresses of the NAT's interface that flows leave with, beside
   * its own (--source-address), as publicIpsPerNat gives an instance.
   */
  readonly extraAddresses?: readonly string[];
  /** Bash run on the NAT host, or undefined for configure-nat.sh itself. */
  readonly script?: string;
}

/** aws-cdk's NatInstanceProviderV2 user data, with /etc/sysctl.d moved to the lab's scratch folder. */
function awsCdkScript(): string {
  return ec2.NatInstanceProviderV2.DEFAULT_USER_DATA_COMMANDS
    .map((command) => command.replaceAll('/etc/sysctl.d/', '"$SYSCTL_D"/'))
    .join('\n');
}

export const OURS: NatSetUp = { id: 'ours', label: 'configure-nat.sh (this project)', source: 'assets/boot/configure-nat.sh' };

/** configure-nat.sh with a second public address (publicIpsPerNat 2): more flows to one destination. */
export const OURS_TWO_ADDRESSES: NatSetUp = {
  id: 'ours-2ip',
  label: 'configure-nat.sh, 2 addresses',
  source: 'assets/boot/configure-nat.sh --source-address twice',
  extraAddresses: ['10.0.0.11'],
};

/** Forwarding with no rules: no connection tracking, no translation; the ceiling. */
export const FORWARD: NatSetUp = {
  id: 'forward',
  label: 'plain forwarding (no NAT)',
  source: 'net.ipv4.ip_forward=1 and nothing else',
  script: 'sysctl -q -w net.ipv4.ip_forward=1',
};

/**
 * Forwarding with connection tracking switched on and nothing else: the floor any stateful NAT
 * stands on. What separates it from plain forwarding is the cost of conntrack itself.
 */
export const CONNTRACK: NatSetUp = {
  id: 'conntrack',
  label: 'forwarding + conntrack (no NAT)',
  source: 'one nft rule that makes the kernel track connections',
  script: [
    'sysctl -q -w net.ipv4.ip_forward=1',
    'nft -f - <<EOF',
    'table ip floor {',
    '  chain forward { type filter hook forward priority filter; policy accept; ct state established accept; }',
    '}',
    'EOF',
  ].join('\n'),
};

export const PEERS: readonly NatSetUp[] = [
  {
    id: 'seed',
    label: 'one MASQUERADE rule',
    source: 'the one-rule NAT of countless guides: ip_forward=1 and iptables -t nat -A POSTROUTING -o IF -j MASQUERADE',
    script: ['sysctl -q -w net.ipv4.ip_forward=1', 'iptables -t nat -A POSTROUTING -o "$EGRESS_IF" -j MASQUERADE'].join('\n'),
  },
  {
    id: 'aws-cdk',
    label: 'aws-cdk NatInstanceProviderV2',
    source: 'aws-cdk-lib ec2.NatInstanceProviderV2.DEFAULT_USER_DATA_COMMANDS, from the installed aws-cdk-lib',
    script: awsCdkScript(),
  },
  {
    id: 'fck-nat',
    label: 'fck-nat',
    source: 'github.com/AndrewGuenther/fck-nat service/fck-nat.sh at bb6f3ae (no eni_id: the default interface)',
    script: [
      'sysctl -q -w net.ipv4.ip_forward=1',
      // fck-nat turns reverse-path filtering off on every interface.
      'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > "$f"; done',
      'iptables -t nat -F',
      'iptables -t nat -A POSTROUTING -o "$EGRESS_IF" -j MASQUERADE -m comment --comment "NAT routing rule installed by fck-nat"',
    ].join('\n'),
  },
  {
    id: 'alternat',
    label: 'alterNAT',
    source: 'github.com/chime/terraform-aws-alternat scripts/alternat.sh at 1e594ce (configure_nat; it names eth0, the lab\'s interface is ens5)',
    script: [
      'sysctl -q -w net.ipv4.ip_forward=1 "net.ipv4.conf.$EGRESS_IF.send_redirects=0" net.ipv4.ip_local_port_range="1024 65535"',
      'iptables -t nat -C POSTROUTING -o "$EGRESS_IF" -s "$VPC_CIDR" -j MASQUERADE 2>/dev/null ||',
      '  iptables -t nat -A POSTROUTING -o "$EGRESS_IF" -s "$VPC_CIDR" -j MASQUERADE',
    ].join('\n'),
  },
];

/** Every set-up the bench measures, ours first. */
export const SET_UPS: readonly NatSetUp[] = [OURS, OURS_TWO_ADDRESSES, ...PEERS, CONNTRACK, FORWARD];

/**
 * The default ruleset of Amazon Linux's iptables-services (/etc/sysconfig/iptables), which
 * aws-cdk's `systemctl start iptables` loads before it flushes FORWARD.
 */
export const IPTABLES_SERVICES_DEFAULT = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
`;

/**
 * Shims for the commands the lab stands in for: sudo runs its command (the lab is root), yum has
 * its packages already, systemctl starts iptables-services by loading its default rules, and
 * `service iptables save` has nowhere to persist to. Returns file name to content.
 */
function shims(defaultRulesFile: string): Record<string, string> {
  const header = '#!/usr/bin/env bash\nset -euo pipefail\n';
  return {
    sudo: `${header}exec "$@"\n`,
    yum: `${header}exit 0\n`,
    service: `${header}exit 0\n`,
    systemctl: `${header}if [ "\${1:-}" = start ] && [ "\${2:-}" = iptables ]; then exec iptables-restore < '${defaultRulesFile}'; fi\nexit 0\n`,
  };
}

/** Writes the shims and the scratch folders into the lab's folder (once); returns the environment a peer's script runs with. */
function peerEnvironment(lab: Lab): Record<string, string> {
  const dir = path.join(lab.dir, 'peers');
  const shimDir = path.join(dir, 'bin');
  const sysctlDir = path.join(dir, 'sysctl.d');
  if (!fs.existsSync(shimDir)) {
    fs.mkdirSync(shimDir, { recursive: true });
    fs.mkdirSync(sysctlDir, { recursive: true });
    const defaultRules = path.join(dir, 'iptables-services.rules');
    fs.writeFileSync(defaultRules, IPTABLES_SERVICES_DEFAULT);
    for (const [name, content] of Object.entries(shims(defaultRules))) {
      fs.writeFileSync(path.join(shimDir, name), content, { mode: 0o755 });
    }
  }
  return { PATH: `${shimDir}:${FULL_PATH}`, EGRESS_IF: 'ens5', VPC_CIDR, SYSCTL_D: sysctlDir };
}

/** Sets the lab's NAT host up (after Lab.reset) with configure-nat.sh or with a peer's commands. */
export function applySetUp(lab: Lab, setUp: NatSetUp): RunResult {
  if (setUp.script !== undefined) {
    return lab.run('nat', ['bash', '-c', setUp.script], { env: peerEnvironment(lab) });
  }
  const extra = setUp.extraAddresses ?? [];
  for (const address of extra) {
    // Kept across set-ups (Lab.reset leaves addresses): the others leave by the interface's own.
    lab.run('nat', ['ip', 'addr', 'replace', `${address}/24`, 'dev', 'ens5']);
  }
  return lab.configureNat(['--vpc-cidr', VPC_CIDR, ...(extra.length > 0 ? [NAT_ADDRESS, ...extra].flatMap((a) => ['--source-address', a]) : [])]);
}

/** What a set-up did with two probe connections to the internet host's port 8080. */
export interface Cases {
  /** A private host's connection reached the internet host from the NAT's address. */
  readonly translates: boolean;
  /** A host outside the VPC (rogue) reached the internet host through the NAT: translated, as is, or not at all. */
  readonly relays: 'masqueraded' | 'as is' | 'no';
}

/** Tries both cases against the set-up the NAT host has now. */
export async function probeCases(lab: Lab, token: string): Promise<Cases> {
  const to = ['--host', INTERNET_HOST, '--port', '8080', '--timeout-ms', '2000'];
  const inside = await lab.client('priv1', [...to, '--token', `${token}-inside`]);
  const outside = await lab.client('rogue', [...to, '--token', `${token}-outside`]);
  return {
    translates: inside.ok === 1 && inside.seen[NAT_ADDRESS] === 1,
    relays: outside.ok === 0 ? 'no' : outside.seen[NAT_ADDRESS] ? 'masqueraded' : 'as is',
  };
}
