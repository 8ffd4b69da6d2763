/**
 * @module schema/reader
 * The one property-string reader: splits `k=v,k=v` the way PVE::JSONSchema's
 * parse_property_string does (blank parts skipped, Perl's `^([^=]+)=(.+)$`, the default key
 * for a bare value, `alias`/`keyAlias` keys, booleans normalised by the schema), on a format's
 * compiled lookup tables. parsePropertyString (schema/check) runs it and then checks the
 * values; the command-line generator, whose config values were checked when the config was
 * read, takes its raw strings through `readPropertyString`.
 */
import { CvmError } from '../errors.js';
import { type CompiledFormat, type CompiledKey, compiledFormat } from './compiled-format.js';
import { isBlank, parseBoolean, perlTruthy } from './perl.js';
import type { FormatSchema } from './types.js';

/** A raw (still textual, booleans possibly already 0/1) value collected by the reader. */
export type RawValue = string | number;

/** No keys to skip: no per-call Set. */
export const NO_SKIP: ReadonlySet<string> = new Set();

function die(message: string): never {
  throw new CvmError('FORMAT_ERROR', message);
}

function normaliseBoolean(schema: CompiledKey | undefined, value: string): RawValue {
  return schema?.type === 'boolean' ? (parseBoolean(value) ?? value) : value;
}

/**
 * The value of PVE's `$part =~ m/^([^=]+)=(.+)$/` (Perl `.`: anything but a newline; `$`: end or
 * before a final newline) for a part whose first `=` is at `eq`; undefined when it does not match.
 * Written out because it runs for every part of every property string.
 */
function pairValue(part: string, eq: number): string | undefined {
  if (eq <= 0) return undefined; // no key
  let end = part.length;
  if (part.charCodeAt(end - 1) === 0x0a) end--; // `$` may match before one final newline
  if (end <= eq + 1) return undefined; // no value
  const value = part.slice(eq + 1, end);
  return value.includes('\n') ? undefined : value;
}

/** Split and collect the parts of a property string (the first half of parse_property_string). */
export function collectProperties(format: CompiledFormat, data: string, skip: ReadonlySet<string>): Map<string, RawValue> {
  const { keys } = format;
  const values = new Map<string, RawValue>();
  let defaultKey: string | undefined;

  // split(',') written as a scan: no array of parts for values that are checked once
  for (let start = 0; start <= data.length; ) {
    let comma = data.indexOf(',', start);
    if (comma < 0) comma = data.length;
    const part = data.slice(start, comma);
    start = comma + 1;
    if (isBlank(part)) continue;

    const eq = part.indexOf('=');
    const value = eq < 0 ? undefined : pairValue(part, eq);
    if (value !== undefined) {
      const spelled = part.slice(0, eq);
      let key = format.names.get(spelled) ?? spelled;
      if (skip.has(key)) continue;
      if (values.get(key) !== undefined) die(`duplicate key in comma-separated list property: ${key}`);
      let schema = keys.get(key);
      if (schema?.alias) {
        const keyAlias = schema.keyAlias;
        if (keyAlias) {
          if (values.get(keyAlias) !== undefined) die(`key alias '${keyAlias}' is already defined`);
          values.set(keyAlias, key);
        }
        key = schema.alias;
        schema = keys.get(key);
        if (values.get(key) !== undefined) die(`key '${key}' is already defined (via alias)`);
        if (!schema) die(`invalid key in comma-separated list property: ${key}`);
      }
      values.set(key, normaliseBoolean(schema, value));
    } else if (eq < 0) {
      if (defaultKey !== undefined) die(`duplicate key in comma-separated list property: ${defaultKey}`);
      defaultKey = format.defaultKey;
      if (defaultKey === undefined) die('value without key, but schema does not define a default key');
      // PVE tests truthiness here, so an explicit falsy value ('0') is silently replaced.
      if (perlTruthy(values.get(defaultKey))) die(`duplicate key in comma-separated list property: ${defaultKey}`);
      values.set(defaultKey, normaliseBoolean(keys.get(defaultKey), part));
    } else {
      die('missing key in comma-separated list property');
    }
  }
  return values;
}

/** Raw values of a property string: key → text, booleans as '0'/'1', aliases resolved. */
export type RawProperties = Record<string, string>;

/**
 * The generator's reading of a config value that was checked when the config was read: the
 * same reader as parsePropertyString, without the checks, values as text (PVE keeps numbers as
 * the strings they were written as). Remembered per format and value (the generator reads the
 * same few values on every run); each caller gets its own copy. An absent or empty value reads
 * as no properties.
 */
export function readPropertyString(format: FormatSchema, value: string | undefined): RawProperties {
  if (value === undefined || value === '') return {};
  const compiled = compiledFormat(format);
  let memo = readMemos.get(compiled);
  if (memo === undefined) {
    memo = new Map();
    readMemos.set(compiled, memo);
  }
  let props = memo.get(value);
  if (props === undefined) {
    props = {};
    for (const [key, raw] of collectProperties(compiled, value, NO_SKIP)) props[key] = String(raw);
    if (memo.size >= READ_MEMO_LIMIT) memo.clear();
    memo.set(value, props);
  }
  // Object.assign, not a spread: callers add keys, which is slow on spread copies (Node 20)
  return Object.assign({}, props);
}

/** Values remembered per format (a host's configs use a few hundred distinct strings). */
const READ_MEMO_LIMIT = 512;
const readMemos = new WeakMap<CompiledFormat, Map<string, RawProperties>>();
