/**
 * @module sev/object
 * What a confidential VM contributes to the QEMU command line, exactly as qemu-server 9.2.6
 * (CPUConfig.pm) builds it: the CVM type of a config, the SEV/SEV-ES/SEV-SNP policy word, the
 * `sev-guest`/`sev-snp-guest` `-object` string, the canonical-JSON `tdx-guest` object and the
 * `-machine` flags. Pure: host capabilities arrive as data, and a capability-file read error is
 * carried in as `{ error }` and raised only here, where qemu-server would have died reading it.
 */
import { canonicalJson } from '../util/canonical-json.js';
import type { ConfigSection } from '../config/types.js';
import { CvmError } from '../errors.js';
import type { HwCapabilities } from '../host/facts.js';
import { perlTruthyJson } from '../schema/perl.js';
import type { PropertyValues } from '../schema/types.js';
import { type CvmType, parseAmdSev, parseIntelTdx, truthy } from './parse.js';
import { formatPolicyHex } from './policy/types.js';

export type HwCapabilitiesInput = HwCapabilities | { error: string };

/** qemu-server `get_cvm_type`: the `type` of `amd-sev`, else of `intel-tdx` (amd-sev wins), else undefined. */
export function getCvmType(conf: ConfigSection): CvmType | undefined {
  if (truthy(conf['amd-sev'])) return parseAmdSev(conf['amd-sev'] as string).type as CvmType;
  if (truthy(conf['intel-tdx'])) return parseIntelTdx(conf['intel-tdx'] as string).type as CvmType;
  return undefined;
}

/**
 * The SEV/SEV-ES/SEV-SNP guest policy qemu-server derives from parsed `amd-sev` values.
 * std/es: NOSEND always, NODBG/NOKS from the flags, ES for `es`. snp: bit 17 always, SMT unless
 * `allow-smt=0` (unset means allowed), DEBUG unless `no-debug=1` (so debugging is *allowed* by default).
 */
export function computeSevPolicy(sev: PropertyValues): number {
  const type = sev.type;
  if (type === 'snp') {
    let policy = 1 << 17;
    if (sev['allow-smt'] === undefined || truthy(sev['allow-smt'])) policy |= 1 << 16;
    if (!truthy(sev['no-debug'])) policy |= 1 << 19;
    return policy;
  }
  if (type !== 'std' && type !== 'es') {
    throw new CvmError('GENERATE', `amd-sev: unknown type '${String(type)}' (allowed: std, es, snp)`);
  }
  let policy = 0;
  if (truthy(sev['no-debug'])) policy |= 1 << 0;
  if (truthy(sev['no-key-sharing'])) policy |= 1 << 1;
  if (type === 'es') policy |= 1 << 2;
  policy |= 1 << 3;
  return policy;
}

function capsOrThrow(caps: HwCapabilitiesInput): HwCapabilities {
  if ('error' in caps && typeof caps.error === 'string') {
    throw new CvmError('HOST_UNSUPPORTED', caps.error, { details: { source: 'host-hw-capabilities' } });
  }
  return caps as HwCapabilities;
}

/** The `-object` value for parsed `amd-sev` values, with qemu-server's checks in its order. */
export function sevObjectFromValues(sev: PropertyValues, bios: string | undefined, caps: HwCapabilitiesInput): string {
  const amd = capsOrThrow(caps)['amd-sev'];
  if (!amd || !perlTruthyJson(amd['sev-support'])) throw new CvmError('HOST_UNSUPPORTED', 'Your CPU does not support AMD SEV.');
  if (sev.type === 'es' && !perlTruthyJson(amd['sev-support-es'])) {
    throw new CvmError('HOST_UNSUPPORTED', 'Your CPU does not support AMD SEV-ES.');
  }
  if (sev.type === 'snp' && !perlTruthyJson(amd['sev-support-snp'])) {
    throw new CvmError('HOST_UNSUPPORTED', 'Your CPU does not support AMD SEV-SNP.');
  }
  if (!bios || bios !== 'ovmf') {
    throw new CvmError('GENERATE', 'To use AMD SEV, you need to change the BIOS to OVMF.');
  }
  const qomType = sev.type === 'snp' ? 'sev-snp-guest' : 'sev-guest';
  const policy = computeSevPolicy(sev);
  let object = `${qomType},id=sev0,cbitpos=${amd.cbitpos},reduced-phys-bits=${amd['reduced-phys-bits']}`;
  object += `,policy=${formatPolicyHex(policy)}`;
  if (truthy(sev['kernel-hashes'])) object += ',kernel-hashes=on';
  return object;
}

/**
 * qemu-server `get_amd_sev_object($conf->{'amd-sev'}, $conf->{bios})`: e.g.
 * `sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=6,policy=0xb0000`.
 * Throws HOST_UNSUPPORTED (capability file error, no SEV/ES/SNP) before GENERATE (BIOS not OVMF).
 */
export function amdSevObject(conf: ConfigSection, caps: HwCapabilitiesInput): string {
  const value = conf['amd-sev'];
  if (!truthy(value)) throw new CvmError('GENERATE', 'amd-sev: not set in this config');
  return sevObjectFromValues(parseAmdSev(value as string), conf.bios, caps);
}

/** The `tdx-guest` object for parsed `intel-tdx` values (see `intelTdxObject`). */
export function tdxObjectFromValues(tdx: PropertyValues, bios: string | undefined, caps: HwCapabilitiesInput): string {
  const intel = capsOrThrow(caps)['intel-tdx'];
  if (!perlTruthyJson(intel?.['tdx-support'])) throw new CvmError('HOST_UNSUPPORTED', 'Your CPU does not support Intel TDX.');
  if (!bios || bios !== 'ovmf') {
    throw new CvmError('GENERATE', 'To use Intel TDX, you need to change the BIOS to OVMF.');
  }
  const object: Record<string, unknown> = { 'qom-type': 'tdx-guest', id: 'tdx0' };
  if (truthy(tdx.attestation)) {
    // defaults are never materialised, so a config without vsock-cid/-port dies here like qemu-server
    if (tdx['vsock-cid'] === undefined) throw new CvmError('GENERATE', 'Missing cid for vsock.');
    if (tdx['vsock-port'] === undefined) throw new CvmError('GENERATE', 'Missing port for vsock.');
    object['quote-generation-socket'] = {
      type: 'vsock',
      cid: String(tdx['vsock-cid']),
      port: String(tdx['vsock-port']),
    };
  }
  return canonicalJson(object);
}

/**
 * qemu-server `get_intel_tdx_object`, rendered as the canonical JSON it passes to `-object`:
 * `{"id":"tdx0","qom-type":"tdx-guest","quote-generation-socket":{"cid":"2","port":"4050","type":"vsock"}}`.
 */
export function intelTdxObject(conf: ConfigSection, caps: HwCapabilitiesInput): string {
  const value = conf['intel-tdx'];
  if (!truthy(value)) throw new CvmError('GENERATE', 'intel-tdx: not set in this config');
  return tdxObjectFromValues(parseIntelTdx(value as string), conf.bios, caps);
}

/** `-machine` flags a CVM adds after `type=…`: SEV types share `sev0`; TDX also needs a split irqchip. */
export function cvmMachineFlags(type: CvmType | undefined): string[] {
  if (type === undefined) return [];
  if (type === 'tdx') return ['confidential-guest-support=tdx0', 'kernel_irqchip=split'];
  return ['confidential-guest-support=sev0'];
}
