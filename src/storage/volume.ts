/**
 * @module storage/volume
 * Volume ids (`<storage>:<volname>`) and what each storage plugin reads from a volume name:
 * content type, owner VM, base image and format (PVE::Storage::parse_volname per plugin).
 * Also the storage lookups and content-type check qemu-server performs before generating a
 * command line, with its exact error texts.
 */

import { CvmError } from '../errors.js';
import type { StorageConfig, StorageDef } from './types.js';

export interface VolumeName {
  vtype: 'images' | 'iso' | 'vztmpl' | 'backup' | 'snippets' | 'import' | 'rootdir';
  name: string;
  vmid: string | undefined;
  basename: string | undefined;
  basevmid: string | undefined;
  isBase: boolean;
  /** Volume format as the plugin reports it (raw, qcow2, vmdk, subvol, ova+…), possibly undefined. */
  format: string | undefined;
}

const VOLUME_ID_RE = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/is;

/**
 * PVE::Storage::parse_volume_id: splits `store:volname`; undefined for non-volume ids (paths,
 * `cdrom`). Generating a command line splits each volume id about ten times, so answers are
 * remembered (frozen: callers share them). That also hands every caller the same `storeid` and
 * `volname` strings, whose hashes V8 keeps for the storage and volume-name lookups that follow.
 */
export function parseVolumeId(volid: string): Readonly<{ storeid: string; volname: string }> | undefined {
  let parsed = parsedVolumeIds.get(volid);
  if (parsed === undefined) {
    const m = VOLUME_ID_RE.exec(volid);
    parsed = m ? Object.freeze({ storeid: m[1] as string, volname: m[2] as string }) : null;
    if (parsedVolumeIds.size >= PARSED_VOLNAMES_LIMIT) parsedVolumeIds.clear();
    parsedVolumeIds.set(volid, parsed);
  }
  return parsed ?? undefined;
}

const parsedVolumeIds = new Map<string, Readonly<{ storeid: string; volname: string }> | null>();

/** Like parseVolumeId but dies with PVE's text when the id cannot be parsed. */
export function parseVolumeIdStrict(volid: string): {
  storeid: string;
  volname: string;
} {
  const parsed = parseVolumeId(volid);
  if (!parsed) throw new CvmError('STORAGE', `unable to parse volume ID '${volid}'`);
  return parsed;
}

/** PVE::Storage::storage_config: the storage definition or `storage '<id>' does not exist`. */
export function storageConfig(storage: StorageConfig, storeid: string): StorageDef {
  const def = Object.hasOwn(storage, storeid) ? storage[storeid] : undefined;
  if (!def) throw new CvmError('STORAGE', `storage '${storeid}' does not exist`);
  return def;
}

const die = (msg: string): never => {
  throw new CvmError('STORAGE', msg);
};

const ISO_EXT = String.raw`\.(?:iso|img)`;
const VZTMPL_EXT = String.raw`\.(?:tar(?!\.)|tar\.(?:gz|xz|zst|bz2))`;
const BACKUP_EXT = String.raw`\.(?:tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?)`;
const SAFE_WS = '[ a-zA-Z0-9\\-.+=_]';
const ISO_VOLNAME_RE = new RegExp(`^iso/([^/]+${ISO_EXT})$`, 'i');
const VZTMPL_VOLNAME_RE = new RegExp(`^vztmpl/([^/]+${VZTMPL_EXT})$`, 'i');
const BACKUP_VOLNAME_RE = new RegExp(`^backup/([^/]+${BACKUP_EXT})$`);
const OVA_IMPORT_VOLNAME_RE = new RegExp(`^import/(${SAFE_WS}+\\.ova/${SAFE_WS}+\\.(qcow2|raw|vmdk))$`);
const IMPORT_VOLNAME_RE = new RegExp(`^import/(${SAFE_WS}+\\.(ova|ovf|qcow2|raw|vmdk))$`);

