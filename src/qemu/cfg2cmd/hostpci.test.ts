import { describe, expect, it } from 'vitest';
import { deviceBootorder } from './bootorder.js';
import { testContext } from './drives-test-env.js';
import { emitHostpci, mdevUuid } from './hostpci.js';

function hostpci(conf: Record<string, string>, opts: { q35?: boolean; winVersion?: number } = { q35: true }) {
  const ctx = testContext(conf, opts);
  ctx.bootOrder = deviceBootorder(conf);
  const devices: string[] = [];
  const vga = { type: 'std' };
  const result = emitHostpci(ctx, devices, vga);
  return { devices: devices.filter((_, i) => i % 2 === 1), result, vga };
}

describe('emitHostpci', () => {
  it('places PCI and PCIe devices and adds root ports beyond the fourth (q35-linux-hostpci)', () => {
    const { devices } = hostpci({
      bios: 'ovmf',
      hostpci0: '00:ff.1',
      hostpci1: 'd0:13.0,pcie=1',
      hostpci4: 'd0:17.0,pcie=1,rombar=0',
    });
    expect(devices).toEqual([
      'vfio-pci,host=0000:00:ff.1,id=hostpci0,bus=pci.0,addr=0x10',
      'vfio-pci,host=0000:d0:13.0,id=hostpci1,bus=ich9-pcie-port-2,addr=0x0',
      'pcie-root-port,id=ich9-pcie-port-5,addr=10.0,x-speed=16,x-width=32,multifunction=on,bus=pcie.0,port=5,chassis=5',
      'vfio-pci,host=0000:d0:17.0,id=hostpci4,bus=ich9-pcie-port-5,addr=0x0,rombar=0',
    ]);
  });

  it('expands multifunction devices and keeps non-zero domains (q35-linux-hostpci-multifunction)', () => {
    const { devices } = hostpci({ hostpci0: 'f0:43', hostpci1: '1234:f0:43' });
    expect(devices).toEqual([
      'vfio-pci,host=0000:f0:43.0,id=hostpci0.0,bus=pci.0,addr=0x10.0,multifunction=on',
      'vfio-pci,host=0000:f0:43.1,id=hostpci0.1,bus=pci.0,addr=0x10.1',
      'vfio-pci,host=1234:f0:43.1,id=hostpci1,bus=pci.0,addr=0x11',
    ]);
  });

  it('resolves mappings to free devices and mdevs to sysfs paths (q35-linux-hostpci-mapping)', () => {
    const { devices } = hostpci({
      hostpci0: 'mapping=someNic',
      hostpci1: 'mapping=someGpu,mdev=some-model',
      hostpci2: 'mapping=someNic',
    });
    expect(devices).toEqual([
      'vfio-pci,host=0000:07:10.0,id=hostpci0,bus=pci.0,addr=0x10',
      'vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000001-0000-0000-0000-000000008006,id=hostpci1,bus=pci.0,addr=0x11',
      'vfio-pci,host=0000:07:10.1,id=hostpci2,bus=pci.0,addr=0x1b',
    ]);
    expect(mdevUuid(8006, 1)).toBe('00000001-0000-0000-0000-000000008006');
  });

  it('passes ID overrides through (q35-linux-hostpci-x-pci-overrides)', () => {
    const { devices } = hostpci({
      hostpci1: 'd0:13.0,pcie=1,vendor-id=0x1234,device-id=0x5678',
    });
    expect(devices).toEqual([
      'vfio-pci,host=0000:d0:13.0,id=hostpci1,bus=ich9-pcie-port-2,addr=0x0,x-pci-vendor-id=0x1234,x-pci-device-id=0x5678',
    ]);
  });

  it('handles x-vga, bootindex and romfile', () => {
    const { devices, result, vga } = hostpci({ hostpci0: '00:ff.1,x-vga=1,romfile=gpu.rom', boot: 'order=hostpci0' }, { q35: false });
    expect(devices).toEqual([
      'vfio-pci,host=0000:00:ff.1,id=hostpci0,bus=pci.0,addr=0x10,x-vga=on,romfile=/usr/share/kvm/gpu.rom,bootindex=100',
    ]);
    expect(result).toMatchObject({ kvmOff: true, gpuPassthrough: true });
    expect(vga.type).toBe('none');
  });

  it('reads boolean words like the schema (rombar=off, pcie=yes)', () => {
    const { devices } = hostpci({ hostpci1: 'd0:13.0,pcie=yes,rombar=off' });
    expect(devices).toEqual(['vfio-pci,host=0000:d0:13.0,id=hostpci1,bus=ich9-pcie-port-2,addr=0x0,rombar=0']);
  });

  it('puts PCIe devices on pcie.0 for Windows 7', () => {
    const { devices } = hostpci({ hostpci1: 'd0:13.0,pcie=1' }, { q35: true, winVersion: 7 });
    expect(devices).toEqual(['vfio-pci,host=0000:d0:13.0,id=hostpci1,bus=pcie.0,addr=0x11']);
  });

  it('dies with qemu-server texts', () => {
    expect(() => hostpci({ hostpci0: 'd0:13.0,pcie=1' }, { q35: false })).toThrow('q35 machine model is not enabled');
    expect(() => hostpci({ hostpci0: 'ab:cd.0' })).toThrow("no PCI device found for 'ab:cd.0'");
    expect(() => hostpci({ hostpci0: 'mapping=nothing' })).toThrow("PCI device mapping not found for 'nothing'");
    const changed = testContext({ hostpci0: 'mapping=someNic' }, { q35: true });
    const nic = changed.host.pciDevices.find((d) => d.id === '0000:07:10.0');
    if (nic) nic.device = '0x1521';
    expect(() => emitHostpci(changed, [])).toThrow(
      "PCI device mapping invalid (hardware probably changed): 'id' does not match for 'someNic' (8086:1521 != 8086:1520)",
    );
    expect(() => hostpci({ hostpci0: '00:ff.1', hostpci1: '00:ff.1' })).toThrow("device '0000:00:ff.1' assigned more than once");
  });
});
