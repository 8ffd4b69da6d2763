/**
 * @module measure/vcpu
 * Guest vCPU signatures (CPUID Fn0000_0001_EAX) that land in RDX of every initial VMSA.
 * The EPYC* names are the ones sev-snp-measure accepts; kvm64/qemu64 (and the Proxmox
 * aliases below) cover the QEMU default models a Proxmox config can name in `cpu`.
 */

import { CvmError } from '../errors.js';

/** AMD pub. 25481: family > 0xF is split into base 0xF plus an extended part. */
export function cpuSig(family: number, model: number, stepping: number): number {
  const familyLow = Math.min(family, 0xf);
  const familyHigh = family > 0xf ? (family - 0xf) & 0xff : 0;
  const modelLow = model & 0xf;
  const modelHigh = (model >> 4) & 0xf;
  return ((familyHigh << 20) | (modelHigh << 16) | (familyLow << 8) | (modelLow << 4) | (stepping & 0xf)) >>> 0;
}

const EPYC = cpuSig(23, 1, 2);
const ROME = cpuSig(23, 49, 0);
const MILAN = cpuSig(25, 1, 1);
const GENOA = cpuSig(25, 17, 0);
const TURIN = cpuSig(26, 0, 0);
const KVM64 = cpuSig(15, 6, 1);
const QEMU64 = cpuSig(15, 107, 1);

/** Names accepted by sev-snp-measure `--vcpu-type`, in its order. */
export const SEV_SNP_MEASURE_VCPU_TYPES: Readonly<Record<string, number>> = {
  EPYC: EPYC,
  'EPYC-v1': EPYC,
  'EPYC-v2': EPYC,
  'EPYC-IBPB': EPYC,
  'EPYC-v3': EPYC,
  'EPYC-v4': EPYC,
  'EPYC-Rome': ROME,
  'EPYC-Rome-v1': ROME,
  'EPYC-Rome-v2': ROME,
  'EPYC-Rome-v3': ROME,
  'EPYC-Milan': MILAN,
  'EPYC-Milan-v1': MILAN,
  'EPYC-Milan-v2': MILAN,
  'EPYC-Genoa': GENOA,
  'EPYC-Genoa-v1': GENOA,
  'EPYC-Turin': TURIN,
};

/** Everything we accept: the list above plus QEMU's generic models and further versions. */
export const VCPU_SIGNATURES: Readonly<Record<string, number>> = {
  ...SEV_SNP_MEASURE_VCPU_TYPES,
  'EPYC-Rome-v4': ROME,
  'EPYC-Rome-v5': ROME,
  'EPYC-Milan-v3': MILAN,
  'EPYC-Genoa-v2': GENOA,
  'EPYC-Turin-v1': TURIN,
  kvm64: KVM64, // 0xF61, Proxmox's default CPU
  // QEMU >= 6.1 machine types (SNP needs >= 9.1) report qemu64 as family 15 model 107
  // stepping 1; the older 6/6/3 only survives as a pc-*-6.0 compat property.
  qemu64: QEMU64, // 0x60FB1
  // Proxmox's x86-64-v* models run as `-cpu qemu64,+flags` (their reported-model).
  'x86-64-v2': QEMU64,
  'x86-64-v2-AES': QEMU64,
  'x86-64-v3': QEMU64,
  'x86-64-v4': QEMU64,
};

/** Look a model up case-sensitively first (QEMU names), then case-insensitively. */
export function vcpuSignature(model: string): number {
  const exact = VCPU_SIGNATURES[model];
  if (exact !== undefined) return exact;
  const lower = model.toLowerCase();
  for (const [name, sig] of Object.entries(VCPU_SIGNATURES)) if (name.toLowerCase() === lower) return sig;
  throw new CvmError(
    'MEASURE',
    `unknown vCPU model '${model}': its CPUID signature is needed for the VMSA; use one of ` +
      `${Object.keys(VCPU_SIGNATURES).join(', ')} or give --vcpu-sig / --vcpu-family/--vcpu-model/--vcpu-stepping`,
    { details: { model } },
  );
}
