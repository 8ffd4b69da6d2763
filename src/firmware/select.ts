/**
 * @module firmware/select
 * The firmware entry points the generator and the API use: `getOvmfFiles` (CODE/VARS or the
 * single `-bios` image for a VM) over either kind of `FirmwareFacts`, and the EFI-disk rules
 * qemu-server applies when an efidisk is allocated (`assertEfidiskAllowed`, `efivarsTemplate`).
 */
import { CvmError } from '../errors.js';
import type { PropertyValues } from '../schema/types.js';
import { descriptorOvmfFiles } from './descriptor-select.js';
import { type FirmwareCvmType, type OvmfFiles, pveTableOvmfFiles } from './ovmf-table.js';
import type { FirmwareFacts } from './types.js';

/**
 * qemu-server `get_ovmf_files(arch, efidisk, smm, cvm_type)`. `smm` is "machine type contains
 * q35". `machine` (the configured machine type) is used only with descriptor facts, to match
 * their machine globs. The efidisk values are not modified; see `preEnrolledKeysIgnored`.
 */
export function getOvmfFiles(
  facts: FirmwareFacts,
  arch: string,
  efidisk: PropertyValues | undefined,
  smm: boolean,
  cvmType: FirmwareCvmType,
  machine?: string,
): OvmfFiles {
  if (facts.kind === 'pve-table') return pveTableOvmfFiles(facts, arch, efidisk, smm, cvmType);
  return descriptorOvmfFiles(facts, arch, efidisk, smm, cvmType, machine);
}

/** qemu-server `log_warn` when an SNP/TDX VM has an efidisk0 (HEAD text; the generator prints `WARN: …`). */
export const CVM_EFIDISK_IGNORED_WARNING = 'EFI disks are not supported with Confidential Virtual Machines and will be ignored';

/** qemu-server `log_warn` when an OVMF VM has no efidisk0 and gets a temporary VARS copy. */
export const NO_EFIDISK_WARNING = 'no efidisk configured! Using temporary efivars disk.';

export const SNP_EFIDISK_ERROR = 'SEV-SNP uses consolidated read-only firmware and does not require an EFI disk';

/** API rule when a new efidisk is allocated: SEV-SNP VMs get none (qemu-server has no such check for TDX). */
export function assertEfidiskAllowed(cvmType: FirmwareCvmType): void {
  if (cvmType === 'snp') throw new CvmError('PARAM_INVALID', SNP_EFIDISK_ERROR, { details: { key: 'efidisk0' } });
}

/**
 * The VARS template an efidisk is created from (qemu-server `create_efidisk`/`get_efivars_size`):
 * std/es → the SEV VARS, otherwise as `getOvmfFiles`. Undefined for single-image firmware
 * (SNP/TDX), where qemu-server's size is undef; callers allocating a disk call
 * `assertEfidiskAllowed` first.
 */
export function efivarsTemplate(
  facts: FirmwareFacts,
  arch: string,
  efidisk: PropertyValues | undefined,
  smm: boolean,
  cvmType: FirmwareCvmType,
  machine?: string,
): { path: string; size: number; format?: string } | undefined {
  const files = getOvmfFiles(facts, arch, efidisk, smm, cvmType, machine);
  if (files.vars === undefined || files.varsSize === undefined) return undefined;
  const out: { path: string; size: number; format?: string } = { path: files.vars, size: files.varsSize };
  if (files.varsFormat) out.format = files.varsFormat;
  return out;
}
