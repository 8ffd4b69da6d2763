/**
 * @module lint/rules
 * The confidential-VM lint rules. Each looks at the main section of a VM config (plus the
 * parsed `amd-sev`/`intel-tdx` values) and reports what qemu-server would silently do, refuse
 * at start, or what weakens the guest's protection: debug-enabled policies, kernel hashes
 * without a direct-boot kernel, ignored EFI disks, templates that lose SEV, migration/snapshot
 * blockers, conflicting CVM keys, TDX attestation quirks and non-OVMF BIOS.
 */
import { nonMigratableMessage, nonMigratableResources } from '../config/non-migratable.js';
import type { ConfigSection } from '../config/types.js';
import { CVM_EFIDISK_IGNORED_WARNING } from '../firmware/select.js';
import { computeSevPolicy } from '../sev/object.js';
import { formatPolicyHex } from '../sev/policy/types.js';
import type { PropertyValues } from '../schema/types.js';
import type { Finding } from './types.js';

export interface LintContext {
  conf: ConfigSection;
  /** Parsed `amd-sev`, when set and valid. */
  sev?: PropertyValues;
  /** Parsed `intel-tdx`, when set and valid. */
  tdx?: PropertyValues;
  /** The CVM type in effect (amd-sev wins). */
  cvmType?: 'std' | 'es' | 'snp' | 'tdx';
}

export type Rule = (ctx: LintContext) => Finding[];

const on = (v: string | number | undefined): boolean => v !== undefined && v !== '' && v !== 0 && v !== '0';

export const debugAllowed: Rule = ({ sev }) => {
  if (!sev || on(sev['no-debug'])) return [];
  const policy = formatPolicyHex(computeSevPolicy(sev));
  const how =
    sev.type === 'snp'
      ? `policy ${policy} sets DEBUG: the hypervisor can decrypt guest memory with SNP_DBG_DECRYPT`
      : `policy ${policy} leaves NODBG clear: the hypervisor can decrypt guest memory with DBG_DECRYPT`;
  return [
    {
      code: 'cvm-debug-allowed',
      severity: 'warning',
      key: 'amd-sev',
      message: `${sev.type === 'snp' ? 'SEV-SNP' : 'SEV'} guest allows debugging (${how}); set no-debug=1 for production guests`,
    },
  ];
};

export const kernelHashesWithoutKernel: Rule = ({ conf, sev }) => {
  if (!sev || !on(sev['kernel-hashes'])) return [];
  if (/(^|\s)-kernel(\s|=|$)/.test(conf.args ?? '')) return [];
  return [
    {
      code: 'kernel-hashes-without-kernel',
      severity: 'warning',
      key: 'amd-sev',
      message:
        'kernel-hashes=1 but args has no -kernel: the hashes only cover a direct-boot kernel/initrd/cmdline, so nothing extra is measured (add -kernel/-initrd/-append to args, and use an OVMF build with the SEV hashes table)',
    },
  ];
};

export const efidiskIgnored: Rule = ({ conf, cvmType }) => {
  if (!conf.efidisk0 || (cvmType !== 'snp' && cvmType !== 'tdx')) return [];
  return [
    {
      code: 'efidisk-ignored',
      severity: 'warning',
      key: 'efidisk0',
      message:
        CVM_EFIDISK_IGNORED_WARNING +
        ` (${cvmType === 'snp' ? 'SEV-SNP' : 'TDX'} boots one read-only firmware image with -bios; remove efidisk0)`,
    },
  ];
};

export const templateDropsCvm: Rule = ({ conf }) => {
  if (!on(conf.template)) return [];
  const keys = ['amd-sev', 'intel-tdx'].filter((k) => on(conf[k]));
  return keys.map((key) => ({
    code: 'template-drops-cvm',
    severity: 'warning' as const,
    key,
    message: `templates run without ${key}: qemu-server drops it from a template's command line, so the template boots unprotected with plain OVMF (clones keep the key)`,
  }));
};

export const liveStateBlockers: Rule = ({ conf }) => {
  const blockers = nonMigratableResources(conf, true);
  if (blockers.length === 0 || (blockers.length === 1 && blockers[0] === 'virtiofs')) return [];
  return [
    {
      code: 'cvm-no-live-state',
      severity: 'info',
      key: blockers[0]!,
      message: `while running: ${nonMigratableMessage(blockers)} (offline migration and disk-only snapshots work)`,
    },
  ];
};

export const tdxWithSev: Rule = ({ conf }) => {
  if (!on(conf['amd-sev']) || !on(conf['intel-tdx'])) return [];
  return [
    {
      code: 'tdx-with-sev',
      severity: 'warning',
      key: 'intel-tdx',
      message: 'intel-tdx is ignored because amd-sev is also set (amd-sev wins); remove one of them',
    },
  ];
};

export const tdxAttestation: Rule = ({ tdx, cvmType }) => {
  if (!tdx || cvmType !== 'tdx' || !on(tdx.attestation)) return [];
  const missing = (['vsock-cid', 'vsock-port'] as const).filter((k) => tdx[k] === undefined);
  if (missing.length === 0) return [];
  const first = missing[0] === 'vsock-cid' ? 'Missing cid for vsock.' : 'Missing port for vsock.';
  return [
    {
      code: 'tdx-attestation-vsock',
      severity: 'error',
      key: 'intel-tdx',
      message: `start fails with '${first}': attestation=1 needs ${missing.join(' and ')} (the defaults 2/4050 are not applied), e.g. tdx,attestation=1,vsock-cid=2,vsock-port=4050`,
    },
  ];
};

export const ignoredOptions: Rule = ({ sev }) => {
  if (!sev) return [];
  const out: Finding[] = [];
  if (sev.type === 'snp' && sev['no-key-sharing'] !== undefined) {
    out.push({ code: 'sev-option-ignored', severity: 'info', key: 'amd-sev', message: 'no-key-sharing is ignored for SEV-SNP' });
  }
  if (sev.type !== 'snp' && sev['allow-smt'] !== undefined) {
    out.push({
      code: 'sev-option-ignored',
      severity: 'info',
      key: 'amd-sev',
      message: `allow-smt is ignored for SEV type '${String(sev.type)}' (SNP only)`,
    });
  }
  if (sev.type === 'std') {
    out.push({
      code: 'sev-plain',
      severity: 'info',
      key: 'amd-sev',
      message:
        'plain SEV encrypts memory only: register state is visible to the hypervisor and memory has no integrity protection; prefer es or snp',
    });
  }
  return out;
};

export const biosNotOvmf: Rule = ({ conf, cvmType }) => {
  if (!cvmType || conf.bios === 'ovmf') return [];
  const text =
    cvmType === 'tdx' ? 'To use Intel TDX, you need to change the BIOS to OVMF.' : 'To use AMD SEV, you need to change the BIOS to OVMF.';
  return [{ code: 'cvm-bios-not-ovmf', severity: 'error', key: 'bios', message: `start fails: ${text} (set bios: ovmf)` }];
};

export const RULES: readonly Rule[] = [
  biosNotOvmf,
  tdxWithSev,
  debugAllowed,
  kernelHashesWithoutKernel,
  efidiskIgnored,
  templateDropsCvm,
  tdxAttestation,
  ignoredOptions,
  liveStateBlockers,
];
