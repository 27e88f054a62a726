import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as api from '../lib';

const root = path.join(__dirname, '..');

describe('the public API', () => {
  test('the entry point exports the provider, the stack and the error, and nothing of how they are built', () => {
    expect(Object.keys(api).sort()).toEqual(['NatConfigError', 'NatInstanceStack', 'SelfHealingNatProvider']);
  });

  test('six names, types included, none of which aws-cdk-lib or its EC2, Auto Scaling and CloudWatch modules export', () => {
    const probe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nat-names-')), 'probe.ts');
    const modules = ['aws-cdk-lib', 'aws-cdk-lib/aws-ec2', 'aws-cdk-lib/aws-autoscaling', 'aws-cdk-lib/aws-cloudwatch'];
    fs.writeFileSync(probe, `${modules.map((m, i) => `import * as m${i} from '${m}';`).join('\n')}\nimport * as ours from '${path.join(root, 'lib')}';\n`);
    const program = ts.createProgram([probe], { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, baseUrl: root, paths: { '*': [`${root}/node_modules/*`] }, skipLibCheck: true, noEmit: true });
    const checker = program.getTypeChecker();
    const exportsOf = (decl: ts.Statement) => checker.getExportsOfModule(checker.getSymbolAtLocation((decl as ts.ImportDeclaration).moduleSpecifier)!).map((s) => s.name);
    const imports = program.getSourceFile(probe)!.statements;
    const ours = exportsOf(imports[modules.length]);
    expect(ours.sort()).toEqual(['ISelfHealingNat', 'NatConfigError', 'NatInstanceStack', 'NatInstanceStackProps', 'SelfHealingNatProvider', 'SelfHealingNatProviderProps']);
    const theirs = new Set(imports.slice(0, modules.length).flatMap(exportsOf));
    expect(theirs.size).toBeGreaterThan(1000); // the probe did read aws-cdk-lib
    expect(theirs.has('NatInstanceProvider')).toBe(true); // the name the provider once had
    expect(ours.filter((name) => theirs.has(name))).toEqual([]);
    fs.rmSync(path.dirname(probe), { recursive: true, force: true });
  });

  test('API.md is what the doc comments generate now (npm run api)', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-api-'));
    try {
      const result = spawnSync('npx', ['typedoc', '--out', out], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      expect({ status: result.status, errors: result.stdout.split('\n').filter((l) => /error|warning/i.test(l) && !/0 errors/.test(l)) }).toEqual({ status: 0, errors: [] });
      const generated = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
      // Types a user needs, described: the provider's props, the per-NAT handle, the stack's props.
      for (const heading of ['### SelfHealingNatProvider', '### SelfHealingNatProviderProps', '### ISelfHealingNat', '### NatInstanceStack', '### NatInstanceStackProps', '### NatConfigError']) {
        expect(generated).toContain(`${heading}\n`);
      }
      expect(fs.readFileSync(path.join(root, 'API.md'), 'utf8')).toBe(generated);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
