/**
 * @module run/context
 * What the lifecycle operations need from the rest of cvmctl, passed in rather than imported:
 * the state root, the host facts (local profile), how to load a VM config and how to turn it
 * into a QEMU argv. The CLI wires these to the config store and `configToCommand`; tests wire
 * them to fixtures, so the process handling is exercised against real QEMU either way.
 */

import type { VmConfig } from '../config/types.js';
import type { HostFacts } from '../host/facts.js';
import type { NetTools } from './net-tools.js';
import { runtimePaths, type RuntimePaths } from './runtime-files.js';

export interface BuiltCommand {
  argv: string[];
  warnings: string[];
}

export interface LifecycleContext {
  root: string;
  facts: HostFacts;
  loadConfig(vmid: number): Promise<VmConfig>;
  buildCommand(config: VmConfig, facts: HostFacts): BuiltCommand | Promise<BuiltCommand>;
  /** Where WARN lines go (default: stderr as `WARN: <msg>`). */
  warn?(message: string): void;
  /** `ip`/`bridge`/`tc` and sysfs access for tap handling (default: the host's; tests record calls). */
  net?: NetTools;
  /**
   * Make the VM's `[PENDING]` changes its config and return it (qemu-server's vm_start does
   * this before building the command). Without it a start uses the config as it is.
   */
  applyPending?(vmid: number): Promise<VmConfig>;
}

export function warnFn(ctx: LifecycleContext): (message: string) => void {
  return ctx.warn ?? ((m) => process.stderr.write(`WARN: ${m}\n`));
}

export function pathsFor(ctx: LifecycleContext, vmid: number): RuntimePaths {
  return runtimePaths(ctx.facts.paths.runDir, vmid);
}

/** qemu-server's `config_aware_timeout`: 30 s, more for big memory, passthrough, many NICs. */
export function startTimeoutSec(conf: Record<string, string>): number {
  let timeout = 30;
  const memory = Number(/^(?:current=)?(\d+)/.exec(conf.memory ?? '')?.[1] ?? 0);
  if (memory > 30720) timeout = Math.floor(memory / 1024);
  if (Object.keys(conf).some((k) => /^hostpci\d+$/.test(k))) timeout *= 4;
  if (conf.hugepages && timeout < 150) timeout = 150;
  const nics = Object.keys(conf).filter((k) => /^net\d+$/.test(k)).length;
  if (nics >= 2) timeout += nics * 5;
  return timeout;
}
