import { Duration, Fn, Token } from 'aws-cdk-lib';
import {
  NatConfigError, durationSeconds, isLiteral, orDefault, parseCidr, parseWholeNumber, requireBoolean, requireOrdinaryBlock, requirePattern, requireProps,
  requireShape, validateAllocationIds,
} from '../lib/validation';

/**
 * lib/validation.ts function by function, in-process: every message as the user reads it, and
 * every boundary on both sides. The stack and provider tests (and bad-input.test.ts) reach the
 * same functions through synth; these are fast enough for npm run test:mutation.
 */
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NatConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a NatConfigError');
};

describe('NatConfigError', () => {
  test('names the option, the value as given and what is allowed, and keeps each', () => {
    const error = new NatConfigError('azs', 7, 'a whole number from 1 to 6');
    expect(error).toMatchObject({ name: 'NatConfigError', option: 'azs', value: 7, expected: 'a whole number from 1 to 6' });
    expect(error.message).toBe('Invalid azs: got 7; expected a whole number from 1 to 6');
  });

  class Custom { }
  test.each<[string, unknown, string]>([
    ['a string, quoted', 'three', "'three'"],
    ['control characters escaped, quotes kept', 'a\nb"c', "'a\\nb\"c'"],
    ['a string of 80 characters whole', 'x'.repeat(80), `'${'x'.repeat(80)}'`],
    ['a longer one cut at 80, with its length', 'y'.repeat(81), `'${'y'.repeat(80)}…' (81 characters)`],
    ['nothing', undefined, 'nothing'],
    ['a number, NaN and Infinity as such', NaN, 'NaN'],
    ['Infinity', -Infinity, '-Infinity'],
    ['a bigint', BigInt(5), '5'],
    ['a function', () => 1, 'a function'],
    ['a symbol', Symbol('s'), 'a symbol'],
    ['an instance of a class', new Custom(), 'an instance of Custom'],
    ['null', null, 'null'],
    ['an array, as JSON', ['a', 1], '["a",1]'],
    ['a plain object, as JSON', { a: 1 }, '{"a":1}'],
    ['a boolean', false, 'false'],
    ['JSON of 160 characters whole', ['z'.repeat(156)], `["${'z'.repeat(156)}"]`],
    ['longer JSON cut at 160', ['z'.repeat(157)], `["${'z'.repeat(157)}"…`],
  ])('shows %s', (_name, value, shown) => {
    expect(new NatConfigError('o', value, 'e').message).toBe(`Invalid o: got ${shown}; expected e`);
  });
});

describe('orDefault', () => {
  test('the value where one was given, null and 0 included; the default only for undefined', () => {
    expect(orDefault(undefined, 3)).toBe(3);
    expect(orDefault(0, 3)).toBe(0);
    expect(orDefault(null as unknown as number, 3)).toBeNull();
  });
});

describe('parseCidr', () => {
  test('a network address within the prefixes: its block', () => {
    expect(parseCidr('vpcCidr', '10.0.0.0/16', 16, 27)).toMatchObject({ text: '10.0.0.0/16', prefix: 16 });
    expect(parseCidr('vpcCidr', '10.0.0.0/27', 16, 27)).toMatchObject({ prefix: 27 });
    expect(parseCidr('c', '0.0.0.0/8', 8, 8)).toMatchObject({ prefix: 8 });
    expect(parseCidr('c', '10.255.0.0/16', 16, 16)).toMatchObject({ text: '10.255.0.0/16' });
  });

  const expected = 'an IPv4 CIDR block with a prefix from /16 to /27, such as 10.0.0.0/16';
  // Named by label: a token's text differs from run to run, and npm run test:mutation finds each test by its name.
  test.each<[string, unknown, string]>([
    ['10.0.0.0/15', '10.0.0.0/15', expected],
    ['10.0.0.0/28', '10.0.0.0/28', expected],
    ['10.0.0.0', '10.0.0.0', expected],
    ['42', 42, expected],
    ['256.0.0.0/16', '256.0.0.0/16', `${expected} (each octet 0-255, no leading zeros)`],
    ['10.0.00.0/16', '10.0.00.0/16', `${expected} (each octet 0-255, no leading zeros)`],
    ['10.0.0.0/016', '10.0.0.0/016', expected],
    ['10.0.0.1/16', '10.0.0.1/16', 'a network address: host bits are set, did you mean 10.0.0.0/16?'],
    ['a token', Fn.ref('Cidr'), `${expected}: a literal value, not a token resolved at deployment, since synth checks it and plans with it`],
    ['a number token', Token.asNumber(Fn.ref('N')), expected],
    ['a list holding a block', ['10.0.0.0/16'], expected],
  ])('%s is refused', (_label, value, why) => {
    expect(message(() => parseCidr('vpcCidr', value, 16, 27))).toMatch(new RegExp(`^Invalid vpcCidr: got .*; expected ${why.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`));
  });
});

