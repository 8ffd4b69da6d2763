/**
 * @module qemu/cfg2cmd/blockdev-json
 * The two encodings `-blockdev`/`-object` arguments depend on byte for byte: Perl's
 * `to_json($x, {canonical => 1})` (compact, object keys sorted by bytes) and qemu-server's
 * block node names (`get_node_name`: a type prefix plus the first 30 hex digits of
 * sha256("drive=<id>,[snap=<name>,]volid=<volid or path>")).
 */

import { createHash } from 'node:crypto';

/** Printable ASCII without `"` and `\`: JSON needs no escapes, so quoting is all there is to do. */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON.stringify for strings, without its call cost for the plain names and paths QEMU gets. */
function jsonString(text: string): string {
  return PLAIN_JSON_TEXT.test(text) ? `"${text}"` : JSON.stringify(text);
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Object keys in UTF-8 byte order, as JSON::XS canonical sorts them. For ASCII keys (all keys
 * QEMU knows) UTF-16 code unit order — the default sort — is the same as byte order, so
 * nothing needs encoding; other keys (surrogate pairs and lone surrogates would order
 * differently) are compared as bytes.
 */
function sortedKeys(obj: Record<string, unknown>): { keys: string[]; plain: boolean } {
  const keys = Object.keys(obj);
  const plain = keys.every((k) => PLAIN_JSON_TEXT.test(k));
  return { keys: plain ? keys.sort() : keys.sort(compareUtf8), plain };
}

/** Compact JSON with object keys sorted bytewise, as JSON::XS canonical prints it. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const { keys, plain } = sortedKeys(obj);
    let out = '';
    let separator = '';
    for (const key of keys) {
      const v = obj[key];
      if (v === undefined) continue;
      out += `${separator}${plain ? `"${key}"` : JSON.stringify(key)}:${canonicalJson(v)}`;
      separator = ',';
    }
    return `{${out}}`;
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
