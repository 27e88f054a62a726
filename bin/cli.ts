/**
 * What the repository's command-line tools share: `--help` on every one of them, unknown options
 * refused with the usage, and numbers checked with a message that names the option and the value
 * as typed (Number('lots') would otherwise go on as NaN).
 */
import { ParseArgsConfig, parseArgs } from 'util';

/** Bad usage: the tool prints the message and its usage, and exits with 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses the command line strictly. `--help` (or `-h`) prints the usage and exits 0; anything
 * the tool does not know is a UsageError.
 */
export function parseCommandLine<T extends Options>(usage: string, options: T, args: string[] = process.argv.slice(2)) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  return parsed.values as ReturnType<typeof parseArgs<{ options: T }>>['values'];
}

/** A number option, within [min, max] and whole where asked. */
export function numberOption(option: string, raw: string, min: number, max: number, whole = true): number {
  const value = Number(raw);
  // Decimal digits only: Number() would also take '', ' ', '0x10' and '1e3'.
  if (!/^-?\d+(\.\d+)?$/.test(raw) || value < min || value > max || (whole && !Number.isInteger(value))) {
    throw new UsageError(`--${option}: got '${raw}'; expected a ${whole ? 'whole ' : ''}number from ${min} to ${max}`);
  }
  return value;
}

/** Prints a bad usage and exits 2. */
function exitWithUsage(name: string, usage: string, error: Error): never {
  process.stderr.write(`${name}: ${error.message}\n${usage.trimEnd()}\n`);
  process.exit(2);
}

/** Reads a tool's options; a UsageError exits 2 with the usage (for tools that run at the top level). */
export function orUsage<T>(name: string, usage: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof UsageError) {
      exitWithUsage(name, usage, error);
    }
    throw error;
  }
}

/**
 * Runs a tool's main: a UsageError exits 2 with the usage, any other error exits with `failure`
 * and its message, each on stderr and prefixed with the tool's name.
 */
export function runTool(name: string, usage: string, main: () => number | Promise<number>, failure = 1): void {
  Promise.resolve()
    .then(main)
    .then((code) => process.exit(code), (error: unknown) => {
      if (error instanceof UsageError) {
        exitWithUsage(name, usage, error);
      }
      process.stderr.write(`${name}: ${(error as Error).message}\n`);
      process.exit(failure);
    });
}

/**
 * A text table: each column as wide as its widest cell, two spaces apart, no trailing spaces.
 * Columns listed in `rightAligned` pad on the left (amounts); `rule` puts dashes under the header.
 */
export function tableLines(rows: readonly string[][], options: { rightAligned?: readonly number[]; rule?: boolean } = {}): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (options.rightAligned?.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
  if (options.rule) {
    lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  }
  return lines;
}
