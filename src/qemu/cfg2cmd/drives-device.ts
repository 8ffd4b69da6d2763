/**
 * @module qemu/cfg2cmd/drives-device
 * The guest-side `-device` of a drive (DriveDevice.pm print_drivedevice_full): virtio-blk-pci,
 * scsi-hd/cd/block/generic on the SCSI controller buses, ide-hd/ide-cd on IDE or AHCI, with
 * bootindex, serial, wwn, model, rotation rate, write-cache and error policies, plus
 * scsihw_infos (which controller and unit a SCSI disk lands on).
 */

import { volumePath } from '../../storage/path.js';
import type { Cfg2CmdContext } from './context.js';
import { type DriveLike, driveId, driveIsCdrom, driveIsCloudinit, generateError, str, truthy } from './drives-common.js';
import { pciAddr } from './pci.js';

export const MAX_SATA_DISKS = 6;

/** scsihw_infos: devices per controller, the controller index and the controller id prefix. */
export function scsihwInfos(scsihw: string | undefined, index: number): { maxdev: number; controller: number; prefix: string } {
  let maxdev: number;
  if (!scsihw || scsihw.startsWith('lsi')) maxdev = 7;
  else if (scsihw === 'virtio-scsi-single') maxdev = 1;
  else maxdev = 256;
  return {
    maxdev,
    controller: Math.trunc(index / maxdev),
    prefix: scsihw === 'virtio-scsi-single' ? 'virtioscsi' : 'scsihw',
  };
}

/** Double commas so QEMU's option parser keeps the value whole. */
function escapeQemuValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/** URI::Escape::uri_unescape. */
function uriUnescape(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const NEW_DISK_RE = /^(([^/:\s]+):)?(\d+(\.\d+)?)$/;

/**
 * get_scsi_device_type: hd, cd, block (scsiblock on a SCSI disk) or generic (tapes, old iSCSI).
 * The SCSI inquiry of host devices comes from `host.scsiInquiry` (path → peripheral type).
 */
export function scsiDeviceType(ctx: Cfg2CmdContext, drive: DriveLike): 'hd' | 'cd' | 'block' | 'generic' {
  if (driveIsCdrom(drive) || driveIsCloudinit(drive)) return 'cd';
  let type: 'hd' | 'cd' | 'block' | 'generic' = 'hd';
  let path: string;
  if (drive.file.startsWith('/')) {
    path = drive.file;
    const inquiry = ctx.host.scsiInquiry?.[path];
    if (inquiry === 0 && truthy(drive.scsiblock)) type = 'block';
    else if (inquiry === 1) type = 'generic';
  } else if (NEW_DISK_RE.test(drive.file)) {
    return type;
  } else {
    path = volumePath(ctx.host.storage, drive.file);
  }
  if (path.startsWith('iscsi://') && !ctx.minVersion(4, 1)) type = 'generic';
  return type;
}

/** print_drivedevice_full: the `-device` value of a disk or CD-ROM. */
export function printDriveDevice(ctx: Cfg2CmdContext, drive: DriveLike): string {
  const id = driveId(drive);
  const blockdevMode = ctx.minVersion(10, 0);
  const attachDrive = !blockdevMode || drive.file !== 'none';
  const index = Number(drive.index);
  let device: string;
  let hasWriteCache = true;

  if (drive.interface === 'virtio') {
    device = 'virtio-blk-pci';
    if (attachDrive) device += `,drive=drive-${id}`;
    device += `,id=${id}${pciAddr(ctx, id)}`;
    if (truthy(drive.iothread)) device += `,iothread=iothread-${id}`;
  } else if (drive.interface === 'scsi') {
    const scsihw = str(ctx.conf['scsihw']);
    const { maxdev, controller, prefix } = scsihwInfos(scsihw, index);
    const unit = index % maxdev;
    const type = scsiDeviceType(ctx, drive);
    if (!scsihw || scsihw.startsWith('lsi') || scsihw === 'pvscsi') {
      device = `scsi-${type},bus=${prefix}${controller}.0,scsi-id=${unit}`;
    } else {
      device = `scsi-${type},bus=${prefix}${controller}.0,channel=0,scsi-id=0,lun=${index}`;
    }
    if (attachDrive) device += `,drive=drive-${id}`;
    device += `,id=${id}`;
    if (blockdevMode && (type === 'cd' || type === 'hd')) device += `,device_id=drive-${id}`;
    if (truthy(drive.ssd) && (type === 'block' || type === 'hd')) device += ',rotation_rate=1';
    if (truthy(drive.wwn)) device += `,wwn=${str(drive.wwn)}`;
    if (type === 'hd' || type === 'cd') {
      if (truthy(drive.vendor)) device += `,vendor=${str(drive.vendor)}`;
      if (truthy(drive.product)) device += `,product=${str(drive.product)}`;
      hasWriteCache = true;
    } else {
      hasWriteCache = false;
    }
  } else if (drive.interface === 'ide' || drive.interface === 'sata') {
    const maxdev = drive.interface === 'sata' ? MAX_SATA_DISKS : 2;
    let controller = Math.trunc(index / maxdev);
    let unit = index % maxdev;
    // q35 IDE has one unit per bus: odd indexes move up two buses (kept for migration compat)
    if (ctx.q35 && drive.interface === 'ide') {
      controller += 2 * (unit % 2);
      unit = 0;
    }
    let type = str(drive.media) === 'cdrom' ? 'cd' : 'hd';
    // templates never run their disks; ide-cd avoids a writable node on read-only volumes
    if (truthy(ctx.conf['template'])) type = 'cd';
    device = `ide-${type}`;
    device += drive.interface === 'ide' ? `,bus=ide.${controller},unit=${unit}` : `,bus=ahci${controller}.${unit}`;
    if (attachDrive) device += `,drive=drive-${id}`;
    device += `,id=${id}`;
    if (type === 'hd') {
      if (truthy(drive.model)) device += `,model=${escapeQemuValue(uriUnescape(String(drive.model)))}`;
      if (truthy(drive.ssd)) device += ',rotation_rate=1';
    }
    if (truthy(drive.wwn)) device += `,wwn=${str(drive.wwn)}`;
  } else if (drive.interface === 'usb') {
    return generateError('implement me');
  } else {
    return generateError('unsupported interface type');
  }

  if (truthy(drive.bootindex)) device += `,bootindex=${str(drive.bootindex)}`;
  if (truthy(drive.serial)) device += `,serial=${escapeQemuValue(uriUnescape(String(drive.serial)))}`;
  if (blockdevMode) {
    if (!driveIsCdrom(drive) && hasWriteCache) {
      const cache = str(drive.cache);
      device += `,write-cache=${cache === 'writethrough' || cache === 'directsync' ? 'off' : 'on'}`;
    }
    for (const key of ['rerror', 'werror'] as const) {
      if (drive[key] !== undefined) device += `,${key}=${str(drive[key])}`;
    }
  }
  return device;
}
