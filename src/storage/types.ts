/**
 * @module storage/types
 * A storage configuration as in Proxmox's `storage.cfg`: storage id → type and settings.
 * The generator resolves volume ids (`local:100/vm-100-disk-0.raw`) to paths with it.
 */

export type StorageType = 'dir' | 'btrfs' | 'cifs' | 'nfs' | 'rbd' | 'lvm' | 'lvmthin' | 'zfs' | 'zfspool' | 'iscsi' | 'iscsidirect';

export interface StorageDef {
  type: StorageType;
  /** Content types: images, iso, vztmpl, backup, rootdir, snippets, import. */
  content: string[];
  path?: string;
  shared?: boolean;
  /** Any further plugin settings (pool, vgname, thinpool, monhost, krbd, portal, target, …). */
  [setting: string]: unknown;
}

export type StorageConfig = Record<string, StorageDef>;
