/**
 * @module qemu/cfg2cmd/cpu-models
 * The CPU model tables of qemu-server's CPUConfig.pm as data: built-in QEMU models per
 * architecture with their vendor ('default' = generic, vendor from host), the abstract
 * x86-64-vN models, the deprecated-name map, the 32-bit models and the VM-specific flags
 * a VM config may set. Kept apart from the option logic so the tables can be read at a glance.
 */

import { supportedVmCpuFlags } from '../../config/cpu.js';

const INTEL = 'GenuineIntel';
const AMD = 'AuthenticAMD';

const intelModels = [
  '486',
  'pentium',
  'pentium2',
  'pentium3',
  'coreduo',
  'core2duo',
  'Conroe',
  'Penryn',
  'Nehalem',
  'Nehalem-IBRS',
  'Westmere',
  'Westmere-IBRS',
  'SandyBridge',
  'SandyBridge-IBRS',
  'IvyBridge',
  'IvyBridge-IBRS',
  'Haswell',
  'Haswell-IBRS',
  'Haswell-noTSX',
  'Haswell-noTSX-IBRS',
  'Broadwell',
  'Broadwell-IBRS',
  'Broadwell-noTSX',
  'Broadwell-noTSX-IBRS',
  'Skylake-Client',
  'Skylake-Client-IBRS',
  'Skylake-Client-noTSX-IBRS',
  'Skylake-Client-v4',
  'Skylake-Server',
  'Skylake-Server-IBRS',
  'Skylake-Server-noTSX-IBRS',
  'Skylake-Server-v4',
  'Skylake-Server-v5',
  'Cascadelake-Server',
  'Cascadelake-Server-v2',
  'Cascadelake-Server-noTSX',
  'Cascadelake-Server-v4',
  'Cascadelake-Server-v5',
  'Cooperlake',
  'Cooperlake-v2',
  'KnightsMill',
  'Icelake-Client',
  'Icelake-Client-noTSX',
  'Icelake-Server',
  'Icelake-Server-noTSX',
  'Icelake-Server-v3',
  'Icelake-Server-v4',
  'Icelake-Server-v5',
  'Icelake-Server-v6',
  'Icelake-Server-v7',
  'SapphireRapids',
  'SapphireRapids-v2',
  'SapphireRapids-v3',
  'SapphireRapids-v4',
  'GraniteRapids',
  'GraniteRapids-v2',
  'GraniteRapids-v3',
  'SierraForest',
  'SierraForest-v2',
  'SierraForest-v3',
  'ClearwaterForest',
];
const amdModels = [
  'athlon',
  'phenom',
  'Opteron_G1',
  'Opteron_G2',
  'Opteron_G3',
  'Opteron_G4',
  'Opteron_G5',
  'EPYC',
  'EPYC-IBPB',
  'EPYC-v3',
  'EPYC-v4',
  'EPYC-v5',
  'EPYC-Rome',
  'EPYC-Rome-v2',
  'EPYC-Rome-v3',
  'EPYC-Rome-v4',
  'EPYC-Rome-v5',
  'EPYC-Milan',
  'EPYC-Milan-v2',
  'EPYC-Milan-v3',
  'EPYC-Genoa',
  'EPYC-Genoa-v2',
  'EPYC-Turin',
];
const armModels = [
  'a64fx',
  'cortex-a35',
  'cortex-a53',
  'cortex-a55',
  'cortex-a57',
  'cortex-a710',
  'cortex-a72',
  'cortex-a76',
  'neoverse-n1',
  'neoverse-n2',
  'neoverse-v1',
];

function table(entries: [string[], string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [names, vendor] of entries) for (const n of names) out[n] = vendor;
  return out;
}

/** Model → vendor per VM architecture (without `host`, which exists only for the host arch). */
export const CPU_MODELS_BY_ARCH: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  x86_64: table([
    [intelModels, INTEL],
    [amdModels, AMD],
    [['kvm32', 'kvm64', 'qemu32', 'qemu64', 'max'], 'default'],
  ]),
  aarch64: table([
    [armModels, 'ARM'],
    [['max'], 'default'],
  ]),
};

/** Abstract built-in models: reported model plus forced flags. */
export const BUILTIN_MODELS_BY_ARCH: Readonly<Record<string, Readonly<Record<string, { reported: string; flags: string }>>>> = {
  x86_64: {
    'x86-64-v2': {
      reported: 'qemu64',
      flags: '+popcnt;+pni;+sse4.1;+sse4.2;+ssse3',
    },
    'x86-64-v2-AES': {
      reported: 'qemu64',
      flags: '+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3',
    },
    'x86-64-v3': {
      reported: 'qemu64',
      flags: '+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;+fma;+abm;+movbe;+xsave',
    },
    'x86-64-v4': {
      reported: 'qemu64',
      flags:
        '+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;+fma;+abm;+movbe;+xsave;+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl',
    },
  },
  aarch64: {},
};

export const DEPRECATED_CPU_MAP: Readonly<Record<string, string>> = {
  'Icelake-Client': 'Icelake-Server',
  'Icelake-Client-noTSX': 'Icelake-Server-noTSX',
};

export const CPUTYPES_32BIT = new Set(['486', 'pentium', 'pentium2', 'pentium3', 'coreduo', 'athlon', 'kvm32', 'qemu32']);

/** CPU flags a VM config may set (`flags=` in `cpu`): the option table's list (CPUFlags.pm order). */
const VM_SPECIFIC_CPU_FLAGS = supportedVmCpuFlags;

export const CPU_FLAG_ANY_RE = /^([+-])([a-zA-Z0-9\-_.]+)$/;
export const CPU_FLAG_SUPPORTED_RE = new RegExp(`^([+-])(${VM_SPECIFIC_CPU_FLAGS.join('|')})$`);

/** Vendor of a model for the VM arch; `host` exists only when the VM arch is the host arch. */
export function cpuModelVendor(arch: string, hostArch: string, model: string): string | undefined {
  if (model === 'host' && arch === hostArch) return 'default';
  return CPU_MODELS_BY_ARCH[arch]?.[model];
}
