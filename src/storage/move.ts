/**
 * @module storage/move
 * `cvmctl disk move VMID DISK STORAGE [--format F] [--delete] [--bwlimit KiB/s]` = qemu-server's
 * move_disk: the checks and texts of `$load_and_check_move` (lock, digest, disk exists and
 * has a volume, not a CD-ROM, not the same storage and format, target takes images, a disk
 * with snapshots cannot be moved with --delete), then clone_disk's full clone: a new volume on
 * the target (format: --format, else the source's, if the target takes it, else its default) of
 * the source's size, the data copied — a stopped VM's with `qemu-img convert` and its progress
 * lines, a running VM's with a QEMU mirror job that ends by switching the VM to the new volume
 * (storage/mirror; a TPM state cannot move while the VM runs) — and the drive switched to the
 * new volume, the old one kept as `unusedN` (or freed with --delete, after the config is
 * written). A failed copy frees the new volume and leaves the config as it was.
 */

import { agentSocketPath, qgaCheckRunning, qgaCommand, qgaKey } from '../agent/index.js';
import { type Drive, driveIsCdrom, driveIsCloudinit, parseDrive, printDrive } from '../config/drive.js';
import type { VmConfig } from '../config/types.js';
import { CvmError } from '../errors.js';
import { type LifecycleContext, pathsFor, warnFn } from '../run/context.js';
import { assertNotLocked } from '../run/lock.js';
import { propBool } from '../qemu/cfg2cmd/props.js';
import { perCommandQmp } from '../qemu/qmp/index.js';
import { runningPid } from '../run/runtime-files.js';
import { DIGEST_MISMATCH_MESSAGE } from '../store/fs-store.js';
import { openConfigStore } from '../store/open.js';
import { addUnusedVolume } from '../store/vm-pending.js';
import { bandwidthLimit, type MayOverride } from './bwlimit.js';
import { resolveFormatHint } from './formats.js';
import { allocateCloudinitVolume, allocateVolume, CLOUDINIT_DISK_KIB, freeVolumeIds, runUndo, type UndoList } from './alloc.js';
import { qemuImgConvert } from './convert.js';
import { checkMirrorIoUring, driveUsesBlockdev, mirrorDrive } from './mirror.js';
import { volumeFile, volumeSize } from './resize.js';
import type { StorageConfig } from './types.js';
import { parseVolumeId, parseVolname, storageConfig } from './volume.js';

export interface DiskMoveOptions {
  format?: string;
  /** Free the source volume after a successful copy (default: keep it as unusedN). */
  delete?: boolean;
  digest?: string;
  /**
   * Requested I/O bandwidth limit in KiB/s for the copy (qemu-img `-r`, the mirror job's speed;
   * 0: unlimited). Storage limits (`bwlimit move=…` in storage.cfg) apply unless the caller may
   * override them (storage/bwlimit).
   */
  bwlimit?: number;
  /** Whether the caller may override the storage limits of an ACL path (default: yes, the CLI runs as root). */
  mayOverrideBwlimit?: MayOverride;
  log?: (line: string) => void;
  /** Poll interval of the mirror job (qemu-server: 1 s). */
  pollMs?: number;
  /** Aborted (a signal to the CLI, a stopped API task): the copy stops and is cleaned up like a failed one. */
  signal?: AbortSignal;
}

/**
 * $load_and_check_move: the refusals of a move, checked on the config (the API runs them once
 * before its task starts, as qemu-server does before forking, and again under the lock).
 */
