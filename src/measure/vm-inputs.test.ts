/**
 * Deriving measurement inputs from a VM config and the QEMU argv qemu-server would generate
 * (argv shapes from spec qemu-server.md §4: -bios for SNP, blockdev/drive pflash for std/es).
 */
import { describe, expect, it } from 'vitest';
import { CvmError } from '../errors.js';
import { firmwareFromArgv, machineVersionFromArgv, planFromVm, splitQemuOpts, vcpusFromSmp } from './vm-inputs.js';

const SNP_ARGV = [
  '/usr/bin/kvm',
  '-id',
  '8006',
  '-smp',
  '4,sockets=2,cores=2,maxcpus=4',
  '-cpu',
  'EPYC-Milan,enforce,+kvm_pv_eoi',
  '-object',
  'sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0xb0000,kernel-hashes=on',
  '-bios',
  '/usr/share/pve-edk2-firmware//OVMF_SEV_4M.fd',
  '-kernel',
  '/boot/vmlinuz',
  '-initrd',
  '/boot/initrd.img',
  '-append',
  'console=ttyS0',
  '-machine',
  'type=pc+pve0,confidential-guest-support=sev0',
];
const STD_ARGV = [
  '/usr/bin/kvm',
  '-smp',
  '2,sockets=1,cores=2,maxcpus=2',
  '-cpu',
  'kvm64,enforce',
  '-object',
  'sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0x8',
  '-blockdev',
  '{"driver":"raw","file":{"driver":"file","filename":"/usr/share/pve-edk2-firmware//OVMF_SEV_CODE_4M.fd"},"node-name":"pflash0","read-only":true}',
  '-machine',
  'pflash0=pflash0,pflash1=drive-efidisk0,type=pc+pve0,confidential-guest-support=sev0',
];

