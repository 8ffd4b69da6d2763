/**
 * @module util
 * Small shared helpers with I/O: cross-process file locks and atomic file replacement.
 */

export { withFileLock, writeFileAtomic, type LockOptions } from './fs.js';
