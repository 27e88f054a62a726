import { Writable } from 'stream';
import { ResourceImpact, TemplateDiff, formatDifferences, formatSecurityChanges, fullDiff } from '@aws-cdk/cloudformation-diff';

/**
 * Resource types whose replacement or deletion changes the running network in a way users see:
 * a new egress address (customers allow-list it), a new route target, a new VPC or subnet.
 */
export const STATEFUL_TYPES: readonly string[] = [
  'AWS::EC2::EIP', 'AWS::EC2::EIPAssociation', 'AWS::EC2::NetworkInterface', 'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::Logs::LogGroup',
];

const DESTRUCTIVE = new Set<string>([ResourceImpact.WILL_REPLACE, ResourceImpact.MAY_REPLACE, ResourceImpact.WILL_DESTROY, ResourceImpact.WILL_ORPHAN]);

export interface DestructiveChange {
  readonly logicalId: string;
  readonly type: string;
  readonly impact: string;
  readonly stateful: boolean;
}

export interface TemplateDiffReport {
  /** Markdown that leads with what matters: replacements and deletions, then security changes. */
  readonly markdown: string;
  readonly destructive: DestructiveChange[];
  /** Stateful resources that would be replaced or deleted: these fail the check unless allowed. */
  readonly blocking: DestructiveChange[];
  readonly securityChanges: boolean;
  readonly differenceCount: number;
}

type Template = Record<string, unknown>;

/** Captures what a cloudformation-diff formatter writes, without terminal colours. */
function capture(write: (stream: NodeJS.WritableStream) => void): string {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  write(stream as unknown as NodeJS.WritableStream);
  // eslint-disable-next-line no-control-regex -- strip ANSI colour codes
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Compares the base branch's template with this change's. */
export function diffTemplates(base: Template, head: Template, title: string): TemplateDiffReport {
  const diff: TemplateDiff = fullDiff(base, head);
  const destructive: DestructiveChange[] = [];
  diff.resources.forEachDifference((logicalId, change) => {
    const impact = change.changeImpact;
    if (DESTRUCTIVE.has(impact)) {
      const type = change.oldResourceType ?? change.newResourceType ?? 'unknown';
      destructive.push({ logicalId, type, impact, stateful: STATEFUL_TYPES.includes(type) });
    }
  });
  const blocking = destructive.filter((d) => d.stateful);
  const securityChanges = diff.iamChanges.hasChanges || diff.securityGroupChanges.hasChanges;

  const lines = [`## ${title}`, ''];
  if (diff.isEmpty) {
    lines.push('No differences.');
  } else {
    if (blocking.length > 0) {
      lines.push(`**:warning: ${blocking.length} stateful resource(s) would be replaced or deleted.** A new Elastic IP changes the egress address customers allow-list; a new interface or subnet interrupts traffic.`, '');
    }
    lines.push('### Replaced or deleted', '');
    if (destructive.length === 0) {
      lines.push('None.');
    } else {
      lines.push('| resource | type | impact |', '|---|---|---|');
      for (const d of destructive) {
        lines.push(`| ${d.stateful ? '**' : ''}${d.logicalId}${d.stateful ? '**' : ''} | ${d.type} | ${d.impact} |`);
      }
    }
    lines.push('', '### Security changes (IAM, security groups)', '');
    if (securityChanges) {
      lines.push('```', capture((s) => formatSecurityChanges(s, diff)).trim(), '```');
    } else {
      lines.push('None.');
    }
    lines.push('', `<details><summary>Full diff (${diff.differenceCount} difference(s))</summary>`, '', '```',
      capture((s) => formatDifferences(s, diff)).trim(), '```', '', '</details>');
  }
  return { markdown: `${lines.join('\n')}\n`, destructive, blocking, securityChanges, differenceCount: diff.differenceCount };
}