describe('parseWholeNumber', () => {
  test('whole numbers within the range, both ends included', () => {
    expect(parseWholeNumber('azs', 1, 1, 6)).toBe(1);
    expect(parseWholeNumber('azs', 6, 1, 6)).toBe(6);
  });

  test.each<[unknown, string]>([
    [0, 'a whole number from 1 to 6'],
    [7, 'a whole number from 1 to 6'],
    [2.5, 'a whole number from 1 to 6'],
    ['3', 'a whole number from 1 to 6'],
    [NaN, 'a whole number from 1 to 6'],
  ])('%p is refused', (value, why) => {
    expect(message(() => parseWholeNumber('azs', value, 1, 6))).toBe(`Invalid azs: got ${typeof value === 'string' ? `'${value}'` : value}; expected ${why}`);
  });

  test('a range of one value reads as that value; the reason follows; a token is refused as such', () => {
    expect(message(() => parseWholeNumber('n', 3, 2, 2, ' (only two)'))).toBe('Invalid n: got 3; expected a whole number 2 (only two)');
    expect(message(() => parseWholeNumber('n', Token.asNumber(Fn.ref('N')), 1, 6))).toMatch(/; expected a whole number from 1 to 6: a literal value, not a token/);
    // A string token is no number at all, token or not.
    expect(message(() => parseWholeNumber('n', Fn.ref('N'), 1, 6))).toMatch(/^Invalid n: got '.*'; expected a whole number from 1 to 6$/);
  });
});

