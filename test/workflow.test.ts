import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';

/**
 * The pull-request workflows are a security boundary: the one that runs a pull request's code
 * must hold no credentials, and the one that holds credentials must run no code from the pull
 * request. These tests guard the files against accidental edits; what stops a malicious branch
 * is outside the repository (workflow_run runs the default branch's file, and the role trusts
 * only that file on main), and the README's policy examples are checked here too.
 */
const root = path.join(__dirname, '..');
const workflowFile = (name: string) => path.join(root, '.github', 'workflows', name);
const validate = (target: string) => spawnSync('npx', ['action-validator', target], { encoding: 'utf8', timeout: 60_000 });

interface Step { name?: string; run?: string; uses?: string; if?: string; id?: string; with?: Record<string, string>; env?: Record<string, string> }
interface Job { if?: string; needs?: string; permissions?: Record<string, string>; steps: Step[] }
interface Workflow { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> }

const load = (name: string) => yaml.load(fs.readFileSync(workflowFile(name), 'utf8')) as Workflow;
const pr = load('pull-request.yml');
const diff = load('pull-request-diff.yml');
const text = (job: Job) => job.steps.map((s) => `${s.name ?? ''} ${s.run ?? ''} ${s.uses ?? ''}`).join('\n');
const step = (job: Job, pattern: RegExp) => job.steps.find((s) => pattern.test(`${s.name ?? ''} ${s.run ?? ''} ${s.uses ?? ''}`));
/** Runs code of the repository checked out (or installs and runs its packages). */
const RUNS_REPOSITORY_CODE = /\b(npm|npx|node|yarn|pnpm|tsx|make|bash \.|\.\/)/;

describe.each(['pull-request.yml', 'pull-request-diff.yml'])('%s', (name) => {
  test('is valid against the GitHub Actions schema (action-validator)', () => {
    const result = validate(workflowFile(name));
    expect({ status: result.status, stderr: result.stderr.replace(/npm warn.*\n/g, '') }).toEqual({ status: 0, stderr: '' });
  });

  test('pins every action by commit SHA', () => {
    const uses = Object.values(load(name).jobs).flatMap((job) => job.steps.map((s) => s.uses).filter((u): u is string => !!u));
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) {
      expect(action).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    }
  });

  test('grants each job its own least permissions, on top of a read-only or empty default', () => {
    const workflow = load(name);
    expect([{ contents: 'read' }, {}]).toContainEqual(workflow.permissions);
    for (const job of Object.values(workflow.jobs)) {
      expect(job.permissions).toBeDefined();
    }
  });
});

test('the validator does catch a broken workflow', () => {
  const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-')), 'broken.yml');
  fs.writeFileSync(broken, fs.readFileSync(workflowFile('pull-request.yml'), 'utf8').replace('runs-on: ubuntu-24.04', 'runs_on: ubuntu-24.04'));
  expect(validate(broken).status).not.toBe(0);
});

describe('pull-request.yml: runs the pull request\'s code, and so holds nothing', () => {
  const check = pr.jobs.check;

  test('runs on pull requests: install, the README\'s test command as CI, synth, the offline diff', () => {
    expect(pr.on).toEqual({ pull_request: { branches: ['main'] } });
    expect(Object.keys(pr.jobs)).toEqual(['check']);
    expect(step(check, /^Install npm ci/)).toBeDefined();
    expect(step(check, /CI=true npm test/)).toBeDefined();
    expect(step(check, /Mutation tests .*npm run test:mutation/)).toBeDefined();
    expect(step(check, /cdk synth --quiet --output pr-assembly/)).toBeDefined();
    const offline = step(check, /diff:offline/)!;
    expect(offline.run).toContain('--base "origin/$BASE_REF" --markdown diff.md $ALLOW');
    expect(offline.env!.ALLOW).toContain("'replacement-intended'");
    expect(step(check, /Fail on an unintended replacement/)!.if).toBe("${{ steps.offline.outputs.status == '1' }}");
  });

  test('no credentials, no id-token, a token that can only read, no secrets', () => {
    expect(pr.permissions).toEqual({ contents: 'read' });
    expect(check.permissions).toEqual({ contents: 'read' });
    // The parsed workflow, comments aside.
    const parsed = JSON.stringify(pr);
    expect(parsed).not.toMatch(/id-token|configure-aws-credentials|secrets\.|AWS_ROLE|AWS_ACCESS|"write"/);
    expect(step(check, /actions\/checkout/)!.with).toMatchObject({ 'persist-credentials': false });
  });

  test('hands on only its synthesized template, as an artifact', () => {
    expect(step(check, /Hand the synthesized template/)!.run).toBe('mkdir -p pr-results\ncp pr-assembly/*.template.json pr-results/\n');
    expect(step(check, /upload-artifact/)!.with).toMatchObject({ name: 'pr-results', path: 'pr-results/' });
  });
});

