/**
 * @module schema/property-string
 * Property strings (`type=snp,no-debug=1`, `virtio=AA:BB:..,bridge=vmbr0`): parsing and printing
 * with PVE::JSONSchema::parse_property_string / print_property_string semantics. The parser keeps
 * PVE's split between plain dies (duplicate key, missing key: thrown immediately) and collected
 * per-key errors (thrown together as "format error"), never fills in defaults and never trims.
 */
import { CvmError } from '../errors.js';
import { checkObject, checkObjectInto, schemaFor, type RawValue } from './check.js';
import { type CompiledFormat, type CompiledKey, compiledFormat } from './compiled-format.js';
import { failureOutcome, memoFor, memoise, memoKey, replay } from './parse-memo.js';
import { isBlank, parseBoolean, perlTruthy } from './perl.js';
import { getFormat, getFormatValidator, type FormatValidator } from './registry.js';
import { formatSize, parseSize } from './size.js';
import type { FormatSchema, PropertySchema, PropertyValues } from './types.js';

/** parsePropertyString without `opts.skip`: no per-call Set. */
const NO_SKIP: ReadonlySet<string> = new Set();

function die(message: string, details?: Record<string, unknown>): never {
  throw new CvmError('FORMAT_ERROR', message, details ? { details } : {});
}

/** "format error\n" followed by "<key>: <msg>\n" per key, sorted by key for determinism. */
export function formatErrorMessage(errors: Readonly<Record<string, string>>): string {
  const lines = Object.keys(errors)
    .sort()
    .map((key) => `${key}: ${errors[key]}\n`);
  return `format error\n${lines.join('')}`;
}

function raiseFormatError(errors: Map<string, string>): never {
  const record = Object.fromEntries(errors);
  die(formatErrorMessage(record), { errors: record });
}

function resolveForParse(format: FormatSchema | string): { schema: FormatSchema; validator?: FormatValidator } {
  if (typeof format !== 'string') return { schema: format };
  const registered = getFormat(format);
  if (registered === undefined) die(`unknown format: ${format}`);
  if (typeof registered === 'function') die('parse_property_string only accepts hash based named formats');
  const validator = getFormatValidator(format);
  return validator ? { schema: registered, validator } : { schema: registered };
}

