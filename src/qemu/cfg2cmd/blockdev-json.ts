/**
 * @module qemu/cfg2cmd/blockdev-json
 * The two encodings `-blockdev`/`-object` arguments depend on byte for byte: canonical JSON
 * (util/canonical-json, re-exported here for the generator) and qemu-server's block node names (`get_node_name`: a type prefix plus the first 30 hex digits of
 * sha256("drive=<id>,[snap=<name>,]volid=<volid or path>")).
 */

import { createHash } from 'node:crypto';

export { canonicalJson } from '../../util/canonical-json.js';

export type NodeType = 'alloc-track' | 'file' | 'fmt' | 'zeroinit';

const PREFIX: Record<NodeType, string> = {
  'alloc-track': 'a',
  file: 'e',
  fmt: 'f',
  zeroinit: 'z',
};

/**
 * get_node_name for ordinary nodes. `snapshot` `current` (or undefined) adds nothing; other
 * names add `snap=<name>,` to the hashed text.
 */
export function nodeName(type: NodeType, driveId: string, volid: string, snapshot?: string): string {
  let info = `drive=${driveId},`;
  if (snapshot !== undefined && snapshot !== 'current') info += `snap=${snapshot},`;
  info += `volid=${volid}`;
  return PREFIX[type] + hashedName(info);
}

/**
 * sha256 of the same few drive texts is asked for on every generation (each drive needs
 * two or three names), so remember them. Bounded: a long-running process generating for
 * many VMs drops the oldest entries instead of growing without limit.
 */
const NAME_CACHE_LIMIT = 1024;
const nameCache = new Map<string, string>();

function hashedName(info: string): string {
  let digest = nameCache.get(info);
  if (digest === undefined) {
    digest = createHash('sha256').update(info, 'utf8').digest('hex').slice(0, 30);
    if (nameCache.size >= NAME_CACHE_LIMIT) nameCache.delete(nameCache.keys().next().value as string);
    nameCache.set(info, digest);
  }
  return digest;
}

/** Fixed node names for fleecing images and TPM backup nodes. */
export function fleecingNodeName(type: 'fmt' | 'file', driveId: string, tpmBackup = false): string {
  const id = tpmBackup ? `${driveId}-backup` : driveId;
  return type === 'fmt' ? `drive-${id}-fleecing` : `${id}-fleecing-file`;
}

export function tpmBackupNodeName(type: 'fmt' | 'file', driveId: string): string {
  return type === 'fmt' ? `drive-${driveId}-backup` : `${driveId}-backup-file`;
}

export function topNodeName(driveId: string): string {
  return `drive-${driveId}`;
}

export function throttleGroupId(driveId: string): string {
  return `throttle-drive-${driveId}`;
}
