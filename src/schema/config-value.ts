/**
 * @module schema/config-value
 * qemu-server's own `check_type($key, $value, $schema)`, the check every top-level value of a VM
 * config file goes through in parse_vm_config and write_vm_config. It is deliberately looser than
 * the API's full JSON-schema validation: only the type, the line-feed rule and the `format` are
 * checked (enum, minimum, pattern … are not), booleans are stored as 1/0, integers as Perl's
 * `int($1)`, plain strings lose surrounding double quotes, property strings are validated but
 * stored verbatim. `opts.full` adds the API-level constraint checks for command-line input.
 */
import { CvmError, isCvmError } from '../errors.js';
import { checkConstraints, checkFormat } from './check.js';
import { perlIntegerString } from './perl.js';
import type { PropertySchema } from './types.js';

const TRUE_WORD = /^(?:on|yes|true)$/i;
const FALSE_WORD = /^(?:off|no|false)$/i;
const INTEGER = /^([0-9]+)$/;
const NUMBER = /^[0-9]+(?:\.[0-9]+)?$/;
const QUOTED = /^"([^\n]*)"$/;

export interface CheckConfigValueOptions {
  /**
   * Also apply the API's check_prop constraints (pattern, maxLength, minLength, maximum, minimum,
   * enum) after the config-file check, as `qm set`/`qm create` parameter validation does.
   */
  full?: boolean;
}

function typeCheck(schema: PropertySchema, value: string): string {
  switch (schema.type) {
    case 'boolean':
      if (value === '1' || TRUE_WORD.test(value)) return '1';
      if (value === '0' || FALSE_WORD.test(value)) return '0';
      throw new Error(`type check ('boolean') failed - got '${value}'`);
    case 'integer': {
      const match = INTEGER.exec(value);
      if (!match) throw new Error(`type check ('integer') failed - got '${value}'`);
      return perlIntegerString(match[1] as string);
    }
    case 'number':
      if (!NUMBER.test(value)) throw new Error(`type check ('number') failed - got '${value}'`);
      return value;
    case 'string':
      if (schema.format !== undefined) {
        checkFormat(schema.format, value);
        return value;
      }
      // only a value that starts with a quote can lose its quotes
      return value.charCodeAt(0) === 0x22 /* " */ ? value.replace(QUOTED, '$1') : value;
    default:
      throw new Error('internal error');
  }
}

/**
 * Check one top-level config value and return what qemu-server would store. Throws
 * CvmError('FORMAT_ERROR', <text after "unable to parse value of 'key' - ">, { details }).
 */
export function checkConfigValue(key: string, schema: PropertySchema, value: string, opts: CheckConfigValueOptions = {}): string {
  try {
    if (value.indexOf('\n') !== -1 || value.indexOf('\r') !== -1) throw new Error('property contains a line feed');
    const stored = typeCheck(schema, value);
    if (opts.full) {
      // the format was checked by typeCheck already
      const error = checkConstraints(schema, stored, { skipFormat: true });
      if (error !== undefined) throw new Error(error);
    }
    return stored;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const details: Record<string, unknown> = { key, value };
    if (isCvmError(err) && err.details?.errors !== undefined) details.errors = err.details.errors;
    throw new CvmError('FORMAT_ERROR', message, { details, cause: err });
  }
}
