/**
 * @module schema/types
 * The shape of a schema, modelled on qemu-server's use of PVE::JSONSchema: a top-level
 * config key and every key of a property-string format is described by a `PropertySchema`.
 * Formats are plain objects from key to schema, so the option table stays data that the
 * parser, the printer, typetext generation, the CLI option builder and docs all read.
 */

export type SchemaType = 'string' | 'integer' | 'number' | 'boolean';

/** A named string verifier (PVE `format => 'pve-volume-id'` …): returns an error text or undefined. */
export type FormatVerifier = (value: string) => string | undefined;

export interface PropertySchema {
  type: SchemaType;
  description?: string;
  verbose_description?: string;
  /** Absent or false means required (PVE semantics: `optional => 1` makes it optional). */
  optional?: boolean;
  /** Documented default; never materialised into parsed values (qemu-server does not). */
  default?: string | number | boolean;
  enum?: readonly string[];
  /** Regex source, anchored by the engine as `^(?:…)$` like PVE. */
  pattern?: string;
  /** A property-string sub-format (object) or the name of a registered format (string). */
  format?: string | FormatSchema;
  format_description?: string;
  /** Overrides generated typetext. */
  typetext?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  /** This key's value may be given bare, without `key=`. */
  default_key?: boolean;
  /** This key is an alias of another key of the same format (value is stored under the target). */
  alias?: string;
  /** PVE `keyAlias`: when printing, the key is written under this name. */
  keyAlias?: string;
  /** Another key that must be set when this one is. */
  requires?: string;
  /** Hidden from generated docs/help (deprecated keys). */
  deprecated?: boolean;
}

/** A property-string format: key → schema. Key order here is documentation order only. */
export type FormatSchema = Readonly<Record<string, PropertySchema>>;

/** Parsed property-string values: booleans as 0/1, integers/numbers as numbers, strings as strings. */
export type PropertyValues = Record<string, string | number>;
