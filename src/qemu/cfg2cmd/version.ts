/**
 * @module qemu/cfg2cmd/version
 * Version arithmetic of qemu-server (Helpers::min_version/version_cmp) and the machine-type
 * logic of PVE::QemuServer::Machine: the `+pveN` revision table, get_vm_machine (defaulting,
 * Windows pinning, `+pve0` insertion), extract_version and can_run_pve_machine_version.
 * Pure: the installed QEMU version is a parameter.
 */

import { CvmError } from '../../errors.js';
import { machineFormat } from '../../config/options/cpu-memory.js';
import { metaInfoFormat } from '../../config/options/system-formats.js';
import { printPropertyString } from '../../schema/property-string.js';
import { readPropertyString } from '../../schema/reader.js';

/** `$PVE_MACHINE_VERSION`: highest `+pveN` per upstream machine major.minor. */
export const PVE_MACHINE_REVISIONS: Readonly<Record<string, number>> = {
  '4.1': 2,
  '9.2': 1,
  '10.0': 1,
  '11.0': 2,
};

const VERSION_RE = /^(\d+)\.(\d+)(?:\.(\d+))?(?:\+pve(\d+))?/;

/** version_cmp over pairs: undefined counts as 0. */
export function versionCmp(...pairs: (number | undefined)[]): number {
  for (let i = 0; i < pairs.length; i += 2) {
    const left = pairs[i] ?? 0;
    const right = pairs[i + 1] ?? 0;
    if (left > right) return 1;
    if (left < right) return -1;
  }
  return 0;
}

/** min_version(verstr, major, minor, pve): verstr is `X.Y[.Z][+pveN]`; the micro part is ignored. */
export function minVersion(verstr: string, major: number, minor: number, pve?: number): boolean {
  const m = VERSION_RE.exec(verstr);
  if (!m) throw new CvmError('INTERNAL', `internal error: cannot check version of invalid string '${verstr}'`);
  const pveN = m[4] === undefined ? undefined : Number(m[4]);
  return versionCmp(Number(m[1]), major, Number(m[2]), minor, pveN, pve) >= 0;
}

/** Like minVersion but also compares the micro part (for binary versions `X.Y.Z`). */
export function binaryAtLeast(verstr: string, major: number, minor: number, micro?: number): boolean {
  const m = VERSION_RE.exec(verstr);
  if (!m) return false;
  const z = m[3] === undefined ? undefined : Number(m[3]);
  return versionCmp(Number(m[1]), major, Number(m[2]), minor, z, micro) >= 0;
}

/** get_pve_version: the highest `+pve` revision for a `major.minor…` string (0 if none). */
export function highestPveRevision(verstr: string): number {
  const m = /^(\d+\.\d+)/.exec(verstr);
  if (!m) throw new CvmError('INTERNAL', `internal error: cannot get pve version for invalid string '${verstr}'`);
  return PVE_MACHINE_REVISIONS[m[1] as string] ?? 0;
}

/** extract_version_parts: [major, minor, pve] of a versioned machine type. */
export function machineVersionParts(machineType: string): [number, number, number | undefined] | undefined {
  const m = /^(?:pc(?:-i440fx|-q35)?|virt)-(\d+)\.(\d+)(?:\.(\d+))?(?:\+pve(\d+))?(?:\.pxe)?/.exec(machineType);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), m[4] === undefined ? undefined : Number(m[4])];
}

/** extract_version: `major.minor[+pveN]` of the machine type, or of the QEMU binary when unversioned. */
export function extractVersion(machineType: string | undefined, kvmVersion?: string): string | undefined {
  const parts = machineType === undefined ? undefined : machineVersionParts(machineType);
  if (parts) {
    const [major, minor, pve] = parts;
    return pve ? `${major}.${minor}+pve${pve}` : `${major}.${minor}`;
  }
  if (kvmVersion !== undefined) {
    const m = /^(\d+)\.(\d+)/.exec(kvmVersion);
    if (m) return `${m[1]}.${m[2]}+pve${highestPveRevision(kvmVersion)}`;
  }
  return undefined;
}

/** can_run_pve_machine_version. */
export function canRunPveMachineVersion(machineVersion: string, kvmVersion: string): boolean {
  const m = /^(\d+)\.(\d+)(?:\+pve(\d+))?(?:\.pxe)?$/.exec(machineVersion);
  const k = /(\d+)\.(\d+)/.exec(kvmVersion);
  if (!m || !k) return false;
  if (versionCmp(Number(k[1]), Number(m[1]), Number(k[2]), Number(m[2])) < 0) return false;
  const pve = m[3] === undefined ? 0 : Number(m[3]);
  if (!pve) return true;
  return highestPveRevision(`${m[1]}.${m[2]}`) >= pve;
}

