/**
 * @module attest/vm-expectations
 * What an SEV-SNP report of a given VM should contain: the launch measurement cvmctl predicts
 * for it (`measure <vmid>`) and the policy word its `amd-sev` gives. Problems (not an SNP VM, a
 * measurement that cannot be computed) are returned as failed checks rather than thrown, so
 * `attest verify --vmid` and the API's `…/cvm/attest` still report everything else. Notes of
 * the measurement plan are returned for the caller to show.
 */

import type { VmMeasurement } from '../measure/vm-load.js';

export interface VmExpectations {
  measurement?: string;
  measurementSource?: string;
  policy?: bigint;
  problems: Array<{ id: string; detail: string }>;
  notes: string[];
}

export interface VmExpectationOptions {
  /** Host profile for command generation (default: probe this host). */
  host?: string;
  /** Measure the VM another way (the API passes its cached host facts). */
  measure?: (root: string, vmid: number) => Promise<VmMeasurement>;
}

export async function expectationsFromVm(root: string, vmid: number, opts: VmExpectationOptions = {}): Promise<VmExpectations> {
  const { measureVm, readVmConfig } = await import('../measure/vm-load.js');
  const out: VmExpectations = { problems: [], notes: [] };
  try {
    const result = opts.measure ? await opts.measure(root, vmid) : await measureVm(root, vmid, { host: opts.host });
    if (result.plan.mode !== 'snp') {
      out.problems.push({
        id: 'vm.type',
        detail: `VM ${vmid} is amd-sev mode '${result.plan.mode}'; SNP reports come only from type=snp guests`,
      });
    }
    out.measurement = result.digest.toString('hex');
    out.measurementSource = `cvmctl measure ${vmid}`;
    if (result.plan.policy !== null) out.policy = result.plan.policy;
    out.notes.push(...result.plan.notes);
  } catch (err) {
    out.problems.push({ id: 'measurement', detail: `cannot compute the expected measurement of VM ${vmid}: ${(err as Error).message}` });
  }
  if (out.policy === undefined) {
    try {
      const config = await readVmConfig(root, vmid);
      const sevValue = config.conf['amd-sev'];
      if (sevValue) {
        // the schema parser normalises booleans (no-debug=yes, allow-smt=off) as qemu-server does
        const { computeSevPolicy, parseAmdSev } = await import('../sev/index.js');
        const parsed = parseAmdSev(sevValue);
        if (parsed.type === 'snp') out.policy = BigInt(computeSevPolicy(parsed));
        else
          out.problems.push({
            id: 'vm.type',
            detail: `VM ${vmid} is amd-sev type '${String(parsed.type)}'; SNP reports come only from type=snp guests`,
          });
      }
    } catch (err) {
      out.problems.push({ id: 'policy', detail: `cannot derive the policy of VM ${vmid}: ${(err as Error).message}` });
    }
  }
  return out;
}
