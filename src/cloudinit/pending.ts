/**
 * @module cloudinit/pending
 * `[special:cloudinit]`: what changed since the cloud-init image was last generated, kept the
 * way qemu-server's vmconfig_hotplug_pending records it while a VM runs (cloudinit_record_changed:
 * the old value of a changed or deleted key, `added` for keys that had no value) and read back by
 * `GET …/cloudinit` / `qm cloudinit pending` (cloudinit_pending: key/value/pending/delete rows,
 * passwords masked). Also the one-cloud-init-drive rule of create/update. Pure.
 */

import { driveFile, isDriveKey } from '../config/file/drives.js';
import { splitList } from '../config/file/views.js';
import { cloudinitKeys } from '../config/options/cloudinit.js';
import type { ConfigSection, VmConfig } from '../config/types.js';
import { CvmError } from '../errors.js';
import { driveIsCloudinit } from '../config/drive.js';

/** cloudinit_pending_properties: the cloud-init keys, ipconfigN, netN and name. */
export function isCloudinitPendingProperty(key: string): boolean {
  return Object.hasOwn(cloudinitKeys, key) || key === 'name' || /^(?:net|ipconfig)\d+$/.test(key);
}

/** cloudinit_record_changed: note a key's change from `old` to `next` (undefined = unset) in `[special:cloudinit]`. */
export function recordCloudinitChange(cfg: VmConfig, key: string, old: string | undefined, next: string | undefined): void {
  if (!isCloudinitPendingProperty(key)) return;
  cfg.special.cloudinit ??= {};
  const ci = cfg.special.cloudinit;
  const recorded = ci[key];
  const added = new Set(splitList(ci.added));
  delete ci.added;
  if (next !== undefined) {
    if (recorded !== undefined) {
      // a value reverted to what the image has is in sync again; other changes keep the first record
      if (next === recorded) {
        delete ci[key];
        added.delete(key);
      }
    } else if (!added.has(key)) {
      if (old !== undefined) ci[key] = old;
      else added.add(key);
    }
  } else if (old !== undefined && recorded === undefined) {
    if (added.has(key)) added.delete(key);
    else ci[key] = old;
  }
  const list = [...added].sort().join(',');
  if (list.length > 0) ci.added = list;
}

/** has_changes: whether `[special:cloudinit]` records anything. */
export function hasCloudinitChanges(cfg: VmConfig): boolean {
  return Object.keys(cfg.special.cloudinit ?? {}).length > 0;
}

export interface CloudinitPendingRow {
  key: string;
  value?: string;
  pending?: string;
  delete?: 1;
}

const MASK = '**********';

/**
 * The cloudinit_pending API result: added keys (pending value), the set cloud-init options
 * (value as in the image, pending when changed since), then keys deleted since. Like qemu-server,
 * ipconfigN and netN appear only as added or deleted keys.
 */
export function cloudinitPending(cfg: VmConfig): CloudinitPendingRow[] {
  const conf: ConfigSection = { ...cfg.conf };
  const ci: ConfigSection = { ...(cfg.special.cloudinit ?? {}) };
  if (conf.cipassword !== undefined) conf.cipassword = MASK;
  if (ci.cipassword !== undefined) ci.cipassword = MASK;
  const rows: CloudinitPendingRow[] = [];
  const added = ci.added ?? '';
  delete ci.added;
  for (const key of splitList(added)) rows.push({ key, ...(conf[key] !== undefined ? { pending: conf[key] } : {}) });
  for (const opt of Object.keys(cloudinitKeys).sort()) {
    // qemu-server skips false values ('' and '0') and options whose name occurs in `added`
    if (!conf[opt] || conf[opt] === '0' || added.includes(opt)) continue;
    const old = ci[opt];
    rows.push(old ? { key: opt, value: old, pending: conf[opt] } : { key: opt, value: conf[opt] });
  }
  for (const opt of Object.keys(ci).sort()) {
    if (conf[opt] && conf[opt] !== '0') continue;
    rows.push({ key: opt, delete: 1 });
  }
  return rows;
}

/**
 * The create/update check of qemu-server's create_disks: a cloud-init drive may be added only
 * when the VM (main section, `[PENDING]`, the other new drives) has none on another key.
 */
export function assertSingleCloudinitDrive(cfg: Pick<VmConfig, 'conf' | 'pending'>, params: ConfigSection): void {
  const holder = (section: ConfigSection, skip: string): string | undefined => {
    for (const key of Object.keys(section).sort()) {
      if (key === skip || !isDriveKey(key) || /^unused\d+$/.test(key)) continue;
      const file = driveFile(key, section[key] as string)?.file;
      if (file && driveIsCloudinit({ file })) return key;
    }
    return undefined;
  };
  const seen: ConfigSection = {};
  for (const key of Object.keys(params).sort()) {
    if (!isDriveKey(key)) continue;
    const file = driveFile(key, params[key] as string)?.file;
    if (file && driveIsCloudinit({ file })) {
      const other = holder(cfg.conf, key) ?? holder(cfg.pending, key) ?? holder(seen, key);
      if (other) throw new CvmError('PARAM_INVALID', `${key} - cloud-init drive is already attached at '${other}'`, { details: { key } });
    }
    seen[key] = params[key] as string;
  }
}
