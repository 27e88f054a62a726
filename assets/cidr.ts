/**
 * IPv4 CIDR arithmetic without the CDK, shared by the construct's validation and nat-doctor
 * (whose bundle must not carry aws-cdk-lib).
 */

/** An IPv4 CIDR block as numbers. */
export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  readonly network: number;
  /** The prefix length, 0 to 32. */
  readonly prefix: number;
  /** The block as written, e.g. `10.0.0.0/16`. */
  readonly text: string;
}

export const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** The number of addresses in a block of the given prefix length. */
export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** A block as AWS reports it, with any host bits cleared; undefined for anything else. */
export function readCidr(text: string): Cidr | undefined {
  const match = CIDR_PATTERN.exec(text);
  const octets = match?.slice(1, 5).map(Number);
  const prefix = Number(match?.[5]);
  if (!octets || octets.some((o) => o > 255) || prefix > 32) {
    return undefined;
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { network: address - (address % blockSize(prefix)), prefix, text };
}

export function formatCidr(network: number, prefix: number): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join('.')}/${prefix}`;
}

/** True when the two blocks share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const wider = Math.min(a.prefix, b.prefix);
  const size = blockSize(wider);
  return Math.floor(a.network / size) === Math.floor(b.network / size);
}

/** True when every address of `inner` is in `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrsOverlap(inner, outer);
}
