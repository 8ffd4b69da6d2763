/**
 * @module api/vm-task
 * Helpers the VM routes share: reading a VM's config (through the server's config cache; the
 * store's "does not exist" error when there is none), starting a worker task for a VM with the
 * caller as task user, and a lifecycle context whose warnings go into that task's log as
 * `WARN:` lines.
 */

import type { VmConfig } from '../config/types.js';
import type { LifecycleContext } from '../run/context.js';
import type { TaskContext } from '../tasks/runner.js';
import { type ApiRequest, identityOf } from './types.js';

export function vmidOf(req: ApiRequest): number {
  return Number(req.params.vmid);
}

export function loadVm(req: ApiRequest, vmid = vmidOf(req)): Promise<VmConfig> {
  return req.server.configs.read(vmid);
}

/** Start a worker task `type` on the VM; resolves with its UPID. */
export function vmTask(req: ApiRequest, type: string, vmid: number, work: (task: TaskContext) => Promise<void>): Promise<string> {
  return req.server.tasks.start({ type, id: String(vmid), user: identityOf(req).authid }, work);
}

/** The lifecycle context for a task: WARN lines go to the task log. */
export function taskLifecycle(req: ApiRequest, task: TaskContext): Promise<LifecycleContext> {
  return req.server.lifecycle((m) => task.warn(m));
}
