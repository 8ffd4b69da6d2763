import { describe, expect, it } from 'vitest';
import { EDK2_FW_BASE, SNP_EFIDISK_ERROR, assertEfidiskAllowed, efivarsTemplate, getOvmfFiles } from './index.js';
import type { PveTableFirmware } from './types.js';
import { thrownCvmError } from '../../test/helpers/cvm-error.js';

const HARNESS: PveTableFirmware = { kind: 'pve-table', baseDir: EDK2_FW_BASE, files: '*' };
const B = '/usr/share/pve-edk2-firmware//';

const error = thrownCvmError;

describe('getOvmfFiles over the Proxmox table', () => {
  const efi4mKeys = { file: 'local:100/vm-100-disk-0.raw', efitype: '4m', 'pre-enrolled-keys': 1 };

  it('SEV std/es: the SEV pair whatever the efidisk says', () => {
    for (const type of ['std', 'es'] as const) {
      for (const smm of [false, true]) {
        expect(getOvmfFiles(HARNESS, 'x86_64', efi4mKeys, smm, type)).toEqual({
          code: `${B}OVMF_SEV_CODE_4M.fd`,
          vars: `${B}OVMF_SEV_VARS_4M.fd`,
          varsSize: 540672,
          mapping: 'pflash',
          warnings: [],
          source: '4m-sev',
        });
      }
    }
  });

  it('SNP and TDX: one image for -bios, with the double slash', () => {
    expect(getOvmfFiles(HARNESS, 'x86_64', efi4mKeys, false, 'snp')).toEqual({
      code: '/usr/share/pve-edk2-firmware//OVMF_SEV_4M.fd',
      mapping: 'bios',
      warnings: [],
      source: '4m-snp',
    });
    expect(getOvmfFiles(HARNESS, 'x86_64', undefined, true, 'tdx').code).toBe(`${B}OVMF_TDX_4M.ms.fd`);
  });

  it('plain VMs: 4m variants by smm and pre-enrolled keys, legacy 2M default', () => {
    const pick = (efidisk: Record<string, string | number> | undefined, smm: boolean) => {
      const f = getOvmfFiles(HARNESS, 'x86_64', efidisk, smm, undefined);
      return [f.source, f.code.slice(B.length), f.vars?.slice(B.length), f.varsSize];
    };
    expect(pick(efi4mKeys, true)).toEqual(['4m-ms', 'OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.ms.fd', 540672]);
    expect(pick(efi4mKeys, false)).toEqual(['4m-no-smm-ms', 'OVMF_CODE_4M.fd', 'OVMF_VARS_4M.ms.fd', 540672]);
    expect(pick({ efitype: '4m' }, true)).toEqual(['4m', 'OVMF_CODE_4M.secboot.fd', 'OVMF_VARS_4M.fd', 540672]);
    expect(pick({ efitype: '4m', 'pre-enrolled-keys': 0 }, false)).toEqual(['4m-no-smm', 'OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd', 540672]);
    expect(pick({ efitype: '2m', 'pre-enrolled-keys': 1 }, true)).toEqual(['default', 'OVMF_CODE.fd', 'OVMF_VARS.fd', 131072]);
    expect(pick(undefined, false)).toEqual(['default', 'OVMF_CODE.fd', 'OVMF_VARS.fd', 131072]);
  });

  it('aarch64: pre-enrolled keys need the secboot CODE, else the exact warning', () => {
    const withSecboot: PveTableFirmware = {
      kind: 'pve-table',
      baseDir: EDK2_FW_BASE,
      files: {
        [`${B}AAVMF_CODE.secboot.fd`]: 67108864,
        [`${B}AAVMF_VARS.ms.fd`]: 67108864,
        [`${B}AAVMF_CODE.fd`]: 1,
        [`${B}AAVMF_VARS.fd`]: 67108864,
      },
    };
    expect(getOvmfFiles(withSecboot, 'aarch64', { 'pre-enrolled-keys': 1 }, false, undefined)).toMatchObject({
      code: `${B}AAVMF_CODE.secboot.fd`,
      vars: `${B}AAVMF_VARS.ms.fd`,
      warnings: [],
    });
    const without: PveTableFirmware = {
      kind: 'pve-table',
      baseDir: EDK2_FW_BASE,
      files: { [`${B}AAVMF_CODE.fd`]: 1, [`${B}AAVMF_VARS.fd`]: 67108864 },
    };
    const f = getOvmfFiles(without, 'aarch64', { 'pre-enrolled-keys': 1 }, false, undefined);
    expect(f.code).toBe(`${B}AAVMF_CODE.fd`);
    expect(f.varsSize).toBe(67108864);
    expect(f.preEnrolledKeysIgnored).toBe(true);
    expect(f.warnings).toEqual([
      "requested EFI image with pre-enrolled-keys, but ignoring because /usr/share/pve-edk2-firmware//AAVMF_CODE.secboot.fd' file is missing - check that pve-edk2-firmware-aarch64 is correctly installed with version > 4.2025.05-2",
    ]);
    // the harness rules give AAVMF_VARS 64 MiB
    expect(getOvmfFiles(HARNESS, 'aarch64', undefined, false, undefined).varsSize).toBe(64 * 1024 * 1024);
  });

  it("throws qemu-server's exact errors", () => {
    expect(error(() => getOvmfFiles(HARNESS, 'riscv64', undefined, false, undefined)).message).toBe(
      "no OVMF images known for architecture 'riscv64'",
    );
    const onlyCode: PveTableFirmware = { kind: 'pve-table', baseDir: EDK2_FW_BASE, files: { [`${B}OVMF_SEV_CODE_4M.fd`]: 1 } };
    const e = error(() => getOvmfFiles(onlyCode, 'x86_64', undefined, false, 'std'));
    expect([e.code, e.message]).toEqual(['FIRMWARE_MISSING', `EFI vars image '${B}OVMF_SEV_VARS_4M.fd' not found`]);
    expect(error(() => getOvmfFiles(onlyCode, 'x86_64', undefined, false, 'snp')).message).toBe(
      `EFI base image '${B}OVMF_SEV_4M.fd' not found`,
    );
    expect(error(() => getOvmfFiles(onlyCode, 'x86_64', undefined, false, undefined)).message).toBe(
      `EFI base image '${B}OVMF_CODE.fd' not found`,
    );
    const noRules: PveTableFirmware = { ...HARNESS, sizeRules: [['OVMF_VARS', 1]] };
    expect(error(() => getOvmfFiles(noRules, 'aarch64', undefined, false, undefined)).message).toBe(
      `unknown ovmf vars image '${B}AAVMF_VARS.fd' - implement me`,
    );
  });

  it('takes real sizes from the file map', () => {
    const real: PveTableFirmware = {
      kind: 'pve-table',
      baseDir: EDK2_FW_BASE,
      files: { [`${B}OVMF_CODE.fd`]: 1966080, [`${B}OVMF_VARS.fd`]: 131000 },
    };
    expect(getOvmfFiles(real, 'x86_64', undefined, false, undefined).varsSize).toBe(131000);
  });
});

describe('EFI disk rules', () => {
  it('refuses an efidisk for SEV-SNP only', () => {
    const e = error(() => assertEfidiskAllowed('snp'));
    expect(e.message).toBe('SEV-SNP uses consolidated read-only firmware and does not require an EFI disk');
    expect(e.message).toBe(SNP_EFIDISK_ERROR);
    for (const t of ['std', 'es', 'tdx', undefined] as const) expect(() => assertEfidiskAllowed(t)).not.toThrow();
  });

  it('uses the SEV VARS template for std/es, none for single-image firmware', () => {
    expect(efivarsTemplate(HARNESS, 'x86_64', { efitype: '4m' }, true, 'es')).toEqual({
      path: `${B}OVMF_SEV_VARS_4M.fd`,
      size: 540672,
    });
    expect(efivarsTemplate(HARNESS, 'x86_64', { efitype: '4m' }, true, undefined)).toEqual({
      path: `${B}OVMF_VARS_4M.fd`,
      size: 540672,
    });
    expect(efivarsTemplate(HARNESS, 'x86_64', undefined, false, 'snp')).toBeUndefined();
    expect(efivarsTemplate(HARNESS, 'x86_64', undefined, false, 'tdx')).toBeUndefined();
  });
});
