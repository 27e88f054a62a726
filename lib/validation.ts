import { Token } from 'aws-cdk-lib';
import { CIDR_PATTERN, Cidr, blockSize, cidrsOverlap, formatCidr, readCidr } from '../assets/cidr';
import { SPECIAL_IPV4_BLOCKS } from '../assets/contract';

/**
 * A configuration value that cannot work.
 *
 * The message names the option, the value it got and what the option accepts, so that the
 * person who typed it can fix it without reading the source.
 */
export class NatConfigError extends Error {
  constructor(
    /** The option (construct prop or CDK context key) that is wrong. */
    public readonly option: string,
    /** The value it was given, as the user wrote it. */
    public readonly value: unknown,
    /** What the option accepts. */
    public readonly expected: string,
  ) {
    super(`Invalid ${option}: got ${describeValue(value)}; expected ${expected}`);
    this.name = 'NatConfigError';
  }
}

/** The longest part of a string value an error message repeats. */
const SHOWN_CHARACTERS = 80;

function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    // Control characters are shown escaped, so that a message is always one line.
    const shown = JSON.stringify(value.slice(0, SHOWN_CHARACTERS)).slice(1, -1).replace(/\\"/g, '"');
    return value.length > SHOWN_CHARACTERS ? `'${shown}…' (${value.length} characters)` : `'${shown}'`;
  }
  if (value === undefined) {
    return 'nothing';
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    return String(value); // JSON would show NaN and Infinity as null
  }
  if (typeof value === 'function' || typeof value === 'symbol') {
    return `a ${typeof value}`;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && value.constructor !== Object) {
    return `an instance of ${value.constructor.name}`;
  }
  const json = JSON.stringify(value) ?? String(value);
  return json.length > SHOWN_CHARACTERS * 2 ? `${json.slice(0, SHOWN_CHARACTERS * 2)}…` : json;
}

/** The value where one was given, else the default; null is a value, and is refused as such. */
export function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

const LITERAL = ': a literal value, not a token resolved at deployment, since synth checks it and plans with it';

export type { Cidr } from '../assets/cidr';
export { blockSize, cidrsOverlap, formatCidr };

/**
 * Parses an IPv4 CIDR block, rejecting anything that is not a network address with a prefix
 * in `[minPrefix, maxPrefix]`.
 */
export function parseCidr(option: string, value: unknown, minPrefix: number, maxPrefix: number): Cidr {
  const expected = `an IPv4 CIDR block with a prefix from /${minPrefix} to /${maxPrefix}, such as 10.0.0.0/16`;
  if (typeof value === 'string' && Token.isUnresolved(value)) {
    throw new NatConfigError(option, value, `${expected}${LITERAL}`);
  }
  const match = typeof value === 'string' ? CIDR_PATTERN.exec(value) : null;
  if (!match) {
    throw new NatConfigError(option, value, expected);
  }
  const octets = match.slice(1, 5).map((o) => Number(o));
  const prefix = Number(match[5]);
  if (octets.some((o, i) => o > 255 || (match[i + 1].length > 1 && match[i + 1].startsWith('0')))) {
    throw new NatConfigError(option, value, `${expected} (each octet 0-255, no leading zeros)`);
  }
  if (prefix < minPrefix || prefix > maxPrefix) {
    throw new NatConfigError(option, value, expected);
  }
  // Without leading zeros, a block is a network address exactly when it reads back as written.
  const block = readCidr(value as string)!;
  const network = formatCidr(block.network, block.prefix);
  if (network !== value) {
    throw new NatConfigError(option, value, `a network address: host bits are set, did you mean ${network}?`);
  }
  return block;
}

/** Requires a whole number in `[min, max]`; strings from the command line are converted in bin/. */
export function parseWholeNumber(option: string, value: unknown, min: number, max: number, why = ''): number {
  const n = value;
  const range = min === max ? `${min}` : `from ${min} to ${max}`;
  if (typeof n === 'number' && Token.isUnresolved(n)) {
    throw new NatConfigError(option, value, `a whole number ${range}${LITERAL}`);
  }
  const whole = Number.isInteger(n) ? (n as number) : NaN;
  if (Number.isNaN(whole) || whole < min || whole > max) {
    throw new NatConfigError(option, value, `a whole number ${range}${why}`);
  }
  return whole;
}

