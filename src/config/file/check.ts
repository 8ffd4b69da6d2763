/**
 * @module config/file/check
 * `check_type` of qemu-server: the per-key validation the config parser and writer apply to
 * every `key: value` line. It resolves the key's schema (unknown keys fail with
 * `unknown setting '<key>'`), rejects embedded line breaks, and hands the value to the schema
 * engine, which normalises booleans to 1/0, checks integers/numbers, validates property
 * strings and strips surrounding quotes of plain strings. Unlike qemu-server it also applies the
 * option table's constraints (enum, pattern, length, range): a hand-edited value outside them
 * (`scsihw: lsi,rombar=0,multifunction=on`) would otherwise reach a QEMU argument verbatim.
 * Errors carry qemu-server's text
 * without any "vm N - " prefix; callers add their own context.
 */

import { CvmError } from '../../errors.js';
import { checkConfigValue, clearParseMemo } from '../../schema/index.js';
import type { PropertySchema } from '../../schema/types.js';
import { lookupConfigKey } from '../options/index.js';

/** Resolves the schema of a key within one kind of section. */
export type SchemaLookup = (key: string) => PropertySchema | undefined;

/** The main, pending and snapshot sections all use the VM config schema (`$confdesc`). */
export const vmSectionSchema: SchemaLookup = (key) => lookupConfigKey(key);

const FLEECING_IMAGES: PropertySchema = {
  type: 'string',
  format: 'pve-volume-id-list',
  optional: true,
  description:
    'For internal use only. List of fleecing images allocated during backup. If no backup is running, these are left-overs that failed to be removed.',
};

/** `[special:fleecing]` knows exactly one key. */
export const fleecingSectionSchema: SchemaLookup = (key) => (key === 'fleecing-images' ? FLEECING_IMAGES : undefined);

/**
 * Values that passed check_type, per schema lookup and key: validation is pure, and a config
 * repeats most values in every snapshot and again when it is written back, so each distinct
 * `key: value` is validated once. A key's first value sits in its entry directly and only
 * further values get a map, because the cold parse of one config (one value per key) pays for
 * filling this cache. Bounded by CACHE_LIMIT values in all; failures are never cached. Results
 * are strings, so handing out a cached one shares nothing mutable.
 */
interface PassedKey {
  value: string;
  stored: string;
  more?: Map<string, string>;
}
interface PassedValues {
  byKey: Map<string, PassedKey>;
  size: number;
}
const passed = new WeakMap<SchemaLookup, PassedValues>();
const CACHE_LIMIT = 4096;

/**
 * Forget cached validation results, including the schema engine's property-string memo
 * (benchmarks measure validation from scratch with it).
 */
export function clearCheckCache(): void {
  passed.delete(vmSectionSchema);
  passed.delete(fleecingSectionSchema);
  clearParseMemo();
}

function recalled(lookup: SchemaLookup, key: string, value: string): string | undefined {
  const entry = passed.get(lookup)?.byKey.get(key);
  if (entry === undefined) return undefined;
  return entry.value === value ? entry.stored : entry.more?.get(value);
}

function remember(lookup: SchemaLookup, key: string, value: string, stored: string): void {
  let cache = passed.get(lookup);
  if (cache === undefined || cache.size >= CACHE_LIMIT) {
    cache = { byKey: new Map(), size: 0 };
    passed.set(lookup, cache);
  }
  const entry = cache.byKey.get(key);
  if (entry === undefined) {
    cache.byKey.set(key, { value, stored });
  } else {
    entry.more ??= new Map();
    entry.more.set(value, stored);
  }
  cache.size++;
}

/**
 * Object.prototype's property names. A Set lookup shares the hash the schema lookup computes
 * anyway, where `key in Object.prototype` first has to internalise every key string.
 */
const OBJECT_PROTOTYPE_KEYS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Whether a value has a CR or LF (indexOf beats a regex on these short strings). */
function hasLineBreak(value: string): boolean {
  return value.indexOf('\n') !== -1 || value.indexOf('\r') !== -1;
}

/** check_type(key, value, schema): the value to store, or a thrown CvmError with qemu-server's text. */
export function checkType(key: string, value: string, lookup: SchemaLookup): string {
  const hit = recalled(lookup, key, value);
  if (hit !== undefined) return hit;
  // A key such as `constructor` must never resolve to an Object.prototype member.
  const schema = OBJECT_PROTOTYPE_KEYS.has(key) ? undefined : lookup(key);
  if (!schema) throw new CvmError('PARAM_INVALID', `unknown setting '${key}'`);
  if (hasLineBreak(value)) throw new CvmError('PARAM_INVALID', 'property contains a line feed');
  const stored = checkConfigValue(key, schema, value, { full: true });
  remember(lookup, key, value, stored);
  return stored;
}

/** The message of a validation failure, without the trailing newline Perl would carry. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/\n+$/, '');
  return String(err);
}
