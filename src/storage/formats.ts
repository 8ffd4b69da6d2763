/**
 * @module storage/formats
 * Which image formats a storage takes (pve-storage's plugindata `format` and default_format):
 * file storages (dir, NFS, CIFS) take raw, qcow2 and vmdk with raw as the default unless the
 * storage sets `format`; every other type takes raw only. `resolveFormatHint` is
 * resolve_format_hint: the wanted format if the storage takes it, else the storage's default.
 */

import type { StorageConfig } from './types.js';
import { storageConfig } from './volume.js';

const FILE_FORMATS: Readonly<Record<string, readonly string[]>> = {
  dir: ['qcow2', 'raw', 'vmdk'],
  nfs: ['qcow2', 'raw', 'vmdk'],
  cifs: ['qcow2', 'raw', 'vmdk'],
};

/** default_format: the storage's default format and the formats it takes. */
export function defaultFormat(storage: StorageConfig, storeid: string): { format: string; valid: readonly string[] } {
  const def = storageConfig(storage, storeid);
  const valid = FILE_FORMATS[def.type];
  if (!valid) return { format: 'raw', valid: ['raw'] };
  return { format: typeof def.format === 'string' && def.format ? def.format : 'raw', valid };
}

/** resolve_format_hint: `hint` when the storage takes it, else its default format. */
export function resolveFormatHint(storage: StorageConfig, storeid: string, hint: string | undefined): string {
  const { format, valid } = defaultFormat(storage, storeid);
  return hint && valid.includes(hint) ? hint : format;
}
