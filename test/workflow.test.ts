import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';

const file = path.join(__dirname, '..', '.github', 'workflows', 'pull-request.yml');
const validate = (target: string) => spawnSync('npx', ['action-validator', target], { encoding: 'utf8', timeout: 60_000 });

interface Step { name?: string; run?: string; uses?: string; if?: string; with?: Record<string, string>; env?: Record<string, string> }

describe('the pull-request workflow', () => {
  const workflow = yaml.load(fs.readFileSync(file, 'utf8')) as { on: unknown; permissions: Record<string, string>; jobs: Record<string, { steps: Step[] }> };
  const steps = workflow.jobs.check.steps;
  const step = (pattern: RegExp) => steps.find((s) => pattern.test(`${s.name ?? ''} ${s.run ?? ''} ${s.uses ?? ''}`));

  test('is valid against the GitHub Actions schema (action-validator)', () => {
    const result = validate(file);
    expect({ status: result.status, stderr: result.stderr.replace(/npm warn.*\n/g, '') }).toEqual({ status: 0, stderr: '' });
  });

  test('the validator does catch a broken workflow', () => {
    const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-')), 'broken.yml');
    fs.writeFileSync(broken, fs.readFileSync(file, 'utf8').replace('runs-on: ubuntu-24.04', 'runs_on: ubuntu-24.04'));
    expect(validate(broken).status).not.toBe(0);
  });

  test('runs on pull requests: install, the README\'s test command as CI, synth', () => {
    expect(workflow.on).toEqual({ pull_request: { branches: ['main'] } });
    expect(step(/npm ci/)).toBeDefined();
    expect(step(/CI=true npm test/)).toBeDefined();
    expect(step(/cdk synth/)).toBeDefined();
    expect(workflow.permissions).toEqual({ contents: 'read', 'pull-requests': 'write', 'id-token': 'write' });
  });

  test('diffs against the deployed stack with OIDC when configured, offline against the base branch otherwise', () => {
    expect(step(/configure-aws-credentials/)).toMatchObject({ if: "${{ vars.AWS_ROLE_ARN != '' }}", with: { 'role-to-assume': '${{ vars.AWS_ROLE_ARN }}' } });
    expect(step(/cdk diff --no-color/)!.if).toBe("${{ vars.AWS_ROLE_ARN != '' }}");
    const offline = step(/diff:offline/)!;
    expect(offline.if).toBe("${{ vars.AWS_ROLE_ARN == '' }}");
    expect(offline.run).toContain('--base "origin/$BASE_REF" --markdown diff.md $ALLOW');
    expect(offline.env!.ALLOW).toContain("'replacement-intended'");
  });

  test('keeps one comment per pull request, updated rather than duplicated', () => {
    const comment = step(/github-script/)!;
    expect(comment.with!.script).toContain('<!-- cdk-nat-instance: template diff -->');
    expect(comment.with!.script).toContain('updateComment');
    expect(comment.with!.script).toContain('createComment');
    expect(step(/Fail on an unintended replacement/)!.if).toBe("${{ steps.offline.outputs.status == '1' }}");
  });
});
