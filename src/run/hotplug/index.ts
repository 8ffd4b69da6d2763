/**
 * @module run/hotplug
 * Changing a running VM the way qemu-server's vmconfig_hotplug_pending does: `applyHotplug`
 * connects to the VM's QMP socket and plugs/unplugs what the `hotplug` option allows; the
 * rest stays pending. Used by `set` (store/vm-ops) inside the config lock.
 */

import type { VmConfig } from '../../config/types.js';
import { type ExecuteOptions, QmpClient } from '../../qemu/qmp/index.js';
import type { LifecycleContext } from '../context.js';
import { runtimePaths } from '../runtime-files.js';
import { type HotplugOutcome, hotplugPending } from './pending.js';

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

export async function applyHotplug(args: ApplyHotplugArgs): Promise<HotplugOutcome> {
  const ctx =
    args.ctx ?? (await (await import('../local-context.js')).localLifecycleContext(args.root, args.warn ? { warn: args.warn } : {}));
  // connect on the first QMP command: changes that stay pending need no monitor at all
  const path = runtimePaths(ctx.facts.paths.runDir, args.config.vmid).qmp;
  let session: Promise<QmpClient> | undefined;
  const qmp = {
    execute: async <T>(command: string, cmdArgs?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T> => {
      session ??= QmpClient.connect(path);
      return (await session).execute<T>(command, cmdArgs, opts);
    },
  };
  try {
    return await hotplugPending(args.config, {
      ctx,
      qmp,
      vmid: args.config.vmid,
      ...(ctx.net ? { net: ctx.net } : {}),
      ...(args.pollMs !== undefined ? { pollMs: args.pollMs } : {}),
    });
  } finally {
    if (session) await (await session.catch(() => undefined))?.close();
  }
}
