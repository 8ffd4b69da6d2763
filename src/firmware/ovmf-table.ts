/**
 * @module firmware/ovmf-table
 * qemu-server's fixed OVMF/AAVMF file table (OVMF.pm, 9.2.6) and its selection
 * `get_ovmf_files(arch, efidisk, smm, cvm_type)`, as pure code over `PveTableFirmware` facts:
 * which CODE/VARS pair (or single image for SNP/TDX) a VM gets, the exact "not found" errors,
 * the aarch64 pre-enrolled-keys fallback warning, and the VARS template size.
 */
import { CvmError } from '../errors.js';
import type { PropertyValues } from '../schema/types.js';
import type { PveTableFirmware } from './types.js';

export type FirmwareCvmType = 'std' | 'es' | 'snp' | 'tdx' | undefined;

/** What the command line needs from firmware selection. */
export interface OvmfFiles {
  /** CODE image (pflash unit 0) or the single `-bios` image. */
  code: string;
  /** VARS template (absent for single-image SNP/TDX firmware). */
  vars?: string;
  /** Size in bytes of the VARS template (`size=` of the efidisk drive). */
  varsSize?: number;
  /** `pflash`: CODE + VARS flash pair; `bios`: a single read-only image passed with `-bios`. */
  mapping: 'pflash' | 'bios';
  /** qemu-server `log_warn` texts the caller should print (`WARN: …`). */
  warnings: string[];
  /** The efidisk's pre-enrolled-keys were ignored (qemu-server deletes the flag in place). */
  preEnrolledKeysIgnored?: boolean;
  /** Table variant (`4m-sev`, `default`, …) or descriptor file name it came from. */
  source: string;
  /** Image formats (descriptors only; the table is always raw). */
  codeFormat?: string;
  varsFormat?: string;
}

export const EDK2_FW_BASE = '/usr/share/pve-edk2-firmware/';

/** Variant → [CODE, VARS?] file names, as in OVMF.pm at 9.2.6. */
export const OVMF_TABLE: Record<string, Record<string, readonly string[]>> = {
  x86_64: {
    '4m-no-smm': ['OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd'],
    '4m-no-smm-ms': ['OVMF_CODE_4M.fd', 'OVMF_VARS_4M.ms.fd'],
    '4m': ['OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.fd'],
    '4m-ms': ['OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.ms.fd'],
    '4m-sev': ['OVMF_SEV_CODE_4M.fd', 'OVMF_SEV_VARS_4M.fd'],
    '4m-snp': ['OVMF_SEV_4M.fd'],
    '4m-tdx': ['OVMF_TDX_4M.ms.fd'],
    default: ['OVMF_CODE.fd', 'OVMF_VARS.fd'],
  },
  aarch64: {
    ms: ['AAVMF_CODE.secboot.fd', 'AAVMF_VARS.ms.fd'],
    default: ['AAVMF_CODE.fd', 'AAVMF_VARS.fd'],
  },
};

/** The cfg2cmd harness's `file_get_size` mock (spec §4.4), in match order. */
export const DEFAULT_PVE_SIZE_RULES: [string, number][] = [
  ['OVMF(32)?_(SEV_)?VARS_4M', 528 * 1024],
  ['OVMF_VARS', 128 * 1024],
  ['AAVMF_VARS', 64 * 1024 * 1024],
  ['RISCV_VIRT_VARS', 32 * 1024 * 1024],
];

/** qemu-server builds `"$EDK2_FW_BASE/<file>"` with a base ending in `/`, hence the `//`. */
export function tablePath(facts: PveTableFirmware, file: string): string {
  return `${facts.baseDir}/${file}`;
}

export function pveFileExists(facts: PveTableFirmware, path: string): boolean {
  return facts.files === '*' || Object.hasOwn(facts.files, path);
}

/** Size of a VARS template: the real size from the file map, else the size rules (test harness). */
export function pveVarsSize(facts: PveTableFirmware, path: string): number {
  if (facts.files !== '*') {
    const size = facts.files[path];
    if (size !== undefined) return size;
  }
  for (const [pattern, size] of facts.sizeRules ?? DEFAULT_PVE_SIZE_RULES) {
    if (new RegExp(pattern).test(path)) return size;
  }
  throw new CvmError('FIRMWARE_MISSING', `unknown ovmf vars image '${path}' - implement me`);
}

export function flagSet(v: string | number | undefined): boolean {
  return v !== undefined && v !== '' && v !== 0 && v !== '0';
}

function notFound(kind: 'base' | 'vars', path: string): CvmError {
  return new CvmError('FIRMWARE_MISSING', `EFI ${kind} image '${path}' not found`, { details: { path } });
}

/** qemu-server `get_ovmf_files` over the fixed table. */
export function pveTableOvmfFiles(
  facts: PveTableFirmware,
  arch: string,
  efidisk: PropertyValues | undefined,
  smm: boolean,
  cvmType: FirmwareCvmType,
): OvmfFiles {
  const types = OVMF_TABLE[arch];
  if (!types) throw new CvmError('GENERATE', `no OVMF images known for architecture '${arch}'`);
  const warnings: string[] = [];
  let preEnrolledKeysIgnored = false;
  let type = 'default';
  if (arch === 'x86_64') {
    if (cvmType === 'snp' || cvmType === 'tdx') {
      type = cvmType === 'snp' ? '4m-snp' : '4m-tdx';
      const code = tablePath(facts, types[type]![0]!);
      if (!pveFileExists(facts, code)) throw notFound('base', code);
      return { code, mapping: 'bios', warnings, source: type };
    }
    if (cvmType === 'std' || cvmType === 'es') {
      type = '4m-sev';
    } else if (efidisk?.efitype === '4m') {
      type = smm ? '4m' : '4m-no-smm';
      if (flagSet(efidisk['pre-enrolled-keys'])) type += '-ms';
    }
  } else if (arch === 'aarch64') {
    if (flagSet(efidisk?.['pre-enrolled-keys'])) {
      if (pveFileExists(facts, tablePath(facts, 'AAVMF_CODE.secboot.fd'))) {
        type = 'ms';
      } else {
        // the stray quote and the `//` are in qemu-server's text
        warnings.push(
          'requested EFI image with pre-enrolled-keys, but ignoring because' +
            ` ${facts.baseDir}/AAVMF_CODE.secboot.fd' file is missing - check that` +
            ' pve-edk2-firmware-aarch64 is correctly installed with version > 4.2025.05-2',
        );
        preEnrolledKeysIgnored = true;
      }
    }
  }
  const [codeFile, varsFile] = types[type]!;
  const code = tablePath(facts, codeFile!);
  const vars = tablePath(facts, varsFile!);
  if (!pveFileExists(facts, code)) throw notFound('base', code);
  if (!pveFileExists(facts, vars)) throw notFound('vars', vars);
  const result: OvmfFiles = { code, vars, varsSize: pveVarsSize(facts, vars), mapping: 'pflash', warnings, source: type };
  if (preEnrolledKeysIgnored) result.preEnrolledKeysIgnored = true;
  return result;
}
