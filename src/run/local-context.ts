/**
 * @module run/local-context
 * The production wiring of a `LifecycleContext`: configs from the file store under the state
 * root, host facts from the local profile, and the command line from `configToCommand`.
 * Modules of other packages are loaded lazily so `cvmctl status` stays cheap.
 */

import { resolve } from 'node:path';
import type { HostFacts } from '../host/facts.js';
import type { BuiltCommand, LifecycleContext } from './context.js';

export interface LocalContextOptions {
  warn?: (message: string) => void;
  /** Facts to use instead of probing (tests, benchmarks). */
  facts?: HostFacts;
}

export async function localLifecycleContext(rootArg: string, opts: LocalContextOptions = {}): Promise<LifecycleContext> {
  const root = resolve(rootArg);
  const [{ openConfigStore }, facts] = await Promise.all([
    import('../store/open.js'),
    opts.facts ? Promise.resolve(opts.facts) : import('../host/local/index.js').then((m) => m.probeLocalHost(root)),
  ]);
  const store = openConfigStore(root, opts.warn ? { warn: opts.warn } : {});
  return {
    root,
    facts,
    ...(opts.warn ? { warn: opts.warn } : {}),
    loadConfig: async (vmid) => (await store.read(vmid)).config,
    applyPending: async (vmid) => {
      const { applyPendingChanges } = await import('../store/vm-ops.js');
      return applyPendingChanges({ root, vmid, ...(opts.warn ? { warn: opts.warn } : {}) });
    },
    buildCommand: async (config, host): Promise<BuiltCommand> => {
      const { configToCommand } = await import('../qemu/cfg2cmd/index.js');
      const res = configToCommand(config, host);
      return { argv: res.argv, warnings: res.warnings ?? [] };
    },
  };
}
