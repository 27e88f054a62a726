import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cdk from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as api from '../lib';

const root = path.join(__dirname, '..');

describe('the public API', () => {
  test('the entry point exports the provider, the stack and the error, and nothing of how they are built', () => {
    expect(Object.keys(api).sort()).toEqual(['NatConfigError', 'NatInstanceStack', 'SelfHealingNatProvider']);
  });

  test('no exported name clashes with an aws-cdk-lib export', () => {
    for (const name of Object.keys(api)) {
      for (const module of [cdk, ec2, autoscaling]) {
        expect(module).not.toHaveProperty(name);
      }
    }
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
