/**
 * @module api/routes/qemu-config
 * A VM's configuration: `GET …/config` (pending values merged unless `current=1`, or a
 * snapshot's; integers and booleans as JSON numbers, everything else as strings; `digest`;
 * `cipassword` masked), `GET …/pending` (PVE's key/value/pending/delete rows), and the two
 * update calls: `PUT …/config` (synchronous, returns null) and `POST …/config` (a `qmconfig`
 * task; with `background_delay` the call waits up to that many seconds and returns null if the
 * task finished). Both go through the store's updateVm, so digest, delete, revert, skiplock,
 * pending semantics, locks and atomic writes are the CLI's.
 */

import { CvmError } from '../../errors.js';
import { currentConfig, parsePendingDelete, snapshotConfig, splitList } from '../../config/file/views.js';
import type { ConfigSection } from '../../config/types.js';
import { DIGEST_MISMATCH_MESSAGE } from '../../store/fs-store.js';
import { typedConfig } from '../../store/typed.js';
import { checkUpdateRequest, updateVm } from '../../store/vm-ops.js';
import { checkConfigChangePerms } from '../config-perms.js';
import { flag, intParam } from '../params.js';
import { allOf, assertRootOnly, requirePrivs, vmAcl } from '../permissions.js';
import { configidList, digest, optionalBool, skiplock, vmPath } from '../schemas.js';
import { type ApiRequest, EncodedData, identityOf, type RouteDef } from '../types.js';
import { loadVm, vmidOf, vmTask } from '../vm-task.js';

const updateParams = {
  delete: configidList,
  revert: configidList,
  force: optionalBool(
    "Force physical removal. Without this, we simple remove the disk from the config file and create an additional configuration entry called 'unused[n]', which contains the volume ID.",
  ),
  digest,
  skiplock,
};

const mayChange = allOf(
  requirePrivs(
    vmAcl,
    [
      'VM.Config.Disk',
      'VM.Config.CDROM',
      'VM.Config.CPU',
      'VM.Config.Memory',
      'VM.Config.Network',
      'VM.Config.HWType',
      'VM.Config.Options',
      'VM.Config.Cloudinit',
    ],
    true,
  ),
  async (req) => {
    const deletes = [...splitList(req.params.delete), ...splitList(req.params.revert)];
    await checkConfigChangePerms(req.server.access, identityOf(req), req.params.vmid as string, req.configParams, deletes);
  },
);

function masked(conf: ConfigSection): ConfigSection {
  if (conf.cipassword) conf.cipassword = '**********';
  return conf;
}

/** Check what can be checked before a task starts (PVE: load_and_check_config before fork). */
async function precheck(req: ApiRequest): Promise<void> {
  assertRootOnly(req, ['skiplock']);
  if (req.params.force !== undefined && req.params.delete === undefined) {
    throw new CvmError('PARAM_INVALID', "force: missing property - 'force' requires 'delete'");
  }
  checkUpdateRequest({ params: req.configParams, delete: req.params.delete, revert: req.params.revert });
  const cfg = await loadVm(req);
  if (req.params.digest && req.params.digest !== cfg.digest) throw new CvmError('DIGEST_MISMATCH', DIGEST_MISMATCH_MESSAGE);
}

function update(req: ApiRequest, warn: (m: string) => void, info?: (m: string) => void) {
  return updateVm({
    root: req.server.root,
    vmid: vmidOf(req),
    params: req.configParams,
    delete: req.params.delete,
    revert: req.params.revert,
    digest: req.params.digest,
    skiplock: flag(req.params, 'skiplock'),
    force: flag(req.params, 'force'),
    warn,
    ...(info ? { info } : {}),
  });
}

export const qemuConfigRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/config',
    params: vmPath({
      current: optionalBool('Get current values (instead of pending values).'),
      snapshot: { type: 'string', optional: true, format: 'pve-configid', maxLength: 40 },
    }),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      const current = flag(req.params, 'current');
      if (req.params.snapshot !== undefined) {
        const cfg = await loadVm(req);
        if (current) throw new CvmError('PARAM_INVALID', "snapshot: cannot use 'snapshot' parameter with 'current'");
        return typedConfig(masked(snapshotConfig(cfg, req.params.snapshot)));
      }
      // the most frequent call of every client: encoded once per version of the config file
      return req.server.configs.view(
        vmidOf(req),
        current ? 'GET config current' : 'GET config',
        (cfg) => new EncodedData(JSON.stringify(typedConfig(masked(currentConfig(cfg, current))))),
      );
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/pending',
    params: vmPath(),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      const cfg = await loadVm(req);
      const conf = masked({ ...cfg.conf, digest: cfg.digest });
      const pending = masked({ ...cfg.pending });
      const deletes = parsePendingDelete(cfg.pending.delete);
      const typed = typedConfig(conf);
      const typedPending = typedConfig(pending);
      const keys = new Set([...Object.keys(conf), ...Object.keys(pending).filter((k) => k !== 'delete'), ...deletes.keys()]);
      return [...keys].sort().map((key) => {
        const row: Record<string, string | number> = { key };
        if (typed[key] !== undefined) row.value = typed[key];
        if (key !== 'delete' && typedPending[key] !== undefined) row.pending = typedPending[key];
        const del = deletes.get(key);
        if (del) row.delete = del.force ? 2 : 1;
        return row;
      });
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/qemu/{vmid}/config',
    params: vmPath(updateParams),
    configKeys: true,
    permissions: mayChange,
    handler: async (req) => {
      await precheck(req);
      await update(req, () => undefined);
      return null;
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/qemu/{vmid}/config',
    params: vmPath({ ...updateParams, background_delay: { type: 'integer', optional: true, minimum: 1, maximum: 30 } }),
    configKeys: true,
    permissions: mayChange,
    handler: async (req) => {
      await precheck(req);
      const id = vmidOf(req);
      const upid = await vmTask(req, 'qmconfig', id, async (task) => {
        const summary = Object.keys(req.configParams).sort().join(', ');
        if (summary) task.log(`update VM ${id}: ${summary}`);
        const res = await update(req, task.warn, (m) => task.log(m));
        if (res.pending) task.log('VM is running: changes are pending until the next start');
      });
      const delay = intParam(req.params, 'background_delay');
      if (delay === undefined) return upid;
      if (!(await req.server.tasks.wait(upid, delay * 1000))) return upid;
      const st = await req.server.tasks.store.status(upid, () => false);
      if (st.exitstatus === 'OK' || st.exitstatus?.startsWith('WARNINGS')) return null;
      throw new CvmError('INTERNAL', `failed to update VM ${id}: ${st.exitstatus}`);
    },
  },
];
