/**
 * @module util/file-kind
 * What a non-regular file is, for "it is a FIFO, not a regular file" messages. Its own module so
 * util/read-file (every command's input path) does not load util/fs and, through it, the lock
 * module, node:crypto and node:fs/promises at start-up: a cold `cvmctl showcmd --file` reads but
 * never writes or locks.
 */

/** What a non-regular file is, for messages. */
export function fileKind(st: { isSymbolicLink(): boolean; isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}
