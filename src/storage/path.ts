/**
 * @module storage/path
 * Where a storage volume lives and how QEMU opens it: PVE::Storage::path (the legacy `-drive
 * file=` value) and qemu_blockdev_options (the `file` node of a `-blockdev` chain) for the dir,
 * nfs, cifs, btrfs, rbd/krbd, lvm, lvmthin, zfs-over-iSCSI, zfspool and iSCSI plugins.
 * Host lookups Proxmox does at this point (stat for block devices, Ceph keyring files, the
 * ZFS-over-iSCSI LUN, snapshot chains) are facts passed in, never probed here.
 */

import { CvmError } from '../errors.js';
import type { StorageConfig, StorageDef } from './types.js';
import { parsePluginVolname, parseVolumeIdStrict, storageConfig } from './volume.js';
import { splitList } from '../schema/perl.js';

/** The host facts path resolution needs (a subset of HostFacts). */
export interface StorageHost {
  storage: StorageConfig;
  /** Paths matching this regex are block devices (stands in for File::stat). */
  blockDevicePattern: string;
  /** volume_snapshot_info chains per volume id, newest first (`current` first). */
  volumeChains: Record<string, { name: string; file: string }[]>;
}

const die = (msg: string): never => {
  throw new CvmError('STORAGE', msg);
};

const VTYPE_SUBDIRS: Record<string, string> = {
  images: 'images',
  rootdir: 'private',
  iso: 'template/iso',
  vztmpl: 'template/cache',
  backup: 'dump',
  snippets: 'snippets',
  import: 'import',
};

function contentDir(def: StorageDef, vtype: string): string {
  if (!def.path) die('storage definition has no path');
  const overrides = def['content-dirs'];
  let sub: string | undefined;
  if (typeof overrides === 'string') {
    for (const entry of overrides.split(/[,;\s]+/)) {
      const [ct, p] = entry.split('=', 2);
      if (ct === vtype && p !== undefined) sub = p;
    }
  }
  return `${def.path}/${sub ?? VTYPE_SUBDIRS[vtype] ?? die(`unknown vtype '${vtype}'`)}`;
}

function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== '' && v !== '0';
}

/** The Ceph user/keyring/auth facts ceph_connect_option derives for an RBD storage. */
function cephConnect(def: StorageDef, storeid: string) {
  // Proxmox looks for /etc/pve/priv/ceph/<id>.keyring; a `keyring` setting stands for that file.
  const keyring = truthy(def['keyring']) ? `/etc/pve/priv/ceph/${storeid}.keyring` : undefined;
  return {
    cephConf: def['monhost'] === undefined ? '/etc/pve/ceph.conf' : undefined,
    keyring,
    authSupported: keyring ? 'cephx' : 'none',
    userid: truthy(def['username']) ? String(def['username']) : 'admin',
  };
}

function rbdImagePath(def: StorageDef, volume: string): string {
  let p = truthy(def['pool']) ? String(def['pool']) : 'rbd';
  if (def['namespace'] !== undefined) p += `/${String(def['namespace'])}`;
  return `${p}/${volume}`;
}

function rbdDevPath(def: StorageDef, volume: string): string {
  const fsid = def['fsid'];
  // Proxmox asks the Ceph monitors for the fsid; cvmctl takes it from the storage definition.
  if (typeof fsid !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(fsid)) {
    return die('cluster fsid has invalid format');
  }
  return `/dev/rbd-pve/${fsid}/${rbdImagePath(def, volume)}`;
}

/** PVE::Tools::parse_host_and_port for monitor addresses (`[v6]:port`, `host:port`, bare v6). */
function parseHostAndPort(text: string): {
  host: string;
  port: string | undefined;
} {
  let m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (m) return { host: m[1] as string, port: m[2] };
  m = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (m) return { host: m[1] as string, port: m[2] };
  return { host: text, port: undefined };
}

/**
 * node:net's isIPv6, loaded on first use: node:net pulls in the stream modules, a cost every
 * `cvmctl showcmd` paid at start-up although only Ceph monitor lists need it.
 */
function isIPv6(text: string): boolean {
  return process.getBuiltinModule('node:net').isIPv6(text);
}

/** CephConfig's `$get_host`: `host[:port]`, IPv6 addresses in brackets, unparsable → ''. */
function cephHost(text: string): string {
  const m = /^([0-9A-Fa-f:.]+)\.(\d+)$/.exec(text); // bare IPv6 with `.port`
  const { host, port } = m && isIPv6(m[1] as string) ? { host: m[1] as string, port: m[2] } : parseHostAndPort(text);
  if (!host) return '';
  return `${isIPv6(host) ? `[${host}]` : host}${port !== undefined ? `:${port}` : ''}`;
}

