/**
 * @module qemu/cfg2cmd/drives
 * The drive part of config_to_command (spec §7.1, `$devices` item 18 and `$cmd` item 24): for
 * every volume in valid_drive_names order (efidisk/tpmstate excluded) the SCSI or AHCI
 * controller on first use, the `-blockdev` chain (machine ≥ 10.0) or legacy `-drive`, and the
 * guest `-device`; iothread and throttle-group objects go to `$cmd`.
 *
 * Interface for the orchestrator (generate.ts), all pure:
 *   emitDrives(ctx: Cfg2CmdContext, devices: string[], cmd: string[]): void
 *   parseDriveValue(key: string, value: string): DriveLike | undefined
 *   checkDriveVolumes(ctx: Pick<Cfg2CmdContext, 'host'>, conf: ConfigSection): void
 *       vm_commandline's get_current_vm_volumes check (`storage 'x' does not support content-type 'images'`),
 *       to be called before generation on the unminimised config (drives + vmstate).
 *   blockdevChain(ctx, driveId, drive, opts): Blockdev                 (./blockdev.js)
 *   throttleGroupObject(driveId, drive): Blockdev                      (./blockdev.js)
 *   efidiskBlockdev(ctx, drive | undefined, { varsSize, readOnly, tempPath }): { throttleGroup, blockdev }
 *   legacyEfidiskDrive(ctx, drive | undefined, { varsSize, sizeGuard, readOnly, tempPath }): string  (./drives-legacy.js)
 *   canonicalJson(value): string, nodeName(type, driveId, volid, snap?)  (./blockdev-json.js)
 *   emitNetworks(ctx, devices): void                                     (./net.js)
 *   emitHostpci(ctx, devices, vga?): HostpciResult                       (./hostpci.js)
 *   pciAddr(ctx, id), printPcieAddr(id), emitPciBridges(ctx, devices, scsihw, legacyIgd)  (./pci.js)
 *   deviceBootorder(conf): BootOrder                                     (./bootorder.js)
 */

import { allDriveFormat } from '../../config/options/drives.js';
import type { ConfigSection } from '../../config/types.js';
import { readPropertyString } from '../../schema/reader.js';
import { checkedVolumeFormat, checkVolumeStorageType, parseVolumeId } from '../../storage/volume.js';
import { type Blockdev, blockdevChain, throttleGroupObject } from './blockdev.js';
import { canonicalJson } from './blockdev-json.js';
import type { Cfg2CmdContext } from './context.js';
import { configDriveNames } from './drive-names.js';
import { type DriveLike, driveId, generateError, str, truthy } from './drives-common.js';
import { MAX_SATA_DISKS, printDriveDevice, scsihwInfos } from './drives-device.js';
import { printDriveCommandline } from './drives-legacy.js';
import { pciAddr } from './pci.js';

export { blockdevChain, throttleGroupObject } from './blockdev.js';
export type { DriveLike } from './drives-common.js';
export { printDriveDevice, scsihwInfos } from './drives-device.js';
export { legacyEfidiskDrive, printDriveCommandline } from './drives-legacy.js';


/**
 * parse_drive for the generator: `<interface><index>` from the key, the default key `file`
 * (alias `volume`), and legacy `bps*` turned into `mbps*` with qemu-server's quirk (see below).
 * Values were validated by the config parser already.
 *
 * One generation parses every drive three or four times (boot order, volume check, drive
 * loop, firmware), so results are remembered per key and value; callers add keys such as
 * `bootindex`, so each gets its own shallow copy (values are strings and numbers only).
 */