function parseNameDir(name: string): { format: string; isBase: boolean } {
  let m = /^((vm-|base-|subvol-)(\d+)-[^/\s]+\.(raw|qcow2|vmdk|subvol))$/.exec(name);
  if (m) return { format: m[4] as string, isBase: m[2] === 'base-' };
  if (/^snap-.*\.qcow2$/.test(name)) die(`'${name}' is a snapshot filename, not a volume!`);
  m = /^((base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol))$/.exec(name);
  if (m) return { format: m[3] as string, isBase: m[2] !== undefined };
  return die(`unable to parse volume filename '${name}'`);
}

function result(vtype: VolumeName['vtype'], name: string, format: string | undefined, extra: Partial<VolumeName> = {}): VolumeName {
  return {
    vtype,
    name,
    vmid: undefined,
    basename: undefined,
    basevmid: undefined,
    isBase: false,
    format,
    ...extra,
  };
}

/** Directory-style plugins (dir, nfs, cifs, btrfs): PVE::Storage::Plugin::parse_volname. */
function parseDirVolname(volname: string): VolumeName {
  let m = /^(\d+)\/(\S+)\/(\d+)\/(\S+)$/.exec(volname);
  if (m) {
    parseNameDir(m[2] as string);
    const { format, isBase } = parseNameDir(m[4] as string);
    return result('images', m[4] as string, format, {
      vmid: m[3],
      basename: m[2],
      basevmid: m[1],
      isBase,
    });
  }
  m = /^(\d+)\/(\S+)$/.exec(volname);
  if (m) {
    const { format, isBase } = parseNameDir(m[2] as string);
    return result('images', m[2] as string, format, { vmid: m[1], isBase });
  }
  m = ISO_VOLNAME_RE.exec(volname);
  if (m) return result('iso', m[1] as string, 'raw');
  m = VZTMPL_VOLNAME_RE.exec(volname);
  if (m) return result('vztmpl', m[1] as string, 'raw');
  m = BACKUP_VOLNAME_RE.exec(volname);
  if (m) {
    const owner = /^vzdump-(openvz|lxc|qemu)-(\d+)-.+/.exec(m[1] as string);
    return result('backup', m[1] as string, 'raw', { vmid: owner?.[2] });
  }
  m = /^snippets\/([^/]+)$/.exec(volname);
  if (m) return result('snippets', m[1] as string, 'raw');
  m = OVA_IMPORT_VOLNAME_RE.exec(volname);
  if (m) return result('import', m[1] as string, `ova+${m[2]}`);
  m = IMPORT_VOLNAME_RE.exec(volname);
  if (m) return result('import', m[1] as string, m[2]);
  return die(`unable to parse directory volume name '${volname}'`);
}

function checkLvmName(volname: string): void {
  if (!/^[a-z0-9][a-z0-9\-_.]*[a-z0-9]$/i.test(volname)) die(`lvm name '${volname}' contains illegal characters`);
}

/**
 * parse_volname of the plugin for `def.type`, on the volume name part of a volume id. The answer
 * depends on the plugin type and the name only, and command-line generation asks for each
 * volume four or five times (volume check, file node, format, path, snapshot method), so
 * answers are remembered per type and name (frozen: callers share them). Failures are not kept.
 */
export function parsePluginVolname(def: StorageDef, volname: string): VolumeName {
  let byName = parsedVolnames.get(def.type);
  if (byName === undefined) {
    byName = new Map();
    parsedVolnames.set(def.type, byName);
  }
  let parsed = byName.get(volname);
  if (parsed === undefined) {
    parsed = Object.freeze(parsePluginVolnameUncached(def, volname));
    if (byName.size >= PARSED_VOLNAMES_LIMIT) byName.clear();
    byName.set(volname, parsed);
  }
  return parsed;
}

/** Bounded: a long-lived process that sees many volumes starts over instead of growing. */
const PARSED_VOLNAMES_LIMIT = 2048;
/** Per plugin type (only known types get an answer to remember, so this map stays small). */
const parsedVolnames = new Map<string, Map<string, Readonly<VolumeName>>>();

