/**
 * @module schema
 * The schema engine: PVE JSONSchema semantics for property strings and config values. Importing
 * this module registers the common named formats (see ./formats).
 */
import './formats/index.js';

export type { FormatSchema, FormatVerifier, PropertySchema, PropertyValues, SchemaType } from './types.js';
export {
  registerFormat,
  getFormat,
  getFormatValidator,
  registeredFormatNames,
  splitFormatName,
  type FormatValidator,
} from './registry.js';
export {
  parsePropertyString,
  printPropertyString,
  findDefaultKey,
  formatErrorMessage,
} from './property-string.js';
export { checkValue, checkConstraints, type CheckResult } from './check.js';
export { clearParseMemo } from './parse-memo.js';
export { checkFormat } from './check.js';
export { checkConfigValue, type CheckConfigValueOptions } from './config-value.js';
export { typetext, generateTypetext, schemaTypeText, describeAllowed } from './typetext.js';
export { parseSize, formatSize } from './size.js';
export { parseBoolean, splitList } from './perl.js';
export { parseVolumeId, parseStartupOrder, registerCommonFormats } from './formats/index.js';
