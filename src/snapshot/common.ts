/**
 * @module snapshot/common
 * What the snapshot operations share: the name rules of the `snapshot` API (pve-snapshot-name:
 * a configuration id of at most 40 characters, `current` and `pending` reserved), the config
 * store of the state root, the running check and a QMP session to a running VM.
 */

import type { VmConfig } from '../config/types.js';
import { CvmError } from '../errors.js';
import { QmpClient } from '../qemu/qmp/index.js';
import type { LifecycleContext } from '../run/context.js';
import { pathsFor } from '../run/context.js';
import { runningPid } from '../run/runtime-files.js';
import { verifyConfigId } from '../schema/formats/ids.js';
import type { ConfigStore } from '../store/config-store.js';
import { openConfigStore } from '../store/open.js';

export interface SnapshotOptions {
  /** Progress lines (qm prints them in the task log); default: none. */
  log?: (line: string) => void;
}

/** Parameter check of `snapname` (pve-snapshot-name). */
export function checkSnapshotName(name: string): void {
  if (name.length > 40)
    throw new CvmError('PARAM_INVALID', `snapname: value may only be 40 characters long`, { details: { key: 'snapname', value: name } });
  const err = verifyConfigId(name);
  if (err) throw new CvmError('PARAM_INVALID', `snapname: invalid format - ${err}`, { details: { key: 'snapname', value: name } });
}

export function storeOf(ctx: LifecycleContext): ConfigStore {
  return openConfigStore(ctx.root, ctx.warn ? { warn: ctx.warn } : {});
}

export async function isRunning(ctx: LifecycleContext, vmid: number): Promise<boolean> {
  return (await runningPid(pathsFor(ctx, vmid))) !== undefined;
}

export async function withQmp<T>(ctx: LifecycleContext, vmid: number, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await QmpClient.connect(pathsFor(ctx, vmid).qmp);
  try {
    return await fn(qmp);
  } finally {
    await qmp.close();
  }
}

export function snapshotOf(config: VmConfig, name: string): Record<string, string> {
  const snap = Object.hasOwn(config.snapshots, name) ? config.snapshots[name] : undefined;
  if (!snap) throw new CvmError('VM_NOT_FOUND', `snapshot '${name}' does not exist`);
  return snap as Record<string, string>;
}

/** is_template */
export const isTemplate = (conf: Record<string, string | undefined>): boolean => conf.template === '1';
