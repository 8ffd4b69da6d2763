/**
 * @module qemu/cfg2cmd/hostpci
 * PCI passthrough (PCI.pm parse_hostpci / choose_hostpci_devices / print_hostpci_devices):
 * host ids or cluster mappings resolved against the host's lspci list, multifunction devices,
 * mediated devices, q35 PCIe root ports, rombar/romfile/x-vga/ID overrides and bootindex.
 * Runs in dry-run mode like `qm showcmd`: nothing is reserved, the first free alternative wins.
 */

import type { PciDeviceFact } from '../../host/facts.js';
import type { Cfg2CmdContext } from './context.js';
import { generateError, truthy } from './drives-common.js';
import { pciAddr, printPcieAddr, printPcieRootPort } from './pci.js';
import { indexedKeys } from './indexed-keys.js';
import { hostpciFormat } from '../../config/options/devices.js';
import { readPropertyString } from '../../schema/reader.js';

export const MAX_HOSTPCI_DEVICES = 16;
const HOSTPCI_KEYS = indexedKeys('hostpci', MAX_HOSTPCI_DEVICES);

export interface HostpciResult {
  /** x-vga passthrough turns KVM's hypervisor hiding on (`kvm_off`). */
  kvmOff: boolean;
  gpuPassthrough: boolean;
  legacyIgd: boolean;
  /** True when an x-vga device needs `vga: none` because the config sets no vga. */
  vgaNone: boolean;
  /** The chosen host devices per hostpciN (for later start-time preparation). */
  devices: Record<string, ParsedHostpci>;
}

export interface ParsedHostpci {
  opts: Record<string, string>;
  /** Alternatives, each a list of functions of one (multifunction) device; after choosing, one. */
  ids: PciDeviceFact[][];
  hasMultifunction: boolean;
  liveMigrationCapable: boolean;
}

/** A hostpciN value: the bare value is `host`; booleans normalised to 1/0 by the schema's reader. */
function hostpciOptions(value: string): Record<string, string> {
  return readPropertyString(hostpciFormat, value);
}

/** SysFSTools::lspci with a prefix filter (a missing domain matches 0000). */
function lspci(ctx: Cfg2CmdContext, filter: string): PciDeviceFact[] {
  return ctx.host.pciDevices
    .filter((d) => d.id.startsWith(filter) || d.id.startsWith(`0000:${filter}`))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((d) => ({ id: d.id }));
}

function deviceInfo(ctx: Cfg2CmdContext, id: string): PciDeviceFact | undefined {
  return ctx.host.pciDevices.find((d) => d.id === id);
}

/**
 * PVE::Mapping::PCI::assert_valid for one mapping entry: every path must exist on the host and
 * its `id` (vendor:device), the first path's `iommugroup` and `subsystem-id` must match.
 */
function assertMappingValid(ctx: Cfg2CmdContext, name: string, entry: Record<string, string>): void {
  const paths = (entry['path'] ?? '').split(';').filter((p) => p !== '');
  paths.forEach((original, idx) => {
    // a whole device (no function) is checked through its function 0
    const path = /\.[a-f0-9]/i.test(original) ? original : `${original}.0`;
    const full = path.split(':').length === 3 ? path : `0000:${path}`;
    const info = deviceInfo(ctx, full);
    if (!info) throw new Error(`pci device '${path}' not found`);
    const correct: Record<string, string | undefined> = {
      id: `${info.vendor ?? ''}:${info.device ?? ''}`,
      iommugroup: info.iommugroup === undefined ? undefined : String(info.iommugroup),
    };
    for (const prop of Object.keys(correct).sort()) {
      if (prop === 'iommugroup' && idx > 0) continue;
      const want = correct[prop];
      const have = entry[prop];
      if (want === undefined && have === undefined) continue;
      if (want !== undefined && have === undefined) throw new Error(`no '${prop}' for device '${path}'`);
      if (want === undefined && have !== undefined) throw new Error(`'${prop}' configured but should not be`);
      const a = (want as string).replace(/0x/g, '');
      const b = (have as string).replace(/0x/g, '');
      if (a !== b) throw new Error(`'${prop}' does not match for '${name}' (${a} != ${b})`);
    }
  });
}

