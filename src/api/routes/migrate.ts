/**
 * @module api/routes/migrate
 * Migration between cluster nodes. `GET …/{vmid}/migrate` answers qemu-server's
 * migrate_vm_precondition (running, allowed/not allowed nodes, local disks, local resources);
 * `POST …/{vmid}/migrate` checks what can be refused at once (target, lock, running, local
 * devices, local disks without `with-local-disks`) with qemu-server's texts and then runs a
 * `qmigrate` task on this (the source) node. The two node-to-node endpoints the task calls on
 * the target, `migrate-prepare` and `migrate-volume` (a chunk of the volume file as its extents), take no
 * user credentials: the transfer id, a record the source put into etcd for this node, is the
 * credential (see cluster/migrate-transfer).
 */

import { CvmError } from '../../errors.js';
import { clusterClient } from '../../store/open.js';
import { flag } from '../params.js';
import { assertRootOnly, requirePrivs, vmAcl } from '../permissions.js';
import { node, optionalBool, vmPath } from '../schemas.js';
import type { ApiRequest, RouteDef } from '../types.js';
import { loadVm, vmidOf, vmTask } from '../vm-task.js';

const transfer = { type: 'string', pattern: '[0-9a-f]{64}', description: 'Transfer id of a migration (node to node).' } as const;

async function localStorage(req: ApiRequest) {
  const { loadLocalStorage } = await import('../../host/local/probe.js');
  return loadLocalStorage(req.server.root);
}

/** The transfer record this request names, for this node and VM. */
async function transferOf(req: ApiRequest) {
  const { readTransfer } = await import('../../cluster/migrate-transfer.js');
  const { client, cluster } = clusterClient(req.server.root);
  const rec = await readTransfer(client, cluster, req.server.node, vmidOf(req), req.params.transfer as string);
  return { rec, client, cluster };
}

export const migrateRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/migrate',
    params: vmPath({ target: { ...node, optional: true, description: 'Target node.' } }),
    permissions: requirePrivs(vmAcl, ['VM.Migrate']),
    handler: async (req) => {
      await loadVm(req);
      const { migratePrecondition } = await import('../../cluster/migrate.js');
      return migratePrecondition(req.server.root, vmidOf(req), await localStorage(req));
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/migrate',
    params: vmPath({
      target: { ...node, description: 'Target node.' },
      online: optionalBool('Use online/live migration if VM is running. Ignored if VM is stopped.'),
      force: optionalBool('Allow to migrate VMs which use local devices. Only root may use this option.'),
      'with-local-disks': optionalBool('Enable live storage migration for local disk'),
      targetstorage: {
        type: 'string',
        optional: true,
        maxLength: 4096,
        description: "Mapping from source to target storages. Only '1' (every storage to itself) is supported by cvmctl.",
      },
    }),
    permissions: requirePrivs(vmAcl, ['VM.Migrate']),
    handler: async (req) => {
      assertRootOnly(req, ['force']);
      if (req.params.targetstorage !== undefined && req.params.targetstorage !== '1') {
        throw new CvmError(
          'PARAM_INVALID',
          `targetstorage: invalid value '${req.params.targetstorage}' - storage mapping is not supported by cvmctl (allowed: 1, every volume keeps its storage id)`,
        );
      }
      const id = vmidOf(req);
      const config = await loadVm(req);
      const { migrateVm, planMigration } = await import('../../cluster/migrate.js');
      const storage = await localStorage(req);
      const opts = {
        root: req.server.root,
        vmid: id,
        target: req.params.target as string,
        online: flag(req.params, 'online'),
        withLocalDisks: flag(req.params, 'with-local-disks'),
        force: flag(req.params, 'force'),
        storage,
      };
      await planMigration(opts, config);
      return vmTask(req, 'qmigrate', id, async (task) => {
        await migrateVm({ ...opts, log: task.log, warn: task.warn });
      });
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/migrate-prepare',
    params: vmPath({ transfer }),
    noAuth: true,
    handler: async (req) => {
      const { rec } = await transferOf(req);
      const { checkTargetStorage } = await import('../../cluster/migrate-transfer.js');
      await checkTargetStorage(await localStorage(req), req.server.node, rec);
      return null;
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/qemu/{vmid}/migrate-volume',
    params: vmPath({
      transfer,
      volid: { type: 'string', maxLength: 4096, description: 'The volume being sent.' },
      offset: { type: 'integer', minimum: 0, optional: true, description: 'Where in the volume this chunk starts (chunks come in order).' },
    }),
    noAuth: true,
    rawBody: true,
    handler: async (req) => {
      const { rec, client, cluster } = await transferOf(req);
      if (!req.body) throw new CvmError('PARAM_INVALID', 'migrate-volume: the volume data is missing');
      const { receiveVolume, watchTransfer } = await import('../../cluster/migrate-transfer.js');
      const id = req.params.transfer as string;
      const got = await receiveVolume(
        await localStorage(req),
        rec,
        id,
        req.params.volid as string,
        Number(req.params.offset ?? 0),
        req.body,
      );
      watchTransfer({ client, cluster, node: req.server.node, vmid: vmidOf(req), id, files: [got.tmp, got.path] });
      return { bytes: got.bytes, sha256: got.sha256 };
    },
  },
];
