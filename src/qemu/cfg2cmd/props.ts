/**
 * @module qemu/cfg2cmd/props
 * Perl value semantics the generator tests config values with: parse_boolean, truthiness and
 * number stringification. Property strings themselves are read with the schema's one reader
 * (schema/reader: readPropertyString with the key's format from the option table).
 */

const TRUE_WORDS = new Set(['1', 'on', 'yes', 'true']);
const FALSE_WORDS = new Set(['0', 'off', 'no', 'false']);

/** PVE parse_boolean: 1/on/yes/true → true, 0/off/no/false → false, anything else undefined. */
export function propBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  return undefined;
}

/** Perl truthiness of a config string: undefined, '' and '0' are false. */
export function perlTrue(value: string | undefined | null): boolean {
  return value !== undefined && value !== null && value !== '' && value !== '0';
}

/** Perl's default numeric stringification (15 significant digits, no trailing zeros). */
export function perlNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(15)));
}
