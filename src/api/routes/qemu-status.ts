/**
 * @module api/routes/qemu-status
 * A VM's power state: `GET …/status` (index), `GET …/status/current` (vmstatus plus `qmpstatus`
 * from QMP while running, `ha: {managed: 0}`, `agent: 1` when the guest agent is enabled) and
 * the actions start, stop, shutdown, reboot, reset, suspend and resume. Each action returns a
 * UPID at once and runs src/run's operation in a task, as the CLI's lifecycle commands do; PVE's
 * synchronous refusals (reset/reboot of a stopped VM, shutdown of a paused one without
 * `forceStop`) come before any task. Starting a running VM still gets a UPID: its task fails
 * with `VM <id> already running`.
 */

import { CvmError } from '../../errors.js';
import { perlTrue } from '../../config/file/write.js';
import { currentConfig } from '../../config/file/views.js';
import { QmpClient, queryStatus, queryVersion, versionString } from '../../qemu/qmp/index.js';
import { resetVm, resumeVm, suspendVm } from '../../run/control.js';
import { runtimePaths } from '../../run/runtime-files.js';
import { startVm } from '../../run/start.js';
import { rebootVm, shutdownVm, stopVm } from '../../run/stop.js';
import { stateLayout } from '../../store/root.js';
import { vmStatus } from '../../store/status.js';
import { flag, intParam } from '../params.js';
import { assertRootOnly, requirePrivs, vmAcl } from '../permissions.js';
import { optionalBool, skiplock, timeout, vmPath } from '../schemas.js';
import type { ApiRequest, RouteDef } from '../types.js';
import { vmStatusObject } from '../vmstatus.js';
import { loadVm, taskLifecycle, vmidOf, vmTask } from '../vm-task.js';

const ACTIONS = ['start', 'stop', 'reset', 'shutdown', 'suspend', 'reboot', 'resume'];
const power = requirePrivs(vmAcl, ['VM.PowerMgmt']);

/** QEMU's run state over QMP, or undefined when it does not answer. */
async function qmpState(root: string, vmid: number): Promise<{ status: string; version?: string } | undefined> {
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(runtimePaths(stateLayout(root).runDir, vmid).qmp, { connectTimeoutMs: 3000 });
    const st = await queryStatus(qmp);
    const version = await queryVersion(qmp).then(versionString, () => undefined);
    return { status: st.status, ...(version ? { version } : {}) };
  } catch {
    return undefined;
  } finally {
    qmp?.destroy();
  }
}

async function assertRunning(req: ApiRequest): Promise<void> {
  const id = vmidOf(req);
  await loadVm(req);
  if ((await vmStatus(req.server.root, id)).status !== 'running') throw new CvmError('VM_NOT_RUNNING', `VM ${id} not running`);
}

/** An action route: root-only parameters, synchronous checks, then the task. */
function action(
  name: string,
  type: string,
  extra: RouteDef['params'],
  run: (req: ApiRequest, id: number) => (task: Parameters<Parameters<typeof vmTask>[3]>[0]) => Promise<void>,
  precheck: (req: ApiRequest) => Promise<void> = async (req) => {
    await loadVm(req);
  },
  rootOnly: string[] = ['skiplock'],
): RouteDef {
  return {
    method: 'POST',
    path: `/nodes/{node}/qemu/{vmid}/status/${name}`,
    params: vmPath({ skiplock, ...extra }),
    permissions: power,
    handler: async (req) => {
      assertRootOnly(req, rootOnly);
      await precheck(req);
      const id = vmidOf(req);
      return vmTask(req, type, id, run(req, id));
    },
  };
}

const timeoutOpt = (req: ApiRequest) => {
  const t = intParam(req.params, 'timeout');
  return t === undefined ? {} : { timeoutSec: t };
};

