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
import { parseNet, printNet, randomEtherAddr } from '../config/net.js';
import { lookupConfigKey } from '../config/options/index.js';
import { checkConfigValue, describeAllowed } from '../schema/index.js';
import type { PropertySchema } from '../schema/types.js';

export const VMID_MIN = 100;
export const VMID_MAX = 999_999_999;

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

/** pve-vmid: an integer from 100 to 999999999. */
export function parseVmid(text: string): number {
  const allowed = `allowed: integer between ${VMID_MIN} and ${VMID_MAX}`;
  if (!/^-?\d+$/.test(text)) {
    throw new CvmError('PARAM_INVALID', `vmid: invalid value '${text}' - type check ('integer') failed - got '${text}' (${allowed})`);
  }
  const vmid = Number(text);
  if (vmid < VMID_MIN) {
    throw new CvmError('PARAM_INVALID', `vmid: invalid value '${text}' - value must have a minimum value of ${VMID_MIN} (${allowed})`);
  }
  if (vmid > VMID_MAX) {
    throw new CvmError('PARAM_INVALID', `vmid: invalid value '${text}' - value must have a maximum value of ${VMID_MAX} (${allowed})`);
  }
  return vmid;
}

function rejected(key: string, value: string, reason: string, schema: PropertySchema | undefined): CvmError {
  const allowed = schema ? ` (allowed: ${describeAllowed(schema)})` : '';
  return new CvmError('PARAM_INVALID', `${key}: invalid value '${value}' - ${foldLines(reason)}${allowed}`, {
    details: { key, value, reason },
  });
}

/** Check one input value; returns what is stored (booleans as 1/0 …). */
export function checkParam(key: string, value: string): string {
  const schema = isSettableKey(key) ? lookupConfigKey(key) : undefined;
  if (!schema) {
    throw new CvmError(
      'PARAM_INVALID',
      `${key}: property is not defined in schema and the schema does not allow additional properties`,
      { details: { key, value } },
    );
  }
  try {
    if (key === 'description') {
      // the description is kept as comment lines, so line breaks are fine here
      checkConfigValue(key, schema, value.replace(/[\r\n]/g, ' '), { full: true });
      return value;
    }
    return checkConfigValue(key, schema, value, { full: true });
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

