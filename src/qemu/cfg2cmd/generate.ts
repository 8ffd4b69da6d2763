/**
 * @module qemu/cfg2cmd/generate
 * `configToCommand`: qemu-server 9.2.6's config_to_command as one pure function. It builds the
 * context (machine type and version, `version_guard`, KVM, q35), then walks the exact argument
 * order of spec §7.1: `$cmd` (binary, ids, sockets, smbios, firmware, smp, boot, display, cpu,
 * memory, iothread/throttle objects, power-state globals), `$devices` (USB, hostpci, serial,
 * audio, TPM, VGA, agent, RNG, SPICE, balloon, watchdog, iSCSI, drives, NICs, bridges, vIOMMU,
 * SEV/TDX object, virtio-fs) and the trailing `-rtc`, `-machine`, `-snapshot` and `args`.
 * Drives, NICs and PCI passthrough come from the drives/net/hostpci emitters.
 * Flavour `local` hosts differ only where HostFacts.paths say so (no qmeventd, no splash, no
 * readconfig dir) and in the machine type, which carries no `+pveN` there.
 */

import { optValue } from './opt-value.js';
import type { VmConfig } from '../../config/types.js';
import { CvmError } from '../../errors.js';
import type { HostArch, HostFacts } from '../../host/facts.js';
// the object module only: the sev index also loads the policy explainer, which showcmd never needs
import { amdSevObject, cvmMachineFlags, getCvmType, intelTdxObject } from '../../sev/object.js';
import { deviceBootorder } from './bootorder.js';
import type { Cfg2CmdContext } from './context.js';
import { type ConfigToCommandOptions, parseHotplug, selectSection, templateConfig } from './config-section.js';
import { cpuDevice, cpuOptions } from './cpu.js';
import {
  emitAgent,
  emitAudio,
  emitBalloon,
  emitParallel,
  emitRng,
  emitSerial,
  emitTpm,
  emitVirtiofs,
  emitWatchdog,
  virtiofsEnabled,
} from './devices.js';
import { emitDisplay, emitSpice, vgaProperties } from './display.js';
import { volumePath } from '../../storage/path.js';
import { checkDriveVolumes, emitDrives } from './drives.js';
import { emitHostpci } from './hostpci.js';
import {
  assertValidMachineProperty,
  createdVersionFixups,
  netsHostMtu,
  powerStateFlags,
  shouldDisableSmm,
  smbiosString,
} from './machine-options.js';
import { emitMemory } from './memory.js';
import { emitNetworks } from './net.js';
import { emitOvmf } from './ovmf.js';
import { emitPciBridges, pciAddr, printPcieAddr } from './pci.js';
import { perlTrue } from './props.js';
import { q35InlineDevices } from './q35-inline.js';
import { customArgs } from './split-args.js';
import { timerFlags } from './timer.js';
import { tabletDevices, usbControllers, usbDevices } from './usb.js';
import {
  binaryAtLeast,
  canRunPveMachineVersion,
  extractVersion,
  getVmMachine,
  highestPveRevision,
  minVersion,
  PVE_MACHINE_REVISIONS,
  versionCmp,
  windowsVersion,
} from './version.js';
import { machineFormat } from '../../config/options/cpu-memory.js';
import { ivshmemFormat } from '../../config/options/devices.js';
import { readPropertyString } from '../../schema/reader.js';

export type { ConfigToCommandOptions } from './config-section.js';

export interface ConfigToCommandResult {
  argv: string[];
  /** `log_warn` texts (print as `WARN: …`). */
  warnings: string[];
  /** Perl `warn` texts (the harness's EXPECT_WARN). */
  perlWarnings: string[];
  /** Informational lines qemu-server prints to stdout while generating. */
  info: string[];
}

const die = (msg: string): never => {
  throw new CvmError('GENERATE', msg);
};

/** Highest +pve per major.minor as a numeric lookup (version guards run dozens of times per call). */
const REVISIONS_BY_NUMBER = new Map(
  Object.entries(PVE_MACHINE_REVISIONS).map(([v, pve]) => {
    const [major, minor] = v.split('.').map(Number) as [number, number];
    return [major * 1000 + minor, pve] as const;
  }),
);
const revisionOf = (major: number, minor: number): number => REVISIONS_BY_NUMBER.get(major * 1000 + minor) ?? 0;

