/**
 * @module tpm/state
 * Where the TPM state of a VM lives: the `tpmstate0` drive's volume resolved to a path the way
 * start_swtpm does it (a storage volume through its plugin's path, a plain path as it is) and
 * its TPM version (`v1.2` unless the drive says `version=v2.0`). swtpm reads and writes the state
 * as one linear file, so a raw volume is used as it is; any other format (and an iSCSI volume)
 * needs a qemu-storage-daemon FUSE export (drive_uses_qsd_fuse), for which `tpmStateBlockdev`
 * gives the drive's blockdev chain and throttle group exactly as the generator makes them.
 */

import { parseDrive } from '../config/drive.js';
import type { HostFacts } from '../host/facts.js';
import { type Blockdev, blockdevChain, throttleGroupObject } from '../qemu/cfg2cmd/blockdev.js';
import { parseDriveValue } from '../qemu/cfg2cmd/drives.js';
import { CvmError } from '../errors.js';
import { checkedVolumeFormat, parseVolumeId, type StorageConfig, volumePath } from '../storage/index.js';
import type { TpmVersion } from './swtpm.js';

export interface TpmState {
  /** The state file swtpm gets (for `needsExport`: the volume's path, not usable by swtpm). */
  statePath: string;
  version: TpmVersion;
  /** The volume id or path as configured. */
  file: string;
  /** The volume is not a raw file swtpm can use: export it through qemu-storage-daemon. */
  needsExport: boolean;
}

export function tpmStateOf(value: string, storage: StorageConfig): TpmState {
  const drive = parseDrive('tpmstate0', value);
  const version: TpmVersion = drive.version === 'v2.0' ? 'v2.0' : 'v1.2';
  const file = String(drive.file);
  if (!parseVolumeId(file)) return { statePath: file, version, file, needsExport: false };
  const statePath = volumePath(storage, file);
  const needsExport = statePath.startsWith('iscsi://') || checkedVolumeFormat(storage, file) !== 'raw';
  return { statePath, version, file, needsExport };
}

/** The `tpmstate0` drive's blockdev chain (top node `drive-tpmstate0`) and throttle group, for a qemu-storage-daemon attach. */
export function tpmStateBlockdev(value: string, host: HostFacts): { blockdev: Blockdev; throttleGroup: Blockdev } {
  const drive = parseDriveValue('tpmstate0', value);
  if (!drive) throw new CvmError('PARAM_INVALID', `tpmstate0: unable to parse drive value '${value}'`);
  return { blockdev: blockdevChain({ host }, 'tpmstate0', drive), throttleGroup: throttleGroupObject('tpmstate0', drive) };
}
