/**
 * @module run/local-context
 * The production wiring of a `LifecycleContext`: configs from the file store under the state
 * root, host facts from the local profile, and the command line from `configToCommand`.
 * Modules of other packages are loaded lazily so `cvmctl status` stays cheap.
 */

import { resolve } from 'node:path';
import type { HostFacts } from '../host/facts.js';
import type { BuiltCommand, LifecycleContext } from './context.js';

/**
 * Differences between Proxmox's QEMU build and stock QEMU that the argv must bridge for the
 * local flavor, in case the generator still emits the Proxmox form:
 * - `-id <vmid>` exists only in Proxmox's build ("-id: invalid option" otherwise);
 * - Proxmox's `/usr/bin/kvm` turns KVM on by default, stock `qemu-system-*` defaults to TCG,
 *   so with KVM usable and no `accel=` in `-machine`, `-accel kvm` is added.
 */
export function adaptForStockQemu(argv: readonly string[], kvmAvailable: boolean): string[] {
  const out: string[] = [];
  let machineHasAccel = false;
  let hasAccelOption = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-id' && i > 0) {
      i++;
      continue;
    }
    if (a === '-machine' && /(^|,)accel=/.test(argv[i + 1] ?? '')) machineHasAccel = true;
    if (a === '-accel' || a === '-enable-kvm') hasAccelOption = true;
    out.push(a);
  }
  if (kvmAvailable && !machineHasAccel && !hasAccelOption && out.length > 0) out.splice(1, 0, '-accel', 'kvm');
  return out;
}

export interface LocalContextOptions {
  warn?: (message: string) => void;
  /** Facts to use instead of probing (tests, benchmarks). */
  facts?: HostFacts;
}

export async function localLifecycleContext(rootArg: string, opts: LocalContextOptions = {}): Promise<LifecycleContext> {
  const root = resolve(rootArg);
  const [{ FsConfigStore }, facts] = await Promise.all([
    import('../store/fs-store.js'),
    opts.facts ? Promise.resolve(opts.facts) : import('../host/local/index.js').then((m) => m.probeLocalHost(root)),
  ]);
  const store = new FsConfigStore(root, opts.warn ? { warn: opts.warn } : {});
  return {
    root,
    facts,
    ...(opts.warn ? { warn: opts.warn } : {}),
    loadConfig: async (vmid) => (await store.read(vmid)).config,
    buildCommand: async (config, host): Promise<BuiltCommand> => {
      const { configToCommand } = await import('../qemu/cfg2cmd/index.js');
      const res = configToCommand(config, host);
      return { argv: host.flavor === 'local' ? adaptForStockQemu(res.argv, host.kvmAvailable) : res.argv, warnings: res.warnings ?? [] };
    },
  };
}
