/**
 * @module api/routes/qemu-cloudinit
 * Cloud-init of a VM, as PVE's cloudinit_pending, cloudinit_update and
 * cloudinit_generated_config_dump: `GET …/{vmid}/cloudinit` (key/value/pending/delete rows of the
 * cloud-init keys against the image, VM.Audit), `PUT …/{vmid}/cloudinit` (regenerate the image and
 * swap it into a running VM; synchronous, returns null; VM.Config.Cloudinit) and
 * `GET …/{vmid}/cloudinit/dump?type=user|network|meta` (a generated file as a string, VM.Audit;
 * the password masked unless the caller also has VM.Config.Cloudinit). The work is src/cloudinit's,
 * as for `cvmctl cloudinit`.
 */

import { requirePrivs, canSee, vmAcl } from '../permissions.js';
import { vmPath } from '../schemas.js';
import { identityOf, type RouteDef } from '../types.js';
import { loadVm, vmidOf } from '../vm-task.js';

export const qemuCloudinitRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/cloudinit',
    params: vmPath(),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      const { cloudinitPending } = await import('../../cloudinit/pending.js');
      return cloudinitPending(await loadVm(req));
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/qemu/{vmid}/cloudinit',
    params: vmPath(),
    permissions: requirePrivs(vmAcl, ['VM.Config.Cloudinit']),
    handler: async (req) => {
      const { cloudinitUpdate } = await import('../../cloudinit/apply.js');
      await cloudinitUpdate(await req.server.lifecycle(), vmidOf(req));
      return null;
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/cloudinit/dump',
    params: vmPath({ type: { type: 'string', enum: ['user', 'network', 'meta'], description: 'Config type.' } }),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      const { cloudinitDump } = await import('../../cloudinit/apply.js');
      const maskPassword = !(await canSee(req, identityOf(req), vmAcl(req), ['VM.Config.Cloudinit']));
      return cloudinitDump(await loadVm(req), req.params.type as string, { maskPassword, warn: () => undefined });
    },
  },
];
