/**
 * @module config/non-migratable
 * qemu-server's check_non_migratable_resources (QemuMigrate/Helpers.pm): the parts of a running
 * VM whose state cannot be saved or moved -- the encrypted memory of an SEV or TDX guest, and a
 * virtiofs share (its daemon's state lives outside QEMU). Live migration, snapshots with RAM and
 * hibernation all refuse them with the same text.
 */

import { perlTrue } from './file/write.js';
import type { ConfigSection } from './types.js';

/** The blockers of a VM whose state would be saved (`state`), in qemu-server's order. */
export function nonMigratableResources(conf: ConfigSection, state: boolean): string[] {
  if (!state) return [];
  const out: string[] = [];
  if (perlTrue(conf['amd-sev'])) out.push('amd-sev');
  if (perlTrue(conf['intel-tdx'])) out.push('intel-tdx');
  if (Object.keys(conf).some((k) => /^virtiofs\d+$/.test(k) && perlTrue(conf[k]))) out.push('virtiofs');
  return out;
}

/** The refusal text of check_non_migratable_resources for these blockers. */
export function nonMigratableMessage(blockers: readonly string[]): string {
  return `Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: ${blockers.join(', ')}`;
}
