/**
 * @module schema/compiled-format
 * Lookup tables derived once from schema objects and cached on them (WeakMaps, so schemas built
 * on the fly by tests or callers are collected normally). Every property string of every config
 * line goes through them:
 *
 * - `CompiledFormat`: without it each parse walked every key of the format (the drive formats
 *   have ~45) to find the default key, the required keys and each key's position, although a
 *   typical value names only two to five of them.
 * - `CompiledKey`: one object shape for every key schema. The option tables spell their schemas
 *   as object literals of many different shapes, so reading `alias`, `type`, `maximum` … off them
 *   is a megamorphic property load each time; the compiled copy keeps those loads monomorphic and
 *   holds the key's pattern as a compiled RegExp after its first use.
 *
 * Schemas are treated as immutable once used (they are option-table data); mutating a schema
 * object after it has been checked against would leave a stale table.
 */
import { CvmError } from '../errors.js';
import { PERL_END } from './perl.js';
import { perlRegexToJs } from './perl-regex.js';
import type { FormatSchema, PropertySchema, SchemaType } from './types.js';

/** The check-relevant fields of one PropertySchema, in one fixed shape. */
export class CompiledKey {
  readonly schema: PropertySchema;
  readonly type: SchemaType;
  readonly alias: string | undefined;
  readonly keyAlias: string | undefined;
  readonly optional: boolean;
  readonly requires: string | undefined;
  readonly format: PropertySchema['format'];
  readonly pattern: string | undefined;
  readonly maxLength: number | undefined;
  readonly minLength: number | undefined;
  readonly maximum: number | undefined;
  readonly minimum: number | undefined;
  readonly enum: readonly string[] | undefined;
  private patternRegex: RegExp | undefined;

  constructor(schema: PropertySchema) {
    this.schema = schema;
    this.type = schema.type;
    this.alias = schema.alias;
    this.keyAlias = schema.keyAlias;
    this.optional = Boolean(schema.optional);
    this.requires = schema.requires;
    this.format = schema.format;
    this.pattern = schema.pattern;
    this.maxLength = schema.maxLength;
    this.minLength = schema.minLength;
    this.maximum = schema.maximum;
    this.minimum = schema.minimum;
    this.enum = schema.enum;
    this.patternRegex = undefined;
  }

  /**
   * The pattern as PVE applies it (`m/^$pattern$/`, `$` being Perl's end anchor). Compiled on
   * first use rather than up front, so an unsupported pattern only fails a value that reaches it.
   */
  patternRe(): RegExp {
    if (this.patternRegex === undefined) this.patternRegex = anchoredPattern(this.pattern as string);
    return this.patternRegex;
  }
}

const patternCache = new Map<string, RegExp>();

/** PVE interpolates the pattern as `m/^$pattern$/` (no grouping); `$` is Perl's end anchor. */
export function anchoredPattern(pattern: string): RegExp {
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

const compiledKeys = new WeakMap<PropertySchema, CompiledKey>();

/** The compiled form of a key schema, built on first use. */
export function compiledKey(schema: PropertySchema): CompiledKey {
  let key = compiledKeys.get(schema);
  if (key === undefined) {
    key = new CompiledKey(schema);
    compiledKeys.set(schema, key);
  }
  return key;
}

export interface CompiledFormat {
  /** Own keys only, so `constructor`, `__proto__` … are simply unknown. */
  readonly keys: ReadonlyMap<string, CompiledKey>;
  /**
   * Each key's own spelling, as the format object holds it. Property names are internalised
   * strings; a key sliced out of a value is not, and storing a result under it makes V8 look it
   * up in its string table first. Storing under this spelling skips that.
   */
  readonly names: ReadonlyMap<string, string>;
  /**
   * Position of each non-alias key in the format's key order. check_object visits keys in
   * that order, which decides the key order of parsed objects and of collected errors.
   */
  readonly position: ReadonlyMap<string, number>;
  /** Non-alias keys that are not optional, in format order. */
  readonly required: readonly string[];
  /** The first key flagged `default_key` (the one a bare value goes to), if any. */
  readonly defaultKey: string | undefined;
  /** Whether any key has an `alias` (check_object's alias pass can be skipped otherwise). */
  readonly hasAliases: boolean;
}

const compiledFormats = new WeakMap<FormatSchema, CompiledFormat>();

function compileFormat(format: FormatSchema): CompiledFormat {
  const keys = new Map<string, CompiledKey>();
  const names = new Map<string, string>();
  const position = new Map<string, number>();
  const required: string[] = [];
  let defaultKey: string | undefined;
  let hasAliases = false;
  for (const name of Object.keys(format)) {
    const schema = format[name] as PropertySchema;
    const key = compiledKey(schema);
    keys.set(name, key);
    names.set(name, name);
    if (schema.default_key && defaultKey === undefined) defaultKey = name;
    if (key.alias !== undefined) hasAliases = true;
    // check_object skips keys with a (true) alias
    if (key.alias) continue;
    position.set(name, position.size);
    if (!key.optional) required.push(name);
  }
  return { keys, names, position, required, defaultKey, hasAliases };
}

/** The lookup table of a format, built on first use. */
export function compiledFormat(format: FormatSchema): CompiledFormat {
  let table = compiledFormats.get(format);
  if (table === undefined) {
    table = compileFormat(format);
    compiledFormats.set(format, table);
  }
  return table;
}
