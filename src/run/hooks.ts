/**
 * @module run/hooks
 * Helper processes that live alongside a VM's QEMU (today: swtpm for `tpmstate0`). Each hook
 * prepares what QEMU connects to right before the spawn, and cleans up after QEMU is gone,
 * after a failed start, and before a start (leftovers of a crashed VM). Clean-up must be
 * harmless when there is nothing to clean. start.ts and stop.ts only walk this list.
 */

import type { VmConfig } from '../config/types.js';
import type { LifecycleContext } from './context.js';

export interface RunHook {
  name: string;
  /** Called right before QEMU is spawned; throws to abort the start (cleanup runs then). */
  beforeSpawn(ctx: LifecycleContext, config: VmConfig): Promise<void>;
  /** Called once QEMU is gone (stop, failed start, stale files before a start). */
  afterExit(ctx: LifecycleContext, vmid: number): Promise<void>;
}

const tpmHook: RunHook = {
  name: 'swtpm',
  async beforeSpawn(ctx, config) {
    const value = config.conf.tpmstate0;
    if (!value) return;
    const { startSwtpm, tpmStateOf } = await import('../tpm/index.js');
    const state = tpmStateOf(value, ctx.facts.storage);
    await startSwtpm({ runDir: ctx.facts.paths.runDir, vmid: config.vmid, statePath: state.statePath, version: state.version });
  },
  async afterExit(ctx, vmid) {
    const { stopSwtpm } = await import('../tpm/index.js');
    await stopSwtpm(ctx.facts.paths.runDir, vmid);
  },
};

export const runHooks: readonly RunHook[] = [tpmHook];

export async function runBeforeSpawnHooks(ctx: LifecycleContext, config: VmConfig): Promise<void> {
  for (const hook of runHooks) await hook.beforeSpawn(ctx, config);
}

/** Every hook's clean-up; one failing does not keep the others from running (the first error is rethrown). */
export async function runAfterExitHooks(ctx: LifecycleContext, vmid: number): Promise<void> {
  let first: unknown;
  for (const hook of runHooks) {
    try {
      await hook.afterExit(ctx, vmid);
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}