export function configToCommand(config: VmConfig, host: HostFacts, opts: ConfigToCommandOptions = {}): ConfigToCommandResult {
  const { conf: selected, force } = selectSection(config, opts);
  // vm_commandline activates (and so checks) the volumes before generating
  checkDriveVolumes({ host } as Cfg2CmdContext, selected);
  const vmid = config.vmid;
  const isTemplate = perlTrue(selected.template);
  const conf = isTemplate ? templateConfig(selected) : selected;
  const warnings: string[] = [];
  const perlWarnings: string[] = [];
  const info: string[] = [];

  const hostArch = host.arch;
  const arch = (conf.arch ?? hostArch) as HostArch;
  const native = arch === hostArch;
  const kvmBinary = native ? host.paths.kvmBinary : host.paths.foreignBinary.replace('%a', arch);
  const kvmver = host.qemuVersion;
  const kvmverMatch = /^(\d+)\.(\d+)/.exec(kvmver ?? '');
  if (!kvmver || !kvmverMatch || Number(kvmverMatch[1]) < 6) {
    die(`Detected old QEMU binary ('${kvmver || 'undefined'}', at least 6.0 is required)`);
  }

  const ostype = conf.ostype;
  const winVersion = windowsVersion(ostype);
  const machineConf = readPropertyString(machineFormat, conf.machine);
  let machineType = getVmMachine(
    { machine: conf.machine, ostype, meta: conf.meta, arch },
    force.forceMachine,
    host.qemuInstalledVersion,
    (m) => perlWarnings.push(m),
  );
  const machineVersion = extractVersion(machineType, kvmver) as string;
  let kvm = conf.kvm !== undefined ? perlTrue(conf.kvm) : native;
  // A stock host without usable KVM falls back to TCG with a notice instead of refusing the VM
  // (qemu-server, below, dies); the guest still runs, only slower.
  const tcgFallback = kvm && !host.kvmAvailable && host.flavor === 'local';
  if (tcgFallback) kvm = false;
  const [, majorS, minorS] = /(\d+)\.(\d+)/.exec(machineVersion) as RegExpExecArray;
  const machineMajor = Number(majorS);
  const machineMinor = Number(minorS);

  // min_version(machine_version, …) is asked dozens of times: compare against the parsed parts
  const machinePve = Number(/\+pve(\d+)/.exec(machineVersion)?.[1] ?? 0);
  const machineAtLeast = (major: number, minor: number, pve = 0): boolean =>
    versionCmp(machineMajor, major, machineMinor, minor, machinePve, pve) >= 0;

  const micro = /^\d+\.\d+\.(\d+)/.exec(kvmver);
  if (micro && Number(micro[1]) >= 90) {
    perlWarnings.push(`warning: Installed QEMU version (${kvmver}) is a release candidate, ignoring version checks`);
  } else if (!minVersion(kvmver, machineMajor, machineMinor)) {
    die(`Installed QEMU version '${kvmver}' is too old to run machine type '${machineType}', please upgrade node '${host.nodename}'`);
  } else if (!canRunPveMachineVersion(machineVersion, kvmver)) {
    const max = highestPveRevision(machineVersion);
    die(
      `Installed qemu-server (max feature level for ${machineMajor}.${machineMinor} is pve${max}) is too old to run machine type '${machineType}', please upgrade node '${host.nodename}'`,
    );
  }

  const ctx: Cfg2CmdContext = {
    vmid,
    conf,
    originalConf: selected,
    host,
    arch,
    hostArch,
    kvm,
    isTemplate,
    snapshot: opts.snapshot,
    kvmVersion: kvmver,
    machineType,
    machineVersion,
    q35: (machineConf.type ?? '').includes('q35'),
    useOldBiosFiles: false,
    winVersion,
    ostype,
    requiredPve: 0,
    versionGuard(major, minor, pve = 0) {
      if (!machineAtLeast(major, minor, pve)) return false;
      const maxPve = revisionOf(major, minor);
      if (machineAtLeast(major, minor, maxPve + 1)) return true;
      if (pve && pve > ctx.requiredPve) ctx.requiredPve = pve;
      return true;
    },
    minVersion: (major, minor, pve) => machineAtLeast(major, minor, pve),
    qemuAtLeast: (major, minor, microV) => binaryAtLeast(kvmver, major, minor, microV),
    warnings,
    perlWarnings,
    bootOrder: {},
    pciBridges: new Set<number>(),
    hotplug: new Set<string>(),
    useVirtio: false,
    extra: {},
  };

  if (tcgFallback) warnings.push('KVM is not available on this host - running under TCG (software emulation)');
  if (kvm && !host.kvmAvailable) {
    die('KVM virtualisation configured, but not available. Either disable in VM configuration or enable in BIOS.');
  }
  ctx.hotplug = parseHotplug(conf.hotplug ?? '1');
  const vmMachine = machineType;
  const pxe = /^(\S+)\.pxe$/.exec(machineType);
  if (pxe) {
    machineType = pxe[1] as string;
    ctx.useOldBiosFiles = true;
  } else {
    ctx.useOldBiosFiles = !minVersion(extractVersion(machineType, kvmver) as string, 2, 4);
  }
  ctx.machineType = machineType;

  const cmd: string[] = [];
  const devices: string[] = [];
  const machineFlags: string[] = [];
  const rtcFlags: string[] = [];
  const paths = host.paths;

  const affinity = conf.affinity;
  if (affinity !== undefined && perlTrue(affinity)) cmd.push('/usr/bin/taskset', '--cpu-list', '--all-tasks', affinity);
  cmd.push(kvmBinary);
  // `-id` exists only in Proxmox's QEMU build; stock QEMU rejects it.
  if (host.flavor === 'pve') cmd.push('-id', String(vmid));
  const vmname = conf.name !== undefined && perlTrue(conf.name) ? conf.name : `vm${vmid}`;
  cmd.push('-name', binaryAtLeast(kvmver, 11, 0) ? vmname : `${vmname},debug-threads=on`);
  cmd.push('-no-shutdown');
  cmd.push('-chardev', `socket,id=qmp,path=${optValue(`${paths.runDir}/${vmid}.qmp`)},server=on,wait=off`);
  cmd.push('-mon', 'chardev=qmp,mode=control');
  if (ctx.minVersion(2, 12) && paths.qmeventdSocket) {
    const reconnect = binaryAtLeast(kvmver, 9, 2) ? 'reconnect-ms=5000' : 'reconnect=5';
    cmd.push('-chardev', `socket,id=qmp-event,path=${optValue(paths.qmeventdSocket)},${reconnect}`);
    cmd.push('-mon', 'chardev=qmp-event,mode=control');
  }
  cmd.push('-pidfile', `${paths.runDir}/${vmid}.pid`);
  cmd.push('-daemonize');
  if (conf.smbios1 !== undefined && perlTrue(conf.smbios1)) cmd.push('-smbios', smbiosString(conf.smbios1));

  const cvmType = getCvmType(conf);
  if (conf.bios === 'ovmf') {
    const ovmf = emitOvmf(ctx, cvmType, Boolean(force.forceCpu));
    cmd.push(...ovmf.cmd);
    machineFlags.push(...ovmf.machineFlags);
  }

  // bridges ≥ pci.4 go right after the q35 base devices (qemu-server splices at index 2)
  let q35BaseLen = 2;
  if (ctx.q35) {
    const cfg = ctx.minVersion(4, 0) ? 'pve-q35-4.0.cfg' : 'pve-q35.cfg';
    if (paths.readconfigDir) devices.push('-readconfig', `${paths.readconfigDir}/${cfg}`);
    else devices.push(...q35InlineDevices(cfg));
    q35BaseLen = devices.length;
  }
  const fixups = createdVersionFixups(ctx, force.forceMachine);
  if (fixups) cmd.push(...fixups);
  if (perlTrue(conf.vmgenid)) devices.push('-device', `vmgenid,guid=${conf.vmgenid}`);

  usbControllers(ctx, devices);
  const { vga, qxlnum } = vgaProperties(ctx);
  let tablet = conf.tablet === undefined ? true : perlTrue(conf.tablet);
  if (conf.tablet === undefined && (qxlnum || /^serial\d+$/.test(vga.type))) tablet = false;
  if (tablet) tabletDevices(ctx, devices);

  ctx.bootOrder = deviceBootorder(conf);
  const hostpci = emitHostpci(ctx, devices, vga);
  usbDevices(ctx, devices, ctx.minVersion(4, 0));
  emitSerial(ctx, devices);
  emitParallel(ctx, devices);
  if (ctx.minVersion(4, 0)) emitAudio(ctx, devices);
  if (!isTemplate) emitTpm(ctx, devices);

  let sockets = 1;
  if (perlTrue(conf.smp)) sockets = Number(conf.smp);
  if (perlTrue(conf.sockets)) sockets = Number(conf.sockets);
  const cores = Number(conf.cores) || 1;
  const maxcpus = sockets * cores;
  const vcpus = perlTrue(conf.vcpus) ? Number(conf.vcpus) : maxcpus;
  if (host.cpuCount < maxcpus) die(`MAX ${host.cpuCount} vcpus allowed per VM on this node`);
  if (ctx.hotplug.has('cpu') && ctx.minVersion(2, 7)) {
    cmd.push('-smp', `1,sockets=${sockets},cores=${cores},maxcpus=${maxcpus}`);
    for (let i = 2; i <= vcpus; i++) cmd.push('-device', cpuDevice(ctx, i));
  } else {
    cmd.push('-smp', `${vcpus},sockets=${sockets},cores=${cores},maxcpus=${maxcpus}`);
  }
  cmd.push('-nodefaults');
  let boot = 'menu=on,strict=on,reboot-timeout=1000';
  if (paths.bootSplash) boot += `,splash=${optValue(paths.bootSplash)}`;
  cmd.push('-boot', boot);
  if (conf.acpi !== undefined && Number(conf.acpi) === 0) machineFlags.push('acpi=off');
  if (conf.reboot !== undefined && Number(conf.reboot) === 0) cmd.push('-no-reboot');

  emitDisplay(ctx, vga, qxlnum, cmd, devices);

  const timer = timerFlags(ctx, vmMachine);
  for (const g of timer.globals) cmd.push('-global', g);
  machineFlags.push(...timer.machineFlags);
  rtcFlags.push(...timer.rtcFlags);

  cmd.push('-cpu', force.forceCpu ?? cpuOptions(ctx, hostpci.kvmOff, hostpci.gpuPassthrough));

  const virtiofs = virtiofsEnabled(ctx);
  emitMemory(ctx, sockets, cores, ctx.hotplug.has('memory'), virtiofs, cmd, machineFlags);
  if (perlTrue(conf.freeze)) cmd.push('-S');
  if (conf.keyboard !== undefined) cmd.push('-k', conf.keyboard);

  emitAgent(ctx, devices);
  emitRng(ctx, devices);
  emitSpice(ctx, vga, qxlnum, cmd, devices);
  emitBalloon(ctx, devices);
  emitWatchdog(ctx, devices);
  const scsihw = conf.scsihw ?? 'lsi';
  if (host.iscsiInitiatorName) devices.push('-iscsi', `initiator-name=${host.iscsiInitiatorName}`);

  emitDrives(ctx, devices, cmd);
  emitNetworks(ctx, devices, netsHostMtu(force.netsHostMtu));

  if (conf.ivshmem !== undefined && perlTrue(conf.ivshmem)) {
    const iv = readPropertyString(ivshmemFormat, conf.ivshmem);
    const bus = ctx.q35 ? printPcieAddr('ivshmem') : pciAddr(ctx, 'ivshmem');
    devices.push('-device', `ivshmem-plain,memdev=ivshmem${bus},`);
    devices.push('-object', `memory-backend-file,id=ivshmem,share=on,mem-path=/dev/shm/pve-shm-${iv.name ?? vmid},size=${iv.size}M`);
  }

  emitPciBridges(ctx, devices, scsihw, hostpci.legacyIgd, q35BaseLen);

  if (!kvm) machineFlags.push('accel=tcg');
  // Proxmox's /usr/bin/kvm enables KVM by itself; stock qemu-system-* defaults to TCG.
  else if (host.flavor === 'local') machineFlags.push('accel=kvm');
  cmd.push(...powerStateFlags(ctx, machineConf));
  if (shouldDisableSmm(conf, vga.type, machineType)) machineFlags.push('smm=off');
  let typeFlag = machineType.replace(/\+pve\d+$/, '');
  if (host.flavor === 'pve') typeFlag += `+pve${ctx.requiredPve}`;
  machineFlags.push(`type=${typeFlag}`);

  assertValidMachineProperty(machineConf);
  if (machineConf.viommu) {
    let viommu = '';
    if (machineConf['aw-bits']) {
      viommu += `,aw-bits=${machineConf['aw-bits']}`;
      info.push(
        `vIOMMU 'aw-bits' set to ${machineConf['aw-bits']}. Sometimes it is necessary to set the CPU's 'guest-phys-bits' to the same value.`,
      );
    }
    if (machineConf.viommu === 'intel') {
      devices.unshift('-device', `intel-iommu,intremap=on,caching-mode=on${viommu}`);
      machineFlags.push('kernel-irqchip=split');
    } else if (machineConf.viommu === 'virtio') {
      devices.push('-device', `virtio-iommu-pci${viommu}`);
    }
  }

  if (perlTrue(conf['amd-sev'])) {
    devices.push('-object', amdSevObject(conf, host.hwCapabilities));
    machineFlags.push(...cvmMachineFlags(cvmType));
  } else if (perlTrue(conf['intel-tdx'])) {
    devices.push('-object', intelTdxObject(conf, host.hwCapabilities));
    machineFlags.push(...cvmMachineFlags('tdx'));
  }
  if (conf['allow-ksm'] !== undefined && !perlTrue(conf['allow-ksm'])) machineFlags.push('mem-merge=off');
  emitVirtiofs(ctx, devices);

  cmd.push(...devices);
  if (rtcFlags.length) cmd.push('-rtc', rtcFlags.join(','));
  if (machineFlags.length) cmd.push('-machine', machineFlags.join(','));
  if (conf.vmstate !== undefined && perlTrue(conf.vmstate)) {
    cmd.push('-loadstate', volumePath(host.storage, conf.vmstate));
    info.push(`activating and using '${conf.vmstate}' as vmstate`);
  }
  if (isTemplate) cmd.push('-snapshot');
  if (conf.args !== undefined && perlTrue(conf.args)) cmd.push(...customArgs(conf.args, warnings));
  return { argv: cmd, warnings, perlWarnings, info };
}
