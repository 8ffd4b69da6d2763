/**
 * @module sev/parse
 * The one place the sev package turns the `amd-sev` / `intel-tdx` config values into parsed
 * property values, through the shared property-string parser and the formats of the config
 * schema. qemu-server re-parses the string wherever it needs it; so do we, keeping callers free
 * to pass the raw config section.
 */
import { sevFormat, tdxFormat } from '../config/options/index.js';
import { parsePropertyString } from '../schema/index.js';
import type { PropertyValues } from '../schema/types.js';

export type CvmType = 'std' | 'es' | 'snp' | 'tdx';

export function parseAmdSev(value: string): PropertyValues {
  return parsePropertyString(sevFormat, value);
}

export function parseIntelTdx(value: string): PropertyValues {
  return parsePropertyString(tdxFormat, value);
}

/** Perl truthiness of a parsed property value: undefined, '', '0' and 0 are false. */
export function truthy(v: string | number | undefined): boolean {
  return v !== undefined && v !== '' && v !== 0 && v !== '0';
}
