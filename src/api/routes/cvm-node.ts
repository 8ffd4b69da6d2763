/**
 * @module api/routes/cvm-node
 * Node-wide confidential-computing reads the web UI needs and PVE has no call for:
 * `GET /nodes/{node}/cvm/host` (CPU vendor, QEMU version, whether `/dev/kvm` opens and whether
 * KVM can create a default VM's vCPU there (host/local/kvm-probe), the firmware found: what the
 * overview shows about the node), `GET /nodes/{node}/cvm/vms` (the CVM type of
 * every VM the caller may audit, one call for the list's type badges instead of one config read
 * per VM) and `POST /nodes/{node}/cvm/policy` (the guest-policy word and its bits for an
 * unsaved `amd-sev` value, checked by the option table and explained by the server's codec, so
 * the browser never carries a second copy of the codec).
 */

import { currentConfig } from '../../config/file/views.js';
import { openConfigStore } from '../../store/open.js';
import { paramError } from '../params.js';
import { canSee, nodeAcl, requirePrivs } from '../permissions.js';
import { node } from '../schemas.js';
import { identityOf, type RouteDef } from '../types.js';
import { policyOf } from './cvm.js';

const audit = requirePrivs(nodeAcl, ['Sys.Audit']);

/** The firmware a node offers, as names and features (descriptor hosts) or file names (PVE's table). */
function firmwareSummary(fw: import('../../firmware/types.js').FirmwareFacts) {
  if (fw.kind === 'descriptors') {
    return fw.descriptors.map((d) => ({ name: d.name, file: d.executable.filename, features: d.features, device: d.device }));
  }
  return fw.files === '*' ? [] : Object.keys(fw.files).map((file) => ({ name: file.split('/').pop() ?? file, file, features: [], device: 'flash' }));
}

export const cvmNodeRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/cvm/host',
    params: { node },
    permissions: audit,
    handler: async (req) => {
      const facts = await req.server.facts();
      // the device opening is not enough (a nested guest's KVM may lack the default CPU's features): probed once per server
      const probe = facts.kvmAvailable ? await (await import('../../host/local/kvm-probe.js')).probeKvm(facts) : undefined;
      return {
        cpuVendor: facts.cpuVendor,
        arch: facts.arch,
        qemuVersion: facts.qemuInstalledVersion || facts.qemuVersion,
        kvm: facts.kvmAvailable ? 1 : 0,
        ...(probe ? { kvmProbe: { usable: probe.usable ? 1 : 0, cpu: probe.cpu, ...(probe.reason ? { reason: probe.reason } : {}) } } : {}),
        firmware: firmwareSummary(facts.firmware),
      };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/cvm/vms',
    params: { node },
    handler: async (req) => {
      const identity = identityOf(req);
      const { getCvmType } = await import('../../sev/index.js');
      const out: { vmid: number; type: string | null }[] = [];
      for (const vm of await openConfigStore(req.server.root).list()) {
        if (!(await canSee(req, identity, `/vms/${vm.vmid}`, ['VM.Audit']))) continue;
        let type: string | null;
        try {
          type = getCvmType(currentConfig(vm.config, true)) ?? null;
        } catch {
          type = 'invalid'; // a value the codec refuses: the VM page's lint says why
        }
        out.push({ vmid: vm.vmid, type });
      }
      return out;
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/cvm/policy',
    params: { node },
    configKeys: true,
    handler: async (req) => {
      const keys = Object.keys(req.configParams);
      const value = req.configParams['amd-sev'];
      if (value === undefined || keys.length !== 1) {
        throw paramError({ 'amd-sev': 'property is missing and it is not optional (send exactly one key, amd-sev)' });
      }
      return policyOf({ 'amd-sev': value });
    },
  },
];