describe('requireBoolean, requirePattern, requireShape, requireProps', () => {
  test('a boolean or nothing passes; anything else is refused', () => {
    expect(() => requireBoolean('spot', true)).not.toThrow();
    expect(() => requireBoolean('spot', false)).not.toThrow();
    expect(() => requireBoolean('spot', undefined)).not.toThrow();
    expect(message(() => requireBoolean('spot', 'false'))).toBe("Invalid spot: got 'false'; expected true or false");
    expect(message(() => requireBoolean('spot', 0))).toBe('Invalid spot: got 0; expected true or false');
  });

  test('a string of the form, nothing, or a token where allowed passes', () => {
    const email = /^[^@\s]+@[^@\s]+$/;
    expect(() => requirePattern('alarmEmail', 'ops@example.com', email, 'an email address')).not.toThrow();
    expect(() => requirePattern('alarmEmail', undefined, email, 'an email address')).not.toThrow();
    expect(() => requirePattern('alarmEmail', Fn.ref('Email'), email, 'an email address')).not.toThrow();
    expect(message(() => requirePattern('alarmEmail', Fn.ref('Email'), email, 'an email address', false)))
      .toMatch(/^Invalid alarmEmail: got '.*'; expected an email address: a literal value, not a token/);
    expect(message(() => requirePattern('alarmEmail', 'ops', email, 'an email address'))).toBe("Invalid alarmEmail: got 'ops'; expected an email address");
    expect(message(() => requirePattern('alarmEmail', 5, email, 'an email address'))).toBe('Invalid alarmEmail: got 5; expected an email address');
    // No string: refused, even where its text would match, and even as a number token.
    expect(message(() => requirePattern('alarmEmail', ['ops@example.com'], email, 'an email address'))).toBe('Invalid alarmEmail: got ["ops@example.com"]; expected an email address');
    expect(message(() => requirePattern('alarmEmail', Token.asNumber(Fn.ref('N')), email, 'an email address'))).toMatch(/; expected an email address$/);
  });

  test('an object with every method passes; anything else, null included, is refused', () => {
    const key = { grantEncrypt: () => undefined, addToResourcePolicy: () => undefined };
    expect(() => requireShape('key', key, ['grantEncrypt', 'addToResourcePolicy'], 'a KMS key')).not.toThrow();
    expect(() => requireShape('key', undefined, ['grantEncrypt'], 'a KMS key')).not.toThrow();
    // One method missing: refused (a plain object shows as its JSON, where functions do not appear).
    expect(message(() => requireShape('key', { grantEncrypt: () => undefined }, ['grantEncrypt', 'addToResourcePolicy'], 'a KMS key'))).toBe('Invalid key: got {}; expected a KMS key');
    expect(message(() => requireShape('key', null, ['grantEncrypt'], 'a KMS key'))).toBe('Invalid key: got null; expected a KMS key');
    expect(message(() => requireShape('key', 'arn:aws:kms:...', ['grantEncrypt'], 'a KMS key'))).toBe("Invalid key: got 'arn:aws:kms:...'; expected a KMS key");
    expect(message(() => requireShape('key', { grantEncrypt: 1 }, ['grantEncrypt'], 'a KMS key'))).toBe('Invalid key: got {"grantEncrypt":1}; expected a KMS key');
    // A function carrying the methods is no object of the type.
    const fn = Object.assign(() => undefined, { grantEncrypt: () => undefined });
    expect(() => requireShape('key', fn, ['grantEncrypt'], 'a KMS key')).toThrow('expected a KMS key');
  });

  test('props: an object or nothing', () => {
    const props = { azs: 2 };
    expect(requireProps('NatInstanceStackProps', props)).toBe(props);
    expect(requireProps('NatInstanceStackProps', undefined)).toBeUndefined();
    for (const bad of [null, 'azs=2', [], 5]) {
      expect(message(() => requireProps('NatInstanceStackProps', bad as never))).toMatch(/^Invalid props: got .*; expected an object of NatInstanceStackProps, or none at all$/);
    }
  });

  test('isLiteral: a token is not', () => {
    expect(isLiteral('eipalloc-01234567')).toBe(true);
    expect(isLiteral(Fn.ref('Eip'))).toBe(false);
  });
});

