/**
 * The forms of the values that reach the boot scripts' shell, with nothing of the CDK: the
 * construct checks its user data against them (user-data.ts) and the app its context
 * (bin/app-config.ts), and the scripts check the same forms again in shell.
 */
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/**
 * The forms of the values the user data passes to the boot scripts, by the names the scripts
 * give them (`FORM` in nat-lib.sh, load.sh and nat-bootstrap.sh, which check them again; a test
 * holds the two sides to the same verdicts). A token passes here: CloudFormation fills in an AWS
 * identifier of that form at deployment.
 */
export const SHELL_VALUE_FORMS = {
  'region': /^[a-z]{2}(-[a-z]+)+-\d+$/,
  'stack': /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
  'resource': /^[A-Za-z0-9]{1,255}$/,
  'eni': /^eni-[0-9a-f]{8,17}$/,
  'vpc-cidr': new RegExp(`^(${OCTET}\\.){3}${OCTET}/([89]|[12]\\d|3[0-2])$`),
  'namespace': /^[A-Za-z0-9._/#:-]{1,255}$/,
  'metric': /^[A-Za-z][A-Za-z0-9]{0,63}$/,
  'period': /^[1-9]\d{1,3}$/,
  'accuracy': /^[1-9]\d{0,2}$/,
  'script': /^[a-z][a-z-]{0,63}\.sh$/,
  'bucket': /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  'key': /^[A-Za-z0-9]+([._/-][A-Za-z0-9]+)*$/,
  'sha256': /^[0-9a-f]{64}$/,
  'address': new RegExp(`^(${OCTET}\\.){3}${OCTET}$`),
  'port': /^([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/,
} as const;

/** The scripts refuse any value longer than this. */
export const SHELL_VALUE_MAX_LENGTH = 1024;

/** Whether a literal has the form: what the boot scripts' `valid` decides for the same value. */
export function hasShellForm(form: keyof typeof SHELL_VALUE_FORMS, value: string): boolean {
  return value.length <= SHELL_VALUE_MAX_LENGTH && SHELL_VALUE_FORMS[form].test(value);
}
