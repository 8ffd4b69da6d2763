/**
 * @module store/vm-pending
 * The config edits behind `set`, as qemu-server's update_vm API and vmconfig_apply_pending do
 * them: changes are first staged in `[PENDING]` (values, and a `delete:` list), and for a VM
 * that is not running they are then applied to the main section at once. Replaced or removed
 * disks that belong to the VM are kept as `unusedN` entries; cd-roms and pass-through paths
 * are just dropped; a cloud-init image is freed. While a VM runs, changes of the keys its
 * cloud-init image is made from are recorded in `[special:cloudinit]`. Pure functions on a
 * `VmConfig` (mutated in place); no I/O.
 */

import { CvmError } from '../errors.js';
import { isCloudinitVolume } from '../config/drive.js';
import { driveFile, isDriveKey } from '../config/file/drives.js';
import { parsePendingDelete, printPendingDelete, splitList } from '../config/file/views.js';
import { perlTrue } from '../config/file/write.js';
import { cloudinitKeys } from '../config/options/cloudinit.js';
import { recordCloudinitChange } from '../cloudinit/pending.js';
import type { ConfigSection, VmConfig } from '../config/types.js';
import { windowsVersion } from '../qemu/cfg2cmd/version.js';
import { encryptPassword, isCryptHash } from '../util/sha-crypt.js';

const MAX_UNUSED_DISKS = 256;
const VOLUME_ID_RE = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i;

/** Volumes a finished edit no longer references and that should be freed. */
export interface EditEffects {
  /** Volume ids to free (deleted unusedN / vmstate). */
  freeVolumes: string[];
  warnings: string[];
  /** A cloud-init drive was set on a stopped VM: its image is generated now (vmconfig_apply_pending). */
  generateCloudinit?: boolean;
}

/** The VM that owns a volume, from its name (`vm-100-disk-0`, `100/vm-100-disk-0.qcow2`, `base-…`). */
export function volumeOwner(volid: string): number | undefined {
  const m = VOLUME_ID_RE.exec(volid);
  if (!m) return undefined;
  const name = (m[2] as string).split('/').pop() as string;
  const owner = /^(?:vm|base|subvol|basevol)-(\d+)-/.exec(name);
  return owner ? Number(owner[1]) : undefined;
}

/** add_unused_volume: the lowest free `unusedN`, no duplicates; cloud-init images are dropped. */
export function addUnusedVolume(conf: ConfigSection, volid: string): string | undefined {
  if (/vm-\d+-cloudinit/.test(volid)) return undefined;
  let key: string | undefined;
  for (let i = MAX_UNUSED_DISKS - 1; i >= 0; i--) {
    const existing = conf[`unused${i}`];
    if (existing) {
      if (existing === volid) return undefined;
    } else {
      key = `unused${i}`;
    }
  }
  if (!key) throw new CvmError('STORAGE', 'Too many unused volumes - please delete them first.');
  conf[key] = volid;
  return key;
}

/**
 * vmconfig_register_unused_drive: keep a detached disk of this VM as unusedN; a detached
 * cloud-init image is not kept but freed (pushed to `free`) and its recorded changes dropped.
 */
export function registerUnusedDrive(cfg: VmConfig, key: string, value: string | undefined, free?: string[]): void {
  if (value === undefined) return;
  const drive = driveFile(key, value);
  if (!drive) return;
  if (isCloudinitVolume(drive.file)) {
    delete cfg.special.cloudinit;
    if (free && volumeOwner(drive.file) === cfg.vmid) free.push(drive.file);
    return;
  }
  if (drive.media === 'cdrom') return;
  if (volumeOwner(drive.file) !== cfg.vmid) return;
  addUnusedVolume(cfg.conf, drive.file);
}

export function addToPendingDelete(cfg: VmConfig, key: string, force: boolean): void {
  const list = parsePendingDelete(cfg.pending.delete);
  list.set(key, { force });
  cfg.pending.delete = printPendingDelete(list);
}

export function removeFromPendingDelete(cfg: VmConfig, key: string): void {
  const list = parsePendingDelete(cfg.pending.delete);
  if (!list.has(key)) return;
  list.delete(key);
  if (list.size > 0) cfg.pending.delete = printPendingDelete(list);
  else delete cfg.pending.delete;
}

