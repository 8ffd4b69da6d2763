/**
 * @module host/local/fallbacks
 * SEV/TDX support from the kvm module parameters, for when the CPUID-based probe of
 * `host/capabilities` cannot run (no /dev/cpu/0/cpuid).
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HwCapabilities } from '../facts.js';

async function readFlag(path: string): Promise<boolean> {
  try {
    return /^(Y|1)/.test((await readFile(path, 'utf8')).trim());
  } catch {
    return false;
  }
}

/** Negative-by-default capabilities from the kvm_amd / kvm_intel module parameters. */
export async function fallbackHwCapabilities(cpuVendor: string): Promise<HwCapabilities> {
  if (cpuVendor === 'AuthenticAMD') {
    const p = '/sys/module/kvm_amd/parameters';
    return {
      'amd-sev': {
        cbitpos: 0,
        'reduced-phys-bits': 0,
        'sev-support': await readFlag(join(p, 'sev')),
        'sev-support-es': await readFlag(join(p, 'sev_es')),
        'sev-support-snp': await readFlag(join(p, 'sev_snp')),
      },
    };
  }
  if (cpuVendor === 'GenuineIntel') return { 'intel-tdx': { 'tdx-support': await readFlag('/sys/module/kvm_intel/parameters/tdx') } };
  return {};
}
