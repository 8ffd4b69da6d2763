/**
 * @module config/cpu
 * Facts qemu-server's `cpu` option format depends on: the CPU model list (the built-in
 * fallback list of CPUConfig.pm, used when `/usr/share/kvm/cpu-models-*.json` is absent,
 * plus `host`), the x86-64-vN built-in models, the VM-specific CPU flags allowed in a VM
 * config, and the `pve-phys-bits` / `pve-vm-cpu-conf` checks. Pure data and checks; the
 * custom model file (`/etc/pve/virtual-guest/cpu-models.conf`) is an input, never read here.
 */

import { CvmError } from '../errors.js';
import type { PropertyValues } from '../schema/types.js';

/** CPU models by architecture, with the vendor qemu-server associates with each. */
export const cpuModelsByArch: Readonly<Record<'x86_64' | 'aarch64', Readonly<Record<string, string>>>> = {
  x86_64: {
    486: 'GenuineIntel',
    pentium: 'GenuineIntel',
    pentium2: 'GenuineIntel',
    pentium3: 'GenuineIntel',
    coreduo: 'GenuineIntel',
    core2duo: 'GenuineIntel',
    Conroe: 'GenuineIntel',
    Penryn: 'GenuineIntel',
    Nehalem: 'GenuineIntel',
    'Nehalem-IBRS': 'GenuineIntel',
    Westmere: 'GenuineIntel',
    'Westmere-IBRS': 'GenuineIntel',
    SandyBridge: 'GenuineIntel',
    'SandyBridge-IBRS': 'GenuineIntel',
    IvyBridge: 'GenuineIntel',
    'IvyBridge-IBRS': 'GenuineIntel',
    Haswell: 'GenuineIntel',
    'Haswell-IBRS': 'GenuineIntel',
    'Haswell-noTSX': 'GenuineIntel',
    'Haswell-noTSX-IBRS': 'GenuineIntel',
    Broadwell: 'GenuineIntel',
    'Broadwell-IBRS': 'GenuineIntel',
    'Broadwell-noTSX': 'GenuineIntel',
    'Broadwell-noTSX-IBRS': 'GenuineIntel',
    'Skylake-Client': 'GenuineIntel',
    'Skylake-Client-IBRS': 'GenuineIntel',
    'Skylake-Client-noTSX-IBRS': 'GenuineIntel',
    'Skylake-Client-v4': 'GenuineIntel',
    'Skylake-Server': 'GenuineIntel',
    'Skylake-Server-IBRS': 'GenuineIntel',
    'Skylake-Server-noTSX-IBRS': 'GenuineIntel',
    'Skylake-Server-v4': 'GenuineIntel',
    'Skylake-Server-v5': 'GenuineIntel',
    'Cascadelake-Server': 'GenuineIntel',
    'Cascadelake-Server-v2': 'GenuineIntel',
    'Cascadelake-Server-noTSX': 'GenuineIntel',
    'Cascadelake-Server-v4': 'GenuineIntel',
    'Cascadelake-Server-v5': 'GenuineIntel',
    Cooperlake: 'GenuineIntel',
    'Cooperlake-v2': 'GenuineIntel',
    KnightsMill: 'GenuineIntel',
    'Icelake-Client': 'GenuineIntel',
    'Icelake-Client-noTSX': 'GenuineIntel',
    'Icelake-Server': 'GenuineIntel',
    'Icelake-Server-noTSX': 'GenuineIntel',
    'Icelake-Server-v3': 'GenuineIntel',
    'Icelake-Server-v4': 'GenuineIntel',
    'Icelake-Server-v5': 'GenuineIntel',
    'Icelake-Server-v6': 'GenuineIntel',
    'Icelake-Server-v7': 'GenuineIntel',
    SapphireRapids: 'GenuineIntel',
    'SapphireRapids-v2': 'GenuineIntel',
    'SapphireRapids-v3': 'GenuineIntel',
    'SapphireRapids-v4': 'GenuineIntel',
    GraniteRapids: 'GenuineIntel',
    'GraniteRapids-v2': 'GenuineIntel',
    'GraniteRapids-v3': 'GenuineIntel',
    SierraForest: 'GenuineIntel',
    'SierraForest-v2': 'GenuineIntel',
    'SierraForest-v3': 'GenuineIntel',
    ClearwaterForest: 'GenuineIntel',
    athlon: 'AuthenticAMD',
    phenom: 'AuthenticAMD',
    Opteron_G1: 'AuthenticAMD',
    Opteron_G2: 'AuthenticAMD',
    Opteron_G3: 'AuthenticAMD',
    Opteron_G4: 'AuthenticAMD',
    Opteron_G5: 'AuthenticAMD',
    EPYC: 'AuthenticAMD',
    'EPYC-IBPB': 'AuthenticAMD',
    'EPYC-v3': 'AuthenticAMD',
    'EPYC-v4': 'AuthenticAMD',
    'EPYC-v5': 'AuthenticAMD',
    'EPYC-Rome': 'AuthenticAMD',
    'EPYC-Rome-v2': 'AuthenticAMD',
    'EPYC-Rome-v3': 'AuthenticAMD',
    'EPYC-Rome-v4': 'AuthenticAMD',
    'EPYC-Rome-v5': 'AuthenticAMD',
    'EPYC-Milan': 'AuthenticAMD',
    'EPYC-Milan-v2': 'AuthenticAMD',
    'EPYC-Milan-v3': 'AuthenticAMD',
    'EPYC-Genoa': 'AuthenticAMD',
    'EPYC-Genoa-v2': 'AuthenticAMD',
    'EPYC-Turin': 'AuthenticAMD',
    kvm32: 'default',
    kvm64: 'default',
    qemu32: 'default',
    qemu64: 'default',
    max: 'default',
    // qemu-server adds `host` for the host architecture; cvmctl targets x86_64 hosts.
    host: 'default',
  },
  aarch64: {
    a64fx: 'ARM',
    'cortex-a35': 'ARM',
    'cortex-a53': 'ARM',
    'cortex-a55': 'ARM',
    'cortex-a57': 'ARM',
    'cortex-a710': 'ARM',
    'cortex-a72': 'ARM',
    'cortex-a76': 'ARM',
    'neoverse-n1': 'ARM',
    'neoverse-n2': 'ARM',
    'neoverse-v1': 'ARM',
    max: 'default',
  },
};