/** The format's default key and its keyAlias → alias-target map (PVE find_schema_default_key). */
export function findDefaultKey(format: FormatSchema): { defaultKey?: string; keyAliases: Map<string, string> } {
  let defaultKey: string | undefined;
  const keyAliases = new Map<string, string>();
  for (const [key, schema] of Object.entries(format)) {
    if (schema.default_key) {
      if (defaultKey !== undefined) {
        throw new CvmError('INTERNAL', `multiple default keys in schema (${defaultKey}, ${key})`);
      }
      if (schema.alias !== undefined) {
        throw new CvmError('INTERNAL', `default key '${key}' is an alias - this is not allowed`);
      }
      if (schema.keyAlias) {
        throw new CvmError('INTERNAL', `default key '${key}' with keyAlias attribute is not allowed`);
      }
      defaultKey = key;
    }
    const keyAlias = schema.keyAlias;
    if (keyAlias && !schema.alias) {
      throw new CvmError('INTERNAL', `found keyAlias without 'alias definition for '${key}'`);
    }
    if (schema.alias !== undefined && keyAlias) {
      const known = keyAliases.get(keyAlias);
      if (known !== undefined && known !== schema.alias) {
        throw new CvmError('INTERNAL', `inconsistent keyAlias '${keyAlias}' definition`);
      }
      keyAliases.set(keyAlias, schema.alias);
    }
  }
  return defaultKey === undefined ? { keyAliases } : { defaultKey, keyAliases };
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
function collectParts(format: CompiledFormat, data: string, skip: ReadonlySet<string>): Map<string, RawValue> {
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

/**
 * Parse a property string. Returns booleans as 0/1, integers/numbers as numbers, strings verbatim;
 * absent keys stay absent (no defaults). Throws CvmError('FORMAT_ERROR').
 */
export function parsePropertyString(format: FormatSchema | string, value: string, opts: { skip?: readonly string[] } = {}): PropertyValues {
  const { schema, validator } = resolveForParse(format);
  const compiled = compiledFormat(schema);
  const memo = memoFor(compiled);
  const key = memoKey(value, opts.skip);
  let outcome = memo.get(key);
  if (outcome === undefined) {
    try {
      outcome = { values: parseUncached(compiled, value, opts.skip) };
    } catch (err) {
      const failure = failureOutcome(err);
      if (failure !== undefined) memoise(memo, key, failure);
      throw err;
    }
    memoise(memo, key, outcome);
  }
  const result = replay(outcome);
  return validator ? validator(result) : result;
}

/** parse_property_string without the validator: split, collect, check_object. */
function parseUncached(format: CompiledFormat, value: string, skipKeys: readonly string[] | undefined): PropertyValues {
  const skip = skipKeys === undefined || skipKeys.length === 0 ? NO_SKIP : new Set(skipKeys);
  const raw = collectParts(format, value, skip);
  const result: PropertyValues = {};
  const errors = checkObjectInto(format, raw, false, (key, val) => {
    result[key] = val;
  });
  if (errors !== undefined) raiseFormatError(errors);
  return result;
}

function printableValue(key: string, value: string | number, format: PropertySchema['format']): string {
  if (format === 'disk-size') {
    const bytes = typeof value === 'number' ? value : parseSize(value);
    if (bytes === undefined) die(`value does not look like a valid disk size: ${value}`);
    return formatSize(bytes);
  }
  const text = String(value);
  if (text.includes(',')) die(`illegal value with commas for ${key}`);
  return text;
}

/**
 * Print values as a property string: the default key bare first, then required keys, then the rest,
 * each group sorted by key; undefined values and `opts.skip` keys are left out.
 */
export function printPropertyString(
  format: FormatSchema | string,
  values: PropertyValues,
  opts: { skip?: readonly string[] } = {},
): string {
  let schema: FormatSchema;
  let validator: FormatValidator | undefined;
  if (typeof format === 'string') {
    const registered = getFormat(format);
    if (registered === undefined || typeof registered === 'function') die(`not a valid format: ${format}`);
    schema = registered;
    validator = getFormatValidator(format);
  } else {
    schema = format;
  }

  const data = new Map<string, RawValue>();
  for (const [key, val] of Object.entries(values)) if (val !== undefined) data.set(key, val);
  const errors = new Map<string, string>();
  checkObject(schema, data, undefined, errors);
  if (errors.size > 0) raiseFormatError(errors);
  if (validator) {
    const validated = validator(Object.fromEntries(data));
    data.clear();
    for (const [key, val] of Object.entries(validated)) if (val !== undefined) data.set(key, val);
  }

  const { defaultKey, keyAliases } = findDefaultKey(schema);
  const parts: string[] = [];
  const done = new Set(opts.skip ?? []);

  const addKey = (key: string, isDefault: boolean): void => {
    if (done.has(key)) return;
    done.add(key);
    const value = data.get(key);
    if (value === undefined) return;
    let keySchema = schemaFor(schema, key);

    const combine = keyAliases.get(key);
    if (combine !== undefined) {
      const combineValue = data.get(combine);
      if (combineValue !== undefined) {
        const left = printableValue(key, value, keySchema?.format);
        const right = printableValue(combine, combineValue, schemaFor(schema, combine)?.format);
        parts.push(`${left}=${right}`);
        done.add(combine);
        return;
      }
    }

    if (keySchema?.alias !== undefined) keySchema = schemaFor(schema, keySchema.alias);
    if (!keySchema) die(`invalid key '${key}'`);
    if (keySchema.alias !== undefined) throw new CvmError('INTERNAL', 'internal error');
    const text = printableValue(key, value, keySchema.format);
    parts.push(isDefault ? text : `${key}=${text}`);
  };

  if (defaultKey !== undefined) addKey(defaultKey, true);
  const sortedKeys = [...data.keys()].sort();
  for (const key of sortedKeys) {
    const keySchema = schemaFor(schema, key);
    if (keySchema && !keySchema.optional) addKey(key, false);
  }
  for (const key of sortedKeys) addKey(key, false);
  return parts.join(',');
}
