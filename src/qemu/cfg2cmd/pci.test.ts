import { describe, expect, it } from 'vitest';
import { testContext } from './drives-test-env.js';
import { emitPciBridges, pciAddr, printPciAddr, printPcieAddr, printPcieRootPort } from './pci.js';

describe('print_pci_addr', () => {
  it('knows the fixed slots of the i440fx-style buses', () => {
    expect(printPciAddr('vga', undefined, 'x86_64')).toBe(',bus=pci.0,addr=0x2');
    expect(printPciAddr('balloon0', undefined, 'x86_64')).toBe(',bus=pci.0,addr=0x3');
    expect(printPciAddr('scsihw0', undefined, 'x86_64')).toBe(',bus=pci.0,addr=0x5');
    expect(printPciAddr('net0', undefined, 'x86_64')).toBe(',bus=pci.0,addr=0x12');
    expect(printPciAddr('hostpci2', undefined, 'x86_64')).toBe(',bus=pci.0,addr=0x1b');
    expect(printPciAddr('pci.1', undefined, 'x86_64')).toBe(',bus=pci.0,addr=0x1e');
    expect(printPciAddr('net6', undefined, 'x86_64')).toBe(',bus=pci.1,addr=0x1');
    expect(printPciAddr('rng0', undefined, 'x86_64')).toBe(',bus=pci.1,addr=0x1d');
    expect(printPciAddr('virtioscsi16', undefined, 'x86_64')).toBe(',bus=pci.3,addr=0x11');
    expect(printPciAddr('scsihw2', undefined, 'x86_64')).toBe(',bus=pci.4,addr=0x1');
    expect(printPciAddr('unknown', undefined, 'x86_64')).toBe('');
  });

  it('names bus 0 pcie.0 on aarch64 and refuses IDE there', () => {
    expect(printPciAddr('net0', undefined, 'aarch64')).toBe(',bus=pcie.0,addr=0x12');
    expect(() => printPciAddr('ide2', undefined, 'aarch64')).toThrow('aarch64 cannot use IDE devices');
  });

  it('records the bridges used', () => {
    const ctx = testContext({});
    pciAddr(ctx, 'net7');
    pciAddr(ctx, 'virtio0');
    expect([...ctx.pciBridges].sort()).toEqual([0, 1]);
  });

  it('knows the q35 PCIe slots and extra root ports', () => {
    expect(printPcieAddr('hostpci1')).toBe(',bus=ich9-pcie-port-2,addr=0x0');
    expect(printPcieAddr('hostpci0bus0')).toBe(',bus=pcie.0,addr=0x10');
    expect(printPcieAddr('hostpci4bus0')).toBe(',bus=pcie.0,addr=0x9');
    expect(printPcieRootPort(3)).toBe('');
    expect(printPcieRootPort(7)).toBe(
      'pcie-root-port,id=ich9-pcie-port-8,addr=10.3,x-speed=16,x-width=32,multifunction=on,bus=pcie.0,port=8,chassis=8',
    );
  });
});

describe('emitPciBridges', () => {
  it('puts pci.1 and pci.2 first on i440fx ≥ 2.3', () => {
    const ctx = testContext({});
    const devices = ['-device', 'vmgenid'];
    emitPciBridges(ctx, devices, 'lsi', false);
    expect(devices).toEqual([
      '-device',
      'pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e',
      '-device',
      'pci-bridge,id=pci.2,chassis_nr=2,bus=pci.0,addr=0x1f',
      '-device',
      'vmgenid',
    ]);
  });

  it('adds pci.3 for virtio-scsi-single and only bridges ≥ 4 on q35 after -readconfig', () => {
    const ctx = testContext({});
    const devices: string[] = [];
    emitPciBridges(ctx, devices, 'virtio-scsi-single', false);
    expect(devices[1]).toBe('pci-bridge,id=pci.1,chassis_nr=1,bus=pci.0,addr=0x1e');
    expect(devices[5]).toBe('pci-bridge,id=pci.3,chassis_nr=3,bus=pci.0,addr=0x5');
    const q35 = testContext({}, { q35: true });
    q35.pciBridges.add(4);
    const qdev = ['-readconfig', 'x.cfg', '-device', 'vmgenid'];
    emitPciBridges(q35, qdev, 'lsi', false);
    expect(qdev).toEqual(['-readconfig', 'x.cfg', '-device', 'pci-bridge,id=pci.4,chassis_nr=4,bus=pci.1,addr=0x1c', '-device', 'vmgenid']);
  });
});
