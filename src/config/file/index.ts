/**
 * @module config/file
 * The qemu-server config file format: parse, write, the description escaping and the
 * views on a parsed config (pending applied, snapshot, pending-delete lists).
 */

export { parseVmConfig, configDigest, vmidFromFilename, type ParseOptions } from './parse.js';
export { writeVmConfig, normalizeVmConfig, hasCloudinitDrive, perlTrue } from './write.js';
export { encodeText, decodeText } from './encode.js';
export { checkType, clearCheckCache } from './check.js';
export {
  currentConfig,
  snapshotConfig,
  parsePendingDelete,
  printPendingDelete,
  splitList,
  type PendingDelete,
} from './views.js';
