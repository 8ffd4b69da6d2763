/**
 * @module storage
 * Storage configuration (`storage.cfg`), volume ids and per-plugin volume resolution, as
 * PVE::Storage does it for qemu-server. Pure functions: host facts come in as parameters.
 */

export {
  finishStorageConfig,
  type ParseStorageOptions,
  parseStorageCfg,
  printStorageCfg,
} from './config.js';
export {
  type BlockdevOptions,
  isBlockDevice,
  qemuBlockdevOptions,
  type StorageHost,
  volumePath,
  volumeQemuSnapshotMethod,
  volumeSnapshotInfo,
} from './path.js';
export type { StorageConfig, StorageDef, StorageType } from './types.js';
export {
  checkedVolumeFormat,
  checkVolumeStorageType,
  parsePluginVolname,
  parseVolname,
  parseVolumeId,
  parseVolumeIdStrict,
  storageConfig,
  type VolumeName,
} from './volume.js';
