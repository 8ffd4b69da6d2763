/**
 * @module host/local/probe
 * The `local` host profile: the facts of the machine cvmctl runs on, for stock QEMU (no
 * Proxmox pieces: no `+pve` machine suffix, no qmeventd, no boot splash, no pve-bridge
 * scripts). QEMU binary and version, machine types, KVM (else TCG), CPU facts, hardware
 * capabilities, firmware descriptors, storage from `<root>/storage.cfg`, runtime paths under
 * `<root>/run`, and Linux bridges with their MTU.
 */

import { access, constants, open, readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CvmError } from '../../errors.js';
import { stateLayout } from '../../store/root.js';
import { READ_LIMITS, readRegularFile } from '../../util/read-file.js';
import type { StorageConfig } from '../../storage/types.js';
import type { HostFacts, HwCapabilities } from '../facts.js';
import { fallbackHwCapabilities } from './fallbacks.js';
import { currentHwCapabilities } from '../capabilities/index.js';
import { discoverFirmwareDescriptors } from '../../firmware/index.js';
import { parseStorageCfg } from '../../storage/index.js';
import { nodeArchToQemu, parseCpuInfo } from './parse.js';
import { findQemuBinary, qemuBinaryFacts } from './qemu-binary.js';
import { cpuFlagsFromCpuinfo, probeCharDevices } from './devices.js';

export interface LocalProbeOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of the KVM device (tests point this elsewhere). */
  kvmDevice?: string;
  /** Folder with the network interfaces (`/sys/class/net`). */
  sysClassNet?: string;
}

/**
 * Default storage when `<root>/storage.cfg` does not define `local`: a dir storage at the root
 * itself, so that with Proxmox's dir layout disk images land in `<root>/images/<vmid>/` and
 * ISO images in `<root>/template/iso/`.
 */
export function defaultLocalStorage(root: string): StorageConfig {
  return { local: { type: 'dir', path: root, content: ['images', 'iso'] } };
}

/** Whether KVM can really be used: the device opens read-write (existence is not enough). */
export async function kvmUsable(device = '/dev/kvm'): Promise<boolean> {
  try {
    const fh = await open(device, 'r+');
    await fh.close();
    return true;
  } catch {
    return false;
  }
}

/** Bridges (interfaces with a `bridge/` folder) and their MTU. */
export async function probeBridges(sysClassNet = '/sys/class/net'): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let names: string[] = [];
  try {
    names = await readdir(sysClassNet);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    try {
      await access(join(sysClassNet, name, 'bridge'));
      const mtu = Number((await readFile(join(sysClassNet, name, 'mtu'), 'utf8')).trim());
      out[name] = Number.isFinite(mtu) && mtu > 0 ? mtu : 1500;
    } catch {
      // not a bridge
    }
  }
  return out;
}

async function probeCapabilities(cpuVendor: string): Promise<HwCapabilities | { error: string }> {
  try {
    // qemu-server's file when present (a Proxmox host), else a live CPUID/MSR probe
    return (await currentHwCapabilities()).caps;
  } catch {
    return fallbackHwCapabilities(cpuVendor);
  }
}

/** Storage config of a cvmctl root: `<root>/storage.cfg`, or the default `local` dir storage at the root. */
export async function loadLocalStorage(root: string): Promise<StorageConfig> {
  let text: string;
  try {
    text = (
      await readRegularFile(stateLayout(root).storageCfg, { what: 'storage config', maxBytes: READ_LIMITS.small, noFollow: true })
    ).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultLocalStorage(root);
    throw err;
  }
  // A cvmctl root keeps its own `local` (Proxmox pins it to /var/lib/vz).
  const cfg = parseStorageCfg(text, { pveLocal: false });
  if (!cfg.local) cfg.local = defaultLocalStorage(root).local as StorageConfig[string];
  return cfg;
}

/** The facts of this machine for running VMs with stock QEMU, state under `root`. */
export async function probeLocalHost(root: string, opts: LocalProbeOptions = {}): Promise<HostFacts> {
  const env = opts.env ?? process.env;
  const arch = nodeArchToQemu(process.arch);
  const layout = stateLayout(root);
  const binary = await findQemuBinary(arch, env);
  if (!binary) {
    throw new CvmError('HOST_UNSUPPORTED', `no QEMU binary 'qemu-system-${arch}' found (install qemu-system-x86, or set CVMCTL_QEMU)`);
  }
  const cpuText = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const cpu = parseCpuInfo(cpuText);
  const [qemu, kvm, vhostNet, hugepages, bridges, hw, firmware, storage, charDevices] = await Promise.all([
    qemuBinaryFacts(binary, join(root, 'cache')),
    kvmUsable(opts.kvmDevice),
    access('/dev/vhost-net', constants.R_OK).then(
      () => true,
      () => false,
    ),
    access('/sys/kernel/mm/hugepages').then(
      () => true,
      () => false,
    ),
    probeBridges(opts.sysClassNet),
    probeCapabilities(cpu.vendor),
    discoverFirmwareDescriptors(),
    loadLocalStorage(root),
    probeCharDevices(),
  ]);
  return {
    profile: 'local',
    flavor: 'local',
    nodename: hostname().split('.')[0] ?? 'localhost',
    arch,
    cpuVendor: cpu.vendor,
    cpuFlags: cpuFlagsFromCpuinfo(cpuText) ?? '',
    cpuCount: cpu.count || 1,
    charDevices,
    physAddrBits: cpu.physAddrBits,
    qemuInstalledVersion: qemu.version,
    qemuVersion: qemu.version,
    qemuMachineTypes: qemu.machines,
    kvmAvailable: kvm,
    kernelHasVhostNet: vhostNet,
    hwCapabilities: hw,
    storage,
    firmware,
    pciDevices: [],
    pciMappings: {},
    usbMappings: {},
    customCpuModels: {},
    bridgeMtu: bridges,
    defaultBridgeMtu: null,
    iscsiInitiatorName: '',
    blockDevicePattern: '^/dev/',
    hugepagesSupported: hugepages,
    paths: {
      kvmBinary: binary,
      foreignBinary: binary.replace(/qemu-system-[^/]+$/, 'qemu-system-%a'),
      runDir: layout.runDir,
      qmeventdSocket: null,
      bootSplash: null,
      readconfigDir: null,
      efivarsDir: join(layout.runDir, 'efidisk'),
      bridgeScript: null,
      bridgeDownScript: null,
      cdromPath: '/dev/cdrom',
    },
    volumeChains: {},
  };
}

/** Notices a user should see about this host (printed as WARN lines by the CLI). */
export function localHostNotices(facts: HostFacts): string[] {
  const notes: string[] = [];
  if (!facts.kvmAvailable)
    notes.push('KVM is not available (/dev/kvm missing or not accessible) - VMs run under TCG emulation, much slower');
  return notes;
}
