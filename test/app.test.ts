import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');

/** Runs `cdk synth` of the app in bin/ as a user would, offline and without credentials. */
function synth(...context: string[]) {
  return synthWith({}, ...context);
}

function synthWith(extraEnv: Record<string, string>, ...context: string[]) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-synth-'));
  const args = ['cdk', 'synth', '--quiet', '--output', out, ...context.flatMap((c) => ['-c', c])];
  const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '', ...extraEnv };
  const result = spawnSync('npx', args, { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  const files = fs.readdirSync(out);
  const read = (file: string) => (files.includes(file) ? JSON.parse(fs.readFileSync(path.join(out, file), 'utf8')) : undefined);
  const template = read('NatInstance.template.json');
  fs.rmSync(out, { recursive: true, force: true });
  return { status: result.status, stderr: result.stderr, files, template };
}

describe('the app in bin/', () => {
  test('synthesizes with no credentials: NAT instances and no NAT gateway', () => {
    const { status, stderr, template } = synth();
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    const types = Object.values(template.Resources).map((r) => (r as { Type: string }).Type);
    expect(types.filter((t) => t === 'AWS::AutoScaling::AutoScalingGroup')).toHaveLength(2);
    expect(types).not.toContain('AWS::EC2::NatGateway');
    expect(template.Description).toMatch(/NAT instances/);
  });

  test('with CDK_VALIDATION=true it also runs CDK\'s built-in CloudFormation rules, and passes them', () => {
    const { status, stderr, template } = synthWith({ CDK_VALIDATION: 'true' });
    expect({ status, stderr: status === 0 ? '' : stderr }).toEqual({ status: 0, stderr: '' });
    expect(template.Description).toMatch(/NAT instances/);
  });

  test('-c options reach the stack', () => {
    const { status, template } = synth('azs=3', 'natCount=1', 'vpcCidr=10.20.0.0/16', 'instanceType=t4g.micro');
    expect(status).toBe(0);
    const resources = Object.values(template.Resources) as Array<{ Type: string; Properties: Record<string, unknown> }>;
    expect(resources.filter((r) => r.Type === 'AWS::EC2::Subnet')).toHaveLength(6);
    expect(resources.filter((r) => r.Type === 'AWS::AutoScaling::AutoScalingGroup')).toHaveLength(1);
    expect(resources.find((r) => r.Type === 'AWS::EC2::VPC')!.Properties.CidrBlock).toBe('10.20.0.0/16');
  });

  test.each([
    ['azs=three', "Error: Invalid azs: got 'three'; expected a whole number from 1 to 6"],
    ['vpcCidr=10.0.0.0/33', "Error: Invalid vpcCidr: got '10.0.0.0/33'"],
    ['natcount=1', "Error: Invalid context key: got 'natcount'"],
  ])('-c %s fails with a one-line error and writes no template', (context, message) => {
    const { status, stderr, files } = synth(context);
    expect(status).not.toBe(0);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(files.filter((f) => f.endsWith('.template.json'))).toEqual([]);
  });
});
