import { describe, expect, it } from 'vitest';
import type { VmConfig } from '../config/types.js';
import { EDK2_FW_BASE } from '../firmware/index.js';
import { lintConfig } from './index.js';
import { AMD_TURIN_9005 } from '../host/profiles/pve-test.js';

function vm(conf: Record<string, string>, pending: Record<string, string> = {}): VmConfig {
  return { vmid: 100, digest: '', conf, pending, special: {}, snapshots: {} };
}
const codes = (conf: Record<string, string>) => lintConfig(vm(conf)).map((f) => f.code);

describe('lintConfig', () => {
  it('is silent for a VM without CVM keys', () => {
    expect(lintConfig(vm({ bios: 'ovmf', memory: '2048' }))).toEqual([]);
  });

  it('flags debugging allowed for SNP (default) and SEV without no-debug', () => {
    const snp = lintConfig(vm({ bios: 'ovmf', 'amd-sev': 'type=snp' }));
    const f = snp.find((x) => x.code === 'cvm-debug-allowed')!;
    expect(f).toMatchObject({ severity: 'warning', key: 'amd-sev' });
    expect(f.message).toContain('policy 0xb0000 sets DEBUG');
    expect(f.message).toContain('SNP_DBG_DECRYPT');
    expect(codes({ bios: 'ovmf', 'amd-sev': 'snp,no-debug=1' })).not.toContain('cvm-debug-allowed');
    expect(codes({ bios: 'ovmf', 'amd-sev': 'es' })).toContain('cvm-debug-allowed');
    expect(codes({ bios: 'ovmf', 'amd-sev': 'es,no-debug=1' })).not.toContain('cvm-debug-allowed');
  });

  it('flags kernel-hashes without -kernel in args', () => {
    expect(codes({ bios: 'ovmf', 'amd-sev': 'snp,no-debug=1,kernel-hashes=1' })).toContain('kernel-hashes-without-kernel');
    expect(
      codes({ bios: 'ovmf', 'amd-sev': 'snp,no-debug=1,kernel-hashes=1', args: '-kernel /boot/vmlinuz -append console=ttyS0' }),
    ).not.toContain('kernel-hashes-without-kernel');
  });

  it('flags an efidisk on SNP/TDX but not on SEV std/es', () => {
    const efi = 'local:100/vm-100-disk-0.raw,efitype=4m,size=528K';
    const f = lintConfig(vm({ bios: 'ovmf', 'amd-sev': 'snp,no-debug=1', efidisk0: efi })).find((x) => x.code === 'efidisk-ignored')!;
    expect(f.message).toMatch(/^EFI disks are not supported with Confidential Virtual Machines and will be ignored/);
    expect(f.key).toBe('efidisk0');
    expect(codes({ bios: 'ovmf', 'intel-tdx': 'tdx,attestation=0', efidisk0: efi })).toContain('efidisk-ignored');
    expect(codes({ bios: 'ovmf', 'amd-sev': 'es,no-debug=1', efidisk0: efi })).not.toContain('efidisk-ignored');
  });

  it('flags templates that lose amd-sev', () => {
    const f = lintConfig(vm({ bios: 'ovmf', template: '1', 'amd-sev': 'snp,no-debug=1' })).find((x) => x.code === 'template-drops-cvm');
    expect(f).toMatchObject({ severity: 'warning', key: 'amd-sev' });
  });

  it('reports the live-migration/RAM-snapshot blockers with the qemu-server text', () => {
    const f = lintConfig(vm({ bios: 'ovmf', 'amd-sev': 'snp,no-debug=1', virtiofs0: 'share1' })).find(
      (x) => x.code === 'cvm-no-live-state',
    )!;
    expect(f.message).toContain('Cannot live-migrate, snapshot (with RAM), or hibernate a VM with: amd-sev, virtiofs');
    expect(f.severity).toBe('info');
    expect(codes({ virtiofs0: 'share1' })).not.toContain('cvm-no-live-state');
  });

  it('flags intel-tdx together with amd-sev (amd-sev wins)', () => {
    const all = lintConfig(vm({ bios: 'ovmf', 'amd-sev': 'snp,no-debug=1', 'intel-tdx': 'tdx,attestation=1' }));
    expect(all.map((f) => f.code)).toContain('tdx-with-sev');
    // TDX quirks are not reported for the ignored key
    expect(all.map((f) => f.code)).not.toContain('tdx-attestation-vsock');
    expect(all.find((f) => f.code === 'cvm-no-live-state')!.message).toContain('amd-sev, intel-tdx');
  });

  it('reports TDX attestation quirks', () => {
    const missingAttestation = lintConfig(vm({ bios: 'ovmf', 'intel-tdx': 'tdx' }));
    expect(missingAttestation[0]).toMatchObject({ code: 'cvm-option-invalid', severity: 'error', key: 'intel-tdx' });
    expect(missingAttestation[0]!.message).toContain('attestation');
    const noVsock = lintConfig(vm({ bios: 'ovmf', 'intel-tdx': 'tdx,attestation=1' })).find((f) => f.code === 'tdx-attestation-vsock')!;
    expect(noVsock.message).toContain("'Missing cid for vsock.'");
    const noPort = lintConfig(vm({ bios: 'ovmf', 'intel-tdx': 'tdx,attestation=1,vsock-cid=2' })).find(
      (f) => f.code === 'tdx-attestation-vsock',
    )!;
    expect(noPort.message).toContain("'Missing port for vsock.'");
    expect(codes({ bios: 'ovmf', 'intel-tdx': 'tdx,attestation=1,vsock-cid=2,vsock-port=4050' })).not.toContain('tdx-attestation-vsock');
  });

  it('flags a CVM without OVMF as an error', () => {
    const f = lintConfig(vm({ 'amd-sev': 'std' })).find((x) => x.code === 'cvm-bios-not-ovmf')!;
    expect(f).toMatchObject({ severity: 'error', key: 'bios' });
    expect(f.message).toContain('To use AMD SEV, you need to change the BIOS to OVMF.');
    expect(
      lintConfig(vm({ bios: 'seabios', 'intel-tdx': 'tdx,attestation=0' })).find((x) => x.code === 'cvm-bios-not-ovmf')!.message,
    ).toContain('To use Intel TDX');
  });

  it('reports invalid amd-sev values as errors and pending changes as info', () => {
    const bad = lintConfig(vm({ bios: 'ovmf', 'amd-sev': 'type=xyz' }));
    expect(bad[0]).toMatchObject({ code: 'cvm-option-invalid', severity: 'error' });
    expect(bad[0]!.message).toContain("value 'xyz' does not have a value in the enumeration 'std, es, snp'");
    const pending = lintConfig(vm({ bios: 'ovmf' }, { 'amd-sev': 'snp' }));
    expect(pending).toEqual([expect.objectContaining({ code: 'cvm-pending', key: 'amd-sev', severity: 'info' })]);
  });

  it('checks against host capabilities and firmware when given', () => {
    const host = {
      arch: 'x86_64' as const,
      hwCapabilities: {
        'amd-sev': { cbitpos: 51, 'reduced-phys-bits': 1, 'sev-support': true, 'sev-support-es': true, 'sev-support-snp': false },
      },
      firmware: { kind: 'pve-table' as const, baseDir: EDK2_FW_BASE, files: {} },
    };
    const f = lintConfig(vm({ bios: 'ovmf', 'amd-sev': 'snp,no-debug=1' }), host);
    expect(f.find((x) => x.code === 'host-unsupported')!.message).toBe('on this host: Your CPU does not support AMD SEV-SNP.');
    expect(f.find((x) => x.code === 'firmware-missing')!.message).toBe(
      "on this host: EFI base image '/usr/share/pve-edk2-firmware//OVMF_SEV_4M.fd' not found",
    );
    const ok = lintConfig(vm({ bios: 'ovmf', 'amd-sev': 'es,no-debug=1' }), {
      ...host,
      firmware: { ...host.firmware, files: '*' as const },
    });
    expect(ok.map((x) => x.code)).toEqual(['cvm-no-live-state']);
  });

  it('has nothing above info for a clean, realistic SNP VM on a capable host', () => {
    const conf = {
      bios: 'ovmf',
      machine: 'q35',
      'amd-sev': 'type=snp,no-debug=1,kernel-hashes=1',
      cpu: 'EPYC-Milan',
      cores: '4',
      sockets: '1',
      memory: '8192',
      hotplug: 'disk,network,usb,cpu',
      numa: '0',
      agent: '1',
      ostype: 'l26',
      scsihw: 'virtio-scsi-single',
      scsi0: 'local-lvm:vm-100-disk-1,iothread=1,size=32G',
      net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
      args: '-kernel /boot/vmlinuz -initrd /boot/initrd.img -append "root=/dev/sda1 console=ttyS0"',
    };
    const host = {
      arch: 'x86_64' as const,
      hwCapabilities: structuredClone(AMD_TURIN_9005),
      firmware: { kind: 'pve-table' as const, baseDir: EDK2_FW_BASE, files: '*' as const },
    };
    const findings = lintConfig(vm(conf), host);
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(findings.map((f) => f.code)).toEqual(['cvm-no-live-state']);
  });
});
