/**
 * npm run diff:offline -- [--base REF] [--allow-replacement] [--markdown FILE]
 * npm run diff:offline -- --base-template FILE --head-template FILE [--title TEXT] [--allow-replacement] [--markdown FILE]
 *
 * Synthesizes this working tree and the base revision (default origin/main, else main) with no
 * AWS access, diffs the two templates, prints a report that leads with replaced or deleted
 * resources and security changes, and exits 1 if a stateful resource (Elastic IP, interface,
 * VPC, subnet, ...) would be replaced or deleted, unless --allow-replacement says it is meant.
 * The base is synthesized in a temporary git worktree with this tree's node_modules.
 *
 * With --base-template and --head-template it synthesizes nothing and reads both templates from
 * files: the pull-request workflow uses this to compare the deployed stack's template with the
 * pull request's, as data, with the base branch's tooling.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UsageError, parseCommandLine, runTool } from '../bin/cli';
import { diffTemplates } from './template-diff';

const ROOT = path.join(__dirname, '..');

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/** Synthesizes the app in `dir` and returns its one stack's template. */
function synth(dir: string, outdir: string, context: string[]): Record<string, unknown> {
  run('npx', ['cdk', 'synth', '--quiet', '--output', outdir, ...context.flatMap((c) => ['-c', c])], dir);
  const templates = fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'));
  if (templates.length !== 1) {
    throw new Error(`expected one template in ${outdir}, found ${templates.join(', ') || 'none'}`);
  }
  return JSON.parse(fs.readFileSync(path.join(outdir, templates[0]), 'utf8'));
}

function defaultBase(): string {
  for (const ref of ['origin/main', 'main']) {
    if (spawnSync('git', ['rev-parse', '--verify', '--quiet', ref], { cwd: ROOT }).status === 0) {
      return ref;
    }
  }
  throw new Error('no origin/main or main to compare with; pass --base REF');
}

function readTemplate(file: string): Record<string, unknown> {
  const template = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof template !== 'object' || template === null || typeof template.Resources !== 'object') {
    throw new Error(`${file} is not a CloudFormation template (no Resources)`);
  }
  return template;
}

/** Prints and writes the report; 1 when a stateful resource would go and that is not allowed. */
function report(baseTemplate: Record<string, unknown>, headTemplate: Record<string, unknown>, title: string, values: { markdown?: string; 'allow-replacement'?: boolean }): number {
  const result = diffTemplates(baseTemplate, headTemplate, title);
  process.stdout.write(result.markdown);
  if (values.markdown) {
    fs.writeFileSync(values.markdown, result.markdown);
  }
  if (result.blocking.length > 0 && !values['allow-replacement']) {
    process.stderr.write(`diff:offline: ${result.blocking.length} stateful resource(s) would be replaced or deleted: ` +
      `${result.blocking.map((b) => `${b.logicalId} (${b.type}, ${b.impact})`).join(', ')}; pass --allow-replacement if that is intended\n`);
    return 1;
  }
  return 0;
}

const USAGE = `Usage: npm run diff:offline -- [--base REF] [-c KEY=VALUE ...] [--allow-replacement] [--markdown FILE]
       npm run diff:offline -- --base-template FILE --head-template FILE [--title TEXT] [--allow-replacement] [--markdown FILE]`;

function main(): number {
  const values = parseCommandLine(USAGE, {
    base: { type: 'string' }, 'allow-replacement': { type: 'boolean', default: false }, markdown: { type: 'string' },
    context: { type: 'string', multiple: true, short: 'c', default: [] },
    'base-template': { type: 'string' }, 'head-template': { type: 'string' }, title: { type: 'string' },
  });
  if ((values['base-template'] === undefined) !== (values['head-template'] === undefined)) {
    throw new UsageError('give both --base-template and --head-template, or neither');
  }
  if (values['base-template'] !== undefined && values['head-template'] !== undefined) {
    return report(readTemplate(values['base-template']), readTemplate(values['head-template']), values.title ?? 'Template diff', values);
  }
  const base = values.base ?? defaultBase();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-diff-'));
  const worktree = path.join(work, 'base');
  try {
    run('git', ['worktree', 'add', '--detach', '--quiet', worktree, base], ROOT);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(worktree, 'node_modules'));
    const baseTemplate = synth(worktree, path.join(work, 'base.out'), values.context);
    const headTemplate = synth(ROOT, path.join(work, 'head.out'), values.context);
    return report(baseTemplate, headTemplate, `Template diff against ${base}`, values);
  } finally {
    spawnSync('git', ['worktree', 'remove', '--force', worktree], { cwd: ROOT });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

runTool('diff:offline', USAGE, main, 2);
