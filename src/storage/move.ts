/**
 * @module storage/move
 * `cvmctl disk move VMID DISK STORAGE [--format F] [--delete]` = qemu-server's move_disk for a
 * stopped VM: the checks and texts of `$load_and_check_move` (lock, digest, disk exists and
 * has a volume, not a CD-ROM, not the same storage and format, target takes images, a disk
 * with snapshots cannot be moved with --delete), a new volume on the target (format: --format,
 * else the source's, as the dir plugin allows raw/qcow2/vmdk) of the source's size, the data
 * copied with `qemu-img convert` and its progress lines, the drive switched to the new volume
 * and the old one kept as `unusedN` (or freed with --delete, after the config is written). A
 * failed copy frees the new volume. A running VM is refused: moving it needs drive-mirror.
 */

import { driveIsCdrom, parseDrive, printDrive } from '../config/drive.js';
import { CvmError } from '../errors.js';
import { type LifecycleContext, pathsFor } from '../run/context.js';
import { assertNotLocked } from '../run/lock.js';
import { runningPid } from '../run/runtime-files.js';
import { DIGEST_MISMATCH_MESSAGE } from '../store/fs-store.js';
import { openConfigStore } from '../store/open.js';
import { addUnusedVolume } from '../store/vm-pending.js';
import { allocateVolume, freeVolumeIds, runUndo, type UndoList } from './alloc.js';
import { qemuImgConvert } from './convert.js';
import { volumeFile, volumeSize } from './resize.js';
import { parseVolumeId, parseVolname, storageConfig } from './volume.js';

export interface DiskMoveOptions {
  format?: string;
  /** Free the source volume after a successful copy (default: keep it as unusedN). */
  delete?: boolean;
  digest?: string;
  log?: (line: string) => void;
}

export async function diskMove(
  ctx: LifecycleContext,
  vmid: number,
  disk: string,
  storeid: string,
  opts: DiskMoveOptions = {},
): Promise<{ volid: string }> {
  const log = opts.log ?? (() => {});
  const storage = ctx.facts.storage;
  const store = openConfigStore(ctx.root, ctx.warn ? { warn: ctx.warn } : {});
  let oldVolid = '';
  let newVolid = '';
  const undo: UndoList = [];
  try {
    await store.update(vmid, async (cfg) => {
      const conf = cfg.conf;
      assertNotLocked(conf);
      if (opts.digest && opts.digest !== cfg.digest) throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
      const value = conf[disk];
      if (!value) throw new CvmError('PARAM_INVALID', `disk '${disk}' does not exist`);
      const drive = parseDrive(disk, value);
      if (!drive.file) throw new CvmError('PARAM_INVALID', `disk '${disk}' has no associated volume`);
      if (driveIsCdrom(drive, true)) throw new CvmError('PARAM_INVALID', "you can't move a cdrom");
      oldVolid = drive.file;
      const oldStore = parseVolumeId(oldVolid)?.storeid;
      const oldFormat = oldStore ? parseVolname(storage, oldVolid).format : undefined;
      if (oldStore === storeid && (!opts.format || !oldFormat || oldFormat === opts.format)) {
        throw new CvmError('PARAM_INVALID', "you can't move to the same storage with same format");
      }
      const target = storageConfig(storage, storeid);
      if (!target.content.includes('images'))
        throw new CvmError('PARAM_INVALID', `storage: storage '${storeid}' does not support vm images`);
      const snapshotted = Object.values(cfg.snapshots).some(
        (snap) => snap[disk] !== undefined && /^(?:(?:file|volume)=)?([^,]+)/.exec(snap[disk] as string)?.[1] === oldVolid,
      );
      if (snapshotted && opts.delete) throw new CvmError('PARAM_INVALID', "you can't move a disk with snapshots and delete the source");
      if (await runningPid(pathsFor(ctx, vmid))) {
        throw new CvmError(
          'VM_RUNNING',
          `disk move: VM ${vmid} is running - moving the disk of a running VM (drive-mirror) is not supported by cvmctl; stop the VM first`,
        );
      }

      log(`copying volume '${oldVolid}' from current storage '${oldStore ?? ''}' to target storage '${storeid}'`);
      if (snapshotted)
        (ctx.warn ?? ((m: string) => process.stderr.write(`WARN: ${m}\n`)))('moving disk with snapshots, snapshots will not be moved!');
      const src = volumeFile(storage, oldVolid);
      const size = await volumeSize(src.path, src.format);
      const format = opts.format ?? (['raw', 'qcow2', 'vmdk'].includes(src.format) ? src.format : 'raw');
      try {
        const dst = await allocateVolume({ storage, storeid, vmid, format, sizeKiB: Math.ceil(size / 1024) }, undo);
        newVolid = dst.volid;
        await qemuImgConvert({ src: src.path, srcFormat: src.format, dst: dst.path, dstFormat: format, size, log });
      } catch (err) {
        await runUndo(undo);
        throw new CvmError('STORAGE', `storage migration failed: ${(err as Error).message}`, { cause: err });
      }
      drive.file = newVolid;
      drive.size = size;
      delete drive.format;
      conf[disk] = printDrive(drive);
      if (!opts.delete) {
        const key = addUnusedVolume(conf, oldVolid);
        log(`adding source volume '${oldVolid}' as '${key}' to config`);
      }
      return cfg;
    });
  } catch (err) {
    // the copy is of no use if the config does not point to it
    await runUndo(undo);
    throw err;
  }
  if (opts.delete) {
    log(`removing source volume '${oldVolid}' after successful copy`);
    try {
      await freeVolumeIds({ storage, vmid, volids: [oldVolid] });
    } catch (err) {
      (ctx.warn ?? ((m: string) => process.stderr.write(`WARN: ${m}\n`)))((err as Error).message);
    }
  }
  return { volid: newVolid };
}
