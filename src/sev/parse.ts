/**
 * @module sev/parse
 * The one place the sev package turns the `amd-sev` / `intel-tdx` config values into parsed
 * property values, through the shared property-string parser and the formats of the config
 * schema. qemu-server re-parses the string wherever it needs it; so do we, keeping callers free
 * to pass the raw config section — but a generation asks for the same value several times
 * (CVM type, object, machine flags), so parsed values are remembered per string.
 */
import { sevFormat, tdxFormat } from '../config/options/index.js';
import { parsePropertyString } from '../schema/index.js';
import type { FormatSchema, PropertyValues } from '../schema/types.js';

export type CvmType = 'std' | 'es' | 'snp' | 'tdx';

/** A handful of distinct values per process is normal; the bound only guards long-lived servers. */
const CACHE_LIMIT = 64;

/**
 * Parse through a small per-format cache. Only successful parses are kept (invalid values throw
 * again every time, with the parser's own message), and every caller gets its own shallow copy
 * so a caller that adds or changes keys cannot affect the next one.
 */
function cachedParser(format: FormatSchema): (value: string) => PropertyValues {
  const cache = new Map<string, PropertyValues>();
  return (value) => {
    let parsed = cache.get(value);
    if (parsed === undefined) {
      parsed = parsePropertyString(format, value);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
      cache.set(value, parsed);
    }
    return Object.assign({}, parsed); // not a spread: keys added to spread copies are slow on Node 20
  };
}

let amdSevParser: ((value: string) => PropertyValues) | undefined;
let intelTdxParser: ((value: string) => PropertyValues) | undefined;

export function parseAmdSev(value: string): PropertyValues {
  amdSevParser ??= cachedParser(sevFormat);
  return amdSevParser(value);
}

export function parseIntelTdx(value: string): PropertyValues {
  intelTdxParser ??= cachedParser(tdxFormat);
  return intelTdxParser(value);
}

/** Perl truthiness of a parsed property value: undefined, '', '0' and 0 are false. */
export function truthy(v: string | number | undefined): boolean {
  return v !== undefined && v !== '' && v !== 0 && v !== '0';
}
