/**
 * @module store/vmid
 * The one parser of VM ids for every command (`pve-vmid`): an integer from 100 to
 * 999999999 written without sign, leading zeros or spaces. Kept free of imports beyond the
 * error type so lifecycle commands can check their argument without loading the schema.
 * `0100` is refused like qemu-server's `pve_verify_vmid` refuses it: accepting it would make
 * `destroy 0100` act on VM 100.
 */

import { CvmError } from '../errors.js';
import { quotedValue } from './quote.js';

export const VMID_MIN = 100;
export const VMID_MAX = 999_999_999;

/** pve-vmid: type check, range, then the `^[1-9][0-9]{2,8}$` shape. `what` names the input. */
export function parseVmid(text: string, what = 'vmid'): number {
  const allowed = `allowed: integer between ${VMID_MIN} and ${VMID_MAX}`;
  const reject = (reason: string): never => {
    throw new CvmError('PARAM_INVALID', `${what}: invalid value ${quotedValue(text)} - ${reason} (${allowed})`, {
      details: { key: what, value: text },
    });
  };
  if (!/^-?\d+$/.test(text)) return reject("type check ('integer') failed");
  const vmid = Number(text);
  if (vmid < VMID_MIN) return reject(`value must have a minimum value of ${VMID_MIN}`);
  if (vmid > VMID_MAX) return reject(`value must have a maximum value of ${VMID_MAX}`);
  if (!/^[1-9][0-9]{2,8}$/.test(text)) return reject('value does not look like a valid VM ID');
  return vmid;
}
