/**
 * @module qemu/cfg2cmd/ovmf
 * OVMF/AAVMF firmware on the command line (OVMF.pm print_ovmf_commandline, spec §4.3):
 * SEV-SNP and TDX get one read-only `-bios` image and ignore any efidisk (with a warning);
 * everything else gets the CODE/VARS pflash pair — as `-blockdev` nodes plus the
 * `pflash0=…,pflash1=…` machine flags for machine ≥ 10.0, or as two `-drive if=pflash` for
 * older machines. Without an efidisk a temporary efivars copy is used (with a warning).
 * The firmware files come from the host's firmware facts (firmware selection module).
 */

import { optValue } from './opt-value.js';
import { CvmError } from '../../errors.js';
import { canonicalJson } from './blockdev-json.js';
import type { Cfg2CmdContext } from './context.js';
import { cpuBitness } from './cpu.js';
import { efidiskBlockdev, legacyEfidiskDrive, parseDriveValue } from './drives.js';
import { ovmfFiles } from './firmware-files.js';

export interface OvmfEmission {
  cmd: string[];
  machineFlags: string[];
}

export function emitOvmf(ctx: Cfg2CmdContext, cvmType: string | undefined, forcedCpu: boolean): OvmfEmission {
  if (!forcedCpu && cpuBitness(ctx) === 32) {
    throw new CvmError('GENERATE', 'OVMF (UEFI) BIOS is not supported on 32-bit CPU types');
  }
  const cmd: string[] = [];
  const machineFlags: string[] = [];
  const conf = ctx.conf;
  if (cvmType === 'snp' || cvmType === 'tdx') {
    if (conf.efidisk0 !== undefined) {
      ctx.warnings.push('EFI disks are not supported with Confidential Virtual Machines and will be ignored');
    }
    // `push @cmd, '-bios', get_ovmf_files(…)`: every file the lookup returns follows -bios. On
    // x86_64 that is the one SNP/TDX image; aarch64 has no CVM images, so qemu-server emits the
    // AAVMF CODE and VARS pair there, VARS as a stray argument. Odd, but it is the reference.
    const files = ovmfFiles(ctx, undefined, false, cvmType);
    cmd.push('-bios', files.code);
    if (files.vars !== undefined) cmd.push(files.vars);
    return { cmd, machineFlags };
  }
  const drive = conf.efidisk0 ? parseDriveValue('efidisk0', conf.efidisk0) : undefined;
  const efiProps = (drive ?? {}) as unknown as Record<string, unknown>;
  const files = ovmfFiles(ctx, efiProps, ctx.q35, cvmType);
  if (files.vars === undefined || files.varsSize === undefined) {
    throw new CvmError('FIRMWARE_MISSING', `EFI vars image for '${files.code}' not found`);
  }
  const tempPath = `${ctx.host.paths.efivarsDir}/${ctx.vmid}-ovmf.fd`;
  if (!drive) ctx.warnings.push('no efidisk configured! Using temporary efivars disk.');
  if (ctx.versionGuard(10, 0, 0)) {
    const { throttleGroup, blockdev } = efidiskBlockdev(ctx, drive, {
      varsSize: files.varsSize,
      readOnly: ctx.isTemplate,
      tempPath,
    });
    const code = {
      driver: files.codeFormat ?? 'raw',
      file: { driver: 'file', filename: files.code },
      'node-name': 'pflash0',
      'read-only': true,
    };
    cmd.push('-object', canonicalJson(throttleGroup));
    cmd.push('-blockdev', canonicalJson(code));
    cmd.push('-blockdev', canonicalJson(blockdev));
    machineFlags.push('pflash0=pflash0', `pflash1=${String(blockdev['node-name'])}`);
  } else {
    const varsSize = files.varsSize;
    const vars = legacyEfidiskDrive(ctx, drive, {
      varsSize,
      sizeGuard: () => ctx.versionGuard(4, 1, 2),
      readOnly: ctx.isTemplate,
      tempPath,
    });
    cmd.push('-drive', `if=pflash,unit=0,format=${files.codeFormat ?? 'raw'},readonly=on,file=${optValue(files.code)}`);
    cmd.push('-drive', vars);
  }
  return { cmd, machineFlags };
}