/** Requires true or false, where it is given: a string such as 'false' is no boolean. */
export function requireBoolean(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new NatConfigError(option, value, 'true or false');
  }
}

/** Validates a number that may still be a token; tokens are left for CloudFormation. */
export function isLiteral(value: string): boolean {
  return !Token.isUnresolved(value);
}

/**
 * Requires a string of the given form where one is given; a token passes, for CloudFormation to
 * resolve, where `tokens` allows it.
 */
export function requirePattern(option: string, value: unknown, pattern: RegExp, expected: string, tokens = true): void {
  if (value === undefined) {
    return;
  }
  if (typeof value === 'string' && Token.isUnresolved(value)) {
    if (tokens) {
      return;
    }
    throw new NatConfigError(option, value, `${expected}${LITERAL}`);
  }
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new NatConfigError(option, value, expected);
  }
}

/**
 * Requires an object with the given methods where one is given: an instance of the named CDK
 * type (checked by shape, since an app may hold two copies of aws-cdk-lib).
 */
export function requireShape(option: string, value: unknown, methods: readonly string[], expected: string): void {
  if (value === undefined) {
    return;
  }
  const target = value as Record<string, unknown> | null;
  if (typeof target !== 'object' || target === null || methods.some((m) => typeof target[m] !== 'function')) {
    throw new NatConfigError(option, value, expected);
  }
}

const ALLOCATION_ID_PATTERN = /^eipalloc-([0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * Validates literal Elastic IP allocation IDs: every one well-formed, and at least `count` of
 * them, of which the first `count` (the ones used) are distinct.
 */
export function validateAllocationIds(option: string, ids: readonly string[], count: number): void {
  for (const id of ids) {
    if (typeof id !== 'string' || (isLiteral(id) && !ALLOCATION_ID_PATTERN.test(id))) {
      throw new NatConfigError(option, id, 'Elastic IP allocation IDs such as eipalloc-0123456789abcdef0');
    }
  }
  if (ids.length < count) {
    throw new NatConfigError(option, [...ids], `at least ${count} allocation ID${count === 1 ? '' : 's'}, one for each NAT instance (a longer list is a pool whose first ${count} are used)`);
  }
  const seen = new Set<string>();
  for (const id of ids.slice(0, count)) {
    if (seen.has(id)) {
      throw new NatConfigError(option, [...ids], `each allocation ID once: ${id} is given twice, and an address can serve one NAT only`);
    }
    seen.add(id);
  }
}

/** Props as given: an object, or nothing at all (null, from JavaScript, is not nothing). */
export function requireProps<T>(name: string, props: T | undefined): T | undefined {
  if (props !== undefined && (props === null || typeof props !== 'object' || Array.isArray(props))) {
    throw new NatConfigError('props', props, `an object of ${name}, or none at all`);
  }
  return props;
}

const SPECIAL_BLOCKS = SPECIAL_IPV4_BLOCKS.map((b) => ({ ...readCidr(b.cidr)!, name: b.name }));

/** Refuses a block within a special range: no network a NAT can serve. */
export function requireOrdinaryBlock(option: string, block: Cidr): void {
  const special = SPECIAL_BLOCKS.find((s) => cidrsOverlap(s, block));
  if (special) {
    throw new NatConfigError(option, block.text, `no block within ${special.text}, which is ${special.name}: no network the NAT can serve`);
  }
}

/** A Duration's whole seconds within [min, max]; a token, a fraction or NaN is refused. */
export function durationSeconds(option: string, duration: { toSeconds(opts?: { integral?: boolean }): number }, min: number, max: number, expected: string): number {
  let seconds: number;
  try {
    seconds = duration.toSeconds({ integral: false });
  } catch {
    seconds = NaN;
  }
  if (Token.isUnresolved(seconds)) {
    throw new NatConfigError(option, 'a token', `${expected}${LITERAL}`);
  }
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw new NatConfigError(option, `${seconds} seconds`, expected);
  }
  return seconds;
}
