/**
 * @module config/file/drives
 * The little the config file layer needs to know about drives: which keys are drives
 * (`is_valid_drivename`: ide/sata/scsi/virtio, efidisk0, tpmstate0, not unusedN) and the
 * volume (`file`) and `media` of a drive value, taken from the drive parser of
 * config/drive. qemu-server's `parse_drive` returns nothing for values it cannot use;
 * here that is `undefined` too, whether the parser returns nothing or throws.
 */

import { isValidDriveName, parseDrive } from '../drive.js';

export interface DriveVolume {
  file: string;
  media?: string;
}

export function isDriveKey(key: string): boolean {
  return isValidDriveName(key);
}

export function driveFile(key: string, value: string): DriveVolume | undefined {
  let drive: unknown;
  try {
    drive = parseDrive(key, value);
  } catch {
    return undefined;
  }
  if (!drive || typeof drive !== 'object') return undefined;
  const { file, media } = drive as { file?: unknown; media?: unknown };
  if (typeof file !== 'string') return undefined;
  return typeof media === 'string' ? { file, media } : { file };
}
