/**
 * @module schema/registry
 * The named-format registry (PVE::JSONSchema::register_format / get_format). A name maps either to
 * a property-string format (an object of key schemas, optionally with a whole-object validator) or
 * to a string verifier. Option tables refer to formats by name, so this registry is the link
 * between the data-only option table and the code that checks values. Name resolution follows
 * check_format: a `-list` or `-opt` suffix selects list/optional handling of the base verifier.
 */
import { CvmError } from '../errors.js';
import type { FormatSchema, FormatVerifier, PropertyValues } from './types.js';

/** A whole-object check run after a named property-string format parsed cleanly (PVE `$validator`). */
export type FormatValidator = (values: PropertyValues) => PropertyValues;

const formats = new Map<string, FormatSchema | FormatVerifier>();
const validators = new Map<string, FormatValidator>();

/**
 * Register a named format. Like PVE, a name can be registered once; a validator may only be
 * attached to an object (property-string) format.
 */
export function registerFormat(name: string, def: FormatSchema | FormatVerifier, validator?: FormatValidator): void {
  if (formats.has(name)) {
    throw new CvmError('INTERNAL', `JSON schema format '${name}' already registered`);
  }
  if (validator) {
    if (typeof def === 'function') {
      throw new CvmError('INTERNAL', 'A $validator function can only be specified for hash-based formats');
    }
    validators.set(name, validator);
  }
  formats.set(name, def);
}

/** The registered definition for exactly this name (no `-list`/`-opt` resolution). */
export function getFormat(name: string): FormatSchema | FormatVerifier | undefined {
  return formats.get(name);
}

/** The validator attached to a named object format, if any. */
export function getFormatValidator(name: string): FormatValidator | undefined {
  return validators.get(name);
}

export type FormatMode = 'none' | 'list' | 'opt';

/** check_format's name split: `pve-tag-list` → base `pve-tag`, mode `list`. */
export function splitFormatName(format: string): { base: string; mode: FormatMode } {
  const match = /^(.*?)(?:-(list|opt))?$/s.exec(format);
  const base = match?.[1] ?? format;
  const mode = (match?.[2] as FormatMode | undefined) ?? 'none';
  return { base, mode };
}

/** All registered names, sorted (for docs and tests). */
export function registeredFormatNames(): string[] {
  return [...formats.keys()].sort();
}
