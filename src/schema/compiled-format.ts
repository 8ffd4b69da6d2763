/**
 * @module schema/compiled-format
 * A per-format lookup table derived once from a property-string format object and cached on it
 * (WeakMap, so formats built on the fly by tests or callers are collected normally). The parser
 * and check_object consult it for every property string; without it each call walked every key
 * of the format (the drive formats have ~45) to find the default key, the required keys and the
 * position of each key, although a typical value names only two to five of them.
 *
 * Formats are treated as immutable once used (they are option-table data); mutating a format
 * object after it has been parsed with would leave a stale table.
 */
import type { FormatSchema, PropertySchema } from './types.js';

export interface CompiledFormat {
  /** Own keys only, so `constructor`, `__proto__` … are simply unknown. */
  readonly schemas: ReadonlyMap<string, PropertySchema>;
  /**
   * Position of each non-alias key in the format's key order. check_object visits keys in
   * that order, which decides the key order of parsed objects and of collected errors.
   */
  readonly position: ReadonlyMap<string, number>;
  /** Non-alias keys that are not optional, in format order. */
  readonly required: readonly string[];
  /** The first key flagged `default_key` (the one a bare value goes to), if any. */
  readonly defaultKey: string | undefined;
  /** Whether any key is an alias (check_object's alias pass can be skipped otherwise). */
  readonly hasAliases: boolean;
}

const compiled = new WeakMap<FormatSchema, CompiledFormat>();

function compile(format: FormatSchema): CompiledFormat {
  const schemas = new Map<string, PropertySchema>();
  const position = new Map<string, number>();
  const required: string[] = [];
  let defaultKey: string | undefined;
  let hasAliases = false;
  for (const key of Object.keys(format)) {
    const schema = format[key] as PropertySchema;
    schemas.set(key, schema);
    if (schema.default_key && defaultKey === undefined) defaultKey = key;
    if (schema.alias) {
      hasAliases = true;
      continue;
    }
    position.set(key, position.size);
    if (!schema.optional) required.push(key);
  }
  return { schemas, position, required, defaultKey, hasAliases };
}

/** The lookup table of a format, built on first use. */
export function compiledFormat(format: FormatSchema): CompiledFormat {
  let table = compiled.get(format);
  if (table === undefined) {
    table = compile(format);
    compiled.set(format, table);
  }
  return table;
}
