/**
 * @module schema/property-string
 * Property strings (`type=snp,no-debug=1`, `virtio=AA:BB:..,bridge=vmbr0`): printing with
 * PVE::JSONSchema::print_property_string semantics and the default-key lookup. Parsing
 * (parse_property_string) is schema/check's parsePropertyString, re-exported here: it keeps
 * PVE's split between plain dies (duplicate key, missing key: thrown immediately) and collected
 * per-key errors (thrown together as "format error"), never fills in defaults and never trims.
 */
import { CvmError } from '../errors.js';
import { checkObject, raiseFormatError, schemaFor, type RawValue } from './check.js';
import { getFormat, getFormatValidator, type FormatValidator } from './registry.js';
import { formatSize, parseSize } from './size.js';
import type { FormatSchema, PropertySchema, PropertyValues } from './types.js';

export { formatErrorMessage, parsePropertyString } from './check.js';

function die(message: string, details?: Record<string, unknown>): never {
  throw new CvmError('FORMAT_ERROR', message, details ? { details } : {});
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
