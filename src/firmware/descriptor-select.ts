/**
 * @module firmware/descriptor-select
 * Firmware choice on a stock host, from QEMU firmware descriptors (docs/interop/firmware.json)
 * instead of Proxmox's fixed table. The same intent as qemu-server's selection, expressed as
 * required features: SEV std/es need `amd-sev`/`amd-sev-es` split flash with a VARS template,
 * SNP needs `amd-sev-snp` and TDX `intel-tdx` as a single image (`memory`, or `flash` in
 * `stateless` mode, both passed with `-bios`), a 4M efidisk with pre-enrolled keys needs
 * `secure-boot` + `enrolled-keys` (`requires-smm` iff SMM), anything else a plain non-secure-boot
 * flash pair. Descriptors are tried in priority (file name) order; the first match wins. CVM
 * firmware that requires SMM is skipped: like Proxmox's SMM-less CVM builds, SEV-ES/SNP/TDX
 * guests cannot use SMM.
 */
import { CvmError } from '../errors.js';
import type { PropertyValues } from '../schema/types.js';
import { type FirmwareCvmType, type OvmfFiles, flagSet } from './ovmf-table.js';
import type { DescriptorFirmware, FirmwareDescriptorFact } from './types.js';

export const DEFAULT_DESCRIPTOR_DIRS_TEXT = ['/usr/share/qemu/firmware', '/etc/qemu/firmware', '~/.config/qemu/firmware'];

interface Want {
  /** Features that must all be present. */
  need: string[];
  /** Features that must be absent. */
  forbid: string[];
  /** Single read-only image (`-bios`) vs split flash with VARS. */
  single: boolean;
  /** Shown in FIRMWARE_MISSING: the feature that identifies what is missing, and how to get it. */
  missingFeature: string;
  hint: string;
}

