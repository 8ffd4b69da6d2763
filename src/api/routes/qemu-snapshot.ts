/**
 * @module api/routes/qemu-snapshot
 * qemu-server's snapshot endpoints: `GET …/snapshot` (every snapshot plus the `current` entry),
 * `POST …/snapshot` (task `qmsnapshot`; `snapname`, `description`, `vmstate`),
 * `GET …/snapshot/{snapname}` (index), `GET`/`PUT …/snapshot/{snapname}/config` (the section;
 * the description update), `POST …/snapshot/{snapname}/rollback` (task `qmrollback`, `start`)
 * and `DELETE …/snapshot/{snapname}` (task `qmdelsnapshot`, `force`). The work is src/snapshot's,
 * as for the CLI; its progress lines go to the task log. Reserved names and RAM snapshots of
 * SEV/TDX VMs are refused before any task, as qemu-server does; privileges as in PVE 9
 * (VM.Snapshot, rollback also with VM.Snapshot.Rollback, `start` needs VM.PowerMgmt too).
 */

import { snapshotConfig } from '../../config/file/views.js';
import { CvmError } from '../../errors.js';
import {
  assertNoStateBlockers,
  snapshotCreate,
  snapshotDelete,
  snapshotList,
  snapshotRollback,
  snapshotSetDescription,
} from '../../snapshot/index.js';
import { typedConfig } from '../../store/typed.js';
import { flag } from '../params.js';
import { requirePrivs, vmAcl } from '../permissions.js';
import { optionalBool, optionalString, vmPath } from '../schemas.js';
import { identityOf, type ApiRequest, type RouteDef } from '../types.js';
import { loadVm, taskLifecycle, vmidOf, vmTask } from '../vm-task.js';
import type { PropertySchema } from '../../schema/types.js';

/** pve-snapshot-name */
const snapname: PropertySchema = { type: 'string', format: 'pve-configid', maxLength: 40, description: 'The name of the snapshot.' };
const snapPath = (extra: Record<string, PropertySchema> = {}) => vmPath({ snapname, ...extra });
const description = optionalString('A textual description or comment.');

const snapshotPriv = requirePrivs(vmAcl, ['VM.Snapshot']);
const nameOf = (req: ApiRequest) => req.params.snapname as string;

export const qemuSnapshotRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/snapshot',
    params: vmPath(),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      await loadVm(req);
      return snapshotList(await req.server.lifecycle(), vmidOf(req));
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/snapshot',
    params: vmPath({ snapname, vmstate: optionalBool('Save the vmstate'), description }),
    permissions: snapshotPriv,
    handler: async (req) => {
      const name = nameOf(req);
      if (name === 'current') throw new CvmError('PARAM_INVALID', "unable to use snapshot name 'current' (reserved name)");
      if (name.toLowerCase() === 'pending') throw new CvmError('PARAM_INVALID', "unable to use snapshot name 'pending' (reserved name)");
      const vmstate = flag(req.params, 'vmstate');
      assertNoStateBlockers((await loadVm(req)).conf, vmstate);
      const id = vmidOf(req);
      const text = req.params.description;
      return vmTask(req, 'qmsnapshot', id, async (task) => {
        await snapshotCreate(await taskLifecycle(req, task), id, name, {
          log: (line) => task.log(line),
          vmstate,
          ...(text !== undefined ? { description: text } : {}),
        });
      });
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}',
    params: snapPath(),
    // qemu-server: `user => 'all'`
    handler: async () => [{ cmd: 'rollback' }, { cmd: 'config' }],
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/config',
    params: snapPath(),
    permissions: requirePrivs(vmAcl, ['VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.Audit'], true),
    handler: async (req) => {
      // load_snapshot_config's view without the file digest: qemu-server answers the bare section
      const { digest: _digest, ...section } = snapshotConfig(await loadVm(req), nameOf(req));
      return typedConfig(section);
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/config',
    params: snapPath({ description }),
    permissions: snapshotPriv,
    handler: async (req) => {
      await loadVm(req);
      const text = req.params.description;
      if (text !== undefined) await snapshotSetDescription(await req.server.lifecycle(), vmidOf(req), nameOf(req), text);
      return null;
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback',
    params: snapPath({ start: optionalBool('Whether the VM should get started after rolling back successfully.') }),
    permissions: requirePrivs(vmAcl, ['VM.Snapshot', 'VM.Snapshot.Rollback'], true),
    handler: async (req) => {
      const start = flag(req.params, 'start');
      // the start happens inside the task: a user with only VM.Snapshot.Rollback must not power the VM on
      if (start) await req.server.access.check(identityOf(req), vmAcl(req), ['VM.PowerMgmt']);
      await loadVm(req);
      const id = vmidOf(req);
      const name = nameOf(req);
      return vmTask(req, 'qmrollback', id, async (task) => {
        await snapshotRollback(await taskLifecycle(req, task), id, name, { log: (line) => task.log(line), start });
      });
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}',
    params: snapPath({ force: optionalBool('For removal from config file, even if removing disk snapshots fails.') }),
    permissions: snapshotPriv,
    handler: async (req) => {
      await loadVm(req);
      const id = vmidOf(req);
      const name = nameOf(req);
      return vmTask(req, 'qmdelsnapshot', id, async (task) => {
        await snapshotDelete(await taskLifecycle(req, task), id, name, { log: (line) => task.log(line), force: flag(req.params, 'force') });
      });
    },
  },
];