/** Legacy `rbd:` path (RBDPlugin::path without krbd). */
function rbdLegacyPath(def: StorageDef, storeid: string, name: string): string {
  const opt = cephConnect(def, storeid);
  let path = `rbd:${rbdImagePath(def, name)}`;
  if (opt.cephConf) path += `:conf=${opt.cephConf}`;
  if (def['monhost'] !== undefined) {
    const hosts = splitList(String(def['monhost'])).map(cephHost).join(';').replace(/:/g, '\\:');
    path += `:mon_host=${hosts}:auth_supported=${opt.authSupported}`;
  }
  if (opt.keyring) path += `:id=${opt.userid}:keyring=${opt.keyring}`;
  return path;
}

/**
 * PVE::Storage::path: the path or URL QEMU's legacy `-drive file=` uses for a volume.
 * `snapname` selects a snapshot where the plugin supports it.
 */
export function volumePath(storage: StorageConfig, volid: string, snapname?: string): string {
  const { storeid, volname } = parseVolumeIdStrict(volid);
  const def = storageConfig(storage, storeid);
  return pluginPath(def, storeid, volname, snapname);
}

function pluginPath(def: StorageDef, storeid: string, volname: string, snapname?: string): string {
  const vol = parsePluginVolname(def, volname);
  switch (def.type) {
    case 'dir':
    case 'nfs':
    case 'cifs': {
      let name = vol.name;
      if (def['snapshot-as-volume-chain'] && snapname) name = snapname === 'current' ? name : `snap-${snapname}-${name}`;
      if (snapname !== undefined && !/^(qcow2|qed)$/.test(vol.format ?? '')) die("can't snapshot this image format");
      let dir = contentDir(def, vol.vtype);
      if (vol.vtype === 'images') dir += `/${vol.vmid}`;
      return `${dir}/${name}`;
    }
    case 'btrfs': {
      let path = contentDir(def, vol.vtype);
      if (vol.vtype === 'images') path += `/${vol.vmid}`;
      if (vol.vtype === 'images' && vol.format === 'raw') {
        const m = /^(.*)\.raw$/.exec(vol.name);
        if (!m) return die(`internal error: bad disk name: ${vol.name}`);
        return `${path}/${m[1]}${snapname ? `@${snapname}` : ''}/disk.raw`;
      }
      if (vol.vtype === 'images' && vol.format === 'subvol') return `${path}/${vol.name}${snapname ? `@${snapname}` : ''}`;
      return `${path}/${vol.name}`;
    }
    case 'lvm': {
      if (snapname !== undefined && vol.format !== 'qcow2') die('snapshot is working with qcow2 format only');
      let name = vol.name;
      if (snapname && snapname !== 'current') name = `snap_${name.replace(/\.[^.]+$/, '')}_${snapname}.qcow2`;
      return `/dev/${String(def['vgname'])}/${name}`;
    }
    case 'lvmthin':
      return snapname !== undefined
        ? `/dev/${String(def['vgname'])}/snap_${vol.name}_${snapname}`
        : `/dev/${String(def['vgname'])}/${vol.name}`;
    case 'rbd': {
      const name = snapname ? `${vol.name}@${snapname}` : vol.name;
      if (truthy(def['krbd'])) return rbdDevPath(def, name);
      return rbdLegacyPath(def, storeid, name);
    }
    case 'zfs': {
      if (snapname !== undefined) die('direct access to snapshots not implemented');
      return `iscsi://${String(def['portal'])}/${String(def['target'])}/${zfsLun(def)}`;
    }
    case 'zfspool': {
      const mount = def['mountpoint'] !== undefined ? String(def['mountpoint']) : `/${String(def['pool'])}`;
      let path = /^(subvol|basevol)-/.test(vol.name) ? `${mount}/${vol.name}` : `/dev/zvol/${String(def['pool'])}/${vol.name}`;
      if (snapname !== undefined) path += `@${snapname}`;
      return path;
    }
    case 'iscsi':
      if (snapname !== undefined) die('snapshot is not possible on iscsi storage');
      return `/dev/disk/by-id/${vol.name}`;
    case 'iscsidirect':
      if (snapname !== undefined) die('volume snapshot is not possible on iscsi device');
      return `iscsi://${String(def['portal'])}/${String(def['target'])}/${vol.name}`;
  }
  return die(`unknown storage type '${String(def.type)}'`);
}

/** The LUN of a ZFS-over-iSCSI volume; Proxmox asks the target, cvmctl reads the `lun` setting (default 0). */
function zfsLun(def: StorageDef): number {
  const lun = def['lun'];
  return lun === undefined ? 0 : Number(lun);
}

/** A `file`-level blockdev object as a storage plugin returns it (without cache/node-name). */
export type BlockdevOptions = Record<string, unknown> & { driver: string };

/**
 * PVE::Storage::qemu_blockdev_options: the driver-level blockdev for a storage volume.
 * `snapshotName` selects a snapshot (volume chains); `efiDisk` is the plugin hint for EFI vars.
 */
