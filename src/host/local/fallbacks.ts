/**
 * @module host/local/fallbacks
 * Two small readers the local profile keeps for itself: SEV/TDX support from the kvm module
 * parameters when the CPUID-based probe of `host/capabilities` cannot run, and a plain
 * section reader for storage.cfg used to keep the root's own `local` storage (the storage
 * package applies Proxmox's rule that `local` is /var/lib/vz, which a cvmctl root overrides).
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HwCapabilities } from '../facts.js';
import type { StorageConfig, StorageDef, StorageType } from '../../storage/types.js';

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

/** Minimal storage.cfg reader: `type: id` headers and indented `key value` lines. */
export function fallbackParseStorageCfg(text: string): StorageConfig {
  const cfg: StorageConfig = {};
  let current: StorageDef | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const head = /^(\w+):\s*(\S+)\s*$/.exec(line);
    if (head) {
      current = { type: head[1] as StorageType, content: [] };
      cfg[head[2] as string] = current;
      continue;
    }
    const kv = /^\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (kv && current) {
      const [, key, value = '1'] = kv;
      if (key === 'content') current.content = value.split(',').map((s) => s.trim()).filter(Boolean);
      else if (key === 'shared') current.shared = value === '1';
      else current[key as string] = value.trim();
    }
  }
  return cfg;
}
