/**
 * @module qemu/cfg2cmd/pci
 * Fixed guest PCI addresses (PCI.pm get_pci_addr_map / get_pcie_addr_map): every emitted
 * device id has a slot on pci.0…pci.4 (i440fx style buses, also used on q35 for the
 * non-PCIe devices) or on a q35 PCIe root port. Printing an address records the bridge the
 * device needs in `ctx.pciBridges`; `emitPciBridges` later adds the `pci-bridge` devices.
 */

import type { Cfg2CmdContext } from './context.js';
import { generateError } from './drives-common.js';

type Slot = readonly [bus: number, addr: number];

function buildPciMap(): Map<string, Slot> {
  const map = new Map<string, Slot>();
  const put = (id: string, bus: number, addr: number) => map.set(id, [bus, addr]);
  put('piix3', 0, 1);
  put('ehci', 0, 1);
  put('vga', 0, 2);
  put('legacy-igd', 0, 2);
  put('balloon0', 0, 3);
  put('watchdog', 0, 4);
  put('scsihw0', 0, 5);
  put('pci.3', 0, 5);
  put('scsihw1', 0, 6);
  put('ahci0', 0, 7);
  put('qga0', 0, 8);
  put('spice', 0, 9);
  for (let i = 0; i <= 5; i++) put(`virtio${i}`, 0, 10 + i);
  put('hostpci0', 0, 16);
  put('hostpci1', 0, 17);
  for (let i = 0; i <= 5; i++) put(`net${i}`, 0, 18 + i);
  put('vga1', 0, 24);
  put('vga2', 0, 25);
  put('vga3', 0, 26);
  put('hostpci2', 0, 27);
  put('hostpci3', 0, 28);
  put('pci.1', 0, 30);
  put('pci.2', 0, 31);
  for (let i = 6; i <= 31; i++) put(`net${i}`, 1, i - 5);
  put('xhci', 1, 27);
  put('pci.4', 1, 28);
  put('rng0', 1, 29);
  put('pci.2-igd', 1, 30);
  for (let i = 6; i <= 15; i++) put(`virtio${i}`, 2, i - 5);
  put('ivshmem', 2, 11);
  put('audio0', 2, 12);
  for (let i = 4; i <= 15; i++) put(`hostpci${i}`, 2, i + 9);
  for (let i = 0; i <= 30; i++) put(`virtioscsi${i}`, 3, i + 1);
  put('scsihw2', 4, 1);
  put('scsihw3', 4, 2);
  put('scsihw4', 4, 3);
  return map;
}

const PCI_MAP = buildPciMap();

function buildPcieMap(): Map<string, readonly [bus: string, addr: number]> {
  const map = new Map<string, readonly [string, number]>();
  map.set('vga', ['pcie.0', 1]);
  for (let i = 0; i <= 15; i++) map.set(`hostpci${i}`, [`ich9-pcie-port-${i + 1}`, 0]);
  // win7 wants passthrough devices directly on pcie.0
  const bus0 = [16, 17, 18, 19, 9, 10, 11, 12, 13, 14, 15, 21, 22, 23, 24, 25];
  bus0.forEach((addr, i) => {
    map.set(`hostpci${i}bus0`, ['pcie.0', addr]);
  });
  map.set('ivshmem', ['pcie.0', 20]);
  return map;
}

const PCIE_MAP = buildPcieMap();

/**
 * print_pci_addr without context: `,bus=pci.N,addr=0xA` (bus `pcie.0` for bus 0 on aarch64),
 * or '' for ids without a fixed slot. `bridges` (when given) records the bus used.
 */
export function printPciAddr(id: string, bridges: Set<number> | undefined, arch: string): string {
  if (arch === 'aarch64' && id.startsWith('ide')) generateError('aarch64 cannot use IDE devices');
  const slot = PCI_MAP.get(id);
  if (!slot) return '';
  const [bus, addr] = slot;
  const busName = arch === 'aarch64' && bus === 0 ? 'pcie' : 'pci';
  bridges?.add(bus);
  return `,bus=${busName}.${bus},addr=0x${addr.toString(16)}`;
}

/** print_pci_addr for the generator: records the needed bridge in ctx.pciBridges. */
export function pciAddr(ctx: Cfg2CmdContext, id: string): string {
  return printPciAddr(id, ctx.pciBridges, ctx.arch);
}

/** print_pcie_addr: `,bus=<port or pcie.0>,addr=0xA` or ''. */
export function printPcieAddr(id: string): string {
  const slot = PCIE_MAP.get(id);
  if (!slot) return '';
  return `,bus=${slot[0]},addr=0x${slot[1].toString(16)}`;
}

const ROOT_PORT_ADDRESSES: Record<number, string> = {
  4: '10.0',
  5: '10.1',
  6: '10.2',
  7: '10.3',
  8: '10.4',
  9: '10.5',
  10: '10.6',
  11: '10.7',
  12: '11.0',
  13: '11.1',
  14: '11.2',
  15: '11.3',
};

/** print_pcie_root_port: the extra q35 root port for hostpci4…15 ('' for 0…3, which pve-q35 cfg has). */
export function printPcieRootPort(i: number): string {
  const addr = ROOT_PORT_ADDRESSES[i];
  if (addr === undefined) return '';
  const id = i + 1;
  return `pcie-root-port,id=ich9-pcie-port-${id},addr=${addr},x-speed=16,x-width=32,multifunction=on,bus=pcie.0,port=${id},chassis=${id}`;
}

/**
 * Adds the PCI bridges (config_to_command after the device loop, spec §7.1 $devices item 21):
 * i440fx gets pci.1/pci.2 (machine ≥ 2.3) and pci.3 for virtio-scsi-single, unshifted to the
 * front; q35 only needs bridges ≥ 4, spliced in at `q35Index`: after `-readconfig` (index 2), or
 * after the q35 base devices a local host emits inline instead. `scsihw` is the effective
 * controller type (config or default `lsi`); `legacyIgd` moves pci.2 to its IGD slot.
 */
export function emitPciBridges(ctx: Cfg2CmdContext, devices: string[], scsihw: string, legacyIgd: boolean, q35Index = 2): void {
  const bridges = ctx.pciBridges;
  if (bridges.has(4)) bridges.add(1);
  if (!ctx.q35) {
    if (ctx.minVersion(2, 3)) {
      bridges.add(1);
      bridges.add(2);
    }
    if (scsihw.startsWith('virtio-scsi-single')) bridges.add(3);
  }
  // upstream sorts the keys as strings, descending
  const keys = [...bridges].map(String).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  for (const key of keys) {
    const k = Number(key);
    if (ctx.q35 && k < 4) continue;
    const name = k === 2 && legacyIgd ? `${k}-igd` : `${k}`;
    const dev = `pci-bridge,id=pci.${k},chassis_nr=${k}${printPciAddr(`pci.${name}`, undefined, ctx.arch)}`;
    if (ctx.q35) devices.splice(q35Index, 0, '-device', dev);
    else if (k > 0) devices.unshift('-device', dev);
  }
}
