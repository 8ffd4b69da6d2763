/**
 * @module storage/config
 * Reads and writes Proxmox's `storage.cfg` (PVE::SectionConfig format): a section header
 * `<type>: <storage id>` followed by indented `key value` lines, sections separated by blank
 * lines. Parsing follows PVE::Storage::Plugin::parse_config: `content` becomes a list, the
 * per-type default content applies when it is missing, shared storage types get `shared`, and
 * a `local` dir storage at /var/lib/vz is always present.
 */

import { CvmError } from '../errors.js';
import type { StorageConfig, StorageDef, StorageType } from './types.js';
import { splitList } from '../schema/perl.js';

const STORAGE_TYPES: readonly StorageType[] = [
  'dir',
  'btrfs',
  'cifs',
  'nfs',
  'rbd',
  'lvm',
  'lvmthin',
  'zfs',
  'zfspool',
  'iscsi',
  'iscsidirect',
];

/** Content a plugin assumes when `content` is not configured (plugindata()->{content}[1]). */
const DEFAULT_CONTENT: Record<StorageType, string[]> = {
  dir: ['images', 'rootdir'],
  btrfs: ['images', 'rootdir'],
  cifs: ['images'],
  nfs: ['images'],
  rbd: ['images'],
  lvm: ['images', 'rootdir'],
  lvmthin: ['images', 'rootdir'],
  zfs: ['images'],
  zfspool: ['images', 'rootdir'],
  iscsi: ['images'],
  iscsidirect: ['images'],
};

/** Types PVE always treats as shared (@PVE::Storage::Plugin::SHARED_STORAGE). */
const SHARED_TYPES = new Set<StorageType>(['iscsi', 'nfs', 'cifs', 'rbd', 'zfs', 'iscsidirect']);

/** Settings whose values are booleans in the plugin schemas. */
const BOOLEAN_KEYS = new Set([
  'shared',
  'krbd',
  'nocow',
  'disable',
  'snapshot-as-volume-chain',
  'saferemove',
  'tagged_only',
  'sparse',
  'nowritecache',
  'mkdir',
  'create-base-path',
  'create-subdirs',
  'is_mountpoint',
  'base-path-default',
  'lio_tpg_bool',
]);

const STORAGE_ID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;

function parseBool(key: string, value: string): boolean {
  if (/^(1|on|yes|true)$/i.test(value)) return true;
  if (/^(0|off|no|false)$/i.test(value)) return false;
  throw new CvmError('CONFIG_PARSE', `storage.cfg: ${key}: type check ('boolean') failed - got '${value}'`);
}

export interface ParseStorageOptions {
  /**
   * Apply Proxmox's rule that `local` is always the dir storage at /var/lib/vz (default true).
   * A cvmctl state root passes false to keep its own `local` definition.
   */
  pveLocal?: boolean;
}

/** Parses `storage.cfg` text into a StorageConfig (storage id → definition). */
export function parseStorageCfg(text: string, options: ParseStorageOptions = {}): StorageConfig {
  const config: StorageConfig = {};
  let current: StorageDef | null = null;
  let currentId = '';
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n] ?? '';
    if (/^\s*#/.test(raw)) continue;
    if (raw.trim() === '') {
      current = null;
      continue;
    }
    const header = /^(\S+):\s*(\S+)\s*$/.exec(raw);
    if (header && !/^\s/.test(raw)) {
      const type = (header[1] ?? '').toLowerCase() as StorageType;
      const id = header[2] ?? '';
      if (!STORAGE_TYPES.includes(type)) {
        throw new CvmError('CONFIG_PARSE', `storage.cfg line ${n + 1}: unknown storage type '${type}'`);
      }
      if (!STORAGE_ID_RE.test(id)) {
        throw new CvmError('CONFIG_PARSE', `storage.cfg line ${n + 1}: invalid storage ID '${id}'`);
      }
      if (config[id]) throw new CvmError('CONFIG_PARSE', `storage.cfg line ${n + 1}: duplicate storage ID '${id}'`);
      // content stays unset until a `content` line; finishStorageConfig fills the default
      current = { type } as StorageDef;
      currentId = id;
      config[id] = current;
      continue;
    }
    const attr = /^\s+(\S+)(\s+(.*\S))?\s*$/.exec(raw);
    if (!attr || !current) {
      throw new CvmError('CONFIG_PARSE', `storage.cfg line ${n + 1}: unable to parse '${raw}'`);
    }
    const key = attr[1] ?? '';
    const value = attr[3] ?? '';
    if (Object.hasOwn(current, key) && current[key] !== undefined) {
      throw new CvmError('CONFIG_PARSE', `storage.cfg: storage '${currentId}' - duplicate attribute '${key}'`);
    }
    if (key === 'content') current.content = splitList(value);
    else if (BOOLEAN_KEYS.has(key)) current[key] = parseBool(key, value);
    else current[key] = value;
  }
  return finishStorageConfig(config, options);
}

/** Applies parse_config's fix-ups: default content, shared types, a guaranteed `local`. */
export function finishStorageConfig(config: StorageConfig, options: ParseStorageOptions = {}): StorageConfig {
  const local = config['local'];
  if (options.pveLocal === false) {
    // keep the file's own storages; only the per-type defaults below apply
  } else if (local?.type !== 'dir' || (local.path && local.path !== '/var/lib/vz')) {
    config['local'] = {
      type: 'dir',
      path: '/var/lib/vz',
      content: ['backup', 'images', 'iso', 'rootdir', 'snippets', 'vztmpl'],
      'prune-backups': 'keep-all=1',
    };
  }
  const fixedLocal = config['local'];
  if (fixedLocal && options.pveLocal !== false) {
    if (!fixedLocal.path) fixedLocal.path = '/var/lib/vz';
    delete fixedLocal['nodes'];
  }
  for (const def of Object.values(config)) {
    if (!def.content || def.content.length === 0) def.content = [...DEFAULT_CONTENT[def.type]];
    if (SHARED_TYPES.has(def.type)) def.shared = true;
  }
  return config;
}

/** Writes a StorageConfig back in section-config syntax (type and id first, `content` joined by `,`). */
export function printStorageCfg(config: StorageConfig): string {
  const sections: string[] = [];
  for (const [id, def] of Object.entries(config)) {
    const lines = [`${def.type}: ${id}`];
    for (const [key, value] of Object.entries(def)) {
      if (key === 'type' || value === undefined || value === null) continue;
      let text: string;
      if (key === 'content') text = (value as string[]).length ? (value as string[]).join(',') : 'none';
      else if (typeof value === 'boolean') text = value ? '1' : '0';
      else if (Array.isArray(value)) text = value.join(',');
      else text = String(value);
      lines.push(`\t${key} ${text}`);
    }
    sections.push(`${lines.join('\n')}\n`);
  }
  return sections.join('\n');
}
