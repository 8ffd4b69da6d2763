/**
 * @module storage/resize
 * `cvmctl disk resize VMID DISK SIZE` = qemu-server's resize_vm: under the config lock, with
 * the optional digest and lock checks, the disk must exist, have a volume and not be a CD-ROM;
 * `SIZE` is absolute or `+N` (K/M/G/T, fractions allowed, bytes without unit) on top of the
 * volume's current size (`qemu-img info`); shrinking is refused, an unchanged size is a no-op.
 * A stopped VM's volume grows with `qemu-img resize`; a running VM's through QMP `block_resize`
 * on the node `query-block` shows inserted in the drive's device (its top node; size rounded up
 * to 1 KiB, as qemu-server does) -- a running VM's tpmstate0 has none and is refused with
 * qemu-server's `no block node inserted for drive 'tpmstate0'`; QEMU's refusals read as
 * qemu-server's (`VM 100 qmp command 'block_resize' failed - Cannot resize fixed-size raw disks`
 * for a raw efidisk0). The new size is recorded in the drive's `size=`.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseDrive, printDrive, driveIsCdrom } from '../config/drive.js';
import { validDriveNames } from '../config/options/drive-names.js';
import { CvmError } from '../errors.js';
import { perCommandQmp, type QmpExecutor } from '../qemu/qmp/index.js';
import { type LifecycleContext, pathsFor } from '../run/context.js';
import { assertNotLocked } from '../run/lock.js';
import { runningPid } from '../run/runtime-files.js';
import { DIGEST_MISMATCH_MESSAGE } from '../store/fs-store.js';
import { openConfigStore } from '../store/open.js';
import { volumePath } from './path.js';
import type { StorageConfig } from './types.js';
import { checkedVolumeFormat, parseVolumeId } from './volume.js';

const run = promisify(execFile);
const SIZE_RE = /^(\+)?(\d+(\.\d+)?)([KMGT])?$/;
const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export interface DiskResizeOptions {
  digest?: string;
  /** Ignore a config `lock` (qm resize --skiplock). */
  skiplock?: boolean;
  log?: (line: string) => void;
}

/** The QEMU format and path of a drive's volume (volume id or plain path). */
export function volumeFile(storage: StorageConfig, file: string): { path: string; format: string } {
  if (!parseVolumeId(file)) return { path: file, format: 'raw' };
  return { path: volumePath(storage, file), format: checkedVolumeFormat(storage, file) };
}

/** volume_size_info: the virtual size in bytes. */
export async function volumeSize(path: string, format: string): Promise<number> {
  try {
    const { stdout } = await run(process.env.CVMCTL_QEMU_IMG || 'qemu-img', ['info', '-U', '--output=json', '-f', format, path], {
      timeout: 30_000,
    });
    return Number((JSON.parse(stdout) as { 'virtual-size': number })['virtual-size']);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CvmError('STORAGE', `Could not determine current size of volume '${path}' - ${(e.stderr || e.message).trim()}`, {
      cause: err,
    });
  }
}

/** The requested size in bytes (`+` adds to `current`). */
export function newDiskSize(sizeText: string, current: number): number {
  const m = SIZE_RE.exec(sizeText);
  if (!m)
    throw new CvmError('PARAM_INVALID', `size: value does not match the regex pattern (allowed: [+]N[.N][K|M|G|T], e.g. +1G or 10G)`, {
      details: { key: 'size', value: sizeText },
    });
  let size = Number(m[2]) * (m[4] ? (UNIT[m[4]] as number) : 1);
  if (m[1]) size += current;
  return Math.trunc(size);
}

/** qdev_id_to_drive_id: virtio-blk reports its backend path, the OVMF flashes their machine path, SCSI/SATA/IDE the drive id. */
export function qdevIdToDriveId(qdev: string): string {
  const virtio = /^\/machine\/peripheral\/(virtio\d+)\/virtio-backend$/.exec(qdev);
  if (virtio) return virtio[1] as string;
  const flash = /^\/machine\/(?:system|virt)\.flash([01])$/.exec(qdev);
  if (flash) return flash[1] === '0' ? 'pflash0' : 'efidisk0';
  return qdev;
}

/** get_block_info: drive id -> the node-name inserted in its device (query-block). */
async function insertedNodes(qmp: QmpExecutor): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const block of await qmp.execute<{ qdev?: string; inserted?: { 'node-name'?: string } }[]>('query-block')) {
    const node = block.inserted?.['node-name'];
    if (block.qdev && node) out.set(qdevIdToDriveId(block.qdev), node);
  }
  return out;
}

export async function diskResize(
  ctx: LifecycleContext,
  vmid: number,
  disk: string,
  sizeText: string,
  opts: DiskResizeOptions = {},
): Promise<{ oldSize: number; newSize: number }> {
  if (!validDriveNames.includes(disk)) {
    throw new CvmError('PARAM_INVALID', `disk: value '${disk}' does not have a value in the enumeration '${validDriveNames.join(', ')}'`, {
      details: { key: 'disk', value: disk },
    });
  }
  newDiskSize(sizeText, 0); // parameter check before anything is locked
  const store = openConfigStore(ctx.root, ctx.warn ? { warn: ctx.warn } : {});
  let result = { oldSize: 0, newSize: 0 };
  await store.update(vmid, async (cfg) => {
    if (opts.digest && opts.digest !== cfg.digest) throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
    if (!opts.skiplock) assertNotLocked(cfg.conf);
    const value = cfg.conf[disk];
    if (!value) throw new CvmError('PARAM_INVALID', `disk '${disk}' does not exist`);
    const drive = parseDrive(disk, value);
    if (!drive.file) throw new CvmError('PARAM_INVALID', `disk '${disk}' has no associated volume`);
    if (driveIsCdrom(drive)) throw new CvmError('PARAM_INVALID', "you can't resize a cdrom");
    const { path, format } = volumeFile(ctx.facts.storage, drive.file);
    const size = await volumeSize(path, format);
    const newSize = newDiskSize(sizeText, size);
    if (newSize < size) throw new CvmError('PARAM_INVALID', 'shrinking disks is not supported');
    result = { oldSize: size, newSize };
    if (newSize === size) return cfg;
    opts.log?.(`update VM ${vmid}: resize --disk ${disk} --size ${sizeText}`);
    if (await runningPid(pathsFor(ctx, vmid))) {
      // mon_cmd's texts for QEMU's refusals, e.g. 'Cannot resize fixed-size raw disks' for a raw efidisk0
      const qmp = perCommandQmp(pathsFor(ctx, vmid).qmp, { peer: `VM ${vmid}` });
      // the node inserted in the drive's device: its top (throttle) node, like qemu-server
      // (QEMU only updates the top node's size then). A TPM state has none: swtpm, not
      // QEMU, has its volume open.
      const nodeName = (await insertedNodes(qmp)).get(disk);
      if (!nodeName) throw new CvmError('VM_RUNNING', `no block node inserted for drive '${disk}'`);
      await qmp.execute(
        'block_resize',
        { 'node-name': nodeName, size: newSize + ((1024 - (newSize % 1024)) % 1024) },
        { timeoutMs: 60_000 },
      );
    } else {
      try {
        await run(process.env.CVMCTL_QEMU_IMG || 'qemu-img', ['resize', '-f', format, path, String(newSize)], { timeout: 600_000 });
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new CvmError('STORAGE', `unable to resize volume '${drive.file}' - ${(e.stderr || e.message).trim()}`, { cause: err });
      }
    }
    drive.size = newSize;
    cfg.conf[disk] = printDrive(drive);
    return cfg;
  });
  return result;
}
