/**
 * Hostile variants of a valid boot value, for the tests of the boot scripts: each must be refused
 * (or, for an instance metadata answer, treated as unreadable), and none may run a command. A
 * command in a variant touches MARKER in the working directory, which the tests run in.
 */
export const MARKER = 'MARKER';

/** Latin letters and digits, and the Unicode characters that look like them. */
const LOOK_ALIKES: Record<string, string> = {
  a: '\u0430', c: '\u0441', e: '\u0435', i: '\u0456', o: '\u043e', p: '\u0440', x: '\u0445', // Cyrillic
  ...Object.fromEntries([...'0123456789'].map((d) => [d, String.fromCharCode(0xff10 + Number(d))])), // fullwidth
};

/** The value with its first letter or digit that has a look-alike replaced by it. */
export function lookAlike(value: string): string {
  const i = [...value].findIndex((ch) => ch in LOOK_ALIKES);
  return i < 0 ? `${value}\u0435` : value.slice(0, i) + LOOK_ALIKES[value[i]] + value.slice(i + 1);
}

/** [what, value]: the same fifteen for every value, so that every option meets each of them. */
export function hostileVariants(valid: string): Array<[string, string]> {
  return [
    ['a space', `${valid} x`],
    ['a newline and another variable', `${valid}\nNAT_ENI_ID=eni-0badbadbadbadbad0`],
    ['a carriage return', `${valid}\r`],
    ['a tab', `${valid}\t`],
    ['a terminal escape', `${valid}\u001b[2J`],
    ['a command substitution', `$(touch ${MARKER})`],
    ['a command substitution after it', `${valid}$(touch ${MARKER})`],
    ['backticks', `${valid}\`touch ${MARKER}\``],
    ['a semicolon and a command', `${valid}; touch ${MARKER}`],
    ['a double quote', `${valid}"`],
    ['a single quote', `${valid}'`],
    ['a backslash', `${valid}\\`],
    ['5000 characters', valid.repeat(Math.ceil(5000 / valid.length)).slice(0, 5000)],
    ['nothing', ''],
    ['a Unicode look-alike', lookAlike(valid)],
  ];
}

/** Values of a wrong form for each kind of value both scripts take or read (the kinds of nat-lib.sh's FORM). */
export const WRONG_FORMS = {
  region: ['EU-WEST-1', 'eu-west', 'eu_west_1', 'eu-west-1a'],
  stack: ['1NatStack', 'Nat_Stack', 'N'.repeat(129)],
  resource: ['Nat-Asg', 'R'.repeat(256)],
  eni: ['eni-0123456789ABCDEF0', 'eni-0123', 'eni-0123456789abcdef01234', 'i-0123456789abcdef0'],
  instance: ['i-0SELF', 'i-05e1f0000000000a0000000', 'i-05e1f', 'eni-0123456789abcdef0'],
  subnet: ['010.0.0.0/24', '10.0.0.256/24', '10.0.0.0/0', '10.0.0.0/15', '10.0.0.0/29', '10.0.0.0/024', '10.0.0/24'],
};

/**
 * The variants the quick tier (npm run test:unit, NAT_TEST_TIER=unit) keeps of the fifteen: one
 * of each way in (a line, a command, a quote, length, look-alike). npm test runs them all.
 */
const QUICK_VARIANTS = new Set(['a newline and another variable', 'a command substitution after it', 'a single quote', '5000 characters', 'a Unicode look-alike']);
const quick = process.env.NAT_TEST_TIER === 'unit';

/** [what, value]: the hostile variants of a valid value, then the given values of a wrong form (the first only, in the quick tier). */
export function hostileValues(valid: string, wrongForms: readonly string[] = []): Array<[string, string]> {
  const variants = hostileVariants(valid).filter(([what]) => !quick || QUICK_VARIANTS.has(what));
  const wrong = (quick ? wrongForms.slice(0, 1) : wrongForms).map((value): [string, string] => [`the wrong form ${JSON.stringify(value.slice(0, 30))}`, value]);
  return [...variants, ...wrong];
}

/** True if every line is printable ASCII: no control character or look-alike got into a message. */
export function printableLines(text: string): boolean {
  return text.split('\n').every((line) => /^[ -~]*$/.test(line));
}
