/**
 * @module schema/format-check
 * PVE::JSONSchema::check_format: apply a `format` (inline property-string format, or a registered
 * name with optional `-list` / `-opt` suffix) to one string value. Failures are thrown as
 * `CvmError('FORMAT_ERROR')` whose message is the text PVE dies with (without Perl's trailing
 * newline, except for "format error" messages which end in their per-key lines).
 */
import { CvmError, isCvmError } from '../errors.js';
import { parsePropertyString } from './property-string.js';
import { perlTruthy, splitList } from './perl.js';
import { getFormat, splitFormatName } from './registry.js';
import type { FormatSchema } from './types.js';

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
