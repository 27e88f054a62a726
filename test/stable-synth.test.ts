import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnElement } from 'aws-cdk-lib';
import { composeApp } from '../bin/compose';
import { SelfHealingNat } from '../lib/nat-instance';
import { appContext } from './helpers';

/**
 * A reviewer must be able to trust that a pull request's template diff is the change itself:
 * synth is deterministic, and the logical IDs of stateful resources never move (a new logical
 * ID is a new resource: a new Elastic IP, a new interface, a new VPC).
 */
function synthesize(context: Record<string, string> = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-stable-'));
  const app = new App({ outdir, context: appContext(context) });
  const stack = composeApp(app);
  app.synth();
  const text = fs.readFileSync(path.join(outdir, `${stack.stackName}.template.json`), 'utf8');
  fs.rmSync(outdir, { recursive: true, force: true });
  return { stack, text };
}

test('two synths of the same input are byte-identical', () => {
  const first = synthesize({ azs: '3' }).text;
  const second = synthesize({ azs: '3' }).text;
  expect(second).toBe(first);
  expect(first.length).toBeGreaterThan(10_000);
});

test('the logical IDs of stateful resources are pinned', () => {
  const { stack } = synthesize();
  const id = (element: unknown) => stack.getLogicalId(element as CfnElement);
  const nats = stack.natProvider.natInstances as SelfHealingNat[];
  expect({
    vpc: id(stack.vpc.node.defaultChild),
    publicSubnets: stack.vpc.publicSubnets.map((s) => id(s.node.defaultChild)),
    privateSubnets: stack.vpc.privateSubnets.map((s) => id(s.node.defaultChild)),
    interfaces: nats.map((n) => id(n.networkInterface)),
    elasticIps: nats.map((n) => id(n.elasticIp)),
    associations: nats.map((n) => id(n.node.findChild('ElasticIpAssociation'))),
    flowLogGroup: id(stack.flowLogGroup!.node.defaultChild),
  }).toEqual({
    vpc: 'Vpc8378EB38',
    publicSubnets: ['VpcPublicSubnet1Subnet5C2D37C4', 'VpcPublicSubnet2Subnet691E08A3'],
    privateSubnets: ['VpcPrivateSubnet1Subnet536B997A', 'VpcPrivateSubnet2Subnet3788AAA1'],
    interfaces: ['VpcPublicSubnet1NatInstanceNetworkInterfaceD836D377', 'VpcPublicSubnet2NatInstanceNetworkInterface291792CC'],
    elasticIps: ['VpcPublicSubnet1NatInstanceElasticIp10A7F92C', 'VpcPublicSubnet2NatInstanceElasticIp246A6817'],
    associations: ['VpcPublicSubnet1NatInstanceElasticIpAssociationC11634C3', 'VpcPublicSubnet2NatInstanceElasticIpAssociation68A7FB5E'],
    flowLogGroup: 'FlowLogGroup3E25AA51',
  });
});
