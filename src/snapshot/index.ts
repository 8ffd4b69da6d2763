/**
 * @module snapshot
 * VM snapshots the qemu-server way: `[NAME]` config sections with snapstate/snaptime/parent/
 * vmstate bookkeeping and `lock: snapshot|snapshot-delete|rollback` while an operation runs,
 * qcow2 internal snapshots of every volume (qemu-img offline, QMP online), and the RAM of a
 * running VM in a raw vmstate volume. The functions are what the CLI and the API call.
 */

export { snapshotCreate, type SnapshotCreateOptions, assertNoStateBlockers } from './create.js';
export { snapshotDelete, type SnapshotDeleteOptions } from './delete.js';
export { snapshotRollback, type SnapshotRollbackOptions } from './rollback.js';
export { snapshotList, formatSnapshotTree, type SnapshotListItem } from './list.js';
export { checkSnapshotName } from './common.js';
export { snapshotSetDescription } from './describe.js';
