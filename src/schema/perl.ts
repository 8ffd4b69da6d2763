/**
 * @module schema/perl
 * Small emulations of Perl behaviour that PVE::JSONSchema relies on and that decide the exact
 * accept/reject boundary of config values: Perl's `$` anchor (end of string or before one final
 * newline), ASCII `\s`, truthiness, `split_list`, `length` on byte strings, and the way Perl turns
 * an integer string into a number and back (`int($1)` in qemu-server's check_type). Keeping them
 * in one place makes the parser code read like the rules in the spec instead of like regex trivia.
 */

/** Perl's ASCII whitespace class `\s` on byte strings (config files are read as bytes). */
export const PERL_SPACE = '[ \\t\\n\\x0B\\f\\r]';

/** Perl `$` without /m: end of string, or just before a final newline. */
export const PERL_END = '(?=\\n?$)';

const WHITESPACE_ONLY = new RegExp(`^${PERL_SPACE}*${PERL_END}`);

/** Perl truthiness of a scalar: undef, '' and '0' (and the number 0) are false. */
export function perlTruthy(value: string | number | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value === 'number') return value !== 0;
  return value !== '' && value !== '0';
}

/**
 * Perl truthiness of a value decoded from JSON (decode_json): null, false, 0, '' and '0' are
 * false; every other string (even `"false"`) and number is true.
 */
export function perlTruthyJson(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value !== '' && value !== '0';
  return true;
}

/** `$part =~ /^\s*$/`: an empty or whitespace-only list element. */
export function isBlank(text: string): boolean {
  // Almost every part starts with a key or value character; only those that do not need the regex.
  if (text.length > 0 && !isPerlSpaceCode(text.charCodeAt(0))) return false;
  return WHITESPACE_ONLY.test(text);
}

/** Whether a UTF-16 code unit is one of Perl's ASCII `\s` characters. */
function isPerlSpaceCode(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

const BOOLEAN_TRUE = /^(?:1|on|yes|true)\n?$/i;
const BOOLEAN_FALSE = /^(?:0|off|no|false)\n?$/i;

/** PVE::JSONSchema::parse_boolean: 1 / 0, or undefined when the text is no boolean spelling. */
export function parseBoolean(text: string): 0 | 1 | undefined {
  // the spellings config files actually hold, without a regex
  if (text === '1') return 1;
  if (text === '0') return 0;
  if (BOOLEAN_TRUE.test(text)) return 1;
  if (BOOLEAN_FALSE.test(text)) return 0;
  return undefined;
}

const NUMBER_RE = /^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?\n?$/;
const INTEGER_RE = /^[+-]?\d+\n?$/;

/** PVE::JSONSchema::is_number (the perlretut number regex). */
export function isPerlNumber(text: string): boolean {
  return isPlainDigits(text) || NUMBER_RE.test(text);
}

/** PVE::JSONSchema::is_integer. */
export function isPerlInteger(text: string): boolean {
  return isPlainDigits(text) || INTEGER_RE.test(text);
}

/** A non-empty run of ASCII digits, the usual number in a config; the regexes decide the rest. */
function isPlainDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * PVE::Tools::split_list: NUL-separated if the text has a NUL, otherwise `,` `;` and whitespace
 * separate; leading whitespace is dropped and (like Perl `split`) trailing empty fields vanish.
 */
export function splitList(text: string): string[] {
  if (text.includes('\0')) return dropTrailingEmpty(text.split('\0'));
  // Perl turns `,`/`;` into spaces, drops leading space and splits on space runs, dropping
  // trailing empty fields: what is left are exactly the runs of other characters.
  return text.match(LIST_ITEM) ?? [];
}

const LIST_ITEM = /[^ \t\n\x0B\f\r,;]+/g;

function dropTrailingEmpty(fields: string[]): string[] {
  let end = fields.length;
  while (end > 0 && fields[end - 1] === '') end--;
  return fields.slice(0, end);
}

const utf8 = new TextEncoder();

/** Perl `length` of a value read from a config file, i.e. its UTF-8 byte count. */
export function byteLength(text: string): number {
  // Plain ASCII (nearly every config value) has one byte per code unit; skip the encoder then.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return utf8.encode(text).length;
  }
  return text.length;
}

const UV_MAX = (1n << 64n) - 1n;

/**
 * How Perl prints `int($digits)`: exact while it fits an unsigned 64-bit integer, otherwise a
 * double printed with `%.15g` (e.g. `1.84467440737096e+19`).
 */
export function perlIntegerString(digits: string): string {
  // Up to 15 digits a double is exact, so Number() drops leading zeros exactly as int() does.
  if (digits.length <= 15) return String(Number(digits));
  const big = BigInt(digits);
  if (big <= UV_MAX) return big.toString();
  return perlFloatString(Number(digits));
}

/** Perl's default number stringification (`%.15g`). */
export function perlFloatString(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const text = value.toPrecision(15);
  const [mantissa, exponent] = text.split('e') as [string, string | undefined];
  const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  if (exponent === undefined) return trimmed;
  const sign = exponent.startsWith('-') ? '-' : '+';
  const digits = exponent.replace(/^[+-]/, '').padStart(2, '0');
  return `${trimmed}e${sign}${digits}`;
}