describe('validateAllocationIds', () => {
  const ids = ['eipalloc-01234567', 'eipalloc-0123456789abcdef0'];
  test('well-formed (8 or 17 hex digits), enough of them, the used ones distinct; tokens pass', () => {
    expect(() => validateAllocationIds('eipAllocationIds', ids, 2)).not.toThrow();
    expect(() => validateAllocationIds('eipAllocationIds', [...ids, ids[0]], 2)).not.toThrow(); // a repeat past the used ones
    expect(() => validateAllocationIds('eipAllocationIds', [Fn.ref('A'), Fn.ref('A')].slice(0, 1), 1)).not.toThrow();
  });

  test.each<[string[], number, string]>([
    [['eipalloc-0123456'], 1, "Invalid eipAllocationIds: got 'eipalloc-0123456'; expected Elastic IP allocation IDs such as eipalloc-0123456789abcdef0"],
    [['eipalloc-012345678'], 1, "got 'eipalloc-012345678'"],
    [['eipalloc-0123456789ABCDEF0'], 1, "got 'eipalloc-0123456789ABCDEF0'"],
    [['xeipalloc-01234567'], 1, "got 'xeipalloc-01234567'"],
    [['eipalloc-01234567x'], 1, "got 'eipalloc-01234567x'"],
    [[ids[0]], 2, 'Invalid eipAllocationIds: got ["eipalloc-01234567"]; expected at least 2 allocation IDs, one for each NAT instance (a longer list is a pool whose first 2 are used)'],
    [[], 1, 'Invalid eipAllocationIds: got []; expected at least 1 allocation ID, one for each NAT instance (a longer list is a pool whose first 1 are used)'],
    [[ids[0], ids[0]], 2, `got ["${ids[0]}","${ids[0]}"]; expected each allocation ID once: ${ids[0]} is given twice, and an address can serve one NAT only`],
  ])('%j for %d NATs is refused', (given, count, why) => {
    expect(message(() => validateAllocationIds('eipAllocationIds', given, count))).toContain(why);
  });

  test('a value that is no string is refused', () => {
    expect(message(() => validateAllocationIds('eipAllocationIds', [5 as never], 1))).toBe('Invalid eipAllocationIds: got 5; expected Elastic IP allocation IDs such as eipalloc-0123456789abcdef0');
    expect(message(() => validateAllocationIds('eipAllocationIds', [[ids[0]] as never], 1))).toBe(`Invalid eipAllocationIds: got ["${ids[0]}"]; expected Elastic IP allocation IDs such as eipalloc-0123456789abcdef0`);
  });
});

describe('requireOrdinaryBlock', () => {
  test('a block within a special range is refused with the range and its name; others pass', () => {
    expect(message(() => requireOrdinaryBlock('additionalCidrs', parseCidr('c', '169.254.10.0/24', 8, 28))))
      .toBe("Invalid additionalCidrs: got '169.254.10.0/24'; expected no block within 169.254.0.0/16, which is link-local (instance metadata, DNS, time): no network the NAT can serve");
    expect(message(() => requireOrdinaryBlock('additionalCidrs', parseCidr('c', '127.0.0.0/8', 8, 28)))).toContain('within 127.0.0.0/8, which is loopback');
    expect(() => requireOrdinaryBlock('additionalCidrs', parseCidr('c', '100.64.0.0/16', 8, 28))).not.toThrow();
    expect(() => requireOrdinaryBlock('additionalCidrs', parseCidr('c', '1.0.0.0/8', 8, 28))).not.toThrow();
  });
});

describe('durationSeconds', () => {
  const days = (d: number) => durationSeconds('maxInstanceLifetime', Duration.days(d), 86_400, 365 * 86_400, '1 to 365 days');
  test('whole seconds within the range, both ends included', () => {
    expect(days(1)).toBe(86_400);
    expect(days(365)).toBe(365 * 86_400);
  });

  test.each<[string, { toSeconds(o?: unknown): number }, string]>([
    ['below', Duration.seconds(86_399), "Invalid maxInstanceLifetime: got '86399 seconds'; expected 1 to 365 days"],
    ['above', Duration.days(366), "got '31622400 seconds'"],
    ['a fraction', Duration.millis(86_400_500), "got '86400.5 seconds'"],
    ['NaN', { toSeconds: () => NaN }, "got 'NaN seconds'"],
    ['a throwing duration', { toSeconds: () => { throw new Error('no'); } }, "got 'NaN seconds'"],
    ['a token', Duration.seconds(Token.asNumber(Fn.ref('D'))), "Invalid maxInstanceLifetime: got 'a token'; expected 1 to 365 days: a literal value, not a token"],
  ])('%s is refused', (_name, duration, why) => {
    expect(message(() => durationSeconds('maxInstanceLifetime', duration, 86_400, 365 * 86_400, '1 to 365 days'))).toContain(why);
  });
});