function parsePluginVolnameUncached(def: StorageDef, volname: string): VolumeName {
  switch (def.type) {
    case 'dir':
    case 'nfs':
    case 'cifs':
    case 'btrfs':
      return parseDirVolname(volname);
    case 'lvm': {
      checkLvmName(volname);
      const m = /^(vm-(\d+)-\S+)$/.exec(volname);
      if (!m) return die(`unable to parse lvm volume name '${volname}'`);
      return result('images', m[1] as string, volname.endsWith('.qcow2') ? 'qcow2' : 'raw', { vmid: m[2] });
    }
    case 'lvmthin': {
      checkLvmName(volname);
      const m = /^((vm|base)-(\d+)-\S+)$/.exec(volname);
      if (!m) return die(`unable to parse lvm volume name '${volname}'`);
      return result('images', m[1] as string, 'raw', {
        vmid: m[3],
        isBase: m[2] === 'base',
      });
    }
    case 'rbd': {
      const m = /^((base-(\d+)-\S+)\/)?((base)?(vm)?-(\d+)-\S+)$/.exec(volname);
      if (!m) return die(`unable to parse rbd volume name '${volname}'`);
      return result('images', m[4] as string, 'raw', {
        vmid: m[7],
        basename: m[2],
        basevmid: m[3],
        isBase: m[5] !== undefined,
      });
    }
    case 'zfs':
    case 'zfspool': {
      const m = /^(((base|basevol)-(\d+)-\S+)\/)?((base|basevol|vm|subvol)-(\d+)-\S+)$/.exec(volname);
      if (!m) return die(`unable to parse zfs volume name '${volname}'`);
      const kind = m[6] as string;
      const format = kind === 'subvol' || kind === 'basevol' ? 'subvol' : 'raw';
      return result('images', m[5] as string, format, {
        vmid: m[7],
        basename: m[2],
        basevmid: m[4],
        isBase: kind === 'base' || kind === 'basevol',
      });
    }
    case 'iscsi': {
      const m = /^\d+\.\d+\.\d+\.([^/\s]+)$/.exec(volname);
      if (!m) return die(`unable to parse iscsi volume name '${volname}'`);
      return result('images', m[1] as string, 'raw');
    }
    case 'iscsidirect': {
      const m = /^lun(\d+)$/.exec(volname);
      if (!m) return die(`unable to parse iscsi volume name '${volname}'`);
      return result('images', m[1] as string, 'raw');
    }
  }
  return die(`unknown storage type '${String(def.type)}'`);
}

/** PVE::Storage::parse_volname on a full volume id. */
export function parseVolname(storage: StorageConfig, volid: string): VolumeName {
  const { storeid, volname } = parseVolumeIdStrict(volid);
  return parsePluginVolname(storageConfig(storage, storeid), volname);
}

const QEMU_FORMAT_RE = /^(raw|qcow|qcow2|qed|vmdk|cloop)$/;

/** Drive::checked_volume_format: the QEMU format of a storage volume (raw when unknown). */
export function checkedVolumeFormat(storage: StorageConfig, volid: string): string {
  const parsed = parseVolname(storage, volid);
  if (parsed.vtype === 'import') {
    if (!parsed.format) die(`unable to parse format for import volume '${volid}'`);
    const ova = /^ova\+(.*)$/.exec(parsed.format as string);
    if (ova) {
      if (!QEMU_FORMAT_RE.test(ova[1] as string)) die(`volume '${volid}' - unknown import format '${parsed.format}'`);
      return parsed.format as string;
    }
  }
  const format = parsed.format ?? 'raw';
  if (!QEMU_FORMAT_RE.test(format)) die(`volume '${volid}' - not a QEMU image format '${format}'`);
  return format;
}

/**
 * qemu-server's check_volume_storage_type, run for every drive volume before generation:
 * dies `storage '<id>' does not support content-type '<vtype>'`.
 */
export function checkVolumeStorageType(storage: StorageConfig, volid: string): void {
  const { storeid } = parseVolumeIdStrict(volid);
  const def = storageConfig(storage, storeid);
  const { vtype } = parseVolname(storage, volid);
  if (!def.content.includes(vtype)) {
    throw new CvmError('STORAGE', `storage '${storeid}' does not support content-type '${vtype}'`);
  }
}
