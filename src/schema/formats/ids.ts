/**
 * @module schema/formats/ids
 * Named string formats for identifiers and small scalar syntaxes (pve-common JSONSchema.pm):
 * config/storage/VM/node IDs, tags, url-encoded text, startup order, disk sizes, e-mail, and the
 * source:target ID maps behind `storage-pair`. Verifiers return PVE's error text or undefined.
 */
import { byteLength, isBlank, splitList } from '../perl.js';
import { isSize } from '../size.js';
import type { FormatVerifier } from '../types.js';

const URLENCODED = /^[-%a-zA-Z0-9_.!~*'()]*\n?$/;
const CONFIGID = /^[a-z][a-z0-9_-]+\n?$/i;
const ID_CHARS = /^[a-z][a-z0-9\-_.]*[a-z0-9]\n?$/i;
const VMID = /^[1-9][0-9]{2,8}\n?$/;
const NODE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)\n?$/;
const TAG = /^[a-z0-9_][a-z0-9_\-+.]*\n?$/i;
const EMAIL_USER = '[\\w+\\-~]+(?:\\.[\\w+\\-~]+)*';
const EMAIL = new RegExp(`^${EMAIL_USER}@[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*\\n?$`);
const EMAIL_USER_ONLY = new RegExp(`^${EMAIL_USER}\\n?$`);
const STARTUP_ORDER = /^(?:order=)?(\d+)\n?$/;
const STARTUP_UP = /^up=(\d+)\n?$/;
const STARTUP_DOWN = /^down=(\d+)\n?$/;
const POOL = /^[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}\n?$/;

export const verifyAnyString: FormatVerifier = () => undefined;

export const verifyUrlencoded: FormatVerifier = (v) => (URLENCODED.test(v) ? undefined : `invalid urlencoded string: ${v}`);

export const verifyConfigId: FormatVerifier = (v) => (CONFIGID.test(v) ? undefined : `invalid configuration ID '${v}'`);

/** PVE parse_id: at least two characters, letter first, no trailing punctuation. */
export function verifyId(id: string, kind: string): string | undefined {
  if (byteLength(id) < 2) return `${kind} ID '${id}' cannot be shorter than 2 characters`;
  if (!ID_CHARS.test(id)) return `${kind} ID '${id}' contains illegal characters`;
  return undefined;
}

export const verifyStorageId: FormatVerifier = (v) => verifyId(v, 'storage');

export const verifyVmid: FormatVerifier = (v) => (VMID.test(v) ? undefined : 'value does not look like a valid VM ID');

export const verifyNodeName: FormatVerifier = (v) => (NODE.test(v) ? undefined : 'value does not look like a valid node name');

export const verifyTag: FormatVerifier = (v) => (TAG.test(v) ? undefined : 'invalid characters in tag');

/** PVE pve_parse_startup_order: `[order=]N`, `up=N`, `down=N`, comma separated; '' and '0' fail. */
export function parseStartupOrder(value: string): { order?: number; up?: number; down?: number } | undefined {
  if (value === '' || value === '0') return undefined;
  const result: { order?: number; up?: number; down?: number } = {};
  for (const part of value.split(',')) {
    if (isBlank(part)) continue;
    const order = STARTUP_ORDER.exec(part);
    const up = STARTUP_UP.exec(part);
    const down = STARTUP_DOWN.exec(part);
    if (order) result.order = Number(order[1]);
    else if (up) result.up = Number(up[1]);
    else if (down) result.down = Number(down[1]);
    else return undefined;
  }
  return result;
}

export const verifyStartupOrder: FormatVerifier = (v) => (parseStartupOrder(v) ? undefined : 'unable to parse startup options');

export const verifyDiskSize: FormatVerifier = (v) => (isSize(v) ? undefined : `value does not look like a valid disk size: ${v}`);

export const verifyEmail: FormatVerifier = (v) => (EMAIL.test(v) ? undefined : 'value does not look like a valid email address');

export const verifyEmailOrUsername: FormatVerifier = (v) =>
  EMAIL.test(v) || EMAIL_USER_ONLY.test(v) ? undefined : 'value does not look like a valid email address or user name';

/**
 * pve-poolid lives in pve-access-control, which is not in our upstream checkout. Older releases
 * accept `[A-Za-z0-9.-_]+`; nested pools (PVE 8.1+) allow up to three `/`-separated levels,
 * which is what we accept. Message text as in the released verifier.
 */
export const verifyPoolId: FormatVerifier = (v) => (POOL.test(v) ? undefined : `pool name '${v}' contains invalid characters`);

/**
 * PVE parse_idmap over one value (`source:target`, a default target, or `1` for identity),
 * checking every ID with `verifyIdFormat`. PVE re-dies with `"$@\\n"` twice on the way out, so these
 * messages carry two extra trailing newlines, kept for byte-exact error output.
 */
export function verifyIdMapEntry(input: string, verifyIdFormat: FormatVerifier): string | undefined {
  if (input === '' || input === '0') return undefined;
  const sources = new Set<string>();
  let identity = false;
  let hasDefault = false;
  for (const entry of splitList(input)) {
    if (entry === '1') {
      identity = true;
      continue;
    }
    const pair = /^([^:]+):([^:]+)$/.exec(entry);
    if (pair) {
      const [, source, target] = pair as unknown as [string, string, string];
      const invalid = verifyIdFormat(source) ?? verifyIdFormat(target);
      if (invalid !== undefined) return `entry '${entry}' contains invalid ID - ${invalid}\n\n`;
      if (sources.has(source)) return `duplicate mapping for source '${source}'\n`;
      sources.add(source);
    } else {
      const invalid = verifyIdFormat(entry);
      if (invalid !== undefined) return `entry '${entry}' contains invalid ID - ${invalid}\n\n`;
      if (hasDefault) return 'default target ID can only be provided once\n';
      hasDefault = true;
    }
  }
  if (identity && (hasDefault || sources.size > 0)) {
    return 'identity mapping cannot be combined with other mappings\n';
  }
  return undefined;
}

export const verifyStoragePair: FormatVerifier = (v) => verifyIdMapEntry(v, verifyStorageId);

export const ID_FORMATS: Readonly<Record<string, FormatVerifier>> = {
  string: verifyAnyString,
  urlencoded: verifyUrlencoded,
  'pve-configid': verifyConfigId,
  'pve-storage-id': verifyStorageId,
  'pve-vmid': verifyVmid,
  'pve-node': verifyNodeName,
  'pve-tag': verifyTag,
  'pve-startup-order': verifyStartupOrder,
  'disk-size': verifyDiskSize,
  email: verifyEmail,
  'email-or-username': verifyEmailOrUsername,
  'pve-poolid': verifyPoolId,
  'storage-pair': verifyStoragePair,
};
