/**
 * @module schema/check
 * Value validation as PVE::JSONSchema::check_prop / check_object do it for property-string keys:
 * type check, then named format, pattern, maxLength, minLength, maximum, minimum and enum, in
 * exactly that order, each stopping at the first failure with PVE's message text. Errors of a whole
 * object are collected per key (PVE `add_error`) so the caller can raise one "format error".
 *
 * Also the two that recurse into it: check_format (a key's `format` may be a property-string
 * format, checked by parsing) and parse_property_string (schema/reader's reader, then
 * check_object). They live here because they call each other: split over modules they made an
 * import circle (check ↔ format-check ↔ property-string). Printing is in schema/property-string.
 */
import { CvmError, isCvmError } from '../errors.js';
import { type CompiledFormat, type CompiledKey, compiledFormat, compiledKey } from './compiled-format.js';
import { failureOutcome, memoFor, memoise, memoKey, replay } from './parse-memo.js';
import { byteLength, isPerlInteger, isPerlNumber, parseBoolean, perlTruthy, splitList } from './perl.js';
import { collectProperties, NO_SKIP, type RawValue } from './reader.js';
import { type FormatValidator, getFormat, getFormatValidator, splitFormatName } from './registry.js';
import type { FormatSchema, PropertySchema, PropertyValues } from './types.js';

export type CheckResult = { value: string | number } | { error: string };

export type { RawValue } from './reader.js';

function typeError(type: string, value: string): string {
  return `type check ('${type}') failed - got '${value}'`;
}

/**
 * Validate one present value against its schema (check_type + check_prop). Boolean spellings are
 * accepted and normalised to 0/1 (parse_property_string does that before checking); integers and
 * numbers are returned as numbers, strings verbatim.
 */
export function checkValue(schema: PropertySchema, value: string): CheckResult {
  return checkKeyValue(compiledKey(schema), value);
}

/** checkValue on a compiled key schema. */
export function checkKeyValue(schema: CompiledKey, value: string): CheckResult {
  if (schema.alias) return { value };

  let typed: string | number = value;
  let text = value;
  switch (schema.type) {
    case 'boolean': {
      const bool = parseBoolean(value);
      if (bool === undefined) return { error: typeError('boolean', value) };
      typed = bool;
      text = bool === 1 ? '1' : '0';
      break;
    }
    case 'integer':
      if (!isPerlInteger(value)) return { error: typeError('integer', value) };
      typed = Number(value);
      break;
    case 'number':
      if (!isPerlNumber(value)) return { error: typeError('number', value) };
      typed = Number(value);
      break;
    default:
      break;
  }

  const error = keyConstraintError(schema, text);
  return error === undefined ? { value: typed } : { error };
}

/**
 * The non-type part of check_prop for a scalar, in PVE's order; `skipFormat` leaves the format
 * out (for a value whose format was already checked).
 */
export function checkConstraints(schema: PropertySchema, value: string, opts: { skipFormat?: boolean } = {}): string | undefined {
  return keyConstraintError(compiledKey(schema), value, opts.skipFormat === true);
}

