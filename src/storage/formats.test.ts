import { describe, expect, it } from 'vitest';
import { defaultFormat, resolveFormatHint } from './formats.js';
import type { StorageConfig } from './types.js';

// pve-storage plugindata (facts): dir/nfs/cifs take raw, qcow2, vmdk (default raw or the storage's
// `format`); LVM, LVM-thin, ZFS, RBD, BTRFS images and iSCSI take raw
const storage: StorageConfig = {
  local: { type: 'dir', content: ['images'], path: '/var/lib/vz' },
  qdir: { type: 'dir', content: ['images'], path: '/q', format: 'qcow2' },
  share: { type: 'nfs', content: ['images'], path: '/mnt/pve/share' },
  thin: { type: 'lvmthin', content: ['images'], vgname: 'pve', thinpool: 'data' },
  tank: { type: 'zfspool', content: ['images'], pool: 'tank' },
  ceph: { type: 'rbd', content: ['images'], pool: 'rbd' },
};

describe('resolve_format_hint', () => {
  it('keeps a format the storage takes', () => {
    expect(resolveFormatHint(storage, 'local', 'qcow2')).toBe('qcow2');
    expect(resolveFormatHint(storage, 'share', 'vmdk')).toBe('vmdk');
    expect(resolveFormatHint(storage, 'thin', 'raw')).toBe('raw');
  });

  it("falls back to the storage's default: raw, or the dir storage's own `format`", () => {
    expect(resolveFormatHint(storage, 'thin', 'qcow2')).toBe('raw');
    expect(resolveFormatHint(storage, 'tank', 'vmdk')).toBe('raw');
    expect(resolveFormatHint(storage, 'ceph', 'qcow2')).toBe('raw');
    expect(resolveFormatHint(storage, 'local', undefined)).toBe('raw');
    expect(resolveFormatHint(storage, 'qdir', undefined)).toBe('qcow2');
    expect(resolveFormatHint(storage, 'qdir', 'qed')).toBe('qcow2');
    expect(defaultFormat(storage, 'thin')).toEqual({ format: 'raw', valid: ['raw'] });
  });

  it('an unknown storage is an error naming it', () => {
    expect(() => resolveFormatHint(storage, 'nowhere', 'raw')).toThrow("storage 'nowhere' does not exist");
  });
});