describe('planFromVm', () => {
  it('maps an SNP VM with kernel-hashes', () => {
    const plan = planFromVm({ 'amd-sev': 'type=snp,kernel-hashes=1', cpu: 'EPYC-Milan', sockets: '2', cores: '2' }, SNP_ARGV, {
      vmid: 8006,
    });
    expect(plan).toMatchObject({
      mode: 'snp',
      ovmfPath: '/usr/share/pve-edk2-firmware//OVMF_SEV_4M.fd',
      vcpus: 4,
      vcpuModel: 'EPYC-Milan',
      vcpuSig: 0xa00f11,
      guestFeatures: 0x1,
      kernelPath: '/boot/vmlinuz',
      initrdPath: '/boot/initrd.img',
      append: 'console=ttyS0',
      policy: 0xb0000n,
      kernelHashes: true,
    });
  });

  it('maps a std VM on blockdev pflash with the kvm64 default', () => {
    const plan = planFromVm({ 'amd-sev': 'std' }, STD_ARGV);
    expect(plan).toMatchObject({
      mode: 'sev',
      ovmfPath: '/usr/share/pve-edk2-firmware//OVMF_SEV_CODE_4M.fd',
      vcpus: 2,
      policy: 0x8n,
      kernelPath: null,
    });
  });

  it('does not measure a kernel without kernel-hashes and says so', () => {
    const argv = SNP_ARGV.map((a) => a.replace(',kernel-hashes=on', ''));
    const plan = planFromVm({ 'amd-sev': 'snp' }, argv);
    expect(plan.kernelPath).toBeNull();
    expect(plan.notes.join()).toMatch(/kernel-hashes is off/);
  });

  it('falls back to the config for vCPUs and model and handles es', () => {
    const argv = [
      '-drive',
      'if=pflash,unit=0,format=raw,readonly=on,file=/fw/OVMF_CVM_CODE_4M.fd',
      '-object',
      'sev-guest,id=sev0,policy=0xc',
    ];
    const plan = planFromVm({ 'amd-sev': 'es', sockets: '2', cores: '3', cpu: 'cputype=EPYC-Genoa,flags=+aes' }, argv);
    expect(plan).toMatchObject({ mode: 'seves', vcpus: 6, vcpuModel: 'EPYC-Genoa', vcpuSig: 0xa10f10, guestFeatures: 0, policy: 0xcn });
  });

  it('counts CPUs cold-plugged with -device as initial vCPUs (hotplug: cpu, -smp 1)', () => {
    // qemu-server with CPU hotplug: `-smp 1,…` plus one `-device <model>-x86_64-cpu` per further
    // vCPU; all exist before SNP launch finish, so each gets a VMSA in the digest.
    const argv = SNP_ARGV.map((a) => (a.startsWith('4,sockets') ? '1,sockets=2,cores=2,maxcpus=4' : a));
    argv.push('-device', 'EPYC-Milan-x86_64-cpu,id=cpu2,socket-id=0,core-id=1,thread-id=0');
    argv.push('-device', 'EPYC-Milan-x86_64-cpu,id=cpu3,socket-id=1,core-id=0,thread-id=0');
    argv.push('-device', 'virtio-net-pci,id=net0');
    const plan = planFromVm({ 'amd-sev': 'snp', cpu: 'EPYC-Milan', sockets: '2', cores: '2', vcpus: '3', hotplug: 'cpu' }, argv);
    expect(plan.vcpus).toBe(3);
  });

  it('uses the qemu64 signature of current QEMU for Proxmox x86-64-v2-AES', () => {
    const argv = SNP_ARGV.map((a) => (a.startsWith('EPYC-Milan,') ? 'qemu64,enforce,+aes' : a));
    expect(planFromVm({ 'amd-sev': 'snp', cpu: 'x86-64-v2-AES' }, argv)).toMatchObject({ vcpuModel: 'qemu64', vcpuSig: 0x60fb1 });
    expect(planFromVm({ 'amd-sev': 'snp', cpu: 'x86-64-v2-AES' }, ['-bios', '/fw.fd'])).toMatchObject({ vcpuSig: 0x60fb1 });
  });

  it('keeps the pre-6.1 qemu64 signature (6/6/3) for machine types pinned to <= 6.0', () => {
    const argv = ['-cpu', 'qemu64,+aes', '-bios', '/fw.fd', '-machine', 'type=pc-q35-6.0+pve0,confidential-guest-support=sev0'];
    expect(planFromVm({ 'amd-sev': 'es' }, argv).vcpuSig).toBe(0x663);
    expect(
      planFromVm(
        { 'amd-sev': 'es' },
        argv.map((a) => a.replace('6.0+pve0', '6.1')),
      ).vcpuSig,
    ).toBe(0x60fb1);
    expect(machineVersionFromArgv(['-machine', 'pc-i440fx-5.2,accel=kvm'])).toEqual([5, 2]);
    expect(machineVersionFromArgv(['-machine', 'type=q35'])).toBeUndefined();
  });

  it('refuses VMs without amd-sev, with TDX, or without firmware', () => {
    expect(() => planFromVm({}, SNP_ARGV, { vmid: 1 })).toThrow("VM 1 has no 'amd-sev' setting");
    expect(() => planFromVm({ 'intel-tdx': 'tdx' }, SNP_ARGV)).toThrow(/TDX measurement is not supported/);
    expect(() => planFromVm({ 'amd-sev': 'snp' }, ['-smp', '1'])).toThrow(CvmError);
    expect(() => planFromVm({ 'amd-sev': 'snp', cpu: 'host' }, ['-bios', '/x.fd'])).toThrow(/unknown vCPU model 'host'/);
  });
});

describe('argv helpers', () => {
  it('splits QEMU options with escaped commas', () => {
    expect(splitQemuOpts('file=/a,,b.fd,if=pflash')).toEqual(['file=/a,b.fd', 'if=pflash']);
  });
  it('reads -smp forms', () => {
    expect(vcpusFromSmp('8,sockets=2,cores=4')).toBe(8);
    expect(vcpusFromSmp('sockets=2,cores=3')).toBe(6);
  });
  it('reads cpus=/maxcpus= like QEMU when there is no leading count', () => {
    expect(vcpusFromSmp('cpus=3,sockets=2,cores=2')).toBe(3);
    expect(vcpusFromSmp('sockets=2,cores=2,maxcpus=4')).toBe(4);
    expect(vcpusFromSmp('sockets=2,clusters=2,cores=2')).toBe(8);
  });
  it('finds no firmware when there is none', () => {
    expect(firmwareFromArgv(['-m', '512'])).toBeNull();
  });
});
