import { describe, expect, it } from 'vitest';
import { checkConfigValue, parsePropertyString } from '../../schema/index.js';
import { reportedCpuModels, validateVmCpuConf, verifyPhysBits } from '../cpu.js';
import { lookupConfigKey, parseHotplugFeatures, verifyBootdev, verifyBootdisk, verifyCpuset } from './index.js';

function configError(key: string, value: string): string {
  const schema = lookupConfigKey(key);
  if (!schema) throw new Error(`no key ${key}`);
  try {
    checkConfigValue(key, schema, value);
  } catch (err) {
    return (err as Error).message;
  }
  return 'ok';
}

describe('qemu-server verifiers through config values', () => {
  it('checks hotplug features', () => {
    expect(parseHotplugFeatures('1')).toEqual({ network: 1, disk: 1, usb: 1 });
    expect(parseHotplugFeatures('0')).toEqual({});
    expect(parseHotplugFeatures('cpu;memory disk,cloudinit')).toEqual({ cpu: 1, memory: 1, disk: 1, cloudinit: 1 });
    expect(configError('hotplug', 'network,disk')).toBe('ok');
    expect(configError('hotplug', 'network,floppy')).toBe("invalid hotplug feature 'floppy'");
  });

  it('checks boot order devices', () => {
    expect(configError('boot', 'order=scsi0;ide2;net0;hostpci15;usb13')).toBe('ok');
    expect(configError('boot', 'cdn')).toBe('ok');
    expect(configError('boot', 'order=efidisk0')).toMatch(/order: invalid format - invalid boot device 'efidisk0'/);
    expect(configError('boot', 'order=net32')).toMatch(/invalid boot device 'net32'/);
    expect(verifyBootdev('tpmstate0')).toBe("invalid boot device 'tpmstate0'");
    expect(verifyBootdev('net01')).toBe("invalid boot device 'net01'");
    expect(verifyBootdev('virtio15')).toBeUndefined();
  });

  it('checks the deprecated bootdisk', () => {
    expect(verifyBootdisk('scsi3')).toBeUndefined();
    expect(verifyBootdisk('efidisk0')).toBeUndefined();
    expect(configError('bootdisk', 'floppy0')).toBe("invalid boot disk 'floppy0'");
  });

  it('checks cpusets', () => {
    expect(verifyCpuset('0,5,8-11')).toBeUndefined();
    expect(verifyCpuset('1,2,')).toBeUndefined();
    expect(verifyCpuset(' 3 - 4')).toBe('unable to parse cpuset option');
    expect(verifyCpuset('4-3')).toBe('unable to parse cpuset option');
    expect(configError('affinity', '0-3,x')).toBe('unable to parse cpuset option');
  });

  it('checks plain typed keys like qemu-server (spec §6.3)', () => {
    expect(configError('numa', 'verify meee~ :)')).toBe("type check ('boolean') failed - got 'verify meee~ :)'");
    expect(configError('cores', '4')).toBe('ok');
    expect(configError('cores', '-4')).toBe("type check ('integer') failed - got '-4'");
  });
});

describe('cpu format', () => {
  it('accepts known, built-in and custom models with VM-safe flags', () => {
    expect(parsePropertyString('pve-vm-cpu-conf', 'host,flags=+aes;-pcid;+nested-virt')).toEqual({
      cputype: 'host',
      flags: '+aes;-pcid;+nested-virt',
    });
    expect(parsePropertyString('pve-vm-cpu-conf', 'x86-64-v2-AES,hidden=1')).toEqual({ cputype: 'x86-64-v2-AES', hidden: 1 });
    expect(parsePropertyString('pve-vm-cpu-conf', 'custom-mine')).toEqual({ cputype: 'custom-mine' });
    expect(parsePropertyString('pve-vm-cpu-conf', 'EPYC-Genoa,phys-bits=host,guest-phys-bits=52')).toMatchObject({ 'phys-bits': 'host' });
  });

  it('rejects what validate_vm_cpu_conf rejects, with its texts', () => {
    expect(() => parsePropertyString('pve-vm-cpu-conf', 'hidden=1')).toThrow('CPU is missing cputype');
    expect(() => parsePropertyString('pve-vm-cpu-conf', 'Skylake')).toThrow(
      "Built-in cputype 'Skylake' is not defined (missing 'custom-' prefix?)",
    );
    expect(() => parsePropertyString('pve-vm-cpu-conf', 'host,flags=+avx')).toThrow(
      'VM-specific CPU flags must be a subset of: aes, amd-no-ssb, amd-ssbd, hv-evmcs, hv-tlbflush, ibpb, md-clear, nested-virt, pcid, pdpe1gb, spec-ctrl, ssbd, virt-ssbd',
    );
    expect(() => parsePropertyString('pve-vm-cpu-conf', 'host,reported-model=EPYC')).toThrow(
      "Property 'reported-model' not allowed in VM-specific CPU config.",
    );
    expect(() => validateVmCpuConf({ cputype: 'custom-x' }, ['y'])).toThrow("Custom cputype 'x' not found");
    expect(() => parsePropertyString('pve-vm-cpu-conf', 'host,phys-bits=7')).toThrow(
      "phys-bits: invalid format - value must be an integer between 8 and 64 or 'host'",
    );
  });

  it('allows any flag in custom model definitions (pve-cpu-conf)', () => {
    expect(parsePropertyString('pve-cpu-conf', 'Skylake-Server,flags=+avx;-x2apic,reported-model=EPYC')).toMatchObject({
      flags: '+avx;-x2apic',
    });
  });

  it('sorts reported models case-insensitively and knows phys-bits limits', () => {
    expect(reportedCpuModels[0]).toBe('486');
    expect(reportedCpuModels.indexOf('athlon')).toBeLessThan(reportedCpuModels.indexOf('Broadwell'));
    expect(reportedCpuModels.filter((m) => m === 'max')).toHaveLength(1);
    expect(verifyPhysBits('64')).toBeUndefined();
    expect(verifyPhysBits('65')).toBeDefined();
    expect(verifyPhysBits('host')).toBeUndefined();
  });
});

describe('anonymous formats through config values', () => {
  it('requires agent enabled (default key, not optional)', () => {
    expect(configError('agent', '1,fstrim_cloned_disks=1')).toBe('ok');
    expect(configError('agent', 'fstrim_cloned_disks=1')).toBe('format error\nenabled: property is missing and it is not optional\n');
    expect(configError('agent', 'enabled=1,freeze-fs-on-backup=0')).toBe('ok');
  });

  it('validates machine, memory, vga, numa and rng', () => {
    expect(configError('machine', 'pc-q35-10.1+pve1,viommu=virtio,aw-bits=48')).toBe('ok');
    expect(configError('machine', 'q36')).toBe('format error\ntype: value does not match the regex pattern\n');
    expect(configError('memory', '2048')).toBe('ok');
    expect(configError('memory', '8')).toBe('format error\ncurrent: value must have a minimum value of 16\n');
    expect(configError('vga', 'qxl,memory=600')).toBe('format error\nmemory: value must have a maximum value of 512\n');
    expect(configError('numa0', 'cpus=0-3;8,memory=1024,policy=bind')).toBe('ok');
    expect(configError('rng0', 'source=/dev/urandom,max_bytes=0')).toBe('ok');
    expect(configError('serial0', 'socket')).toBe('ok');
  });
});