export function parseDriveValue(key: string, value: string): DriveLike | undefined {
  // keyed by the config's own strings (their hashes are kept), not by a joined new string
  let byValue = parsedDrives.get(key);
  if (byValue === undefined) {
    if (parsedDrives.size >= PARSED_DRIVES_LIMIT) parsedDrives.clear();
    byValue = new Map();
    parsedDrives.set(key, byValue);
  }
  let drive = byValue.get(value);
  if (drive === undefined) {
    drive = parseDriveUncached(key, value) ?? null;
    if (byValue.size >= PARSED_DRIVES_LIMIT) byValue.clear();
    byValue.set(value, drive);
  }
  // Object.assign, not a spread: keys added to spread copies are slow on Node 20 (see blockdev.ts)
  return drive === null ? undefined : Object.assign({}, drive);
}

/**
 * Per drive key (at most the 59 drive names plus unused), bounded so a long-lived process that
 * generates for many VMs does not grow without limit.
 */
const PARSED_DRIVES_LIMIT = 256;
const parsedDrives = new Map<string, Map<string, DriveLike | null>>();

function parseDriveUncached(key: string, value: string): DriveLike | undefined {
  const m = /^([^\d]+)(\d+)$/.exec(key);
  if (!m) return undefined;
  // the schema's reader: default key `file` (alias `volume`), aliases, booleans as '0'/'1'
  const drive: Record<string, unknown> = Object.assign(readPropertyString(allDriveFormat, value), {
    interface: m[1],
    index: Number(m[2]),
  });
  for (const opt of ['bps', 'bps_rd', 'bps_wr']) {
    if (drive[opt] !== undefined) {
      // parse_drive converts `defined(delete $res->{bps})`, i.e. 1, not the value: any legacy
      // bps* becomes mbps*=0.000 (a truthy string, so a 0 limit is emitted). Same as
      // config/drive.ts, so the config layer and the generator read a drive alike.
      drive[`m${opt}`] = (1 / (1024 * 1024)).toFixed(3);
      delete drive[opt];
    }
  }
  if (typeof drive['file'] !== 'string') return undefined;
  return drive as unknown as DriveLike;
}

/** get_current_vm_volumes + check_volume_storage_type (drives incl. efidisk/tpmstate, then vmstate). */
export function checkDriveVolumes(ctx: Pick<Cfg2CmdContext, 'host'>, conf: ConfigSection): void {
  const volumes: string[] = [];
  for (const key of configDriveNames(conf)) {
    const value = conf[key] as string;
    const drive = parseDriveValue(key, value);
    if (drive) volumes.push(drive.file);
  }
  if (conf['vmstate'] !== undefined) volumes.push(conf['vmstate']);
  for (const volid of volumes) {
    if (parseVolumeId(volid)) checkVolumeStorageType(ctx.host.storage, volid);
  }
}

/** The effective SCSI controller type (`scsihw` or the schema default `lsi`). */
export function effectiveScsihw(conf: ConfigSection): string {
  return conf['scsihw'] ?? 'lsi';
}

