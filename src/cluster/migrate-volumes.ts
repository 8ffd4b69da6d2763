/**
 * @module cluster/migrate-volumes
 * What a migration has to do with a VM's volumes (qemu-server's `foreach_volid` and
 * `scan_local_volumes`, for the offline case): every volume the config names (current drives,
 * `[PENDING]`, `unusedN`, the snapshots' drives and vmstate volumes) is either on a storage
 * marked `shared` (it stays where it is; the target must define that storage too) or local (it
 * is copied to the same storage id on the target). Local volumes cvmctl cannot copy are refused
 * with qemu-server's texts: a host CD-ROM, a plain file or device path, a local ISO image, a
 * volume another VM owns, a storage that is not file based, a linked clone. Also the local
 * resources that block migration (`check_local_resources`) and the non-migratable ones of a
 * running VM (`amd-sev`, `intel-tdx`). Pure functions of the config and the storage config.
 */

import { parseDrive } from '../config/drive.js';
import { nonMigratableResources } from '../config/non-migratable.js';

export { nonMigratableResources };
import { validDriveNames } from '../config/options/drive-names.js';
import type { ConfigSection, VmConfig } from '../config/types.js';
import { CvmError } from '../errors.js';
import { volumePath } from '../storage/path.js';
import type { StorageConfig } from '../storage/types.js';
import { parseVolname, parseVolumeId, storageConfig } from '../storage/volume.js';

/** Why the config names a volume (qemu-server's `ref`, most specific last wins as there). */
export type VolumeRef = 'attached' | 'unused' | 'snapshot' | 'pending' | 'generated';

export interface MigrateVolume {
  volid: string;
  storeid: string;
  /** On a storage marked `shared`: stays, only the config moves. */
  shared: boolean;
  ref: VolumeRef;
  cdrom: boolean;
  /** `size=` of the drive in bytes, when the config records it. */
  size: number | undefined;
  /** Local volumes: the file on the source node and its format. */
  path?: string;
  format?: string;
  /** The drive key that names it in the current config (attached volumes). */
  drivename?: string;
}

export interface VolumeScan {
  volumes: MigrateVolume[];
  /** Per volume (or '' for a problem without one): why it cannot be migrated. */
  problems: { volid: string; message: string }[];
}

interface Attr {
  ref: VolumeRef;
  cdrom: boolean;
  size: number | undefined;
  sharedFlag: boolean;
  drivename?: string;
}

const UNUSED_RE = /^unused\d+$/;
const REF_RANK: Record<VolumeRef, number> = { pending: 0, snapshot: 1, unused: 2, attached: 3, generated: 4 };
/** File-based storage types cvmctl can copy volume files of. */
const COPYABLE_TYPES = new Set(['dir', 'btrfs']);

/** Every volume id the config names, with what names it (foreach_volid). */
function foreachVolid(cfg: VmConfig, fn: (volid: string, attr: Attr) => void): void {
  const seen = new Map<string, Attr>();
  const add = (volid: string, attr: Attr) => {
    const prev = seen.get(volid);
    if (!prev) {
      seen.set(volid, attr);
      return;
    }
    // qemu-server assigns ref in this order, the later one winning
    if (REF_RANK[attr.ref] > REF_RANK[prev.ref]) {
      prev.ref = attr.ref;
      if (attr.drivename) prev.drivename = attr.drivename;
    }
    prev.cdrom ||= attr.cdrom;
    prev.sharedFlag ||= attr.sharedFlag;
    prev.size ??= attr.size;
  };
  const section = (sec: ConfigSection, ref: VolumeRef) => {
    for (const key of validDriveNames) {
      const value = sec[key];
      if (value === undefined) continue;
      const drive = parseDrive(key, value);
      if (!drive.file) continue;
      const cdrom = drive.media === 'cdrom';
      const generated = key === 'tpmstate0' || /[:/](?:vm-\d+-)?cloudinit/.test(drive.file);
      add(drive.file, {
        ref: ref === 'attached' && generated ? 'generated' : ref,
        cdrom,
        size: typeof drive.size === 'number' ? drive.size : undefined,
        sharedFlag: drive.shared === 1 || drive.shared === '1',
        ...(ref === 'attached' ? { drivename: key } : {}),
      });
    }
    for (const [key, value] of Object.entries(sec)) {
      if (UNUSED_RE.test(key)) add(value, { ref: ref === 'attached' ? 'unused' : ref, cdrom: false, size: undefined, sharedFlag: false });
    }
    if (ref === 'snapshot' && sec.vmstate) add(sec.vmstate, { ref, cdrom: false, size: undefined, sharedFlag: false });
  };
  section(cfg.conf, 'attached');
  section(cfg.pending, 'pending');
  for (const snap of Object.values(cfg.snapshots)) section(snap, 'snapshot');
  for (const [volid, attr] of seen) fn(volid, attr);
}