function keyConstraintError(schema: CompiledKey, value: string, skipFormat = false): string | undefined {
  if (schema.format !== undefined && !skipFormat) {
    try {
      checkFormat(schema.format, value);
    } catch (err) {
      return `invalid format - ${dieText(err)}`;
    }
  }
  if (schema.pattern !== undefined && !schema.patternRe().test(value)) {
    return 'value does not match the regex pattern';
  }
  if (schema.maxLength !== undefined && byteLength(value) > schema.maxLength) {
    return `value may only be ${schema.maxLength} characters long`;
  }
  if (schema.minLength !== undefined && byteLength(value) < schema.minLength) {
    return `value must be at least ${schema.minLength} characters long`;
  }
  // only a bound makes the number test matter
  if ((schema.maximum !== undefined || schema.minimum !== undefined) && isPerlNumber(value)) {
    const number = Number(value);
    if (schema.maximum !== undefined && number > schema.maximum) {
      return `value must have a maximum value of ${schema.maximum}`;
    }
    if (schema.minimum !== undefined && number < schema.minimum) {
      return `value must have a minimum value of ${schema.minimum}`;
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    return `value '${value}' does not have a value in the enumeration '${schema.enum.join(', ')}'`;
  }
  return undefined;
}

/** PVE add_error: a second message for the same key is joined with a literal backslash-n. */
export function addError(errors: Map<string, string>, key: string, message: string): void {
  // Perl: a false path ('' or '0') is reported as '_root'.
  const path = key === '' || key === '0' ? '_root' : key;
  const previous = errors.get(path);
  errors.set(path, previous === undefined ? message : `${previous}\\n${message}`);
}

/** Own-property lookup, so keys like `constructor` or `__proto__` are simply unknown. */
export function schemaFor(format: FormatSchema, key: string): PropertySchema | undefined {
  return Object.hasOwn(format, key) ? format[key] : undefined;
}

/**
 * check_object for a property-string value map. Remaps aliased keys in place (like PVE), records
 * missing required keys, `requires` violations and (when `additionalProperties === false`) unknown
 * keys, and returns the typed values of every key that passed, in the format's key order.
 */
export function checkObject(
  format: FormatSchema,
  values: Map<string, RawValue>,
  additionalProperties: boolean | undefined,
  errors: Map<string, string>,
): Map<string, string | number> {
  const typed = new Map<string, string | number>();
  const found = checkObjectInto(compiledFormat(format), values, additionalProperties, (key, value) => typed.set(key, value));
  if (found !== undefined) for (const [key, message] of found) addError(errors, key, message);
  return typed;
}

/**
 * checkObject on a compiled format, handing each typed value to `accept` in format key order
 * (so the parser can build its result object without an intermediate map). Returns the
 * collected errors, or undefined when there are none: most values are valid, so the error map
 * is only created for the first error.
 */
export function checkObjectInto(
  format: CompiledFormat,
  values: Map<string, RawValue>,
  additionalProperties: boolean | undefined,
  accept: (key: string, value: string | number) => void,
): Map<string, string> | undefined {
  const { keys } = format;
  let errors = format.hasAliases ? resolveAliases(keys, values) : undefined;

  // PVE walks every key of the schema; only the present and the required keys can yield a value
  // or an error, so visit just those, in the schema's order.
  for (const key of keysToVisit(format, values)) {
    const raw = values.get(key);
    if (raw === undefined) {
      errors = collect(errors, key, 'property is missing and it is not optional');
      continue;
    }
    const result = checkKeyValue(keys.get(key) as CompiledKey, typeof raw === 'string' ? raw : String(raw));
    if ('error' in result) errors = collect(errors, key, result.error);
    else accept(key, result.value);
  }

  for (const key of values.keys()) {
    const schema = keys.get(key);
    if (schema) {
      const requires = schema.requires;
      if (requires !== undefined && values.get(requires) === undefined) {
        errors = collect(errors, requires, `missing property required by '${key}'`);
      }
      continue;
    }
    if (additionalProperties === false) {
      errors = collect(errors, key, 'property is not defined in schema and the schema does not allow additional properties');
    }
  }
  return errors;
}

/** check_object's alias pass: move each aliased key's value to its target, in key order. */
function resolveAliases(keys: ReadonlyMap<string, CompiledKey>, values: Map<string, RawValue>): Map<string, string> | undefined {
  // collected first because the pass adds and deletes keys
  const aliased: string[] = [];
  for (const key of values.keys()) {
    if (keys.get(key)?.alias !== undefined) aliased.push(key);
  }
  let errors: Map<string, string> | undefined;
  for (const key of aliased) {
    const alias = keys.get(key)?.alias as string;
    if (values.get(alias) !== undefined) {
      errors = collect(errors, key, `cannot set both '${key}' and its alias target '${alias}'`);
    } else {
      values.set(alias, values.get(key) as RawValue);
      values.delete(key);
    }
  }
  return errors;
}

/** addError on an error map created with the first error. */
function collect(errors: Map<string, string> | undefined, key: string, message: string): Map<string, string> {
  const map = errors ?? new Map<string, string>();
  addError(map, key, message);
  return map;
}

/** Present non-alias keys plus missing required ones, sorted by their position in the format. */
function keysToVisit(format: CompiledFormat, values: Map<string, RawValue>): string[] {
  const { position } = format;
  const keys: string[] = [];
  for (const key of values.keys()) {
    if (position.has(key) && values.get(key) !== undefined) keys.push(key);
  }
  for (const key of format.required) {
    if (values.get(key) === undefined) keys.push(key);
  }
  // insertion sort: a handful of keys, usually already in order
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    const at = position.get(key) as number;
    let j = i - 1;
    while (j >= 0 && (position.get(keys[j] as string) as number) > at) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

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

export function raiseFormatError(errors: Map<string, string>): never {
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

/** parse_property_string without the validator: read, then check_object. */
function parseUncached(format: CompiledFormat, value: string, skipKeys: readonly string[] | undefined): PropertyValues {
  const skip = skipKeys === undefined || skipKeys.length === 0 ? NO_SKIP : new Set(skipKeys);
  const raw = collectProperties(format, value, skip);
  const result: PropertyValues = {};
  const errors = checkObjectInto(format, raw, false, (key, val) => {
    result[key] = val;
  });
  if (errors !== undefined) raiseFormatError(errors);
  return result;
}

/** Format names seen so far, split once (the set of names is small and fixed by the schemas). */
const splitNames = new Map<string, ReturnType<typeof splitFormatName>>();
const SPLIT_NAMES_LIMIT = 1024;

function splitName(format: string): ReturnType<typeof splitFormatName> {
  let split = splitNames.get(format);
  if (split === undefined) {
    split = splitFormatName(format);
    if (splitNames.size >= SPLIT_NAMES_LIMIT) splitNames.clear();
    splitNames.set(format, split);
  }
  return split;
}

function fail(message: string, value: string): never {
  throw new CvmError('FORMAT_ERROR', message, { details: { value } });
}

/** Validate `value` against a format; throws CvmError('FORMAT_ERROR') with PVE's text. */
export function checkFormat(format: string | FormatSchema, value: string): void {
  if (typeof format !== 'string') {
    parsePropertyString(format, value);
    return;
  }
  if (format === 'regex') return;

  const { base, mode } = splitName(format);
  const registered = getFormat(base);
  if (registered === undefined) fail(`undefined format '${format}'`, value);
  if (mode !== 'none' && typeof registered !== 'function') {
    fail(`'-${mode}' format must have code ref, not hash`, value);
  }

  if (typeof registered !== 'function') {
    // Named object formats are parsed by name so an attached validator runs too.
    parsePropertyString(base, value);
    return;
  }
  if (mode === 'list') {
    for (const item of splitList(value)) {
      const error = registered(item);
      if (error !== undefined) fail(error, value);
    }
    return;
  }
  if (mode === 'opt' && !perlTruthy(value)) return;
  const error = registered(value);
  if (error !== undefined) fail(error, value);
}

/**
 * The text a Perl `die` would carry for this error, as PVE interpolates `$@`. Our messages are die
 * texts minus the final newline, except "format error" messages (PVE exception objects), which
 * already end with their per-key lines.
 */
export function dieText(err: unknown): string {
  if (isCvmError(err)) return err.details?.errors !== undefined ? err.message : `${err.message}\n`;
  const message = err instanceof Error ? err.message : String(err);
  return `${message}\n`;
}