/** Built-in x86-64-vN models: name → reported model and implied flags. */
export const builtinCpuModels: Readonly<Record<string, { 'reported-model': string; flags: string }>> = {
  'x86-64-v2': { 'reported-model': 'qemu64', flags: '+popcnt;+pni;+sse4.1;+sse4.2;+ssse3' },
  'x86-64-v2-AES': { 'reported-model': 'qemu64', flags: '+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3' },
  'x86-64-v3': {
    'reported-model': 'qemu64',
    flags: '+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;+fma;+abm;+movbe;+xsave',
  },
  'x86-64-v4': {
    'reported-model': 'qemu64',
    flags:
      '+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;+fma;+abm;+movbe;+xsave;' +
      '+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl',
  },
};

/** Every known CPU model name (all architectures), qemu-server's `get_all_cpu_models`. */
export const allCpuModels: Readonly<Record<string, string>> = {
  ...cpuModelsByArch.aarch64,
  ...cpuModelsByArch.x86_64,
};

/** The `reported-model` enum: all model names, sorted case-insensitively like qemu-server. */
export const reportedCpuModels: readonly string[] = Object.keys(allCpuModels).sort((a, b) => {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  return la < lb ? -1 : la > lb ? 1 : 0;
});

/** CPU flags a VM config may set (CPUFlags.pm, sorted). */
export const supportedVmCpuFlags: readonly string[] = [
  'aes',
  'amd-no-ssb',
  'amd-ssbd',
  'hv-evmcs',
  'hv-tlbflush',
  'ibpb',
  'md-clear',
  'nested-virt',
  'pcid',
  'pdpe1gb',
  'spec-ctrl',
  'ssbd',
  'virt-ssbd',
];

/** Any syntactically valid flag, as one `+FLAG`/`-FLAG` item (regex source). */
export const cpuFlagAnyRe = '[+-][a-zA-Z0-9\\-_\\.]+';
const cpuFlagSupportedRe = `[+-](?:${supportedVmCpuFlags.join('|')})`;
const vmFlagsRegex = new RegExp(`^${cpuFlagSupportedRe}(?:;${cpuFlagSupportedRe})*$`);

/** 32-bit CPU types (OVMF refuses them). */
export const cpuTypes32bit: ReadonlySet<string> = new Set([
  '486',
  'pentium',
  'pentium2',
  'pentium3',
  'coreduo',
  'athlon',
  'kvm32',
  'qemu32',
]);

/** `pve-phys-bits` verifier: an integer 8–64 or `host`. Returns the error text or undefined. */
export function verifyPhysBits(value: string): string | undefined {
  const message = "value must be an integer between 8 and 64 or 'host'";
  if (!/^(?:host|\d{1,2})$/.test(value)) return message;
  if (/^\d+$/.test(value)) {
    const bits = Number.parseInt(value, 10);
    if (bits < 8 || bits > 64) return message;
  }
  return undefined;
}

export function isCustomCpuModel(cputype: string): boolean {
  return cputype.startsWith('custom-');
}

/**
 * The `pve-vm-cpu-conf` validator run after the property string parsed: cputype must be
 * a known or custom model, flags must be VM-safe, `reported-model` is forbidden.
 * `customModels` lists the names (without `custom-`) defined in cpu-models.conf; when it
 * is omitted every `custom-*` name is accepted. Throws qemu-server's texts.
 */
export function validateVmCpuConf(cpu: PropertyValues, customModels?: readonly string[]): PropertyValues {
  const cputype = cpu.cputype;
  if (cputype === undefined || cputype === '') {
    throw new CvmError('PARAM_INVALID', 'CPU is missing cputype');
  }
  const name = String(cputype);
  if (isCustomCpuModel(name)) {
    const bare = name.slice('custom-'.length);
    if (customModels && !customModels.includes(bare)) {
      throw new CvmError('PARAM_INVALID', `Custom cputype '${bare}' not found`);
    }
  } else if (allCpuModels[name] === undefined && builtinCpuModels[name] === undefined) {
    throw new CvmError('PARAM_INVALID', `Built-in cputype '${name}' is not defined (missing 'custom-' prefix?)`);
  }
  if (cpu.flags !== undefined && cpu.flags !== '' && !vmFlagsRegex.test(String(cpu.flags))) {
    throw new CvmError('PARAM_INVALID', `VM-specific CPU flags must be a subset of: ${supportedVmCpuFlags.join(', ')}`);
  }
  if (cpu['reported-model'] !== undefined) {
    throw new CvmError('PARAM_INVALID', "Property 'reported-model' not allowed in VM-specific CPU config.");
  }
  return cpu;
}
