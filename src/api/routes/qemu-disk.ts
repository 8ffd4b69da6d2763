/**
 * @module api/routes/qemu-disk
 * Disk operations bpg and Ansible use: `PUT …/{vmid}/resize` (a `resize` task: grow a disk to
 * an absolute size or by `+N`, offline with qemu-img, online through QMP; shrinking refused) and
 * `POST …/{vmid}/move_disk` (a `qmmove` task: copy a disk to another storage or format — a
 * running VM's with a QEMU mirror job and its progress lines in the task log — the source kept
 * as unusedN unless `delete=1`, `bwlimit` in KiB/s over the storages' limits only for users with
 * Datastore.Allocate on them). The work is the CLI's `cvmctl disk
 * resize|move` (src/storage/resize, src/storage/move); checks that need no I/O (disk name,
 * size syntax, digest; a move's $load_and_check_move) answer before a task starts.
 */

import { CvmError } from '../../errors.js';
import { validDriveNames } from '../../config/options/drive-names.js';
import { DIGEST_MISMATCH_MESSAGE } from '../../store/fs-store.js';
import { flag } from '../params.js';
import { allOf, assertRootOnly, canSee, requirePrivs, vmAcl } from '../permissions.js';
import { digest, optionalBool, skiplock, vmPath } from '../schemas.js';
import { type ApiRequest, identityOf, type RouteDef } from '../types.js';
import { loadVm, taskLifecycle, vmidOf, vmTask } from '../vm-task.js';

const disk = { type: 'string', enum: validDriveNames, description: 'The disk you want to resize or move.' } as const;
const SIZE_PATTERN = '\\+?\\d+(?:\\.\\d+)?[KMGT]?';

async function checkDigest(req: ApiRequest): Promise<void> {
  const cfg = await loadVm(req);
  if (req.params.digest && req.params.digest !== cfg.digest) throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
}

export const qemuDiskRoutes: RouteDef[] = [
  {
    method: 'PUT',
    path: '/nodes/{node}/qemu/{vmid}/resize',
    params: vmPath({
      disk,
      size: { type: 'string', pattern: SIZE_PATTERN, description: 'The new size (+N adds to the current size).' },
      digest,
      skiplock,
    }),
    permissions: requirePrivs(vmAcl, ['VM.Config.Disk']),
    handler: async (req) => {
      assertRootOnly(req, ['skiplock']);
      await checkDigest(req);
      const id = vmidOf(req);
      return vmTask(req, 'resize', id, async (task) => {
        const { diskResize } = await import('../../storage/resize.js');
        const res = await diskResize(await taskLifecycle(req, task), id, req.params.disk as string, req.params.size as string, {
          log: task.log,
          skiplock: flag(req.params, 'skiplock'),
          ...(req.params.digest ? { digest: req.params.digest } : {}),
        });
        task.log(`resized ${req.params.disk} from ${res.oldSize} to ${res.newSize} bytes`);
      });
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/move_disk',
    params: vmPath({
      disk,
      storage: { type: 'string', format: 'pve-storage-id', description: 'Target storage.' },
      format: { type: 'string', optional: true, enum: ['raw', 'qcow2', 'vmdk'], description: 'Target format.' },
      delete: optionalBool('Delete the original disk after successful copy.'),
      digest,
      bwlimit: { type: 'integer', optional: true, minimum: 0, description: 'Override I/O bandwidth limit (in KiB/s).' },
    }),
    permissions: allOf(
      requirePrivs(vmAcl, ['VM.Config.Disk']),
      requirePrivs((req) => `/storage/${req.params.storage}`, ['Datastore.AllocateSpace']),
    ),
    handler: async (req) => {
      const id = vmidOf(req);
      const { checkMove, diskMove } = await import('../../storage/move.js');
      // $load_and_check_move before the fork: refusals are the request's error, not a failed task
      checkMove((await req.server.lifecycle()).facts.storage, await loadVm(req), req.params.disk as string, req.params.storage as string, {
        delete: flag(req.params, 'delete'),
        ...(req.params.format ? { format: req.params.format } : {}),
        ...(req.params.digest ? { digest: req.params.digest } : {}),
      });
      return vmTask(req, 'qmmove', id, async (task) => {
        await diskMove(await taskLifecycle(req, task), id, req.params.disk as string, req.params.storage as string, {
          log: task.log,
          delete: flag(req.params, 'delete'),
          ...(req.params.format ? { format: req.params.format } : {}),
          ...(req.params.digest ? { digest: req.params.digest } : {}),
          ...(req.params.bwlimit !== undefined ? { bwlimit: Number(req.params.bwlimit) } : {}),
          // get_bandwidth_limit: who may change a storage's limits may override them
          mayOverrideBwlimit: (path) => canSee(req, identityOf(req), path, ['Datastore.Allocate']),
          signal: task.signal,
        });
      });
    },
  },
];
