/**
 * @module api/params
 * Parameter verification as PVE::JSONSchema does it for API calls (`additionalProperties => 0`):
 * every parameter must be declared by the route or, on create/update routes, be a settable VM
 * config key; booleans are strict (`1`/`0`, or JSON true/false), integers and numbers must look
 * like them, then the schema's constraints apply in PVE's order. VM config keys go through the
 * same `checkParam` as `cvmctl create/set`, so API and CLI share the option table and its texts.
 * Array parameters (`command` of `…/agent/exec`) are declared separately by the schema of
 * their items: a repeated form key or a JSON array gives the list, a single value a list of one.
 * All problems are collected per key and raised together as
 * `400 Parameter verification failed.` with an `errors` map.
 */

import { CvmError } from '../errors.js';
import { lookupConfigKey } from '../config/options/index.js';
import { checkConstraints } from '../schema/check.js';
import { isPerlInteger, isPerlNumber } from '../schema/perl.js';
import type { PropertySchema } from '../schema/types.js';
import { checkParam, isSettableKey } from '../store/vm-params.js';

export const PARAM_VERIFICATION_FAILED = 'Parameter verification failed.';
export const NOT_IN_SCHEMA = 'property is not defined in schema and the schema does not allow additional properties';
export const MISSING = 'property is missing and it is not optional';

/** Raw input: strings, or lists for repeated form keys. */
export type RawParams = Record<string, string | string[]>;

export function paramError(errors: Record<string, string>): CvmError {
  return new CvmError('PARAM_INVALID', PARAM_VERIFICATION_FAILED, { details: { errors } });
}

/** Lists (`delete`, `revert`) may be given as repeated keys: PVE joins them with commas. */
const LIST_FORMATS = new Set(['pve-configid-list']);

/** check_type (strict, API flavour) plus check_prop constraints; returns the error text or the value. */
export function checkApiValue(schema: PropertySchema, value: string): { value: string } | { error: string } {
  switch (schema.type) {
    case 'boolean':
      if (value !== '0' && value !== '1') return { error: `type check ('boolean') failed - got '${value}'` };
      break;
    case 'integer':
      if (!isPerlInteger(value)) return { error: `type check ('integer') failed - got '${value}'` };
      break;
    case 'number':
      if (!isPerlNumber(value)) return { error: `type check ('number') failed - got '${value}'` };
      break;
    default:
      break;
  }
  const error = checkConstraints(schema, value);
  return error === undefined ? { value } : { error };
}

export interface CheckedParams {
  params: Record<string, string>;
  configParams: Record<string, string>;
  /** Array parameters, each item checked by the item schema. */
  lists: Record<string, string[]>;
}

/** An array parameter: every item checked with the item schema. */
function checkList(key: string, raw: string | string[], items: PropertySchema, errors: Record<string, string>): string[] | undefined {
  const values = Array.isArray(raw) ? raw : [raw];
  for (const item of values) {
    const res = checkApiValue(items, item);
    if ('error' in res) {
      errors[key] = res.error;
      return undefined;
    }
  }
  return values;
}

function scalar(
  key: string,
  raw: string | string[],
  schema: PropertySchema | undefined,
  errors: Record<string, string>,
): string | undefined {
  if (!Array.isArray(raw)) return raw;
  if (schema && typeof schema.format === 'string' && LIST_FORMATS.has(schema.format)) return raw.join(',');
  errors[key] = `type check ('${schema?.type ?? 'string'}') failed - got ARRAY`;
  return undefined;
}

/** Config key values: strict booleans first (the config check would take `yes`), then the CLI's checkParam. */
function checkConfigParam(key: string, value: string): { value: string } | { error: string } {
  const schema = lookupConfigKey(key);
  if (schema?.type === 'boolean' && value !== '0' && value !== '1') {
    return { error: `type check ('boolean') failed - got '${value}'` };
  }
  try {
    checkParam(key, value);
    return { value };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { error: message.startsWith(`${key}: `) ? message.slice(key.length + 2) : message };
  }
}

/**
 * Validate the merged parameters of a request against a route's declared parameters (path
 * parameters included), its array parameters (by item schema) and, with `configKeys`, the VM
 * config keys.
 */
export function checkParams(
  raw: RawParams,
  declared: Readonly<Record<string, PropertySchema>>,
  configKeys: boolean,
  declaredLists: Readonly<Record<string, PropertySchema>> = {},
): CheckedParams {
  const errors: Record<string, string> = {};
  const params: Record<string, string> = {};
  const configParams: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  for (const key of Object.keys(raw)) {
    const items = Object.hasOwn(declaredLists, key) ? declaredLists[key] : undefined;
    if (items) {
      const list = checkList(key, raw[key] as string | string[], items, errors);
      if (list) lists[key] = list;
      continue;
    }
    const schema = Object.hasOwn(declared, key) ? declared[key] : undefined;
    const isConfigKey = !schema && configKeys && isSettableKey(key);
    if (!schema && !isConfigKey) {
      errors[key] = NOT_IN_SCHEMA;
      continue;
    }
    const value = scalar(key, raw[key] as string | string[], schema, errors);
    if (value === undefined) continue;
    const res = schema ? checkApiValue(schema, value) : checkConfigParam(key, value);
    if ('error' in res) errors[key] = res.error;
    else if (schema) params[key] = res.value;
    else configParams[key] = res.value;
  }
  for (const [key, schema] of [...Object.entries(declared), ...Object.entries(declaredLists)]) {
    if (!schema.optional && raw[key] === undefined && errors[key] === undefined) errors[key] = MISSING;
  }
  if (Object.keys(errors).length > 0) throw paramError(errors);
  return { params, configParams, lists };
}

/** `1` for a set boolean parameter. */
export function flag(params: Readonly<Record<string, string>>, key: string): boolean {
  return params[key] === '1';
}

/** An integer parameter, or the fallback. */
export function intParam(params: Readonly<Record<string, string>>, key: string, fallback: number): number;
export function intParam(params: Readonly<Record<string, string>>, key: string): number | undefined;
export function intParam(params: Readonly<Record<string, string>>, key: string, fallback?: number): number | undefined {
  const v = params[key];
  return v === undefined ? fallback : Number(v);
}