/** The device list of `boot: order=…` (empty for a legacy or missing boot option). */
export function bootOrder(conf: ConfigSection): string[] {
  const boot = conf.boot;
  if (!boot) return [];
  for (const part of boot.split(',')) if (part.startsWith('order=')) return splitList(part.slice(6));
  return [];
}

export function printBootOrder(devices: string[]): string {
  return devices.length === 0 ? '' : `order=${devices.join(';')}`;
}

export interface StageArgs {
  params: Record<string, string>;
  deletes: string[];
  force: boolean;
}

/**
 * The cipassword as qemu-server stores it: a SHA-256-crypt hash (PVE::Tools::encrypt_pw), except
 * for Windows guests (cloudbase-init wants the password itself) and values already hashed.
 */
export function storedCipassword(value: string, ostype: string | undefined): string {
  if (windowsVersion(ostype) > 0 || isCryptHash(value)) return value;
  return encryptPassword(value);
}

/** Stage deletions and new values in [PENDING], as update_vm does before applying. */
export function stageChanges(cfg: VmConfig, args: StageArgs): EditEffects {
  const effects: EditEffects = { freeVolumes: [], warnings: [] };
  const { conf, pending } = cfg;
  const order = bootOrder(conf);
  const bootorderDeleted = args.deletes.includes('bootorder');

  for (const opt of args.deletes) {
    const val = conf[opt] ?? pending[opt];
    if (val === undefined) {
      effects.warnings.push(`cannot delete '${opt}' - not set in current configuration!`);
      continue;
    }
    const isPendingVal = pending[opt] !== undefined;
    delete pending[opt];
    if (!bootorderDeleted && order.includes(opt)) {
      order.splice(order.indexOf(opt), 1);
      pending.boot = printBootOrder(order);
    }
    if (/^unused/.test(opt) || opt === 'vmstate') {
      if (perlTrue(conf.protection)) {
        const what = opt === 'vmstate' ? `vmstate '${val}'` : `unused disk '${driveFile(opt, val)?.file ?? val}'`;
        throw new CvmError('PARAM_INVALID', `can't remove ${what} - protection mode enabled`);
      }
      const file = opt === 'vmstate' ? val : driveFile(opt, val)?.file;
      if (file && volumeOwner(file) === cfg.vmid) effects.freeVolumes.push(file);
      delete conf[opt];
    } else if (isDriveKey(opt)) {
      if (perlTrue(conf.protection)) {
        throw new CvmError('PARAM_INVALID', `can't remove drive '${opt}' - protection mode enabled`);
      }
      if (isPendingVal) registerUnusedDrive(cfg, opt, val, effects.freeVolumes);
      addToPendingDelete(cfg, opt, args.force);
    } else if (opt === 'tags') {
      delete conf[opt];
    } else {
      addToPendingDelete(cfg, opt, args.force);
    }
  }

  for (const opt of Object.keys(args.params).sort()) {
    const value = args.params[opt] as string;
    if (pending[opt] !== undefined && pending[opt] === value) continue;
    if (opt === 'cipassword') {
      // update_vm_api: set at once (never pending), as a crypt hash unless Windows or already hashed
      conf[opt] = storedCipassword(value, conf.ostype);
    } else if (isDriveKey(opt)) {
      if (pending[opt] !== undefined) registerUnusedDrive(cfg, opt, pending[opt], effects.freeVolumes);
      pending[opt] = value;
      const drive = driveFile(opt, value);
      if (order.length > 0 && drive?.media === 'cdrom' && !isCloudinitVolume(drive.file) && !order.includes(opt)) {
        order.push(opt);
        pending.boot = printBootOrder(order);
      }
    } else {
      pending[opt] = value;
      if (opt === 'boot') checkBootOrder(cfg, value, args);
    }
    removeFromPendingDelete(cfg, opt);
  }
  return effects;
}

function checkBootOrder(cfg: VmConfig, value: string, args: StageArgs): void {
  const devices = bootOrder({ boot: value });
  if (devices.length === 0) return;
  for (const dev of devices) {
    const exists = cfg.conf[dev] || cfg.pending[dev] || args.params[dev];
    if (!exists || args.deletes.includes(dev)) {
      throw new CvmError('PARAM_INVALID', `boot: invalid value '${value}' - invalid bootorder: device '${dev}' does not exist'`);
    }
  }
  cfg.pending.boot = printBootOrder(devices);
  if (cfg.conf.bootdisk) addToPendingDelete(cfg, 'bootdisk', false);
}

