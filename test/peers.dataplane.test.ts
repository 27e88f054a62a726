import * as path from 'path';
import { CONNTRACK, FORWARD, OURS, OURS_TWO_ADDRESSES, PEERS, applySetUp, probeCases } from '../lab/peers';
import { Lab, describeUnless, labUnavailableReason, which } from './lab';

/**
 * The set-ups `npm run bench` compares, each applied to a fresh NAT host of the simulated VPC:
 * what packets from a private host and from a host outside the VPC did. The bench's figures are
 * only worth comparing if every peer really is a working NAT here.
 */
const reason = labUnavailableReason() ?? (which('route') ? undefined : 'aws-cdk\'s commands need route (apt-get install net-tools)');

describeUnless(reason, 'the bench\'s NAT set-ups in a simulated VPC', () => {
  const lab = new Lab(`peers${process.env.JEST_WORKER_ID ?? '0'}`);

  beforeAll(async () => {
    lab.up();
    await lab.startServer('inet', 8080, path.join(lab.dir, 'server.log'));
  });
  afterAll(() => lab.down());
  beforeEach(() => lab.reset());

  test.each([
    [OURS.id, { translates: true, relays: 'no' }],
    // Its first flow leaves with the interface's own address, the next with the second.
    [OURS_TWO_ADDRESSES.id, { translates: true, relays: 'no' }],
    ['seed', { translates: true, relays: 'masqueraded' }],
    ['aws-cdk', { translates: true, relays: 'masqueraded' }],
    ['fck-nat', { translates: true, relays: 'masqueraded' }],
    // alterNAT masquerades only its VPC's sources, and forwards everything else as it is.
    ['alternat', { translates: true, relays: 'as is' }],
    [CONNTRACK.id, { translates: false, relays: 'as is' }],
    [FORWARD.id, { translates: false, relays: 'as is' }],
  ])('%s: its commands succeed, and it does %j', async (id, expected) => {
    const setUp = [OURS, OURS_TWO_ADDRESSES, ...PEERS, CONNTRACK, FORWARD].find((s) => s.id === id)!;
    expect(applySetUp(lab, setUp)).toMatchObject({ status: 0 });
    expect(await probeCases(lab, id)).toEqual(expected);
  });

  test('aws-cdk\'s commands leave what they leave on Amazon Linux: the masquerade rule, an empty FORWARD, iptables-services\' INPUT', () => {
    expect(applySetUp(lab, PEERS.find((s) => s.id === 'aws-cdk')!)).toMatchObject({ status: 0 });
    const rules = lab.run('nat', ['iptables-save']).stdout;
    expect(rules).toContain('-A POSTROUTING -o ens5 -j MASQUERADE');
    expect(rules).not.toMatch(/^-A FORWARD/m);
    expect(rules).toMatch(/^-A INPUT -j REJECT --reject-with icmp-host-prohibited$/m);
    expect(lab.run('nat', ['cat', '/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('1');
  });
});
