/**
 * @module qemu/cfg2cmd/props
 * Reading property-string values inside the generator. Config values reaching the generator
 * were already validated by the config parser (invalid keys are dropped there with qemu-server's
 * "unable to parse value" warning), so the generator only needs to split `k=v,k=v` strings,
 * resolve the default key and normalise booleans; this small reader keeps the hot path free of
 * schema lookups. Validation, typetext and printing live in src/schema and src/config.
 */

const TRUE_WORDS = new Set(['1', 'on', 'yes', 'true']);
const FALSE_WORDS = new Set(['0', 'off', 'no', 'false']);

/** Parsed property string: key → raw string value. */
export type Props = Record<string, string>;

/**
 * Split a property string like PVE::JSONSchema::parse_property_string does for valid input:
 * `key=value` pairs separated by commas, a bare value is the default key's, aliases mapped.
 */
export function parseProps(value: string | undefined, defaultKey?: string, aliases?: Record<string, string>): Props {
  const out: Props = {};
  if (value === undefined || value === '') return out;
  for (const part of value.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let val: string;
    if (eq < 0) {
      if (defaultKey === undefined) continue;
      key = defaultKey;
      val = part;
    } else {
      key = part.slice(0, eq);
      val = part.slice(eq + 1);
    }
    const target = aliases?.[key] ?? key;
    out[target] = val;
  }
  return out;
}

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
