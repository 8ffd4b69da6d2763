/**
 * @module qemu/cfg2cmd/blockdev-json
 * The two encodings `-blockdev`/`-object` arguments depend on byte for byte: Perl's
 * `to_json($x, {canonical => 1})` (compact, object keys sorted by bytes) and qemu-server's
 * block node names (`get_node_name`: a type prefix plus the first 30 hex digits of
 * sha256("drive=<id>,[snap=<name>,]volid=<volid or path>")).
 */

import { createHash } from 'node:crypto';

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Compact JSON with object keys sorted bytewise, as JSON::XS canonical prints it. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareBytes(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

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
  return PREFIX[type] + createHash('sha256').update(info, 'utf8').digest('hex').slice(0, 30);
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
