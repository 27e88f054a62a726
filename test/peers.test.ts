import { aws_ec2 as ec2 } from 'aws-cdk-lib';
import { PEERS, SET_UPS } from '../lab/peers';

describe('the peers the bench measures', () => {
  test('aws-cdk\'s commands are the installed aws-cdk-lib\'s own, with only /etc/sysctl.d moved to the lab', () => {
    const script = PEERS.find((p) => p.id === 'aws-cdk')!.script!;
    const lines = script.split('\n');
    expect(lines).toHaveLength(ec2.NatInstanceProviderV2.DEFAULT_USER_DATA_COMMANDS.length);
    lines.forEach((line, i) => expect(line.replaceAll('"$SYSCTL_D"/', '/etc/sysctl.d/')).toBe(ec2.NatInstanceProviderV2.DEFAULT_USER_DATA_COMMANDS[i]));
    expect(script).not.toContain('/etc/');
  });

  test('every set-up has a distinct id, a label and a source; only ours run configure-nat.sh', () => {
    expect(new Set(SET_UPS.map((s) => s.id)).size).toBe(SET_UPS.length);
    for (const setUp of SET_UPS) {
      expect(setUp.label.length * setUp.source.length).toBeGreaterThan(0);
    }
    expect(SET_UPS.filter((s) => s.script === undefined).map((s) => s.id)).toEqual(['ours', 'ours-2ip']);
  });

  test('the peers\' commands touch only the NAT host\'s kernel: no network, no AWS, no package manager of their own', () => {
    for (const peer of PEERS) {
      expect([peer.id, /\b(curl|aws |dnf|apt)/.test(peer.script!)]).toEqual([peer.id, false]);
    }
  });
});