/** The VM's volumes, shared or local, and what stands in the way of copying the local ones. */
export function scanVolumes(cfg: VmConfig, storage: StorageConfig): VolumeScan {
  const volumes: MigrateVolume[] = [];
  const problems: VolumeScan['problems'] = [];
  foreachVolid(cfg, (volid, attr) => {
    const problem = (message: string) => problems.push({ volid, message });
    if (attr.cdrom && volid === 'none') return;
    if (attr.cdrom && volid === 'cdrom') return problem("can't migrate local cdrom drive");
    const id = parseVolumeId(volid);
    if (!id) {
      if (attr.sharedFlag) return;
      return problem('local file/device');
    }
    let def: StorageConfig[string];
    try {
      def = storageConfig(storage, id.storeid);
    } catch (err) {
      return problem((err as Error).message);
    }
    const base = {
      volid,
      storeid: id.storeid,
      ref: attr.ref,
      cdrom: attr.cdrom,
      size: attr.size,
      ...(attr.drivename ? { drivename: attr.drivename } : {}),
    };
    if (def.shared === true) {
      volumes.push({ ...base, shared: true });
      return;
    }
    if (attr.cdrom && attr.ref !== 'generated') return problem('local cdrom image');
    if (!COPYABLE_TYPES.has(def.type) || !def.path) return problem(`storage type '${def.type}' not supported`);
    let name: ReturnType<typeof parseVolname>;
    try {
      name = parseVolname(storage, volid);
    } catch (err) {
      return problem((err as Error).message);
    }
    if (!name.vmid || Number(name.vmid) !== cfg.vmid) return problem(`owned by other VM (owner = VM ${name.vmid ?? 'none'})`);
    if (name.basename) return problem(`can't migrate '${volid}' as it's a clone of '${name.basename}'`);
    volumes.push({ ...base, shared: false, path: volumePath(storage, volid), format: name.format ?? 'raw' });
  });
  volumes.sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
  return { volumes, problems };
}

/** The task-log line qemu-server prints for a local volume it found. */
export function foundLine(v: MigrateVolume): string {
  if (v.ref === 'attached') return `found local disk '${v.volid}' (attached)`;
  if (v.ref === 'unused') return `found local disk '${v.volid}' (unused)`;
  if (v.ref === 'snapshot') return `found local disk '${v.volid}' (referenced by snapshot(s))`;
  if (v.ref === 'pending') return `found local disk '${v.volid}' (pending change)`;
  return `found generated disk '${v.volid}' (in current VM config)`;
}

/** Throw the first scan problem as qemu-server words it in its log line. */
export function assertNoVolumeProblems(scan: VolumeScan): void {
  const first = scan.problems[0];
  if (!first) return;
  throw new CvmError('STORAGE', `can't migrate local disk '${first.volid}': ${first.message}`, { details: { problems: scan.problems } });
}

/** `check_local_resources`: host devices and local character devices that tie a VM to its node. */
export function localResources(conf: ConfigSection, running: boolean): string[] {
  const out = nonMigratableResources(conf, running);
  if (conf.hostusb) out.push('hostusb');
  if (conf.hostpci) out.push('hostpci');
  if (conf.ivshmem) out.push('ivshmem');
  for (const [k, v] of Object.entries(conf)) {
    if (/^usb\d+$/.test(k) && /^(?:host=)?spice(?:,|$)/i.test(v)) continue;
    if (/^serial\d+$/.test(k) && v === 'socket') continue;
    if (/^(usb|hostpci|serial|parallel|virtiofs)\d+$/.test(k)) out.push(k);
  }
  return [...new Set(out)];
}
