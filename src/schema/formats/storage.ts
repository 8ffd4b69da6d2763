/**
 * @module schema/formats/storage
 * Named string formats for volumes: `pve-volume-id` (pve-storage: `<storage>:<volname>`) and
 * qemu-server's `pve-volume-id-or-qm-path` / `pve-volume-id-or-absolute-path`, used by drive keys
 * (`file=`), efidisk, tpmstate, cdrom and unusedN.
 */
import type { FormatVerifier } from '../types.js';

const VOLUME_ID = /^([a-z][a-z0-9\-_.]*[a-z0-9]):([^\n]+)\n?$/i;

/** Split a volume ID into storage and volume name, or undefined if it is none. */
export function parseVolumeId(volid: string): { storage: string; volname: string } | undefined {
  const match = VOLUME_ID.exec(volid);
  if (!match) return undefined;
  return { storage: match[1] as string, volname: match[2] as string };
}

export const verifyVolumeId: FormatVerifier = (v) => (VOLUME_ID.test(v) ? undefined : `unable to parse volume ID '${v}'`);

export const verifyVolumeIdOrAbsolutePath: FormatVerifier = (v) => (v.startsWith('/') ? undefined : verifyVolumeId(v));

export const verifyVolumeIdOrQmPath: FormatVerifier = (v) => (v === 'none' || v === 'cdrom' ? undefined : verifyVolumeIdOrAbsolutePath(v));

export const STORAGE_FORMATS: Readonly<Record<string, FormatVerifier>> = {
  'pve-volume-id': verifyVolumeId,
  'pve-volume-id-or-absolute-path': verifyVolumeIdOrAbsolutePath,
  'pve-volume-id-or-qm-path': verifyVolumeIdOrQmPath,
};
