/**
 * @module qemu/cfg2cmd/drives-test-env
 * A minimal Cfg2CmdContext for the unit tests of the drive/NIC/PCI emitters: the pve-test
 * host profile, vmid 8006 and a machine version whose guards behave like qemu-server's
 * min_version/version_guard. Test support only; the orchestrator builds the real context.
 */

import type { ConfigSection } from '../../config/types.js';
import { pveTestProfile } from '../../host/profiles/pve-test.js';
import type { Cfg2CmdContext } from './context.js';
import { parseDriveValue } from './drives.js';
import type { DriveLike } from './drives-common.js';
import { type NetLike, parseNetValue } from './net.js';

function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\+pve(\d+))?/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
}

function atLeast(v: string, major: number, minor: number, pve = 0): boolean {
  const [a, b, c] = parseVersion(v);
  if (a !== major) return a > major;
  if (b !== minor) return b > minor;
  return c >= pve;
}

export interface TestCtxOptions {
  machineVersion?: string;
  q35?: boolean;
  isTemplate?: boolean;
  arch?: 'x86_64' | 'aarch64';
  useOldBiosFiles?: boolean;
  winVersion?: number;
}

export function testContext(conf: ConfigSection, opts: TestCtxOptions = {}): Cfg2CmdContext {
  const machineVersion = opts.machineVersion ?? '11.0+pve2';
  const host = pveTestProfile();
  const ctx: Cfg2CmdContext = {
    vmid: 8006,
    conf,
    originalConf: conf,
    host,
    arch: opts.arch ?? 'x86_64',
    hostArch: 'x86_64',
    kvm: true,
    isTemplate: opts.isTemplate ?? false,
    snapshot: undefined,
    kvmVersion: '11.0.2',
    machineType: 'pc',
    machineVersion,
    q35: opts.q35 ?? false,
    useOldBiosFiles: opts.useOldBiosFiles ?? false,
    winVersion: opts.winVersion ?? 0,
    ostype: conf['ostype'],
    versionGuard: (major, minor, pve = 0) => atLeast(machineVersion, major, minor, pve),
    minVersion: (major, minor, pve = 0) => atLeast(machineVersion, major, minor, pve),
    qemuAtLeast: () => true,
    requiredPve: 0,
    warnings: [],
    perlWarnings: [],
    bootOrder: {},
    pciBridges: new Set<number>(),
    hotplug: new Set<string>(),
    useVirtio: false,
    extra: {},
  };
  return ctx;
}

/** parseDriveValue that fails the test instead of returning undefined. */
export function mustDrive(key: string, value: string): DriveLike {
  const drive = parseDriveValue(key, value);
  if (!drive) throw new Error(`test drive ${key}: ${value} did not parse`);
  return drive;
}

/** parseNetValue that fails the test instead of returning undefined. */
export function mustNet(value: string): NetLike {
  const net = parseNetValue(value);
  if (!net) throw new Error(`test net ${value} did not parse`);
  return net;
}
