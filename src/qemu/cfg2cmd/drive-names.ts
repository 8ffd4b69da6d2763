/**
 * @module qemu/cfg2cmd/drive-names
 * qemu-server's valid_drive_names order (ide0-3, scsi0-30, virtio0-15, sata0-5, efidisk0,
 * tpmstate0): the order drives are emitted in and copied into template configs.
 */

import { validDriveNames as VALID_DRIVE_NAMES } from '../../config/options/drive-names.js';
import type { ConfigSection } from '../../config/types.js';

let positions: Map<string, number> | undefined;

/** valid_drive_names, shared with the option table. */
export function validDriveNames(): readonly string[] {
  return VALID_DRIVE_NAMES;
}

/**
 * The drive keys set in `conf` (value not undefined), in valid_drive_names order. Same result
 * as filtering validDriveNames(), but a config has a dozen keys and there are 59 drive names:
 * the generator walks the drives several times per call, so it starts from the config's keys.
 */
export function configDriveNames(conf: ConfigSection): string[] {
  positions ??= new Map(validDriveNames().map((name, i) => [name, i]));
  const order = positions;
  const present: string[] = [];
  for (const key of Object.keys(conf)) {
    if (order.has(key) && conf[key] !== undefined) present.push(key);
  }
  return present.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
}