describe('pull-request-diff.yml: holds credentials and gates the merge, and so runs nothing of the pull request', () => {
  test('runs from the default branch after the pull-request workflow, never on a pull request event', () => {
    expect(diff.on).toEqual({ workflow_run: { workflows: ['pull-request'], types: ['completed'] } });
    expect(diff.permissions).toEqual({});
    for (const job of Object.values(diff.jobs)) {
      expect(job.if).toContain("github.event.workflow_run.conclusion != 'cancelled'");
    }
  });

  test('only deployed-template has an id-token: no repository code there, and no forks', () => {
    const withToken = Object.entries(diff.jobs).filter(([, job]) => job.permissions?.['id-token']).map(([id]) => id);
    expect(withToken).toEqual(['deployed-template']);
    const job = diff.jobs['deployed-template'];
    expect(job.permissions).toEqual({ 'id-token': 'write' });
    expect(job.if).toContain("vars.AWS_ROLE_ARN != ''");
    expect(job.if).toContain('github.event.workflow_run.head_repository.full_name == github.repository');
    expect(job.steps.map((s) => s.uses?.replace(/@.*/, '') ?? 'run')).toEqual(['aws-actions/configure-aws-credentials', 'run', 'actions/upload-artifact']);
    expect(text(job)).not.toMatch(RUNS_REPOSITORY_CODE);
    expect(text(job)).not.toMatch(/actions\/checkout|download-artifact/);
    expect(step(job, /get-template/)!.run).toMatch(/^mkdir deployed\naws cloudformation get-template --stack-name "\$STACK"/);
  });

  test('review: the default branch\'s tooling, the pull request\'s template as data, no credentials', () => {
    const job = diff.jobs.review;
    expect(job.permissions).toEqual({ contents: 'read', actions: 'read', 'pull-requests': 'write', statuses: 'write' });
    const checkouts = job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkouts.map((s) => s.with)).toEqual([{ ref: '${{ github.event.repository.default_branch }}', 'persist-credentials': false }]);
    expect(text(job)).not.toMatch(/configure-aws-credentials/);
    // The pull request's commit is named only to find the pull request and to set its status.
    for (const s of job.steps.filter((s) => s.run)) {
      expect(s.run).not.toMatch(/head_sha|head_branch|pull_request/);
    }
    const results = job.steps.find((s) => s.with?.name === 'pr-results')!;
    expect(results.with).toMatchObject({ 'run-id': '${{ github.event.workflow_run.id }}' });
    const base = step(job, /Diff against the default branch/)!;
    expect(base.run).toMatch(/npx cdk synth --quiet --output base-assembly\nnpm run --silent diff:offline -- --base-template "base-assembly\/\$STACK\.template\.json"/);
    expect(base.run).toContain('--head-template "pr-results/$STACK.template.json"');
    expect(base.env!.ALLOW).toBe('${{ steps.pr.outputs.allow }}');
    expect(step(job, /Diff against the deployed stack/)!.run).toContain('diff:offline -- --base-template deployed/template.json');
  });

  test('the pull request is found by the run\'s head commit, never taken from the artifact', () => {
    const find = step(diff.jobs.review, /Find the pull request/)!.with!.script;
    expect(find).toContain('p.head.sha === run.head_sha');
    expect(find).toContain("l.name === 'replacement-intended'");
    expect(JSON.stringify(diff)).not.toMatch(/pr-results\/number/);
  });

  test('one comment per pull request, updated rather than duplicated, and a commit status that can be required', () => {
    const post = step(diff.jobs.review, /Post the comment/)!;
    expect(post.env).toEqual({ NUMBER: '${{ steps.pr.outputs.number }}', STATUS: '${{ steps.base.outputs.status }}' });
    const script = post.with!.script;
    expect(script).toContain("createCommitStatus({ owner, repo, sha, state, context: 'template-diff / stateful resources', description })");
    expect(script).toContain("status === '0' ? 'success' : status === '1' ? 'failure' : 'error'");
    expect(script).toContain('<!-- cdk-nat-instance: template diff -->');
    expect(script).toContain('updateComment');
    expect(script).toContain('createComment');
  });
});

describe('the README\'s role for the deployed diff', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Pull requests'), readme.indexOf('\n## ', readme.indexOf('## Pull requests') + 5));
  const policies = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]));
  const statements = (policy: { Statement: unknown[] }) => policy.Statement as Array<{ Effect: string; Action: string | string[]; Resource?: string | string[]; Condition?: Record<string, Record<string, string>>; Principal?: Record<string, string> }>;

  test('shows a trust policy and a permissions policy', () => {
    expect(policies).toHaveLength(2);
  });

  test('trust: GitHub\'s OIDC tokens of pull-request-diff.yml on main only (a customised subject)', () => {
    const [trust] = policies;
    const [statement] = statements(trust);
    expect(statements(trust)).toHaveLength(1);
    expect(statement.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(statement.Principal!.Federated).toMatch(/:oidc-provider\/token\.actions\.githubusercontent\.com$/);
    expect(statement.Condition).toEqual({
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': 'repo:OWNER/REPO:ref:refs/heads/main:job_workflow_ref:OWNER/REPO/.github/workflows/pull-request-diff.yml@refs/heads/main',
      },
    });
  });

  test('permissions: read this stack\'s template, nothing that writes or assumes another role', () => {
    const [, permissions] = policies;
    const actions = statements(permissions).flatMap((s) => [s.Action].flat());
    expect(actions.sort()).toEqual(['cloudformation:DescribeStacks', 'cloudformation:GetTemplate']);
    for (const s of statements(permissions)) {
      expect(s.Effect).toBe('Allow');
      expect([s.Resource].flat()).toEqual(['arn:aws:cloudformation:REGION:ACCOUNT:stack/NatInstance/*']);
    }
  });
});
