/**
 * @module util
 * Small shared helpers: cross-process file locks and atomic file replacement (I/O), and the
 * canonical JSON encoding qemu-server arguments use (pure).
 */

export { withFileLock, writeFileAtomic, type LockOptions } from './fs.js';
export { canonicalJson, canonicalPrettyJson } from './canonical-json.js';
export { makeDirs } from './mkdirs.js';
