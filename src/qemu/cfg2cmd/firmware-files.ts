/**
 * @module qemu/cfg2cmd/firmware-files
 * Adapter between the OVMF emission and firmware selection (src/firmware `getOvmfFiles`,
 * qemu-server's get_ovmf_files): picks the CODE/VARS pair or the single `-bios` image for the
 * VM from the host's firmware facts and forwards selection warnings to the context.
 */

import { getOvmfFiles } from '../../firmware/select.js';
import type { OvmfFiles } from '../../firmware/ovmf-table.js';
import type { PropertyValues } from '../../schema/types.js';
import type { Cfg2CmdContext } from './context.js';
import { machineFormat } from '../../config/options/cpu-memory.js';
import { readPropertyString } from '../../schema/reader.js';

export type { OvmfFiles };

/** get_ovmf_files(arch, efidisk, smm, cvm_type); an ignored pre-enrolled-keys flag is dropped from `efidisk`. */
export function ovmfFiles(
  ctx: Cfg2CmdContext,
  efidisk: Record<string, unknown> | undefined,
  smm: boolean,
  cvmType: string | undefined,
): OvmfFiles {
  const machine = readPropertyString(machineFormat, ctx.conf.machine).type;
  const files = getOvmfFiles(
    ctx.host.firmware,
    ctx.arch,
    efidisk as PropertyValues | undefined,
    smm,
    cvmType as 'std' | 'es' | 'snp' | 'tdx' | undefined,
    machine,
  );
  ctx.warnings.push(...files.warnings);
  if (files.preEnrolledKeysIgnored && efidisk) delete efidisk['pre-enrolled-keys'];
  return files;
}
