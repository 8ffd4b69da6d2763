/**
 * @module config/file/check
 * `check_type` of qemu-server: the per-key validation the config parser and writer apply to
 * every `key: value` line. It resolves the key's schema (unknown keys fail with
 * `unknown setting '<key>'`), rejects embedded line breaks, and hands the value to the schema
 * engine, which normalises booleans to 1/0, checks integers/numbers, validates property
 * strings and strips surrounding quotes of plain strings. Errors carry qemu-server's text
 * without any "vm N - " prefix; callers add their own context.
 */

import { CvmError } from '../../errors.js';
import { checkConfigValue } from '../../schema/index.js';
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
 * Values that passed check_type, per schema lookup: validation is pure, and a config repeats
 * most values in every snapshot and again when it is written back, so each distinct
 * `key: value` is validated once. Bounded; failures are never cached.
 */
const passed = new WeakMap<SchemaLookup, Map<string, string>>();
const CACHE_LIMIT = 4096;

/** Forget cached validation results (benchmarks measure validation from scratch with it). */
export function clearCheckCache(): void {
  for (const lookup of [vmSectionSchema, fleecingSectionSchema]) passed.delete(lookup);
}

/** check_type(key, value, schema): the value to store, or a thrown CvmError with qemu-server's text. */
export function checkType(key: string, value: string, lookup: SchemaLookup): string {
  let cache = passed.get(lookup);
  const cacheKey = `${key}\0${value}`;
  const hit = cache?.get(cacheKey);
  if (hit !== undefined) return hit;
  // A key such as `constructor` must never resolve to an Object.prototype member.
  const schema = key in Object.prototype ? undefined : lookup(key);
  if (!schema) throw new CvmError('PARAM_INVALID', `unknown setting '${key}'`);
  if (/[\n\r]/.test(value)) throw new CvmError('PARAM_INVALID', 'property contains a line feed');
  const stored = checkConfigValue(key, schema, value);
  if (!cache) {
    cache = new Map();
    passed.set(lookup, cache);
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(cacheKey, stored);
  return stored;
}

/** The message of a validation failure, without the trailing newline Perl would carry. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/\n+$/, '');
  return String(err);
}
