/**
 * @module store/typed
 * The JSON view of a config section: the file stores every value as text; the API returns
 * integers and booleans (1/0) as JSON numbers and everything else, `number`-typed keys
 * included, as strings, exactly as qemu-server's check_type hands them to the JSON encoder
 * (`int($1)` for integers; the matched text, a Perl string, for numbers).
 */

import { lookupConfigKey } from '../config/options/index.js';
import type { ConfigSection } from '../config/types.js';

export function typedConfig(section: ConfigSection): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const key of Object.keys(section).sort()) {
    const value = section[key] as string;
    const type = key === 'digest' ? 'string' : lookupConfigKey(key)?.type;
    const numeric = (type === 'integer' || type === 'boolean') && /^\d+$/.test(value);
    out[key] = numeric ? Number(value) : value;
  }
  return out;
}
