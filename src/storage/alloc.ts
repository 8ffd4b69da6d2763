/**
 * @module storage/alloc
 * Volume allocation for `cvmctl create`/`set` and removal for `destroy`, the way qemu-server's
 * API and PVE::Storage do it: a drive value `STORAGE:SIZE[,opts]` (size in GiB) becomes, on a
 * file storage (dir, nfs, cifs, btrfs with a path), `STORAGE:<vmid>/vm-<vmid>-disk-N.<fmt>` with
 * a real `qemu-img create` (format: the drive's `format=`, else the storage's `format`, else raw
 * as for PVE dir storages; preallocation `off` for raw and `metadata` for qcow2 unless the
 * storage says otherwise), on LVM-thin/ZFS pools a raw `STORAGE:vm-<vmid>-disk-N` (block-alloc),
 * and `size=` is recorded. `efidisk0` gets a copy of the matching OVMF VARS template (`qemu-img
 * convert`), sized like the template (528K for a 4M one); SEV-SNP refuses an EFI disk
 * (`assertEfidiskAllowed`, qemu-server's text). `tpmstate0` gets a 4 MiB raw volume.
 * `STORAGE:cloudinit` gets a 4 MiB `vm-<vmid>-cloudinit[.qcow2]` with `media=cdrom` (filled at
 * start by src/cloudinit).
 * `import-from=` fills the new volume from an image (convert.ts). A failed call undoes what it
 * created.
 */

import { execFile } from 'node:child_process';
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { CvmError } from '../errors.js';
import { isCloudinitVolume } from '../config/drive.js';
import type { ConfigSection } from '../config/types.js';
import { assertEfidiskAllowed, efivarsTemplate, type FirmwareCvmType, type FirmwareFacts } from '../firmware/index.js';
import type { PropertyValues } from '../schema/types.js';
import { vmArch } from '../host/local/parse.js';
import { getCvmType } from '../sev/index.js';
import type { StorageConfig, StorageDef } from './types.js';
import { allocateBlockVolume, BLOCK_STORAGE_TYPES, type CommandRunner, freeBlockVolume } from './block-alloc.js';
import { qemuImgConvert, untrustedImageInfo } from './convert.js';
import { volumePath } from './path.js';
import { checkedVolumeFormat, parseVolname, parseVolumeId, storageConfig } from './volume.js';
import { makeDirs } from '../util/mkdirs.js';

const run = promisify(execFile);

/** qemu-server's NEW_DISK_RE on the drive's file part: `[STORAGE:]SIZE`. */
const NEW_DISK_RE = /^(([^/:\s]+):)?(\d+(\.\d+)?)$/;
const TPMSTATE_DISK_SIZE = 4 * 1024 * 1024;
/** Largest `STORAGE:SIZE` (GiB) whose byte size qemu-img accepts (2^63 - 1 bytes). */
const MAX_ALLOC_GIB = 8_589_934_591;
const FILE_STORAGE_TYPES = new Set(['dir', 'nfs', 'cifs', 'btrfs', 'glusterfs', 'cephfs']);

/** PVE::Tools::convert_size for the units used here (rounds a fraction up). */
function convertSize(value: number, fromShift: number, toShift: number): number {
  let v = value * 2 ** ((fromShift - toShift) * 10);
  if (v - Math.trunc(v) > 0) v++;
  return Math.trunc(v);
}

/** Split a drive value into the file part and its options (kept verbatim, in order). */
function splitDrive(value: string): { file: string; opts: [string, string][] } {
  const parts = value.split(',');
  let file = '';
  const opts: [string, string][] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0 && file === '') file = part;
    else if (eq > 0) {
      const k = part.slice(0, eq);
      if (k === 'file' || k === 'volume') file = part.slice(eq + 1);
      else opts.push([k, part.slice(eq + 1)]);
    }
  }
  return { file, opts };
}

/** `format_size`: the shortest exact K/M/G/T spelling. */
function formatSize(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let i = 0;
  while (i < 4 && v % 1024 === 0 && v > 0) {
    v /= 1024;
    i++;
  }
  return `${v}${units[i]}`;
}