/** Mapping entries for this node (PVE::Mapping::PCI::find_on_current_node), checked against the host. */
function mappingPaths(ctx: Cfg2CmdContext, mapping: string): { paths: string[]; liveMigration: boolean } {
  const cfg = ctx.host.pciMappings[mapping];
  const entries = (cfg?.map ?? [])
    .map((text) => Object.fromEntries(text.split(',').map((kv) => kv.split('=', 2) as [string, string])))
    .filter((e) => e['node'] === ctx.host.nodename);
  if (!cfg || entries.length === 0) generateError(`PCI device mapping not found for '${mapping}'`);
  const paths: string[] = [];
  for (const entry of entries) {
    try {
      assertMappingValid(ctx, mapping, entry);
    } catch (err) {
      generateError(`PCI device mapping invalid (hardware probably changed): ${(err as Error).message}`);
    }
    paths.push(entry['path'] ?? '');
  }
  return { paths, liveMigration: truthy(cfg?.['live-migration-capable']) };
}

/** parse_hostpci for one hostpciN value. */
export function parseHostpci(ctx: Cfg2CmdContext, value: string): ParsedHostpci {
  const opts = hostpciOptions(value);
  const host = opts['host'];
  const mapping = opts['mapping'];
  delete opts['host'];
  delete opts['mapping'];
  if (host !== undefined && mapping !== undefined) generateError("Cannot set both 'host' and 'mapping'.");
  let alternatives: string[][];
  let liveMigrationCapable = false;
  if (mapping) {
    const found = mappingPaths(ctx, mapping);
    liveMigrationCapable = found.liveMigration;
    alternatives = found.paths.map((p) => p.split(';'));
  } else if (host) {
    alternatives = [host.split(';')];
  } else {
    return generateError("Either 'host' or 'mapping' must be set.");
  }
  const ids: PciDeviceFact[][] = [];
  let hasMultifunction = false;
  for (const alternative of alternatives) {
    const devs: PciDeviceFact[] = [];
    for (const id of alternative) {
      const found = lspci(ctx, id);
      if (found.length === 0) generateError(`no PCI device found for '${id}'`);
      devs.push(...found);
    }
    if (devs.length > 1) {
      hasMultifunction = true;
      if (opts['mdev']) generateError('cannot use mediated device with multifunction device');
    }
    ids.push(devs);
  }
  return { opts, ids, hasMultifunction, liveMigrationCapable };
}

/** parse_hostpci_devices: all hostpciN of the config with the legacy-IGD sanity checks. */
function parseHostpciDevices(ctx: Cfg2CmdContext): Record<string, ParsedHostpci> {
  const parsed: Record<string, ParsedHostpci> = {};
  let legacyIgd = false;
  for (const id of HOSTPCI_KEYS) {
    const value = ctx.conf[id];
    if (!value) continue;
    const d = parseHostpci(ctx, value);
    if (!ctx.q35 && truthy(d.opts['pcie'])) generateError('q35 machine model is not enabled');
    if (truthy(d.opts['legacy-igd'])) {
      if (legacyIgd) generateError('only one device can be assigned in legacy-igd mode');
      legacyIgd = true;
      if (ctx.conf['vga'] !== 'none') generateError("legacy IGD assignment requires VGA mode to be 'none'");
      if (d.opts['rombar'] !== undefined && !truthy(d.opts['rombar'])) generateError('legacy IGD assignment requires rombar to be enabled');
      if (truthy(d.opts['x-vga'])) generateError('legacy IGD assignment is not compatible with x-vga');
      if (d.opts['mdev']) generateError('legacy IGD assignment is not compatible with mdev');
      if (ctx.q35) generateError('legacy IGD assignment is not compatible with q35');
      if (d.hasMultifunction) generateError('legacy IGD assignment is not compatible with multifunction devices');
      if (d.ids.length > 1) generateError('legacy IGD assignment is not compatible with alternate devices');
      if (!/02\.0$/.test(d.ids[0]?.[0]?.id ?? '')) generateError('legacy IGD assignment only works for devices on host bus 00:02.0');
    }
    parsed[id] = d;
  }
  return parsed;
}