function want(efidisk: PropertyValues | undefined, smm: boolean, cvmType: FirmwareCvmType): Want {
  const noSmm = ['requires-smm', 'host-uefi-vars'];
  switch (cvmType) {
    case 'snp':
      return {
        need: ['amd-sev-snp'],
        forbid: noSmm,
        single: true,
        missingFeature: 'amd-sev-snp',
        hint: 'install an AmdSev OVMF build (OVMF.amdsev.fd) and its descriptor',
      };
    case 'tdx':
      return {
        need: ['intel-tdx'],
        forbid: noSmm,
        single: true,
        missingFeature: 'intel-tdx',
        hint: 'install an Intel TDX OVMF build (OVMF.inteltdx.fd) and its descriptor',
      };
    case 'es':
      return {
        need: ['amd-sev-es'],
        forbid: noSmm,
        single: false,
        missingFeature: 'amd-sev-es',
        hint: "install an OVMF build with SEV-ES support whose descriptor lists 'amd-sev-es' and a VARS template",
      };
    case 'std':
      return {
        need: ['amd-sev'],
        forbid: noSmm,
        single: false,
        missingFeature: 'amd-sev',
        hint: "install an OVMF build whose descriptor lists 'amd-sev' (split flash without SMM)",
      };
    default:
      break;
  }
  if (efidisk?.efitype === '4m' && flagSet(efidisk['pre-enrolled-keys'])) {
    return {
      need: ['secure-boot', 'enrolled-keys', ...(smm ? ['requires-smm'] : [])],
      forbid: ['host-uefi-vars', ...(smm ? [] : ['requires-smm'])],
      single: false,
      missingFeature: 'enrolled-keys',
      hint: `install an OVMF build with Secure Boot and pre-enrolled keys${smm ? ' (with SMM, for q35)' : ' that does not require SMM'}, or drop pre-enrolled-keys from efidisk0`,
    };
  }
  return {
    need: [],
    forbid: ['secure-boot', 'host-uefi-vars', ...(smm ? [] : ['requires-smm'])],
    single: false,
    missingFeature: 'uefi',
    hint: 'install an OVMF package (e.g. Debian ovmf) that ships firmware descriptors',
  };
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * A concrete machine name to test descriptor globs against. Aliases (`q35`, `pc`, none) stand
 * for "any version" of their machine family; `+pveN` suffixes are dropped.
 */
export function machineCandidate(machine: string | undefined, arch: string): string {
  const m = (machine ?? '').replace(/\+pve\d+$/, '');
  if (arch === 'aarch64') return /^virt-\d/.test(m) ? m : 'virt-99.0';
  if (/^pc-(q35|i440fx)-\d/.test(m)) return m;
  if (/q35/.test(m)) return 'pc-q35-99.0';
  return 'pc-i440fx-99.0';
}

/** Why a descriptor does not fit, or undefined when it does. */
function rejection(d: FirmwareDescriptorFact, facts: DescriptorFirmware, arch: string, machine: string, w: Want): string | undefined {
  if (!d.interfaceTypes.includes('uefi')) return 'not a UEFI firmware';
  const target = d.targets.find((t) => t.architecture === arch);
  if (!target) return `no target for ${arch}`;
  if (!target.machines.some((g) => globToRegExp(g).test(machine))) return `machine ${machine} not in ${target.machines.join(', ')}`;
  const missing = w.need.filter((f) => !d.features.includes(f));
  if (missing.length > 0) return `lacks feature ${missing.map((f) => `'${f}'`).join(', ')}`;
  const extra = w.forbid.filter((f) => d.features.includes(f));
  if (extra.length > 0) return `has feature ${extra.map((f) => `'${f}'`).join(', ')}`;
  if (w.single) {
    const ok = d.device === 'memory' || (d.device === 'flash' && d.mode === 'stateless');
    if (!ok) return `needs a single image (memory, or stateless flash), has ${d.device}${d.mode ? `/${d.mode}` : ''}`;
  } else {
    if (d.device !== 'flash' || (d.mode ?? 'split') !== 'split') return `needs split flash, has ${d.device}${d.mode ? `/${d.mode}` : ''}`;
    if (!d.nvramTemplate) return 'no nvram-template';
  }
  if (!Object.hasOwn(facts.files, d.executable.filename)) return `executable ${d.executable.filename} is missing`;
  if (!w.single && d.nvramTemplate && !Object.hasOwn(facts.files, d.nvramTemplate.filename)) {
    return `nvram template ${d.nvramTemplate.filename} is missing`;
  }
  return undefined;
}

/** Pick firmware from descriptors; throws FIRMWARE_MISSING naming the missing feature and how to get it. */
export function descriptorOvmfFiles(
  facts: DescriptorFirmware,
  arch: string,
  efidisk: PropertyValues | undefined,
  smm: boolean,
  cvmType: FirmwareCvmType,
  machine?: string,
): OvmfFiles {
  const w = want(efidisk, smm, cvmType);
  const candidate = machineCandidate(machine, arch);
  const rejected: { name: string; reason: string }[] = [];
  for (const d of facts.descriptors) {
    const reason = rejection(d, facts, arch, candidate, w);
    if (reason) {
      rejected.push({ name: d.name, reason });
      continue;
    }
    if (w.single) {
      return { code: d.executable.filename, mapping: 'bios', warnings: [], source: d.name, codeFormat: d.executable.format };
    }
    const nvram = d.nvramTemplate!;
    return {
      code: d.executable.filename,
      vars: nvram.filename,
      varsSize: facts.files[nvram.filename] ?? nvram.size,
      mapping: 'pflash',
      warnings: [],
      source: d.name,
      codeFormat: d.executable.format,
      varsFormat: nvram.format,
    };
  }
  const searched = (facts.searched ?? DEFAULT_DESCRIPTOR_DIRS_TEXT).join(', ');
  // name the machine as configured: the candidate stands for "any version" of an alias
  const shownMachine = machine?.replace(/\+pve\d+$/, '') || (arch === 'aarch64' ? 'virt' : 'pc');
  const what =
    w.missingFeature === 'uefi'
      ? `no UEFI firmware descriptor without secure-boot for ${arch} (machine ${shownMachine})`
      : `no firmware descriptor with feature '${w.missingFeature}' for ${arch} (machine ${shownMachine})`;
  throw new CvmError(
    'FIRMWARE_MISSING',
    `${what} (searched ${searched}); ${w.hint}, or add a descriptor for your own build to /etc/qemu/firmware`,
    { details: { feature: w.missingFeature, arch, machine: shownMachine, rejected } },
  );
}
