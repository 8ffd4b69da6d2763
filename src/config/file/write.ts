/**
 * @module config/file/write
 * `writeVmConfig`: renders a `VmConfig` as the text of a qemu-server config file, as
 * qemu-server 9.2.6's `write_vm_config` does: `cdrom` becomes `ide2`, legacy `smp` becomes
 * `sockets`, every key of the main section, `[PENDING]` and each snapshot is re-checked with
 * `check_type` (and stored normalised), `unusedN` entries whose volume is in use again are
 * dropped, descriptions become `#` comment lines, keys are sorted byte-wise, `[special:cloudinit]`
 * is only written while a cloud-init drive exists. Throws before producing any text, so a
 * caller never writes a half-validated config. The input is not modified.
 */

import { CvmError } from '../../errors.js';
import type { ConfigSection, VmConfig } from '../types.js';
import { checkType, errorText, vmSectionSchema } from './check.js';
import { isCloudinitVolume } from '../drive.js';
import { driveFile, isDriveKey } from './drives.js';
import { encodeText } from './encode.js';

const SKIP_ON_CHECK = new Set(['digest', 'description', 'snapshots', 'snapstate', 'pending', 'special-sections']);
const SKIP_ON_WRITE = new Set(['digest', 'description', 'pending', 'snapshots', 'special-sections']);

/** Perl truthiness of a config value: defined, not '' and not '0'. */
export function perlTrue(value: string | undefined): value is string {
  return value !== undefined && value !== '' && value !== '0';
}

/** Perl `split(/\n/, $text)`: trailing empty fields are dropped. */
function splitLines(text: string): string[] {
  const parts = text.split('\n');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** has_cloudinit: whether any drive of the section is a cloud-init drive. */
export function hasCloudinitDrive(conf: ConfigSection): boolean {
  for (const key of Object.keys(conf)) {
    if (!isDriveKey(key)) continue;
    const file = driveFile(key, conf[key] as string)?.file;
    if (file !== undefined && isCloudinitVolume(file)) return true;
  }
  return false;
}

function recheckSection(section: ConfigSection, isPending: boolean, collectVolids: Set<string> | undefined): void {
  for (const key of Object.keys(section).sort()) {
    if (SKIP_ON_CHECK.has(key)) continue;
    const value = section[key] as string;
    if (key === 'delete') {
      if (!isPending) throw new CvmError('PARAM_INVALID', "propertry 'delete' is only allowed in [PENDING]");
      continue;
    }
    let checked: string;
    try {
      checked = checkType(key, value, vmSectionSchema);
    } catch (err) {
      throw new CvmError('PARAM_INVALID', `unable to parse value of '${key}' - ${errorText(err)}`, { cause: err });
    }
    section[key] = checked;
    if (collectVolids && isDriveKey(key)) {
      const file = driveFile(key, checked)?.file;
      if (file) collectVolids.add(file);
    }
  }
}

function renderSection(section: ConfigSection, isPending: boolean): string {
  let raw = '';
  const descr = section.description;
  if (descr !== undefined) {
    if (perlTrue(descr)) {
      for (const line of splitLines(descr)) raw += `#${encodeText(line)}\n`;
    } else if (isPending) {
      raw += '#\n';
    }
  }
  for (const key of Object.keys(section).sort()) {
    if (SKIP_ON_WRITE.has(key)) continue;
    raw += `${key}: ${section[key]}\n`;
  }
  return raw;
}

/** The normalised sections write_vm_config would write (validated; throws like it). */
export function normalizeVmConfig(input: VmConfig): VmConfig {
  const conf: ConfigSection = { ...input.conf };
  delete conf.snapstate;

  if (perlTrue(conf.cdrom)) {
    if (perlTrue(conf.ide2)) throw new CvmError('PARAM_INVALID', 'option ide2 conflicts with cdrom');
    conf.ide2 = conf.cdrom;
    delete conf.cdrom;
  }
  if (perlTrue(conf.sockets)) {
    delete conf.smp;
  } else if (perlTrue(conf.smp)) {
    conf.sockets = conf.smp;
    delete conf.cores;
    delete conf.smp;
  }

  // volumes in use only matter when there are unusedN entries to compare them with
  const hasUnused = Object.keys(conf).some((key) => key.startsWith('unused'));
  const usedVolids = hasUnused ? new Set<string>() : undefined;
  const pending: ConfigSection = { ...input.pending };
  recheckSection(conf, false, usedVolids);
  recheckSection(pending, true, usedVolids);

  const snapshots: Record<string, ConfigSection> = {};
  for (const name of Object.keys(input.snapshots).sort()) {
    if (name.toLowerCase() === 'pending') {
      throw new CvmError('INTERNAL', `internal error: snapshot name '${name}' is forbidden`);
    }
    const snap: ConfigSection = { ...input.snapshots[name] };
    recheckSection(snap, false, undefined);
    snapshots[name] = snap;
  }

  if (usedVolids) {
    for (const key of Object.keys(conf)) {
      if (key.startsWith('unused') && usedVolids.has(conf[key] as string)) delete conf[key];
    }
  }

  const special: Record<string, ConfigSection> = {};
  for (const name of Object.keys(input.special)) special[name] = { ...input.special[name] };

  return { vmid: input.vmid, digest: input.digest, conf, pending, special, snapshots };
}

export function writeVmConfig(input: VmConfig): string {
  const cfg = normalizeVmConfig(input);
  let raw = renderSection(cfg.conf, false);
  if (Object.keys(cfg.pending).length > 0) raw += `\n[PENDING]\n${renderSection(cfg.pending, true)}`;
  for (const name of Object.keys(cfg.special).sort()) {
    if (name === 'cloudinit' && !hasCloudinitDrive(cfg.conf)) continue;
    raw += `\n[special:${name}]\n${renderSection(cfg.special[name] as ConfigSection, false)}`;
  }
  for (const name of Object.keys(cfg.snapshots).sort()) {
    raw += `\n[${name}]\n${renderSection(cfg.snapshots[name] as ConfigSection, false)}`;
  }
  return raw;
}
