/**
 * @module tpm/state
 * Where the TPM state of a VM lives: the `tpmstate0` drive's volume resolved to a path the way
 * start_swtpm does it (a storage volume through its plugin's path, a plain path as it is) and
 * its TPM version (`v1.2` unless the drive says `version=v2.0`). swtpm reads and writes the state
 * as one linear file, so the volume must be raw; qemu-server bridges other formats with a
 * qemu-storage-daemon FUSE export, which cvmctl does not do: such a volume is refused with a
 * line that says how to get a raw one.
 */

import { CvmError } from '../errors.js';
import { parseDrive } from '../config/drive.js';
import { checkedVolumeFormat, parseVolumeId, type StorageConfig, volumePath } from '../storage/index.js';
import type { TpmVersion } from './swtpm.js';

export interface TpmState {
  statePath: string;
  version: TpmVersion;
  /** The volume id or path as configured. */
  file: string;
}

export function tpmStateOf(value: string, storage: StorageConfig): TpmState {
  const drive = parseDrive('tpmstate0', value);
  const version: TpmVersion = drive.version === 'v2.0' ? 'v2.0' : 'v1.2';
  const file = String(drive.file);
  if (!parseVolumeId(file)) return { statePath: file, version, file };
  const statePath = volumePath(storage, file);
  const format = checkedVolumeFormat(storage, file);
  if (format !== 'raw' || statePath.startsWith('iscsi://')) {
    throw new CvmError(
      'HOST_UNSUPPORTED',
      `tpmstate0: volume '${file}' is ${statePath.startsWith('iscsi://') ? 'an iSCSI volume' : `in format '${format}'`}; swtpm needs a raw volume (qemu-server's qemu-storage-daemon export is not supported by cvmctl) - use a raw volume (e.g. 'tpmstate0: <storage>:1,format=raw,version=…')`,
    );
  }
  return { statePath, version, file };
}
