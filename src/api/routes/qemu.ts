/**
 * @module api/routes/qemu
 * The VM collection and a VM's lifetime: `GET /nodes/{node}/qemu` (vmstatus rows of the VMs the
 * caller may audit), `POST /nodes/{node}/qemu` (create: parameters checked with the option
 * table before anything happens, an existing id refused at once with PVE's text, then a
 * `qmcreate` task runs the store's createVm and, with `start=1`, starts the VM), the VM index,
 * and `DELETE /nodes/{node}/qemu/{vmid}` (a `qmdestroy` task; a running VM is refused at once).
 */

import { CvmError } from '../../errors.js';
import { createVm, destroyVm } from '../../store/vm-ops.js';
import { startVm } from '../../run/start.js';
import { openConfigStore } from '../../store/open.js';
import { vmStatus } from '../../store/status.js';
import { checkConfigChangePerms } from '../config-perms.js';
import { flag } from '../params.js';
import { allOf, assertRootOnly, canSee, requirePrivs, vmAcl } from '../permissions.js';
import { node, optionalBool, skiplock, vmid, vmPath } from '../schemas.js';
import { identityOf, type RouteDef } from '../types.js';
import { vmStatusObject } from '../vmstatus.js';
import { loadVm, taskLifecycle, vmidOf, vmTask } from '../vm-task.js';

export const qemuRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu',
    params: { node, full: optionalBool('Determine the full status of active VMs.') },
    handler: async (req) => {
      const identity = identityOf(req);
      const out: Record<string, string | number>[] = [];
      for (const vm of await openConfigStore(req.server.root).list()) {
        if (await canSee(req, identity, `/vms/${vm.vmid}`, ['VM.Audit'])) out.push(await vmStatusObject(req.server.root, vm.config));
      }
      return out;
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu',
    params: { node, vmid, start: optionalBool('Start VM after it was created successfully.') },
    configKeys: true,
    permissions: allOf(requirePrivs(vmAcl, ['VM.Allocate']), async (req) =>
      checkConfigChangePerms(req.server.access, identityOf(req), req.params.vmid as string, req.configParams),
    ),
    handler: async (req) => {
      const id = vmidOf(req);
      if (await openConfigStore(req.server.root).exists(id)) {
        throw new CvmError('VM_EXISTS', `unable to create VM ${id} - VM ${id} already exists on node '${req.server.node}'`);
      }
      const params = req.configParams;
      return vmTask(req, 'qmcreate', id, async (task) => {
        await createVm({ root: req.server.root, vmid: id, params, warn: task.warn, info: (m) => task.log(m) });
        if (flag(req.params, 'start')) {
          const res = await startVm(await taskLifecycle(req, task), id);
          task.log(`VM ${id} started with PID ${res.pid}`);
        }
      });
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}',
    params: vmPath(),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      await loadVm(req);
      return ['config', 'pending', 'status', 'cloudinit', 'cvm', 'showcmd'].map((subdir) => ({ subdir }));
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/qemu/{vmid}',
    params: vmPath({
      skiplock,
      purge: optionalBool('Remove VMID from configurations, like backup & replication jobs and HA.'),
      'destroy-unreferenced-disks': optionalBool('Also destroy disks of the VM not referenced in its config.'),
    }),
    permissions: requirePrivs(vmAcl, ['VM.Allocate']),
    handler: async (req) => {
      assertRootOnly(req, ['skiplock']);
      const id = vmidOf(req);
      await loadVm(req);
      if ((await vmStatus(req.server.root, id)).status === 'running') {
        throw new CvmError('VM_RUNNING', `VM ${id} is running - destroy failed`);
      }
      return vmTask(req, 'qmdestroy', id, async (task) => {
        await destroyVm({ root: req.server.root, vmid: id, skiplock: flag(req.params, 'skiplock'), warn: task.warn });
        task.log(`destroyed VM ${id}`);
      });
    },
  },
];
