/**
 * @module schema/check
 * Value validation as PVE::JSONSchema::check_prop / check_object do it for property-string keys:
 * type check, then named format, pattern, maxLength, minLength, maximum, minimum and enum, in
 * exactly that order, each stopping at the first failure with PVE's message text. Errors of a whole
 * object are collected per key (PVE `add_error`) so the caller can raise one "format error".
 */
import { CvmError } from '../errors.js';
import { checkFormat, dieText } from './format-check.js';
import { byteLength, isPerlInteger, isPerlNumber, parseBoolean, PERL_END } from './perl.js';
import { perlRegexToJs } from './perl-regex.js';
import type { FormatSchema, PropertySchema } from './types.js';

export type CheckResult = { value: string | number } | { error: string };

/** A raw (still textual, booleans possibly already 0/1) value collected by the parser. */
export type RawValue = string | number;

const patternCache = new Map<string, RegExp>();

/** PVE interpolates the pattern as `m/^$pattern$/` (no grouping); `$` is Perl's end anchor. */
function anchoredPattern(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(`^${perlRegexToJs(pattern)}${PERL_END}`);
    } catch (err) {
      throw new CvmError('INTERNAL', `unsupported schema pattern '${pattern}'`, { cause: err });
    }
    patternCache.set(pattern, re);
  }
  return re;
}

function typeError(type: string, value: string): string {
  return `type check ('${type}') failed - got '${value}'`;
}

/**
 * Validate one present value against its schema (check_type + check_prop). Boolean spellings are
 * accepted and normalised to 0/1 (parse_property_string does that before checking); integers and
 * numbers are returned as numbers, strings verbatim.
 */
export function checkValue(schema: PropertySchema, value: string): CheckResult {
  if (schema.alias) return { value };

  let typed: string | number = value;
  let text = value;
  switch (schema.type) {
    case 'boolean': {
      const bool = parseBoolean(value);
      if (bool === undefined) return { error: typeError('boolean', value) };
      typed = bool;
      text = String(bool);
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

  const error = checkConstraints(schema, text);
  return error === undefined ? { value: typed } : { error };
}

/** The non-type part of check_prop for a scalar, in PVE's order. */
export function checkConstraints(schema: PropertySchema, value: string): string | undefined {
  if (schema.format !== undefined) {
    try {
      checkFormat(schema.format, value);
    } catch (err) {
      return `invalid format - ${dieText(err)}`;
    }
  }
  if (schema.pattern !== undefined && !anchoredPattern(schema.pattern).test(value)) {
    return 'value does not match the regex pattern';
  }
  if (schema.maxLength !== undefined && byteLength(value) > schema.maxLength) {
    return `value may only be ${schema.maxLength} characters long`;
  }
  if (schema.minLength !== undefined && byteLength(value) < schema.minLength) {
    return `value must be at least ${schema.minLength} characters long`;
  }
  if (isPerlNumber(value)) {
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
 * keys, and returns the typed values of every key that passed.
 */
export function checkObject(
  format: FormatSchema,
  values: Map<string, RawValue>,
  additionalProperties: boolean | undefined,
  errors: Map<string, string>,
): Map<string, string | number> {
  for (const key of [...values.keys()]) {
    const alias = schemaFor(format, key)?.alias;
    if (alias === undefined) continue;
    if (values.get(alias) !== undefined) {
      addError(errors, key, `cannot set both '${key}' and its alias target '${alias}'`);
    } else {
      values.set(alias, values.get(key) as RawValue);
      values.delete(key);
    }
  }

  const typed = new Map<string, string | number>();
  for (const key of Object.keys(format)) {
    const schema = format[key] as PropertySchema;
    if (schema.alias) continue;
    const raw = values.get(key);
    if (raw === undefined) {
      if (!schema.optional) addError(errors, key, 'property is missing and it is not optional');
      continue;
    }
    const result = checkValue(schema, String(raw));
    if ('error' in result) addError(errors, key, result.error);
    else typed.set(key, result.value);
  }

  for (const key of values.keys()) {
    const schema = schemaFor(format, key);
    if (schema) {
      const requires = schema.requires;
      if (requires !== undefined && values.get(requires) === undefined) {
        addError(errors, requires, `missing property required by '${key}'`);
      }
      continue;
    }
    if (additionalProperties === false) {
      addError(
        errors,
        key,
        'property is not defined in schema and the schema does not allow additional properties',
      );
    }
  }
  return typed;
}
