/**
 * @module run/hotplug
 * Changing a running VM the way qemu-server's vmconfig_hotplug_pending does: `applyHotplug`
 * connects to the VM's QMP socket and plugs/unplugs what the `hotplug` option allows; the
 * rest stays pending. Used by `set` (store/vm-ops) inside the config lock. `swapMedium` changes
 * one cd-rom's medium (a regenerated cloud-init image, `cloudinit update`).
 */

import type { VmConfig } from '../../config/types.js';
import { type ExecuteOptions, QmpClient } from '../../qemu/qmp/index.js';
import type { LifecycleContext } from '../context.js';
import { runtimePaths } from '../runtime-files.js';
import { CvmError } from '../../errors.js';
import { driveFile } from '../../config/file/drives.js';
import { changeMedium, type HotplugOutcome, hotplugPending } from './pending.js';

export { parseHotplugFeatures, DEFAULT_HOTPLUG, type HotplugFeature } from './features.js';
export { hotplugPending, type HotplugOutcome, type HotplugEnv } from './pending.js';
export { deviceArg, netdevArg, blockdevArg, objectArg } from './argv-parts.js';
export { devicesList } from './qmp-devices.js';

export interface ApplyHotplugArgs {
  root: string;
  /** The VM's config with its staged `[PENDING]` changes; mutated: applied changes move to the main section. */
  config: VmConfig;
  warn?: (message: string) => void;
  /** Lifecycle context to use (default: the local one for `root`). */
  ctx?: LifecycleContext;
  /** Poll interval of the verify loops (default 1 s like qemu-server). */
  pollMs?: number;
}

/** A QMP client that connects on its first command (changes that stay pending need no monitor at all). */
function lazyQmp(ctx: LifecycleContext, vmid: number) {
  const path = runtimePaths(ctx.facts.paths.runDir, vmid).qmp;
  let session: Promise<QmpClient> | undefined;
  return {
    execute: async <T>(command: string, cmdArgs?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T> => {
      session ??= QmpClient.connect(path);
      return (await session).execute<T>(command, cmdArgs, opts);
    },
    close: async () => {
      if (session) await (await session.catch(() => undefined))?.close();
    },
  };
}

async function contextFor(args: { root: string; warn?: (message: string) => void; ctx?: LifecycleContext }): Promise<LifecycleContext> {
  return args.ctx ?? (await (await import('../local-context.js')).localLifecycleContext(args.root, args.warn ? { warn: args.warn } : {}));
}

/** change_medium of drive `key` of a running VM to the medium its config names (a regenerated cloud-init image). */
export async function swapMedium(args: Omit<ApplyHotplugArgs, 'pollMs'> & { key: string; whileEjected?: () => Promise<void> }): Promise<void> {
  const ctx = await contextFor(args);
  const qmp = lazyQmp(ctx, args.config.vmid);
  const value = args.config.conf[args.key];
  const file = value ? driveFile(args.key, value)?.file : undefined;
  if (!file) throw new CvmError('PARAM_INVALID', `no medium configured for '${args.key}'`);
  try {
    const argv = async () => (await ctx.buildCommand({ ...args.config, pending: {} }, ctx.facts)).argv;
    await changeMedium({ qmp }, args.key, file, argv, args.whileEjected);
  } finally {
    await qmp.close();
  }
}

export async function applyHotplug(args: ApplyHotplugArgs): Promise<HotplugOutcome> {
  const ctx = await contextFor(args);
  const qmp = lazyQmp(ctx, args.config.vmid);
  try {
    return await hotplugPending(args.config, {
      ctx,
      qmp,
      vmid: args.config.vmid,
      ...(ctx.net ? { net: ctx.net } : {}),
      ...(args.pollMs !== undefined ? { pollMs: args.pollMs } : {}),
    });
  } finally {
    await qmp.close();
  }
}
