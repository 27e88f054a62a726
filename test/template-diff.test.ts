import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { diffTemplates } from '../tools/template-diff';
import { natStack } from './helpers';

type Json = Record<string, Record<string, Record<string, unknown>>>;
const base = (): Json => Template.fromStack(natStack()).toJSON() as Json;
const eipId = 'VpcPublicSubnet1NatInstanceElasticIp10A7F92C';

describe('diffTemplates', () => {
  test('the same template: no differences, nothing blocking', () => {
    const report = diffTemplates(base(), base(), 'diff');
    expect(report).toMatchObject({ blocking: [], destructive: [], securityChanges: false, differenceCount: 0 });
    expect(report.markdown).toBe('## diff\n\nNo differences.\n');
  });

  test('a renamed Elastic IP is a deletion of the old address: blocking, and the report leads with it', () => {
    const head = base();
    head.Resources.RenamedElasticIp = head.Resources[eipId];
    delete head.Resources[eipId];
    const report = diffTemplates(base(), head, 'diff');
    expect(report.blocking).toEqual([{ logicalId: eipId, type: 'AWS::EC2::EIP', impact: 'WILL_DESTROY', stateful: true }]);
    const lines = report.markdown.split('\n');
    expect(lines[2]).toMatch(/^\*\*:warning: 1 stateful resource\(s\) would be replaced or deleted\.\*\*/);
    expect(report.markdown).toContain(`| **${eipId}** | AWS::EC2::EIP | WILL_DESTROY |`);
  });

  test('a property change that replaces the Elastic IP is blocking too', () => {
    const head = base();
    (head.Resources[eipId].Properties as Record<string, unknown>).NetworkBorderGroup = 'us-east-1-bos-1';
    const report = diffTemplates(base(), head, 'diff');
    expect(report.blocking).toEqual([
      { logicalId: eipId, type: 'AWS::EC2::EIP', impact: 'WILL_REPLACE', stateful: true },
      { logicalId: 'VpcPublicSubnet1NatInstanceElasticIpAssociationC11634C3', type: 'AWS::EC2::EIPAssociation', impact: 'WILL_REPLACE', stateful: true },
    ]);
  });

  test('a widened security group is reported as a security change, not blocking', () => {
    const head = base();
    const [groupId] = Object.entries(head.Resources).find(([, r]) => r.Type === 'AWS::EC2::SecurityGroup' && JSON.stringify(r).includes('NAT instances'))!;
    const props = head.Resources[groupId].Properties as { SecurityGroupIngress: unknown[] };
    props.SecurityGroupIngress = [...props.SecurityGroupIngress, { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }];
    const report = diffTemplates(base(), head, 'diff');
    expect(report.securityChanges).toBe(true);
    expect(report.blocking).toEqual([]);
    expect(report.markdown).toMatch(/### Security changes \(IAM, security groups\)\n\n```\n[\s\S]*0\.0\.0\.0\/0/);
  });

  test('replacing a stateless resource is listed but does not block', () => {
    const head = base();
    const [ltId] = Object.entries(head.Resources).find(([, r]) => r.Type === 'AWS::EC2::LaunchTemplate')!;
    (head.Resources[ltId].Properties as Record<string, unknown>).LaunchTemplateName = 'renamed';
    const report = diffTemplates(base(), head, 'diff');
    expect(report.destructive.map((d) => [d.logicalId, d.stateful])).toEqual([[ltId, false]]);
    expect(report.blocking).toEqual([]);
  });
});

describe('npm run diff:offline', () => {
  const root = path.join(__dirname, '..');
  let clone: string;
  beforeAll(() => {
    clone = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-diff-clone-'));
    for (const args of [['clone', '-q', root, clone], ['-C', clone, 'config', 'user.email', 'test@example.invalid'], ['-C', clone, 'config', 'user.name', 'test']]) {
      expect(spawnSync('git', args).status).toBe(0);
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(clone, 'node_modules'));
    // The change under review: a refactor that renames the NAT's Elastic IP construct.
    const file = path.join(clone, 'lib', 'nat-instance.ts');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace("new ec2.CfnEIP(this, 'ElasticIp',", "new ec2.CfnEIP(this, 'PublicAddress',"));
  });
  afterAll(() => fs.rmSync(clone, { recursive: true, force: true }));

  const diff = (...args: string[]) => spawnSync('npx', ['tsx', 'tools/diff-offline.ts', '--base', 'HEAD', ...args], { cwd: clone, encoding: 'utf8', timeout: 120_000 });

  test('a change that replaces the Elastic IPs fails, naming them, unless it is declared intended', () => {
    const refused = diff();
    expect(refused.status).toBe(1);
    // Both Elastic IPs go, and with them their associations.
    expect(refused.stderr).toContain(`diff:offline: 4 stateful resource(s) would be replaced or deleted: ${eipId} (AWS::EC2::EIP, WILL_DESTROY), `);
    expect(refused.stderr).toContain('VpcPublicSubnet2NatInstanceElasticIpAssociation68A7FB5E (AWS::EC2::EIPAssociation, WILL_REPLACE); pass --allow-replacement if that is intended');
    expect(refused.stdout).toMatch(/^## Template diff against HEAD\n\n\*\*:warning: 4 stateful resource/);
    const allowed = diff('--allow-replacement');
    expect(allowed.status).toBe(0);
  }, 120_000);
});

describe('npm run diff:offline -- --base-template --head-template (templates as data, nothing synthesized)', () => {
  const root = path.join(__dirname, '..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-diff-files-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };
  const diff = (...args: string[]) => spawnSync('npx', ['tsx', 'tools/diff-offline.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

  test('the deployed template against the pull request\'s: the stateful check applies, --markdown writes the report', () => {
    const head = base();
    head.Resources.RenamedElasticIp = head.Resources[eipId];
    delete head.Resources[eipId];
    const markdown = path.join(dir, 'diff.md');
    const result = diff('--base-template', write('deployed.json', base()), '--head-template', write('pr.json', head), '--title', 'Against the deployed stack', '--markdown', markdown);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`1 stateful resource(s) would be replaced or deleted: ${eipId} (AWS::EC2::EIP, WILL_DESTROY)`);
    expect(fs.readFileSync(markdown, 'utf8')).toMatch(/^## Against the deployed stack\n/);
    expect(diff('--base-template', write('same.json', base()), '--head-template', write('same2.json', base())).status).toBe(0);
  });

  test.each([
    [['--base-template', 'x.json'], 'give both --base-template and --head-template, or neither'],
    [['--base-template', '/nonexistent.json', '--head-template', '/nonexistent.json'], 'ENOENT'],
  ])('bad usage %j exits 2 with a reason', (args, message) => {
    const result = diff(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });

  test('a file that is no template is refused', () => {
    const result = diff('--base-template', write('list.json', '[1]'), '--head-template', write('list2.json', '[1]'));
    expect(result).toMatchObject({ status: 2, stderr: expect.stringContaining('is not a CloudFormation template (no Resources)') });
  });
});
