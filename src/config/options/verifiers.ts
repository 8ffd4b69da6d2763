/**
 * @module config/options/verifiers
 * String verifiers for the named formats qemu-server itself registers (as opposed to the
 * pve-common/pve-storage ones such as `pve-volume-id` or `dns-name`, which the schema
 * package provides): `pve-hotplug-features`, `pve-cpuset`, `pve-volume-id-or-qm-path`,
 * `pve-volume-id-or-absolute-path`, `pve-qm-bootdisk`, `pve-qm-bootdev`, `pve-phys-bits`.
 * Each returns qemu-server's die text (without the trailing newline) or undefined.
 */

import { getFormat } from '../../schema/index.js';
import { PERL_SPACE, splitList } from '../../schema/perl.js';
import type { FormatVerifier } from '../../schema/types.js';
import { verifyPhysBits } from '../cpu.js';
import { MAX_HOSTPCI_DEVICES, MAX_USB_DEVICES } from './devices.js';
import { isValidDriveName } from './drives.js';
import { MAX_NETS } from './network.js';

const HOTPLUG_DEFAULT = 'network,disk,usb';
const HOTPLUG_FEATURE = /^(?:network|disk|cpu|memory|usb|cloudinit)$/;

/** Parsed hotplug features (`0` → none, `1` → the default set). Throws on unknown ones. */
export function parseHotplugFeatures(value: string): Record<string, 1> {
  const features: Record<string, 1> = {};
  if (value === '0') return features;
  const list = value === '1' ? HOTPLUG_DEFAULT : value;
  for (const feature of splitList(list)) {
    if (!HOTPLUG_FEATURE.test(feature)) throw new Error(`invalid hotplug feature '${feature}'`);
    features[feature] = 1;
  }
  return features;
}

export const verifyHotplugFeatures: FormatVerifier = (value) => {
  try {
    parseHotplugFeatures(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

// Perl's `\s` on the bytes of a config file is ASCII only: a no-break space is no separator
const CPUSET_PART = new RegExp(`^${PERL_SPACE}*(\\d+)(?:-(\\d+))?${PERL_SPACE}*$`);

/** PVE::CpuSet::parse_cpuset acceptance (`0,5,8-11`). */
export const verifyCpuset: FormatVerifier = (value) => {
  const parts = value.split(',');
  // Perl's split drops trailing empty fields
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  for (const part of parts) {
    const match = CPUSET_PART.exec(part);
    if (!match || (match[2] !== undefined && Number(match[2]) < Number(match[1]))) {
      return 'unable to parse cpuset option';
    }
  }
  return undefined;
};

/** pve-storage's volume-id check, used when the registry has no `pve-volume-id` verifier. */
function verifyVolumeId(value: string): string | undefined {
  const registered = getFormat('pve-volume-id');
  if (typeof registered === 'function') return registered(value);
  return /^[a-z][a-z0-9\-_.]*[a-z0-9]:[^\n]+\n?$/i.test(value) ? undefined : `unable to parse volume ID '${value}'`;
}

export const verifyVolumeIdOrAbsolutePath: FormatVerifier = (value) => (value.startsWith('/') ? undefined : verifyVolumeId(value));

export const verifyVolumeIdOrQmPath: FormatVerifier = (value) =>
  value === 'none' || value === 'cdrom' ? undefined : verifyVolumeIdOrAbsolutePath(value);

export const verifyBootdisk: FormatVerifier = (value) => (isValidDriveName(value) ? undefined : `invalid boot disk '${value}'`);

/** `^<base>(\d+)$` per device kind, compiled once (bootdev lists are checked per config line). */
const INDEXED_KEY_RE: Readonly<Record<'net' | 'usb' | 'hostpci', RegExp>> = {
  net: /^net(\d+)$/,
  usb: /^usb(\d+)$/,
  hostpci: /^hostpci(\d+)$/,
};

function indexedKeyExists(dev: string, base: keyof typeof INDEXED_KEY_RE, max: number): boolean {
  const match = INDEXED_KEY_RE[base].exec(dev);
  if (!match) return false;
  const digits = match[1] as string;
  // qemu-server looks the key up in $confdesc, so `net01` is not a valid key
  return String(Number(digits)) === digits && Number(digits) < max;
}

export const verifyBootdev: FormatVerifier = (dev) => {
  const special = dev.startsWith('efidisk') || dev.startsWith('tpmstate');
  if (isValidDriveName(dev) && !special) return undefined;
  if (indexedKeyExists(dev, 'net', MAX_NETS)) return undefined;
  if (indexedKeyExists(dev, 'usb', MAX_USB_DEVICES)) return undefined;
  if (indexedKeyExists(dev, 'hostpci', MAX_HOSTPCI_DEVICES)) return undefined;
  return `invalid boot device '${dev}'`;
};

/** qemu-server's string verifiers by format name. */
export const qemuServerVerifiers: Readonly<Record<string, FormatVerifier>> = {
  'pve-hotplug-features': verifyHotplugFeatures,
  'pve-cpuset': verifyCpuset,
  'pve-volume-id-or-qm-path': verifyVolumeIdOrQmPath,
  'pve-volume-id-or-absolute-path': verifyVolumeIdOrAbsolutePath,
  'pve-qm-bootdisk': verifyBootdisk,
  'pve-qm-bootdev': verifyBootdev,
  'pve-phys-bits': verifyPhysBits,
};