export function checkMove(
  storage: StorageConfig,
  cfg: VmConfig,
  disk: string,
  storeid: string,
  opts: Pick<DiskMoveOptions, 'digest' | 'format' | 'delete'>,
): { drive: Drive; oldStore: string | undefined; snapshotted: boolean } {
  const conf = cfg.conf;
  assertNotLocked(conf);
  if (opts.digest && opts.digest !== cfg.digest) throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
  const value = conf[disk];
  if (!value) throw new CvmError('PARAM_INVALID', `disk '${disk}' does not exist`);
  const drive = parseDrive(disk, value);
  if (!drive.file) throw new CvmError('PARAM_INVALID', `disk '${disk}' has no associated volume`);
  if (driveIsCdrom(drive, true)) throw new CvmError('PARAM_INVALID', "you can't move a cdrom");
  const oldVolid = drive.file;
  const oldStore = parseVolumeId(oldVolid)?.storeid;
  const oldFormat = oldStore ? parseVolname(storage, oldVolid).format : undefined;
  if (oldStore === storeid && (!opts.format || !oldFormat || oldFormat === opts.format)) {
    throw new CvmError('PARAM_INVALID', "you can't move to the same storage with same format");
  }
  const target = storageConfig(storage, storeid);
  if (!target.content.includes('images')) throw new CvmError('PARAM_INVALID', `storage: storage '${storeid}' does not support vm images`);
  const snapshotted = Object.values(cfg.snapshots).some(
    (snap) => snap[disk] !== undefined && /^(?:(?:file|volume)=)?([^,]+)/.exec(snap[disk] as string)?.[1] === oldVolid,
  );
  if (snapshotted && opts.delete) throw new CvmError('PARAM_INVALID', "you can't move a disk with snapshots and delete the source");
  return { drive, oldStore, snapshotted };
}

export async function diskMove(
  ctx: LifecycleContext,
  vmid: number,
  disk: string,
  storeid: string,
  opts: DiskMoveOptions = {},
): Promise<{ volid: string }> {
  const log = opts.log ?? (() => {});
  const warn = warnFn(ctx);
  const storage = ctx.facts.storage;
  const store = openConfigStore(ctx.root, ctx.warn ? { warn: ctx.warn } : {});
  let oldVolid = '';
  let newVolid = '';
  let trim = false;
  const undo: UndoList = [];
  try {
    await store.update(vmid, async (cfg) => {
      const conf = cfg.conf;
      const { drive, oldStore, snapshotted } = checkMove(storage, cfg, disk, storeid, opts);
      const value = conf[disk] as string;
      oldVolid = drive.file as string;
      const running = Boolean(await runningPid(pathsFor(ctx, vmid)));
      trim = running && propBool(qgaKey(conf.agent, 'fstrim_cloned_disks')) === true;

      log(`copying volume '${oldVolid}' from current storage '${oldStore ?? ''}' to target storage '${storeid}'`);
      try {
        if (snapshotted) warn('moving disk with snapshots, snapshots will not be moved!');
        if (running && disk === 'tpmstate0') throw new CvmError('VM_RUNNING', 'cannot move TPM state while VM is running');
        const bwlimit = await bandwidthLimit(storage, 'move', [oldStore, storeid], opts.bwlimit, opts.mayOverrideBwlimit ?? (() => true));
        const copy = await cloneDisk(ctx, { vmid, disk, value, storeid, running, undo, log, warn, bwlimit }, opts);
        newVolid = copy.volid;
        drive.size = copy.size;
      } catch (err) {
        await runUndo(undo);
        const code = (err as CvmError).code === 'VM_RUNNING' ? 'VM_RUNNING' : 'STORAGE';
        throw new CvmError(code, `storage migration failed: ${(err as Error).message}`, { cause: err });
      }
      drive.file = newVolid;
      delete drive.format;
      conf[disk] = printDrive(drive);
      if (!opts.delete) {
        const key = addUnusedVolume(conf, oldVolid);
        if (key === undefined && driveIsCloudinit({ file: oldVolid })) {
          // QemuConfig's add_unused_volume: an old cloud-init image is not kept but freed
          log(`found unused cloudinit disk '${oldVolid}', removing it`);
          await freeVolumeIds({ storage, vmid, volids: [oldVolid] }).catch((err: Error) => warn(err.message));
        }
        // (qemu-server prints an empty key when nothing was added)
        log(`adding source volume '${oldVolid}' as '${key ?? ''}' to config`);
      }
      return cfg;
    });
  } catch (err) {
    // the copy is of no use if the config does not point to it
    await runUndo(undo);
    throw err;
  }
  // the mirror wrote every block of the disk: let the guest discard what its file systems do not use
  if (trim && (await qgaCheckRunning(ctx, vmid, warn))) {
    await qgaCommand(agentSocketPath(ctx, vmid), vmid, 'guest-fstrim').catch(() => undefined);
  }
  if (opts.delete) {
    log(`removing source volume '${oldVolid}' after successful copy`);
    try {
      await freeVolumeIds({ storage, vmid, volids: [oldVolid] });
    } catch (err) {
      warn((err as Error).message);
    }
  }
  return { volid: newVolid };
}

