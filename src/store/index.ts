/**
 * @module store
 * Where VM state lives: the state root layout, the file-backed config store (locks, atomic
 * writes, digest checks), the VM config operations behind create/set/destroy, and the
 * running/stopped status from pid files.
 */

export { resolveRoot, stateLayout, type StateLayout } from './root.js';
export {
  FsConfigStore,
  DIGEST_MISMATCH_MESSAGE,
  type ListedVm,
  type StoredConfig,
  type StoreOptions,
  type UpdateOptions,
} from './fs-store.js';
export { openConfigStore, withVmConfigLock } from './open.js';
export type { ConfigStore } from './config-store.js';
export {
  createVm,
  updateVm,
  destroyVm,
  checkUpdateRequest,
  defaultBootDevices,
  applyCreateDefaults,
  type CreateVmArgs,
  type UpdateVmArgs,
  type UpdateVmResult,
  type DestroyVmArgs,
} from './vm-ops.js';
export { checkParam, checkParams, parseVmid, isSettableKey, INTERNAL_KEYS, VMID_MIN, VMID_MAX } from './vm-params.js';
export {
  applyPending,
  stageChanges,
  addUnusedVolume,
  registerUnusedDrive,
  volumeOwner,
  addToPendingDelete,
  removeFromPendingDelete,
} from './vm-pending.js';
export { vmStatus, pidfilePath, vmListRow, currentMemoryMiB, bootDisks, bootDiskSize, type VmStatus, type VmListRow } from './status.js';
export { typedConfig } from './typed.js';
export { runningPidFromFile, pidfileArg, processCmdline } from './liveness.js';
