/**
 * @module store/vm-params
 * Validation of `create`/`set` input before anything is locked or written, modelled on the
 * parameter checks of qemu-server's create_vm / update_vm API: the vmid range of
 * `pve-vmid`, the keys the API accepts (`json_config_properties` without the snapshot-only
 * keys), every value through the config `check_type` plus the API's constraints
 * (enum, minimum, pattern …). Each failure is one line naming the key, the value and what
 * the key allows.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { CvmError } from '../errors.js';
import { driveSchemaWithAlloc, isValidDriveName, parseDrive } from '../config/drive.js';
import { parseNet, printNet, randomEtherAddr } from '../config/net.js';
import { lookupConfigKey } from '../config/options/index.js';
import { isSplittableArgs } from '../qemu/cfg2cmd/split-args.js';
import { checkConfigValue, describeAllowed, parsePropertyString } from '../schema/index.js';
import { isBlank } from '../schema/perl.js';
import { getFormat } from '../schema/registry.js';
import type { FormatSchema, PropertySchema } from '../schema/types.js';

export { parseVmid, VMID_MAX, VMID_MIN } from './vmid.js';
import { quotedValue } from './quote.js';
export { quotedValue } from './quote.js';

/** Keys only qemu-server itself writes (snapshots, running state); not settable by create/set. */
export const INTERNAL_KEYS: ReadonlySet<string> = new Set([
  'parent',
  'snaptime',
  'vmstate',
  'running-nets-host-mtu',
  'runningmachine',
  'runningcpu',
  'meta',
]);

/** The MAC prefix Proxmox assigns by default (datacenter.cfg `mac_prefix`). */
const DEFAULT_MAC_PREFIX = 'BC:24:11';

/** Fold a multi-line qemu-server message into one line. */
export function foldLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' - ');
}

/** Whether the create/set API accepts this key. */
export function isSettableKey(key: string): boolean {
  return !INTERNAL_KEYS.has(key) && lookupConfigKey(key) !== undefined;
}

function rejected(key: string, value: string, reason: string, schema: PropertySchema | undefined): CvmError {
  const allowed = schema ? ` (allowed: ${describeAllowed(schema)})` : '';
  const quoted = quotedValue(value);
  // the reason may quote the value again ("got '…'"): show it the same way there
  const why = foldLines(quoted === `'${value}'` ? reason : reason.split(`'${value}'`).join(quoted).split(value).join('…'));
  return new CvmError('PARAM_INVALID', `${key}: invalid value ${quoted} - ${why}${allowed}`, {
    details: { key, value, reason },
  });
}

/**
 * Numbers beyond 2^53 - 1 pass qemu-server's checks (Perl keeps them as strings or prints
 * them as `1e+20`), but nothing uses them sensibly: a command line with `-m 1e+20`, a config
 * that cannot be written back. Input is refused instead, naming the sub-key.
 */
function hugeNumberReason(schema: PropertySchema, stored: string): string | undefined {
  const tooBig = (text: string | number) => Math.abs(Number(text)) > Number.MAX_SAFE_INTEGER;
  const limit = `value must have a maximum value of ${Number.MAX_SAFE_INTEGER}`;
  if (schema.type === 'integer' || schema.type === 'number') return tooBig(stored) ? limit : undefined;
  let format: FormatSchema | undefined;
  if (typeof schema.format === 'object') format = schema.format;
  else if (typeof schema.format === 'string') {
    const def = getFormat(schema.format);
    if (def && typeof def === 'object') format = def;
  }
  if (!format) return undefined;
  let values: Record<string, unknown>;
  try {
    values = parsePropertyString(format, stored);
  } catch {
    return undefined; // checked already; the format's own error was reported there
  }
  for (const [sub, v] of Object.entries(values)) if (typeof v === 'number' && tooBig(v)) return `${sub}: ${limit}`;
  return undefined;
}

/**
 * Keys for which an empty value means something once read back (`key: ` reads as a blank):
 * `boot` is an empty boot order (qemu-server's `bootorder-empty` case) and `description` has no
 * `key:` line at all. Any other blank value would be stored as `key: ` and then fail the
 * reader or the generator (`sshkeys`, `affinity`, `machine`, `usb0` …), so it is refused.
 */
const BLANK_ALLOWED: ReadonlySet<string> = new Set(['boot', 'description']);

/** The checks the reader and generator apply beyond the schema, run on the value as stored. */
function checkStoredValue(key: string, stored: string): void {
  if (stored.includes('\0')) throw new Error('value contains a NUL byte');
  if (key === 'args' && !isSplittableArgs(stored)) {
    // qemu-server's shellwords would drop every argument of such a line without a word
    throw new Error('unbalanced quote or trailing backslash - QEMU would get none of these arguments');
  }
  if (isValidDriveName(key)) {
    // the same parse_drive the reader runs: virtio cd-roms, bps with mbps, mbps_max without mbps …
    const problem = (() => {
      try {
        parseDrive(key, stored, { withAlloc: true });
        return undefined;
      } catch (err) {
        return (err as Error).message.replace(`invalid drive '${key}': `, '');
      }
    })();
    if (problem !== undefined) throw new Error(problem);
  }
}

/** Check one input value; returns what is stored (booleans as 1/0 …). */
export function checkParam(key: string, value: string): string {
  const stored = isSettableKey(key) ? lookupConfigKey(key) : undefined;
  // create/set input: drives may say import-from= (qemu-server's $drivedesc_hash_with_alloc)
  const schema = stored && isValidDriveName(key) ? driveSchemaWithAlloc(key, stored) : stored;
  if (!schema) {
    throw new CvmError('PARAM_INVALID', `${key}: property is not defined in schema and the schema does not allow additional properties`, {
      details: { key, value },
    });
  }
  try {
    if (key === 'description') {
      // the description is kept as comment lines, so line breaks are fine here
      checkConfigValue(key, schema, value.replace(/[\r\n]/g, ' '), { full: true });
      return value;
    }
    if (isBlank(value) && !BLANK_ALLOWED.has(key)) throw new Error(`empty value - use --delete ${key} to remove it`);
    const stored = checkConfigValue(key, schema, value, { full: true });
    checkStoredValue(key, stored);
    const huge = hugeNumberReason(schema, value);
    if (huge !== undefined) throw new Error(huge);
    return stored;
  } catch (err) {
    throw rejected(key, value, err instanceof Error ? err.message : String(err), schema);
  }
}

/**
 * Validate all parameters and apply the API's input rewrites: `cdrom` becomes `ide2` with
 * `media=cdrom`, `vmgenid: 1` gets a fresh UUID, a NIC without MAC gets one.
 */
export function checkParams(params: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const key of Object.keys(params).sort()) result[key] = checkParam(key, params[key] as string);

  const cdrom = result.cdrom;
  if (cdrom !== undefined) {
    if (cdrom !== '' && cdrom !== '0') result.ide2 = /media=/.test(cdrom) ? cdrom : `${cdrom},media=cdrom`;
    delete result.cdrom;
  }
  for (const key of Object.keys(result)) {
    if (/^net\d+$/.test(key)) {
      const net = parseNet(result[key] as string);
      if (net.macaddr === undefined) net.macaddr = randomEtherAddr(randomBytes(6), DEFAULT_MAC_PREFIX);
      result[key] = printNet(net);
    } else if (key === 'vmgenid' && result[key] === '1') {
      result[key] = randomUUID();
    }
  }
  return result;
}