export function qemuBlockdevOptions(
  host: StorageHost,
  volid: string,
  options: { snapshotName?: string | undefined } = {},
): BlockdevOptions {
  const { storeid, volname } = parseVolumeIdStrict(volid);
  const def = storageConfig(host.storage, storeid);
  const vol = parsePluginVolname(def, volname);
  if (vol.vtype !== 'images' && vol.vtype !== 'iso' && vol.vtype !== 'import') {
    die(`cannot use volume of type '${vol.vtype}' as a QEMU blockdevice`);
  }
  const snap = options.snapshotName;
  switch (def.type) {
    case 'rbd': {
      if (truthy(def['krbd'])) {
        return {
          driver: 'host_device',
          filename: rbdDevPath(def, snap ? `${vol.name}@${snap}` : vol.name),
        };
      }
      const opt = cephConnect(def, storeid);
      const blockdev: BlockdevOptions = {
        driver: 'rbd',
        pool: truthy(def['pool']) ? String(def['pool']) : 'rbd',
        image: vol.name,
      };
      if (def['namespace'] !== undefined) blockdev['namespace'] = String(def['namespace']);
      if (snap) blockdev['snapshot'] = snap;
      if (opt.cephConf) blockdev['conf'] = opt.cephConf;
      if (truthy(def['monhost'])) {
        blockdev['server'] = splitList(String(def['monhost'])).map((mon) => {
          const { host: h, port } = parseHostAndPort(mon);
          return { host: h, port: port ?? '3300' };
        });
        blockdev['auth-client-required'] = [opt.authSupported];
      }
      if (opt.keyring) blockdev['user'] = opt.userid;
      return blockdev;
    }
    case 'lvm':
      return {
        driver: 'host_device',
        filename: pluginPath(def, storeid, volname, snap),
      };
    case 'zfs':
      if (snap) die('direct access to snapshots not implemented');
      return {
        driver: 'iscsi',
        transport: 'tcp',
        portal: String(def['portal']),
        target: String(def['target']),
        lun: zfsLun(def),
      };
    case 'zfspool': {
      if (vol.format !== 'raw') die(`volume '${volname}' not usable as VM image`);
      if (snap) die('cannot attach only the snapshot of a zvol');
      return {
        driver: 'host_device',
        filename: pluginPath(def, storeid, volname),
      };
    }
    case 'iscsidirect':
      if (snap) die('volume snapshot is not possible on iscsi device');
      return {
        driver: 'iscsi',
        transport: 'tcp',
        portal: String(def['portal']),
        target: String(def['target']),
        lun: Number(vol.name),
      };
    default: {
      const path = pluginPath(def, storeid, volname, snap);
      if (snap && ((vol.format === 'qcow2' && !def['snapshot-as-volume-chain']) || vol.format === 'qed')) {
        die(`cannot attach only the snapshot of a '${vol.format}' image`);
      }
      if (path.startsWith('/')) {
        return {
          driver: isBlockDevice(host, path) ? 'host_device' : 'file',
          filename: path,
        };
      }
      const iscsi = /^iscsi:\/\/(\S+)\/(\S+)\/(\d+)$/.exec(path);
      if (iscsi)
        return {
          driver: 'iscsi',
          portal: iscsi[1],
          target: iscsi[2],
          lun: iscsi[3],
          transport: 'tcp',
        };
      return die("storage plugin doesn't implement qemu_blockdev_options() method");
    }
  }
}

/** Whether `path` is a block/character device on this host (the File::stat check). */
export function isBlockDevice(host: Pick<StorageHost, 'blockDevicePattern'>, path: string): boolean {
  return host.blockDevicePattern !== '' && new RegExp(host.blockDevicePattern).test(path);
}

/** volume_qemu_snapshot_method: 'qemu', 'storage' or 'mixed' (snapshot as volume chain). */
export function volumeQemuSnapshotMethod(storage: StorageConfig, volid: string): 'qemu' | 'storage' | 'mixed' {
  const { storeid, volname } = parseVolumeIdStrict(volid);
  const def = storageConfig(storage, storeid);
  const format = parsePluginVolname(def, volname).format;
  switch (def.type) {
    case 'dir':
    case 'nfs':
    case 'cifs':
      if (format !== 'qcow2') return 'storage';
      return def['snapshot-as-volume-chain'] ? 'mixed' : 'qemu';
    case 'lvm':
      return format === 'qcow2' ? 'mixed' : 'storage';
    case 'rbd':
    case 'zfs':
    case 'zfspool':
    case 'lvmthin':
    case 'btrfs':
      return 'storage';
    default:
      return format === 'qcow2' ? 'qemu' : 'storage';
  }
}

/**
 * volume_snapshot_info as the generator needs it: snapshot name → {file, parent}. Chains come
 * from host facts (Proxmox reads them from the storage), looked up by volume id, then by
 * storage id; volumes without one have none.
 */
export function volumeSnapshotInfo(host: StorageHost, volid: string): Record<string, { file: string; parent: string | undefined }> {
  // keyed by volume id; a storage id key applies to every volume of that storage (test mocks)
  const chain = host.volumeChains[volid] ?? host.volumeChains[parseVolumeIdStrict(volid).storeid] ?? [];
  const info: Record<string, { file: string; parent: string | undefined }> = {};
  chain.forEach((entry, i) => {
    info[entry.name] = { file: entry.file, parent: chain[i + 1]?.name };
  });
  return info;
}