/** windows_version(ostype). */
export function windowsVersion(ostype: string | undefined): number {
  if (!ostype) return 0;
  if (ostype === 'wxp' || ostype === 'w2k3' || ostype === 'w2k') return 5;
  if (ostype === 'w2k8' || ostype === 'wvista') return 6;
  const m = /^win(\d+)$/.exec(ostype);
  return m ? Number(m[1]) : 0;
}

/** latest_installed_machine_version: `major.minor[+pveN]` for the installed binary. */
export function latestInstalledMachineVersion(kvmVersion: string): string {
  const m = /^(\d+\.\d+)/.exec(kvmVersion);
  const version = m ? (m[1] as string) : kvmVersion;
  const pve = highestPveRevision(version);
  return pve > 0 ? `${version}+pve${pve}` : version;
}

export interface VmMachineInput {
  machine: string | undefined;
  ostype: string | undefined;
  meta: string | undefined;
  arch: string;
}

/**
 * get_vm_machine: the machine type to run, always carrying `+pveN` (before any `.pxe`).
 * `installedVersion` is the installed QEMU binary's version (not the one the test header sets).
 * `local` flavour hosts pass `pveSuffix=false`: unversioned types stay unversioned there.
 */
export function getVmMachine(
  input: VmMachineInput,
  forceMachine: string | undefined,
  installedVersion: string,
  warn: (msg: string) => void,
): string {
  let machine = forceMachine || readPropertyString(machineFormat, input.machine).type || '';
  if (!machine || /^(?:pc|q35|virt)$/.test(machine)) {
    machine ||= defaultMachineForArch(input.arch);
    if (windowsVersion(input.ostype)) {
      let base = '5.1';
      const creation = readPropertyString(metaInfoFormat, input.meta)['creation-qemu'];
      if (creation !== undefined && /^\d+(\.\d+)+$/.test(creation) && minVersion(creation, 9, 1)) {
        base = (/^(\d+.\d+)/.exec(creation) as RegExpExecArray)[1] as string;
      }
      machine = windowsPinnedMachine(machine, base, installedVersion, warn);
    } else {
      machine += `+pve${highestPveRevision(installedVersion)}`;
    }
  }
  if (!/\+pve\d+?(?:\.pxe)?$/.test(machine)) {
    const pxe = /^(.*?)\.pxe$/.exec(machine);
    if (pxe) machine = pxe[1] as string;
    machine += '+pve0';
    if (pxe) machine += '.pxe';
  }
  return machine;
}

function windowsPinnedMachine(machine: string, base: string | undefined, installed: string, warn: (m: string) => void): string {
  const pin = base !== undefined && canRunPveMachineVersion(base, installed) ? base : latestInstalledMachineVersion(installed);
  if (machine === 'pc') return `pc-i440fx-${pin}`;
  if (machine === 'q35') return `pc-q35-${pin}`;
  if (machine === 'virt') return `virt-${pin}`;
  warn(`unknown machine type '${machine}', not touching that!`);
  return machine;
}

/**
 * check_and_pin_machine_string, as create_vm (and update_vm when `ostype` changes) runs it: a
 * Windows guest with no machine or an unversioned `pc`/`q35`/`virt` is pinned to the latest
 * machine version of the installed QEMU (`kvmVersion`), because Windows gets confused when the
 * virtual hardware changes under it. Returns the machine property string to store ('' for none);
 * `log` receives qemu-server's "pinning machine type to …" line.
 */
export function checkAndPinMachineString(
  machineString: string | undefined,
  ostype: string | undefined,
  arch: string,
  kvmVersion: string,
  log: (msg: string) => void,
  warn: (msg: string) => void = log,
): string {
  const props = { ...readPropertyString(machineFormat, machineString) };
  const machine = props.type;
  if ((!machine || /^(?:pc|q35|virt)$/.test(machine)) && windowsVersion(ostype)) {
    props.type = windowsPinnedMachine(machine || defaultMachineForArch(arch), undefined, kvmVersion, warn);
    log(`pinning machine type to '${props.type}' for Windows guest OS`);
  }
  return printPropertyString(machineFormat, props);
}

export function defaultMachineForArch(arch: string): string {
  if (arch === 'x86_64') return 'pc';
  if (arch === 'aarch64') return 'virt';
  throw new CvmError('GENERATE', `unsupported architecture '${arch}'`);
}

/** machine_base_type: q35, i440fx or virt. */
export function machineBaseType(machineType: string): 'q35' | 'i440fx' | 'virt' {
  if (machineType.includes('q35')) return 'q35';
  if (machineType.startsWith('pc')) return 'i440fx';
  if (machineType.startsWith('virt')) return 'virt';
  throw new CvmError('GENERATE', `unable to determine machine base type '${machineType}'`);
}