/** choose_hostpci_devices in dry-run mode: first alternative whose functions are unused. */
function chooseHostpciDevices(devices: Record<string, ParsedHostpci>): void {
  const used = new Set<string>();
  const markUsed = (list: PciDeviceFact[]) => {
    for (const dev of list) {
      if (used.has(dev.id)) generateError(`device '${dev.id}' assigned more than once`);
      used.add(dev.id);
    }
  };
  for (const id of HOSTPCI_KEYS) {
    const d = devices[id];
    if (!d) continue;
    if (d.opts['mdev']) {
      d.ids = [d.ids.map((alt) => alt[0] as PciDeviceFact)];
      continue;
    }
    if (d.ids.length === 1) {
      markUsed(d.ids[0] as PciDeviceFact[]);
      continue;
    }
    const free = d.ids.find((alt) => !alt.some((dev) => used.has(dev.id)));
    if (!free) generateError(`could not find a free device for '${id}'`);
    markUsed(free as PciDeviceFact[]);
    d.ids = [free as PciDeviceFact[]];
  }
}

/** generate_mdev_uuid. */
export function mdevUuid(vmid: number, index: number): string {
  return `${String(index).padStart(8, '0')}-0000-0000-0000-${String(vmid).padStart(12, '0')}`;
}

/**
 * print_hostpci_devices: pushes root ports and vfio-pci devices to `devices`. Like upstream,
 * an x-vga device sets `vga.type = 'none'` when the config has no `vga`.
 */
export function emitHostpci(ctx: Cfg2CmdContext, devices: string[], vga?: { type: string }): HostpciResult {
  const parsed = parseHostpciDevices(ctx);
  chooseHostpciDevices(parsed);
  const result: HostpciResult = {
    kvmOff: false,
    gpuPassthrough: false,
    legacyIgd: false,
    vgaNone: false,
    devices: parsed,
  };
  for (let i = 0; i < MAX_HOSTPCI_DEVICES; i++) {
    const id = HOSTPCI_KEYS[i] as string;
    const d = parsed[id];
    if (!d) continue;
    const o = d.opts;
    if (truthy(o['legacy-igd'])) result.legacyIgd = true;
    let addr: string;
    if (truthy(o['pcie'])) {
      if (ctx.winVersion === 7) {
        addr = printPcieAddr(`${id}bus0`);
      } else {
        if (i > 3) devices.push('-device', printPcieRootPort(i));
        addr = printPcieAddr(id);
      }
    } else {
      addr = pciAddr(ctx, truthy(o['legacy-igd']) ? 'legacy-igd' : id);
    }
    // mediated devices: one alternative per function, only the first is used
    const functions = d.ids[0] ?? [];
    const multifunction = functions.length > 1 && !o['mdev'];
    let xvga = '';
    if (truthy(o['x-vga'])) {
      if (ctx.conf['bios'] !== 'ovmf') xvga = ',x-vga=on';
      result.kvmOff = true;
      if (ctx.conf['vga'] === undefined) {
        result.vgaNone = true;
        if (vga) vga.type = 'none';
      }
      result.gpuPassthrough = true;
    }
    const sysfs = o['mdev'] ? `/sys/bus/mdev/devices/${mdevUuid(ctx.vmid, i)}` : undefined;
    for (let j = 0; j < functions.length; j++) {
      const dev = functions[j] as PciDeviceFact;
      let str = 'vfio-pci';
      str += sysfs ? `,sysfsdev=${sysfs}` : `,host=${dev.id}`;
      if (d.liveMigrationCapable) str += ',enable-migration=on';
      const mf = multifunction ? `.${j}` : '';
      str += `,id=${id}${mf}${addr}${mf}`;
      if (j === 0) {
        if (o['rombar'] !== undefined && !truthy(o['rombar'])) str += ',rombar=0';
        str += xvga;
        if (multifunction) str += ',multifunction=on';
        if (o['romfile']) str += `,romfile=/usr/share/kvm/${o['romfile']}`;
        const boot = ctx.bootOrder[id];
        if (boot) str += `,bootindex=${boot}`;
        for (const key of ['vendor-id', 'device-id', 'sub-vendor-id', 'sub-device-id']) {
          if (o[key]) str += `,x-pci-${key}=${o[key]}`;
        }
      }
      devices.push('-device', str);
      if (o['mdev']) break;
    }
  }
  return result;
}
