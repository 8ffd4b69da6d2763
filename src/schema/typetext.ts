/**
 * @module schema/typetext
 * Human-readable type descriptions: PVE's generate_typetext for property-string formats (the
 * `[type=]<sev-type> [,allow-smt=<1|0>] …` lines of the man page and `--help`), schema_get_type_text
 * for a single option, and a short "what is allowed" phrase for one-line user errors.
 */
import { findDefaultKey } from './property-string.js';
import { getFormat } from './registry.js';
import type { FormatSchema, PropertySchema } from './types.js';

function isPropertySchema(value: FormatSchema | PropertySchema): value is PropertySchema {
  return typeof (value as { type?: unknown }).type === 'string';
}

function keyTypeText(schema: PropertySchema, listEnums: boolean): string {
  if (schema.format_description) return `<${schema.format_description}>`;
  if (schema.typetext) return schema.typetext;
  if (schema.enum) {
    return listEnums || schema.enum.length <= 3 ? `<${schema.enum.join('|')}>` : '<enum>';
  }
  if (schema.type === 'boolean') return '<1|0>';
  if (schema.type === 'integer') return '<integer>';
  if (schema.type === 'number') return '<number>';
  // PVE dies here ("neither format_description nor typetext found"); docs must not crash.
  return `<${schema.type}>`;
}

/**
 * PVE generate_typetext: default key first as `[key=]<…>`, then required keys, then the rest
 * (sorted), optional ones in brackets, aliases hidden, keyAlias pairs appended as `[,<a>=<b>]`.
 */
export function generateTypetext(format: FormatSchema, listEnums = false): string {
  const { defaultKey, keyAliases } = findDefaultKey(format);
  let result = '';
  let needSeparator = false;
  const add = (text: string, optional: boolean | undefined): void => {
    let piece = text;
    if (needSeparator) {
      piece = `,${piece}`;
      result += ' ';
    }
    result += optional ? `[${piece}]` : piece;
    needSeparator = true;
  };

  const done = new Set<string>();
  const addKey = (key: string): void => {
    if (done.has(key)) return;
    done.add(key);
    if (!Object.hasOwn(format, key)) return;
    const schema = format[key] as PropertySchema;
    if (schema.alias !== undefined) return;
    const text = keyTypeText(schema, listEnums);
    add(key === defaultKey ? `[${key}=]${text}` : `${key}=${text}`, schema.optional);
  };

  if (defaultKey !== undefined) addKey(defaultKey);
  const sorted = Object.keys(format).sort();
  for (const key of sorted) if (!format[key]?.optional) addKey(key);
  for (const key of sorted) addKey(key);
  for (const keyAlias of [...keyAliases.keys()].sort()) add(`<${keyAlias}>=<${keyAliases.get(keyAlias)}>`, true);
  return result;
}

function resolveObjectFormat(format: PropertySchema['format']): FormatSchema | undefined {
  if (format === undefined) return undefined;
  if (typeof format !== 'string') return format;
  const registered = getFormat(format);
  return typeof registered === 'object' ? registered : undefined;
}

/** PVE schema_get_type_text for one option. */
export function schemaTypeText(schema: PropertySchema, style?: 'config-sub'): string {
  const type = schema.type || 'string';
  if (schema.typetext) return schema.typetext;
  if (schema.format_description) return `<${schema.format_description}>`;
  if (schema.enum) return `<${[...schema.enum].sort().join(' | ')}>`;
  if (schema.pattern) return schema.pattern;
  if (schema.alias) return `<alias to '${schema.alias}'>`;
  if (type === 'integer' || type === 'number') {
    if (schema.minimum !== undefined && schema.maximum !== undefined) {
      return `<${type}> (${schema.minimum} - ${schema.maximum})`;
    }
    if (schema.minimum !== undefined) return `<${type}> (${schema.minimum} - N)`;
    if (schema.maximum !== undefined) return `<${type}> (-N - ${schema.maximum})`;
  } else if (type === 'string') {
    const objectFormat = resolveObjectFormat(schema.format);
    if (objectFormat) return generateTypetext(objectFormat, style === 'config-sub');
  }
  return `<${type}>`;
}

/** Typetext of a property-string format, or of a single option schema. */
export function typetext(format: FormatSchema | PropertySchema): string {
  return isPropertySchema(format) ? schemaTypeText(format) : generateTypetext(format);
}

/** A short phrase saying what values a schema accepts, for one-line input errors. */
export function describeAllowed(schema: PropertySchema): string {
  if (schema.enum) return `one of ${schema.enum.join(', ')}`;
  switch (schema.type) {
    case 'boolean':
      return 'boolean (1|0|on|off|yes|no|true|false)';
    case 'integer':
    case 'number':
      return describeRange(schema.type, schema.minimum, schema.maximum);
    default:
      break;
  }
  const objectFormat = resolveObjectFormat(schema.format);
  if (objectFormat) return `property string: ${generateTypetext(objectFormat)}`;
  const parts: string[] = [];
  if (typeof schema.format === 'string') {
    parts.push(schema.format_description ? `${schema.format} (${schema.format_description})` : schema.format);
  } else {
    parts.push('string');
  }
  if (schema.pattern) parts.push(`matching /^${schema.pattern}$/`);
  if (schema.minLength !== undefined && schema.maxLength !== undefined) {
    parts.push(`of ${schema.minLength} to ${schema.maxLength} characters`);
  } else if (schema.maxLength !== undefined) {
    parts.push(`of at most ${schema.maxLength} characters`);
  } else if (schema.minLength !== undefined) {
    parts.push(`of at least ${schema.minLength} characters`);
  }
  return parts.join(' ');
}

function describeRange(type: string, minimum?: number, maximum?: number): string {
  if (minimum !== undefined && maximum !== undefined) return `${type} between ${minimum} and ${maximum}`;
  if (minimum !== undefined) return `${type} >= ${minimum}`;
  if (maximum !== undefined) return `${type} <= ${maximum}`;
  return type;
}