export const qemuStatusRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/status',
    params: vmPath(),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      await loadVm(req);
      return [{ subdir: 'current' }, ...ACTIONS.map((subdir) => ({ subdir }))];
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/qemu/{vmid}/status/current',
    params: vmPath(),
    permissions: requirePrivs(vmAcl, ['VM.Audit']),
    handler: async (req) => {
      const cfg = await loadVm(req);
      const out: Record<string, unknown> = await vmStatusObject(req.server.root, cfg);
      out.qmpstatus = out.status;
      if (out.status === 'running') {
        const qmp = await qmpState(req.server.root, cfg.vmid);
        if (qmp) {
          out.qmpstatus = qmp.status;
          if (qmp.version) out['running-qemu'] = qmp.version;
        }
      }
      out.ha = { managed: 0 };
      const agent = currentConfig(cfg, true).agent;
      if (agent && perlTrue(/^(?:enabled=)?([^,]*)/.exec(agent)?.[1] ?? '')) out.agent = 1;
      return out;
    },
  },
  action('start', 'qmstart', { timeout }, (req, id) => async (task) => {
    const res = await startVm(await taskLifecycle(req, task), id, { ignoreConfigLock: flag(req.params, 'skiplock'), ...timeoutOpt(req) });
    task.log(`VM ${id} started with PID ${res.pid}`);
  }),
  action(
    'stop',
    'qmstop',
    {
      timeout,
      keepActive: optionalBool('Do not deactivate storage volumes.'),
      'overrule-shutdown': optionalBool('Try to abort active qmshutdown tasks before stopping.'),
    },
    (req, id) => async (task) => {
      const res = await stopVm(await taskLifecycle(req, task), id, { ignoreConfigLock: flag(req.params, 'skiplock'), ...timeoutOpt(req) });
      if (!res.wasRunning) task.log(`VM ${id} was not running`);
    },
    undefined,
    ['skiplock', 'keepActive'],
  ),
  action(
    'shutdown',
    'qmshutdown',
    { timeout, forceStop: optionalBool('Make sure the VM stops.'), keepActive: optionalBool('Do not deactivate storage volumes.') },
    (req, id) => async (task) => {
      await shutdownVm(await taskLifecycle(req, task), id, {
        forceStop: flag(req.params, 'forceStop'),
        ignoreConfigLock: flag(req.params, 'skiplock'),
        ...timeoutOpt(req),
      });
    },
    async (req) => {
      await loadVm(req);
      const id = vmidOf(req);
      if (!flag(req.params, 'forceStop') && (await vmStatus(req.server.root, id)).status === 'running') {
        const st = await qmpState(req.server.root, id);
        if (st?.status === 'paused') throw new CvmError('VM_RUNNING', 'VM is paused - cannot shutdown');
      }
    },
    ['skiplock', 'keepActive'],
  ),
  action(
    'reboot',
    'qmreboot',
    { timeout },
    (req, id) => async (task) => {
      const res = await rebootVm(await taskLifecycle(req, task), id, {
        ignoreConfigLock: flag(req.params, 'skiplock'),
        ...timeoutOpt(req),
      });
      task.log(`VM ${id} started with PID ${res.pid}`);
    },
    assertRunning,
  ),
  action(
    'reset',
    'qmreset',
    {},
    (req, id) => async (task) => resetVm(await taskLifecycle(req, task), id, { ignoreConfigLock: flag(req.params, 'skiplock') }),
    assertRunning,
  ),
  action(
    'suspend',
    'qmpause',
    {
      todisk: optionalBool('If set, suspends the VM to disk. Will be resumed on next VM start.'),
      statestorage: { type: 'string', optional: true, format: 'pve-storage-id' },
    },
    (req, id) => async (task) => suspendVm(await taskLifecycle(req, task), id, { ignoreConfigLock: flag(req.params, 'skiplock') }),
    async (req) => {
      if (flag(req.params, 'todisk') || req.params.statestorage !== undefined) {
        throw new CvmError('HOST_UNSUPPORTED', 'suspend to disk (todisk, statestorage) is not supported by cvmctl');
      }
      await assertRunning(req);
    },
  ),
  action(
    'resume',
    'qmresume',
    { nocheck: optionalBool('Skip the running check (migration).') },
    (req, id) => async (task) => {
      const done = await resumeVm(await taskLifecycle(req, task), id, { ignoreConfigLock: flag(req.params, 'skiplock') });
      if (done === 'none') task.log(`VM ${id} was running already`);
    },
    async (req) => {
      await loadVm(req);
    },
    ['skiplock', 'nocheck'],
  ),
];