const bwlimitOf = (args: CloneArgs) => (args.bwlimit !== undefined ? { bwlimit: args.bwlimit } : {});
const pollOf = (opts: DiskMoveOptions) => (opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {});

interface CloneArgs {
  vmid: number;
  disk: string;
  value: string;
  storeid: string;
  running: boolean;
  undo: UndoList;
  log: (line: string) => void;
  warn: (message: string) => void;
  /** The limit that applies (KiB/s), undefined: none. */
  bwlimit: number | undefined;
}

/**
 * clone_disk's full clone onto `storeid`: a new volume of the source's size, filled by qemu-img
 * (stopped VM) or a mirror job that switches the running VM to it; a cloud-init drive gets a
 * fresh `vm-<vmid>-cloudinit` and no data (its image is written again at the next start).
 */
async function cloneDisk(ctx: LifecycleContext, args: CloneArgs, opts: DiskMoveOptions): Promise<{ volid: string; size: number }> {
  const { vmid, disk, storeid, undo, log } = args;
  const storage = ctx.facts.storage;
  const drive = parseDrive(disk, args.value);
  const oldVolid = drive.file as string;
  log(`create full clone of drive ${disk} (${oldVolid})`);
  const src = volumeFile(storage, oldVolid);
  // resolve_dst_disk_format: the requested format, else the source's, if the target takes it
  const format = resolveFormatHint(storage, storeid, opts.format ?? src.format);
  if (opts.format && opts.format !== format) {
    args.warn(`format '${opts.format}' is not supported by the target storage '${storeid}' - using '${format}' instead`);
  }
  if (driveIsCloudinit(drive)) {
    const volid = await allocateCloudinitVolume({ storage, storeid, vmid, format }, undo);
    log(`allocated target volume '${volid}'`);
    return { volid, size: CLOUDINIT_DISK_KIB * 1024 };
  }
  const qmp = perCommandQmp(pathsFor(ctx, vmid).qmp, { peer: `VM ${vmid}` });
  if (args.running) checkMirrorIoUring(storage, args.value, disk, storeid, await driveUsesBlockdev(qmp, disk));
  const size = await volumeSize(src.path, src.format);
  const dst = await allocateVolume({ storage, storeid, vmid, format, sizeKiB: Math.ceil(size / 1024) }, undo);
  log(`allocated target volume '${dst.volid}'`);
  if (args.running) {
    await mirrorDrive({
      qmp,
      host: ctx.facts,
      key: disk,
      value: args.value,
      volid: dst.volid,
      log,
      warn: args.warn,
      ...bwlimitOf(args),
      ...pollOf(opts),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    // the VM writes to the new volume now: whatever fails later must not free it
    undo.length = 0;
  } else {
    await qemuImgConvert({ src: src.path, srcFormat: src.format, dst: dst.path, dstFormat: format, size, log, ...bwlimitOf(args), ...(opts.signal ? { signal: opts.signal } : {}) });
  }
  return { volid: dst.volid, size };
}