/** The drive loop of config_to_command. */
export function emitDrives(ctx: Cfg2CmdContext, devices: string[], cmd: string[]): void {
  const conf = ctx.conf;
  const scsihw = effectiveScsihw(conf);
  const scsiControllers = new Set<number>();
  const ahciControllers = new Set<number>();
  const blockdevMode = ctx.minVersion(10, 0);

  for (const key of configDriveNames(conf)) {
    const value = conf[key] as string;
    const drive = parseDriveValue(key, value);
    if (!drive) continue;
    // efidisk comes with the firmware, the TPM state with swtpm
    if (drive.interface === 'efidisk' || drive.interface === 'tpmstate') continue;
    const id = driveId(drive);
    if (key.startsWith('virtio')) ctx.useVirtio = true;
    const bootindex = ctx.bootOrder[key];
    if (bootindex) drive.bootindex = bootindex;

    if (drive.interface === 'virtio' && truthy(drive.iothread)) cmd.push('-object', `iothread,id=iothread-${key}`);

    if (drive.interface === 'scsi') {
      const index = Number(drive.index);
      const { controller, prefix } = scsihwInfos(conf['scsihw'], index);
      if (index > 13 && !ctx.versionGuard(4, 1, 2)) {
        generateError(`scsi${index}: machine version 4.1~pve2 or higher is required to use more than 14 SCSI disks`);
      }
      const addr = pciAddr(ctx, `${prefix}${controller}`);
      const type = scsihw.startsWith('virtio-scsi-single') ? 'virtio-scsi-pci' : scsihw;
      let iothread = '';
      if (conf['scsihw'] === 'virtio-scsi-single' && truthy(drive.iothread)) {
        iothread = `,iothread=iothread-${prefix}${controller}`;
        cmd.push('-object', `iothread,id=iothread-${prefix}${controller}`);
      } else if (truthy(drive.iothread)) {
        ctx.warnings.push('iothread is only valid with virtio disk or virtio-scsi-single controller, ignoring');
      }
      const queues = conf['scsihw'] === 'virtio-scsi-single' && truthy(drive.queues) ? `,num_queues=${str(drive.queues)}` : '';
      if (!scsiControllers.has(controller)) devices.push('-device', `${type},id=${prefix}${controller}${addr}${iothread}${queues}`);
      scsiControllers.add(controller);
    }

    if (drive.interface === 'sata') {
      const controller = Math.trunc(Number(drive.index) / MAX_SATA_DISKS);
      const addr = pciAddr(ctx, `ahci${controller}`);
      if (!ahciControllers.has(controller)) devices.push('-device', `ahci,id=ahci${controller},multifunction=on${addr}`);
      ahciControllers.add(controller);
    }

    if (blockdevMode) {
      if (drive.file !== 'none') {
        cmd.push('-object', canonicalJson(throttleGroupObject(id, drive)));
        const blockdev = blockdevChain(ctx, id, drive, ctx.isTemplate ? { readOnly: true } : {});
        devices.push('-blockdev', canonicalJson(blockdev));
      }
    } else {
      let driveCmd = printDriveCommandline(ctx, drive);
      if (ctx.isTemplate && drive.interface !== 'ide' && drive.interface !== 'sata') driveCmd += ',readonly=on';
      devices.push('-drive', driveCmd);
    }
    devices.push('-device', printDriveDevice(ctx, drive));
  }
}

/**
 * The OVMF vars chain for blockdev mode (OVMF.pm generate_ovmf_blockdev, spec §4.3 B1): the
 * efidisk (or the temporary efivars copy at `tempPath` when there is none) with cache forced to
 * writeback when unset, `size` on a raw format node and read-only nodes for templates.
 * Dies `efidisk format must be specified` for a path efidisk without `format`.
 */
export function efidiskBlockdev(
  ctx: Cfg2CmdContext,
  drive: DriveLike | undefined,
  opts: { varsSize: number; readOnly?: boolean; tempPath: string },
): { throttleGroup: Blockdev; blockdev: Blockdev } {
  let format: string;
  let efi: DriveLike;
  if (drive) {
    efi = Object.assign({}, drive); // not a spread: `cache` may be added below (see blockdev.ts)
    const isVolume = parseVolumeId(drive.file) !== undefined;
    const explicit = str(drive.format);
    if (isVolume) format = explicit ?? checkedVolumeFormat(ctx.host.storage, drive.file);
    else if (explicit === undefined) return generateError('efidisk format must be specified');
    else format = explicit;
  } else {
    efi = { file: opts.tempPath, interface: 'efidisk', index: 0 };
    format = 'raw';
  }
  // -drive used QEMU's writeback default for EFI vars; keep it (bug #3329)
  if (!truthy(efi.cache)) efi.cache = 'writeback';
  const chainOpts: { readOnly?: boolean; size?: number } = {};
  if (opts.readOnly) chainOpts.readOnly = true;
  if (format === 'raw') chainOpts.size = opts.varsSize;
  const id = driveId(efi);
  return {
    throttleGroup: throttleGroupObject(id, efi),
    blockdev: blockdevChain(ctx, id, efi, chainOpts),
  };
}
