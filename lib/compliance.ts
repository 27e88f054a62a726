import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The cdk-nag rule packs beyond AWS Solutions that the app runs on request (`-c compliance=...`),
 * by the name a user types, with the prefix cdk-nag gives their rule IDs.
 */
export const COMPLIANCE_PACKS = {
  nist: 'NIST.800.53.R5',
  hipaa: 'HIPAA.Security',
  pci: 'PCI.DSS.321',
  serverless: 'Serverless',
} as const;

/** The packs that share a rule of the same name (NIST 800-53 rev 5, HIPAA Security, PCI DSS 3.2.1). */
const CONTROL_PACKS: readonly string[] = [COMPLIANCE_PACKS.nist, COMPLIANCE_PACKS.hipaa, COMPLIANCE_PACKS.pci];

/**
 * Acknowledges one rule in every pack that has it, with one reason: the packs check the same
 * property under the same rule name, and the reason does not change with the pack.
 */
export function acknowledgeRule(scope: IConstruct, rule: string, reason: string, packs: readonly string[] = CONTROL_PACKS): void {
  Validations.of(scope).acknowledge(...packs.map((pack) => ({ id: `${pack}::${pack}-${rule}`, reason })));
}

/** Why a log group without a customer managed key is acceptable by default. */
export const LOGS_ENCRYPTED_BY_SERVICE = 'CloudWatch Logs encrypts every log group at rest with keys it manages; a customer managed key, at $1 a month, is offered as an option (logEncryption in the app, logEncryptionKey on the provider).';

/**
 * Acknowledges the packs' inline-policy rule for a role's own policy: its statements serve that
 * role alone, scoped as `scope` says, and a managed policy would only add a second, separately
 * attachable copy of them.
 */
export function acknowledgeOwnPolicy(construct: IConstruct, scope: string): void {
  acknowledgeRule(construct, 'IAMNoInlinePolicy', `${scope}; a managed policy would be a second, separately attachable copy.`);
}
