/**
 * @module qemu/cfg2cmd/context
 * The state shared by every part of the config → QEMU command generator (qemu-server's
 * `config_to_command`). The orchestrator (generate.ts) builds one `Cfg2CmdContext` per call
 * and hands it to the emitters; emitters read the config and host facts from it, push
 * arguments to the arrays they are given and record side results (required `+pveN`,
 * PCI bridges, warnings) on it. Nothing here does I/O.
 *
 * Emitter conventions (shared with the drive/NIC/PCI emitters in drives*.ts, net*.ts, pci*.ts,
 * hostpci*.ts, blockdev*.ts, scsi*.ts, bootorder*.ts):
 * - `cmd: string[]` is qemu-server's `$cmd` (pushed directly, before the devices);
 * - `devices: string[]` is `$devices` (appended to `$cmd` near the end);
 * - `machineFlags: string[]` are the `-machine` flags, joined with `,` at the end;
 * - an emitter dies with `throw new CvmError('GENERATE', '<qemu-server text without \n>')`;
 * - `ctx.warnings` collects `log_warn` texts (printed `WARN: …`), `ctx.perlWarnings` collects
 *   Perl `warn` texts (the harness's EXPECT_WARN compares these, without trailing newline).
 *
 * Functions the orchestrator calls from the drive/NIC/PCI package:
 *   emitDrives(ctx, devices, cmd): void            // controllers, -blockdev/-drive, -device, iothread/throttle objects into cmd
 *   emitNetworks(ctx, devices): void                // -netdev/-device per net0..31
 *   emitHostpci(ctx, devices): HostpciResult        // print_hostpci_devices
 *   pciAddr(ctx, id): string                        // print_pci_addr (",bus=pci.0,addr=0x2" or "")
 *   ovmfEfidiskBlockdev / legacy efidisk drive helpers (see ovmf.ts)
 */

import type { ConfigSection } from '../../config/types.js';
import type { HostArch, HostFacts } from '../../host/facts.js';

/** A list of QEMU arguments (`-device`, `value`, …) in emission order. */
export type DeviceList = string[];

/** Parsed `boot` order: device key (`scsi0`, `net0`, `hostpci0`, `usb0`) → bootindex base. */
export type BootOrder = Record<string, number>;

export interface Cfg2CmdContext {
  vmid: number;
  /** The config section being generated (template configs are already minimised). */
  conf: ConfigSection;
  /** The full config section before template minimisation (for lookups that need it). */
  originalConf: ConfigSection;
  host: HostFacts;
  /** The VM architecture (`arch` key, default host arch). */
  arch: HostArch;
  hostArch: HostArch;
  /** KVM acceleration in use (false → `accel=tcg`). */
  kvm: boolean;
  isTemplate: boolean;
  /** Snapshot name given to the generator (node names include `snap=`), or undefined. */
  snapshot: string | undefined;
  /** QEMU version config_to_command sees (`kvm_user_version`), e.g. `11.0.2`. */
  kvmVersion: string;
  /** Final machine type (`.pxe` stripped), e.g. `pc`, `pc-q35-4.1+pve2`. */
  machineType: string;
  /** `major.minor[+pveN]`, e.g. `11.0+pve2`, `4.1`. */
  machineVersion: string;
  q35: boolean;
  /** Whether the machine type asked for the old `.pxe` ROM files. */
  useOldBiosFiles: boolean;
  /** windows_version(ostype): 0 for non-Windows, 5/6/7/8/10/11 otherwise. */
  winVersion: number;
  ostype: string | undefined;
  /**
   * qemu-server's `$version_guard`: true iff the machine version is ≥ maj.min+pve; raises the
   * `+pveN` the final machine type carries when the machine is exactly maj.min.
   */
  versionGuard(major: number, minor: number, pve?: number): boolean;
  /** min_version(machine_version, maj, min, pve) without side effects. */
  minVersion(major: number, minor: number, pve?: number): boolean;
  /** min_version(kvm binary version, maj, min, micro). */
  qemuAtLeast(major: number, minor: number, micro?: number): boolean;
  /** The highest `pve` revision a version guard required (`$required_pve_version`). */
  requiredPve: number;
  /** `log_warn` texts (printed as `WARN: <text>`). */
  warnings: string[];
  /** Perl `warn` texts (EXPECT_WARN in the harness), without trailing newline. */
  perlWarnings: string[];
  /** Parsed boot order (device_bootorder). */
  bootOrder: BootOrder;
  /** PCI bridges the emitted devices need (`$bridges`): bridge number → 1. */
  pciBridges: Set<number>;
  /** Hotplug features (`parse_hotplug_features`). */
  hotplug: Set<string>;
  /** Whether any virtio device was emitted (qemu-server's `$use_virtio`). */
  useVirtio: boolean;
  /** Free-form slots other emitters may use to pass results along (e.g. `kvmOff`). */
  extra: Record<string, unknown>;
}