/** vmconfig_apply_pending for a stopped VM: deletions first, then the new values. */
export function applyPending(cfg: VmConfig): EditEffects {
  const effects: EditEffects = { freeVolumes: [], warnings: [] };
  const { conf, pending } = cfg;
  const deletes = parsePendingDelete(pending.delete);
  for (const opt of [...deletes.keys()].sort()) {
    if (/^unused/.test(opt)) {
      effects.warnings.push(`unable to apply pending change ${opt} : internal error`);
      continue;
    }
    if (conf[opt] !== undefined && isDriveKey(opt)) {
      const drive = driveFile(opt, conf[opt] as string);
      // a deleted cloud-init drive's image is freed, forced or not
      if (drive && isCloudinitVolume(drive.file)) registerUnusedDrive(cfg, opt, conf[opt], effects.freeVolumes);
      else if (drive && drive.media !== 'cdrom') {
        if (deletes.get(opt)?.force) {
          if (volumeOwner(drive.file) === cfg.vmid) effects.freeVolumes.push(drive.file);
        } else {
          registerUnusedDrive(cfg, opt, conf[opt]);
        }
      }
    }
    removeFromPendingDelete(cfg, opt);
    delete conf[opt];
  }

  cleanupPending(cfg);

  for (const opt of Object.keys(pending)) {
    if (opt === 'delete') continue;
    if (conf[opt] !== undefined && isDriveKey(opt)) registerUnusedDrive(cfg, opt, conf[opt], effects.freeVolumes);
    if (isDriveKey(opt) && isCloudinitVolume(driveFile(opt, pending[opt] as string)?.file ?? '')) effects.generateCloudinit = true;
    conf[opt] = pending[opt] as string;
    delete pending[opt];
  }
  return effects;
}

/** cleanup_pending: drop pending values equal to the current ones and deletions of unset keys. */
export function cleanupPending(cfg: VmConfig): void {
  const { conf, pending } = cfg;
  for (const opt of Object.keys(pending)) {
    if (opt !== 'delete' && conf[opt] !== undefined && pending[opt] === conf[opt]) delete pending[opt];
  }
  const deletes = parsePendingDelete(pending.delete);
  for (const opt of [...deletes.keys()]) if (conf[opt] === undefined) deletes.delete(opt);
  if (deletes.size > 0) pending.delete = printPendingDelete(deletes);
  else delete pending.delete;
}

/** Options a running VM takes at once (qemu-server's $fast_plug_option plus the cloud-init keys). */
export const FAST_PLUG_OPTIONS: ReadonlySet<string> = new Set([
  'description',
  'hookscript',
  'lock',
  'migrate_downtime',
  'migrate_speed',
  'name',
  'onboot',
  'protection',
  'shares',
  'startup',
  'tags',
  'vmstatestorage',
  ...Object.keys(cloudinitKeys),
]);

/** A fast-plug option: FAST_PLUG_OPTIONS or an `ipconfigN` (qemu-server's $confdesc_cloudinit has those too). */
export function isFastPlugOption(opt: string): boolean {
  return FAST_PLUG_OPTIONS.has(opt) || /^ipconfig\d+$/.test(opt);
}

/**
 * The part of vmconfig_hotplug_pending that needs no running QEMU: fast-plug values and
 * deletions take effect at once; everything else stays pending until the next start.
 */
export function applyFastPlug(cfg: VmConfig): void {
  const { conf, pending } = cfg;
  for (const opt of Object.keys(pending)) {
    if (isFastPlugOption(opt)) {
      recordCloudinitChange(cfg, opt, conf[opt], pending[opt]);
      conf[opt] = pending[opt] as string;
      delete pending[opt];
    }
  }
  for (const opt of [...parsePendingDelete(pending.delete).keys()].sort()) {
    if (!isFastPlugOption(opt)) continue;
    recordCloudinitChange(cfg, opt, conf[opt], undefined);
    delete conf[opt];
    removeFromPendingDelete(cfg, opt);
  }
}