async function qemuImg(args: string[], what: string): Promise<void> {
  try {
    await run(process.env.CVMCTL_QEMU_IMG || 'qemu-img', args, { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CvmError('STORAGE', `${what} - ${(e.stderr || e.message).trim()}`, { cause: err });
  }
}

function storageDef(storage: StorageConfig, storeid: string): StorageDef {
  const def = storage[storeid];
  if (!def) throw new CvmError('STORAGE', `storage '${storeid}' does not exist`);
  if (!BLOCK_STORAGE_TYPES.has(def.type) && (!FILE_STORAGE_TYPES.has(def.type) || !def.path)) {
    throw new CvmError(
      'STORAGE',
      `storage '${storeid}': allocating volumes on '${def.type}' storage is not supported by cvmctl (file storages, lvmthin and zfspool only)`,
    );
  }
  if (!def.content.includes('images')) throw new CvmError('STORAGE', `storage '${storeid}' does not support vm images`);
  return def;
}

/** Which drive of its owner VM's config a volume is (the first in valid_drive_names order), if any. */
export type SourceDriveName = (volid: string) => Promise<string | undefined>;

/** `find_free_diskname`: the lowest N with no `vm-<vmid>-disk-N*` in the VM's image dir. */
async function freeDiskName(imageDir: string, vmid: number, fmt: string): Promise<string> {
  const names = await readdir(imageDir).catch(() => [] as string[]);
  const used = new Set<number>();
  const re = new RegExp(`(vm|base|subvol|basevol)-${vmid}-disk-(\\d+)`);
  for (const n of names) {
    const m = re.exec(n);
    if (m) used.add(Number(m[2]));
  }
  for (let i = 0; i < 1000; i++) if (!used.has(i)) return `vm-${vmid}-disk-${i}.${fmt}`;
  throw new CvmError('STORAGE', `unable to allocate an image name for VM ${vmid}`);
}

function preallocation(def: StorageDef, fmt: string): string | undefined {
  const p = typeof def.preallocation === 'string' ? def.preallocation : undefined;
  if (fmt === 'qcow2') return p ?? 'metadata';
  if (fmt === 'raw') return !p || p === 'metadata' ? 'off' : p;
  return undefined;
}

export interface AllocContext {
  storage: StorageConfig;
  firmware: FirmwareFacts;
  cvmType: FirmwareCvmType;
  arch: string;
  /** Runs lvs/lvcreate/zfs for block storages (tests replace it). */
  run?: CommandRunner;
  /** Machine type contains q35 (qemu-server passes it as `smm`). */
  q35: boolean;
  machine?: string;
}

/** The facts allocation needs from a VM config (`conf` as it will be, so an `amd-sev` in the same call counts). */
export function allocFactsFromConf(conf: ConfigSection): Pick<AllocContext, 'cvmType' | 'arch' | 'q35' | 'machine'> {
  const machine = /^(?:type=)?([^,]+)/.exec(conf.machine ?? '')?.[1];
  return {
    cvmType: getCvmType(conf) as FirmwareCvmType,
    arch: vmArch(conf),
    q35: /q35/.test(machine ?? ''),
    ...(machine ? { machine } : {}),
  };
}

/** Undo steps of an allocation, run in reverse order when a later step fails. */
export type UndoList = (() => Promise<void>)[];

export async function runUndo(undo: UndoList): Promise<void> {
  for (const step of [...undo].reverse()) await step().catch(() => undefined);
  undo.length = 0;
}

/**
 * vdisk_alloc: on a file storage the next free `vm-<vmid>-disk-N.<format>` in the VM's image
 * dir, created with `qemu-img create` (preallocation as the storage says); on LVM-thin and ZFS
 * pools a raw volume through storage/block-alloc. Each creation registers its undo step in
 * `undo` before it starts, so a caller can roll a failed call back.
 */
export async function allocateVolume(
  args: { storage: StorageConfig; storeid: string; vmid: number; format: string; sizeKiB: number; run?: CommandRunner },
  undo: UndoList = [],
): Promise<{ volid: string; path: string }> {
  const def = storageDef(args.storage, args.storeid);
  if (BLOCK_STORAGE_TYPES.has(def.type)) {
    const made = await allocateBlockVolume(
      { def, storeid: args.storeid, vmid: args.vmid, format: args.format, sizeKiB: args.sizeKiB },
      args.run,
    );
    const name = made.volid.slice(args.storeid.length + 1);
    undo.push(() => freeBlockVolume(def, args.storeid, name, args.run));
    return made;
  }
  if (!['raw', 'qcow2', 'vmdk'].includes(args.format)) {
    throw new CvmError('STORAGE', `unsupported format '${args.format}' for storage '${args.storeid}'`);
  }
  const imageDir = join(def.path as string, 'images', String(args.vmid));
  await makeDirs(imageDir);
  const name = await freeDiskName(imageDir, args.vmid, args.format);
  const path = join(imageDir, name);
  const prealloc = preallocation(def, args.format);
  // an image dir made for this call and left empty goes too (rmdir fails on a non-empty one)
  undo.push(async () => {
    await rm(path, { force: true });
    await rmdir(imageDir).catch(() => undefined);
  });
  await qemuImg(
    ['create', ...(prealloc ? ['-o', `preallocation=${prealloc}`] : []), '-f', args.format, path, `${args.sizeKiB}K`],
    'unable to create image',
  );
  return { volid: `${args.storeid}:${args.vmid}/${name}`, path };
}

/**
 * The image an `import-from=` names: a storage volume (images or import content; cloud-init
 * drives and OVA members refused) or an absolute path, probed as untrusted (no backing file).
 */
async function importSource(storage: StorageConfig, source: string): Promise<{ path: string; format: string; size: number }> {
  if (parseVolumeId(source)) {
    const { vtype } = parseVolname(storage, source);
    if (isCloudinitVolume(source)) throw new CvmError('STORAGE', 'cannot import from cloudinit disk');
    if (vtype !== 'images' && vtype !== 'import')
      throw new CvmError('STORAGE', `cannot import from '${source}' - content type '${vtype}' is not an image`);
    const format = checkedVolumeFormat(storage, source);
    if (format.startsWith('ova+'))
      throw new CvmError('STORAGE', `cannot import from '${source}' - extracting disks from an OVA is not supported by cvmctl`);
    const path = volumePath(storage, source);
    const info = await untrustedImageInfo(path);
    if (info.format !== format && vtype === 'import')
      throw new CvmError('STORAGE', `cannot import from '${source}' - file format '${info.format}' does not match its name ('${format}')`);
    return { path, format, size: info.virtualSize };
  }
  if (!isAbsolute(source)) throw new CvmError('STORAGE', `cannot import from '${source}' - not a volume ID or an absolute path`);
  const info = await untrustedImageInfo(source);
  return { path: source, format: info.format, size: info.virtualSize };
}

/** `STORAGE:cloudinit`: a new cloud-init drive to allocate (qemu-server's create_disks). */
const CLOUDINIT_ALLOC_RE = /^([^/:\s]+):cloudinit$/;
export const CLOUDINIT_DISK_KIB = 4 * 1024;

function sortedDrive(file: string, opts: Map<string, string>): string {
  const rest = [...opts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  return [file, ...rest].join(',');
}

/**
 * `STORAGE:cloudinit` becomes `vm-<vmid>-cloudinit` of 4 MiB: `.<fmt>` (qcow2 unless the drive
 * says `format=`) on a file storage, raw on LVM-thin/ZFS; the drive gets `media=cdrom` and loses
 * `format=`. The image itself is written at start (src/cloudinit).
 */
async function allocateCloudinit(
  ctx: AllocContext,
  vmid: number,
  storeid: string,
  opts: Map<string, string>,
  undo: UndoList,
): Promise<string> {
  const volid = await allocateCloudinitVolume(
    {
      storage: ctx.storage,
      storeid,
      vmid,
      ...(opts.has('format') ? { format: opts.get('format') as string } : {}),
      ...(ctx.run ? { run: ctx.run } : {}),
    },
    undo,
  );
  opts.delete('format');
  opts.set('media', 'cdrom');
  return sortedDrive(volid, opts);
}

/**
 * vdisk_alloc of a cloud-init volume (also `disk move`'s clone_disk): `vm-<vmid>-cloudinit` of
 * 4 MiB, `.<format>` (default qcow2) on a file storage, raw on LVM-thin/ZFS. Registers its undo.
 */
export async function allocateCloudinitVolume(
  args: { storage: StorageConfig; storeid: string; vmid: number; format?: string; run?: CommandRunner },
  undo: UndoList,
): Promise<string> {
  const { storage, storeid, vmid } = args;
  const def = storageDef(storage, storeid);
  const block = BLOCK_STORAGE_TYPES.has(def.type);
  const fmt = args.format ?? (block ? 'raw' : 'qcow2');
  if (block) {
    const made = await allocateBlockVolume(
      { def, storeid, vmid, format: fmt, sizeKiB: CLOUDINIT_DISK_KIB, name: `vm-${vmid}-cloudinit` },
      args.run,
    );
    undo.push(() => freeBlockVolume(def, storeid, `vm-${vmid}-cloudinit`, args.run));
    return made.volid;
  }
  const volid = await allocateNamedVolume({ storage, storeid, vmid, name: `vm-${vmid}-cloudinit.${fmt}`, sizeKiB: CLOUDINIT_DISK_KIB });
  undo.push(() => freeVolumeIds({ storage, vmid, volids: [volid] }));
  return volid;
}

/** Allocate one drive value; returns the new value, or undefined when it is not an allocation. */
async function allocateOne(
  ctx: AllocContext,
  vmid: number,
  key: string,
  value: string,
  undo: UndoList,
  log: (line: string) => void,
  sourceDriveName?: SourceDriveName,
): Promise<string | undefined> {
  const { file, opts } = splitDrive(value);
  const ci = CLOUDINIT_ALLOC_RE.exec(file);
  if (ci) return allocateCloudinit(ctx, vmid, ci[1] as string, new Map(opts), undo);
  const m = NEW_DISK_RE.exec(file);
  if (!m) return undefined;
  const storeid = m[2];
  if (!storeid) throw new CvmError('STORAGE', `${key}: no storage ID specified (and no default storage)`);
  const optMap = new Map(opts);
  const importFrom = optMap.get('import-from');
  optMap.delete('import-from');
  const source = importFrom !== undefined ? await importSource(ctx.storage, importFrom) : undefined;
  // clone_disk's first line for a volume source (qemu-server prints none for a path import)
  const fromVolume = importFrom !== undefined && parseVolumeId(importFrom) !== undefined;
  if (fromVolume) {
    const srcDrive = await sourceDriveName?.(importFrom);
    log(`create full clone of drive ${srcDrive ? `${srcDrive} ` : ''}(${importFrom})`);
  }
  if (key === 'efidisk0') assertEfidiskAllowed(ctx.cvmType);
  const def = storageDef(ctx.storage, storeid);
  const fmt = optMap.get('format') || (typeof def.format === 'string' ? def.format : '') || 'raw';
  if (!['raw', 'qcow2', 'vmdk'].includes(fmt))
    throw new CvmError('STORAGE', `${key}: unsupported format '${fmt}' for storage '${storeid}'`);

  let sizeKiB: number;
  let template: { path: string; size: number } | undefined;
  if (source) sizeKiB = convertSize(source.size, 0, 1);
  else if (key === 'efidisk0') {
    const efidisk: PropertyValues = Object.fromEntries(optMap);
    template = efivarsTemplate(ctx.firmware, ctx.arch, efidisk, ctx.q35, ctx.cvmType, ctx.machine);
    if (!template) throw new CvmError('FIRMWARE_MISSING', `${key}: the selected firmware has no EFI vars template`);
    sizeKiB = convertSize(template.size, 0, 1);
  } else if (key === 'tpmstate0') sizeKiB = convertSize(TPMSTATE_DISK_SIZE, 0, 1);
  else sizeKiB = convertSize(Number(m[3]), 3, 1);

  const block = BLOCK_STORAGE_TYPES.has(def.type);
  const { volid, path } = await allocateVolume(
    { storage: ctx.storage, storeid, vmid, format: fmt, sizeKiB, ...(ctx.run ? { run: ctx.run } : {}) },
    undo,
  );
  let sizeBytes = sizeKiB * 1024;
  if (source) {
    if (fromVolume) log(`allocated target volume '${volid}'`);
    await qemuImgConvert({ src: source.path, srcFormat: source.format, dst: path, dstFormat: fmt, size: source.size, log });
    sizeBytes = source.size;
  } else if (template) {
    await qemuImg(['convert', '-n', '-f', 'raw', '-O', fmt, template.path, path], `unable to copy EFI vars template '${template.path}'`);
    // a block device's stat size says nothing; the LV/zvol holds the template's bytes
    sizeBytes = block ? template.size : await volumeVirtualSize(path, fmt);
  }
  optMap.delete('format');
  optMap.delete('size');
  optMap.set('size', formatSize(sizeBytes));
  const rest = [...optMap.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  return [volid, ...rest].join(',');
}

async function volumeVirtualSize(path: string, fmt: string): Promise<number> {
  if (fmt === 'raw') return (await stat(path)).size;
  try {
    const { stdout } = await run('qemu-img', ['info', '--output=json', '-f', fmt, path]);
    return Number((JSON.parse(stdout) as { 'virtual-size': number })['virtual-size']);
  } catch (err) {
    throw new CvmError('STORAGE', `unable to read size of '${path}' - ${(err as Error).message}`);
  }
}

/** Load the storage/firmware facts for a root (local profile), only when something needs allocating. */
async function allocContextFor(root: string, conf: ConfigSection): Promise<AllocContext> {
  const { loadLocalStorage } = await import('../host/local/probe.js');
  const { discoverFirmwareDescriptors } = await import('../firmware/index.js');
  return { storage: await loadLocalStorage(root), firmware: await discoverFirmwareDescriptors(), ...allocFactsFromConf(conf) };
}

export async function allocateDriveVolumes(args: {
  root: string;
  vmid: number;
  conf: ConfigSection;
  keys: string[];
  /** Facts to use instead of the root's storage.cfg and the host's firmware (tests). */
  context?: AllocContext;
  /** Progress lines of imports (default: stderr). */
  log?: (line: string) => void;
  /** Called after each drive got its volume, with the new drive value (qm prints `<key>: successfully created disk '<value>'`). */
  created?: (key: string, value: string) => void;
  /** The drive of its owner VM an `import-from` volume is attached to (named in clone_disk's line). */
  sourceDriveName?: SourceDriveName;
}): Promise<ConfigSection> {
  const todo = args.keys.filter((k) => {
    const v = args.conf[k];
    return v !== undefined && (NEW_DISK_RE.test(splitDrive(v).file) || CLOUDINIT_ALLOC_RE.test(splitDrive(v).file));
  });
  if (todo.length === 0) return args.conf;
  const ctx = args.context ?? (await allocContextFor(args.root, args.conf));
  const out: ConfigSection = { ...args.conf };
  const undo: UndoList = [];
  try {
    for (const key of todo) {
      const value = await allocateOne(
        ctx,
        args.vmid,
        key,
        args.conf[key] as string,
        undo,
        args.log ?? ((l) => process.stderr.write(`${l}\n`)),
        args.sourceDriveName,
      );
      if (value !== undefined) {
        out[key] = value;
        args.created?.(key, value);
      }
    }
  } catch (err) {
    await runUndo(undo);
    throw err;
  }
  return out;
}

/**
 * The volume checks qemu-server's create/update API runs on drive values that name an existing
 * volume (`$check_drive_param` / `$check_storage_access`): the storage must exist, the volume
 * name must parse for its plugin, only `images` and `iso` volumes can be drives, and an iso
 * needs `media=cdrom`. Paths, `none`, `cdrom`, cloud-init and `STORAGE:SIZE` allocations pass.
 * Each failure is a PARAM_INVALID naming the key and the value.
 */
export async function checkDriveVolumes(args: {
  root: string;
  conf: ConfigSection;
  keys: string[];
  /** Storage to use instead of the root's storage.cfg (tests). */
  storage?: StorageConfig;
}): Promise<void> {
  const todo: [string, string, string, Map<string, string>][] = [];
  const allocs: [string, string, string][] = [];
  for (const key of args.keys) {
    const value = args.conf[key];
    if (value === undefined) continue;
    const { file, opts } = splitDrive(value);
    const alloc = NEW_DISK_RE.exec(file);
    if (alloc && Number(alloc[3]) > MAX_ALLOC_GIB) {
      // qemu-img's limit is 2^63 - 1 bytes; say so before anything is created
      throw new CvmError(
        'PARAM_INVALID',
        `${key}: invalid value '${value}' - size ${alloc[3]} GiB is too large (allowed: at most ${MAX_ALLOC_GIB} GiB)`,
        {
          details: { key, value },
        },
      );
    }
    const importFrom = opts.find(([k]) => k === 'import-from');
    if (importFrom) {
      const reject = (reason: string): never => {
        throw new CvmError('PARAM_INVALID', `${key}: ${reason}`, { details: { key, value } });
      };
      if (!alloc || Number(alloc[3]) !== 0) reject("'import-from' requires special syntax - use <storage ID>:0,import-from=<source>");
      const has = (k: string) => opts.some(([o]) => o === k);
      if (key === 'efidisk0')
        for (const required of ['efitype', 'pre-enrolled-keys'])
          if (!has(required)) reject(`need to specify '${required}' when using 'import-from'`);
      if (key === 'tpmstate0' && !has('version')) reject("need to specify 'version' when using 'import-from'");
    }
    if (alloc) {
      // the storage of a new disk is checked here too, so the error names the key before anything is locked
      if (alloc[2] !== undefined) allocs.push([key, value, alloc[2]]);
      continue;
    }
    if (file === '' || file === 'none' || file === 'cdrom') continue;
    const id = parseVolumeId(file);
    if (!id) continue;
    if (id.volname === 'cloudinit') {
      allocs.push([key, value, id.storeid]);
      continue;
    }
    todo.push([key, value, file, new Map(opts)]);
  }
  if (todo.length === 0 && allocs.length === 0) return;
  const storage = args.storage ?? (await (await import('../host/local/probe.js')).loadLocalStorage(args.root));
  const rejecter =
    (key: string, value: string) =>
    (reason: string): never => {
      throw new CvmError('PARAM_INVALID', `${key}: invalid value '${value}' - ${reason}`, { details: { key, value } });
    };
  for (const [key, value, storeid] of allocs) {
    try {
      storageDef(storage, storeid);
    } catch (err) {
      rejecter(key, value)((err as Error).message.trim());
    }
  }
  for (const [key, value, file, opts] of todo) {
    const reject = rejecter(key, value);
    let vtype: string;
    try {
      storageConfig(storage, (parseVolumeId(file) as { storeid: string }).storeid);
      vtype = parseVolname(storage, file).vtype;
    } catch (err) {
      return reject((err as Error).message.trim());
    }
    if (vtype === 'iso' && opts.get('media') !== 'cdrom' && !/^unused\d+$/.test(key)) {
      reject("explicit 'media=cdrom' is required for iso images");
    }
    if (vtype !== 'images' && vtype !== 'iso') reject("content type needs to be 'images' or 'iso'");
  }
}

const DRIVE_KEY_RE = /^(ide|sata|scsi|virtio|unused)\d+$|^(efidisk0|tpmstate0)$/;

/** Remove exactly the VM-owned file volumes the drive values of `conf` name; returns their image dirs. */
async function removeNamedVolumes(storage: StorageConfig, vmid: number, conf: ConfigSection, run?: CommandRunner): Promise<Set<string>> {
  const dirs = new Set<string>();
  for (const [key, value] of Object.entries(conf)) {
    if (!DRIVE_KEY_RE.test(key)) continue;
    const file = splitDrive(value).file;
    const block = /^([^/:\s]+):((?:vm|base)-(\d+)-[^/\s]+)$/.exec(file);
    const blockDef = block && Object.hasOwn(storage, block[1] as string) ? storage[block[1] as string] : undefined;
    if (block && blockDef && BLOCK_STORAGE_TYPES.has(blockDef.type) && Number(block[3]) === vmid) {
      await freeBlockVolume(blockDef, block[1] as string, block[2] as string, run);
      continue;
    }
    const m = /^([^/:\s]+):(\d+)\/([^/]+)$/.exec(file);
    if (!m || Number(m[2]) !== vmid) continue;
    const def = Object.hasOwn(storage, m[1] as string) ? storage[m[1] as string] : undefined;
    if (!def?.path || !FILE_STORAGE_TYPES.has(def.type)) continue;
    const dir = join(def.path, 'images', String(vmid));
    await rm(join(dir, m[3] as string), { force: true });
    dirs.add(dir);
  }
  return dirs;
}

/**
 * Free the volumes named in `conf` and nothing else (`set --delete unusedN`, `--force`, undoing
 * a failed allocation). Unlike `destroyVolumes`, other images of the VM stay: they may still be
 * in use by its other drives.
 */
export async function freeVolumes(args: { root: string; vmid: number; conf: ConfigSection; context?: AllocContext }): Promise<void> {
  const storage = args.context?.storage ?? (await (await import('../host/local/probe.js')).loadLocalStorage(args.root));
  await removeNamedVolumes(storage, args.vmid, args.conf, args.context?.run);
}

/** destroy_vm: free the VM's volumes, then every image it owns on file storages, referenced or not. */
export async function destroyVolumes(args: { root: string; vmid: number; conf: ConfigSection; context?: AllocContext }): Promise<void> {
  const storage = args.context?.storage ?? (await (await import('../host/local/probe.js')).loadLocalStorage(args.root));
  const dirs = await removeNamedVolumes(storage, args.vmid, args.conf, args.context?.run);
  // like destroy_vm: every image the VM owns on file storages goes, referenced or not
  for (const def of Object.values(storage)) {
    if (def.path && FILE_STORAGE_TYPES.has(def.type) && def.content.includes('images'))
      dirs.add(join(def.path, 'images', String(args.vmid)));
  }
  const owned = new RegExp(`^(vm|base)-${args.vmid}-(disk-\\d+|cloudinit)`);
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) if (owned.test(n)) await rm(join(dir, n), { force: true });
    await rmdir(dir).catch(() => undefined);
  }
}

/**
 * vdisk_alloc with a given name on a file storage (the vmstate volume of a snapshot with RAM:
 * `vm-<vmid>-state-<snap>.raw`). Returns the volume id. Fails if the name is taken.
 */
export async function allocateNamedVolume(args: {
  storage: StorageConfig;
  storeid: string;
  vmid: number;
  name: string;
  sizeKiB: number;
}): Promise<string> {
  const def = storageDef(args.storage, args.storeid);
  if (!def.path)
    throw new CvmError(
      'STORAGE',
      `storage '${args.storeid}': a '${args.name}' volume on '${def.type}' storage is not supported by cvmctl (file storages only)`,
    );
  const imageDir = join(def.path, 'images', String(args.vmid));
  await makeDirs(imageDir);
  const path = join(imageDir, args.name);
  const taken = await stat(path).then(
    () => true,
    () => false,
  );
  if (taken) throw new CvmError('STORAGE', `unable to create image: volume '${args.storeid}:${args.vmid}/${args.name}' already exists`);
  const fmt = /\.(\w+)$/.exec(args.name)?.[1] ?? 'raw';
  if (!['raw', 'qcow2', 'vmdk'].includes(fmt)) throw new CvmError('STORAGE', `unsupported format '${fmt}' for storage '${args.storeid}'`);
  await qemuImg(['create', '-f', fmt, path, `${args.sizeKiB}K`], 'unable to create image');
  return `${args.storeid}:${args.vmid}/${args.name}`;
}

/** vdisk_free for VM-owned file volumes given by id (a snapshot's vmstate volume). */
export async function freeVolumeIds(args: { storage: StorageConfig; vmid: number; volids: string[] }): Promise<void> {
  const conf: ConfigSection = {};
  args.volids.forEach((v, i) => {
    conf[`unused${i}`] = v;
  });
  await removeNamedVolumes(args.storage, args.vmid, conf);
}
