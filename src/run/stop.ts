/**
 * @module run/stop
 * Ending a VM. `stop` is qemu-server's ladder: QMP `quit`, wait; then SIGTERM, wait 10 s;
 * then SIGKILL. `shutdown` asks the guest (through its agent when that runs, else ACPI
 * `system_powerdown`: run/guest-shutdown) and waits; since the
 * command line has `-no-shutdown` (qemu-server relies on qmeventd to quit QEMU after a guest
 * power-off) cvmctl itself sends `quit` once QEMU reports `shutdown`. `reboot` is a shutdown
 * followed by a fresh start, as qmeventd does it, so config changes apply. Runtime files and
 * tap devices are removed once the process is gone.
 */

import { rm } from 'node:fs/promises';
import { CvmError } from '../errors.js';
import { parseStartupOrder } from '../schema/formats/ids.js';
import { tempEfivarsPath } from './efivars.js';
import { QmpClient, queryStatus } from '../qemu/qmp/index.js';
import { requestGuestShutdown, type ShutdownRequest } from './guest-shutdown.js';
import { type LifecycleContext, pathsFor, warnFn } from './context.js';
import { runAfterExitHooks } from './hooks.js';
import { assertNotLocked, withVmRunLock } from './lock.js';
import { removeTaps, tapsOf } from './network.js';
import { removeRuntimeFiles, runningPid } from './runtime-files.js';
import { startVm, type StartResult } from './start.js';
import { sleep, waitForExit } from './wait.js';

export interface StopOptions {
  /** Seconds to wait after `quit` before SIGTERM (qemu-server default 60). */
  timeoutSec?: number;
  /** Seconds to wait after SIGTERM before SIGKILL (qemu-server: 10). */
  termWaitSec?: number;
  skipLock?: boolean;
  /** Stop even though the config has a `lock` (qm stop --skiplock). */
  ignoreConfigLock?: boolean;
}

export interface StopResult {
  vmid: number;
  wasRunning: boolean;
  /** How the process ended: quit, powerdown, sigterm, sigkill. */
  method?: 'quit' | 'powerdown' | 'sigterm' | 'sigkill';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** End helper processes (swtpm), remove runtime files and tap devices of a VM whose QEMU is gone. */
async function cleanupAfterExit(ctx: LifecycleContext, vmid: number): Promise<void> {
  await runAfterExitHooks(ctx, vmid);
  await removeRuntimeFiles(ctx.facts.paths.runDir, vmid);
  await rm(tempEfivarsPath(ctx.facts, vmid), { force: true });
  try {
    const config = await ctx.loadConfig(vmid);
    await removeTaps(tapsOf(vmid, config.conf), ctx.net);
  } catch {
    // config gone or unreadable: nothing more we can identify
  }
}

/** QMP quit → SIGTERM → SIGKILL, each with its wait. `pid` must be running. */
async function stopLadder(ctx: LifecycleContext, vmid: number, pid: number, opts: StopOptions): Promise<StopResult['method']> {
  const warn = warnFn(ctx);
  const paths = pathsFor(ctx, vmid);
  const timeoutMs = (opts.timeoutSec ?? 60) * 1000;
  let quitFailed = false;
  try {
    const qmp = await QmpClient.connect(paths.qmp, { connectTimeoutMs: 5000 });
    try {
      await qmp.execute('quit');
    } finally {
      qmp.destroy();
    }
  } catch {
    quitFailed = true;
  }
  if (!quitFailed) {
    if (await waitForExit(pid, timeoutMs)) return 'quit';
    warn('VM still running - terminating now with SIGTERM');
  } else {
    if (!(await waitForExit(pid, 0))) warn('VM quit/powerdown failed - terminating now with SIGTERM');
    else return 'quit';
  }
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, (opts.termWaitSec ?? 10) * 1000)) return 'sigterm';
  warn('VM still running - terminating now with SIGKILL');
  signal(pid, 'SIGKILL');
  if (await waitForExit(pid, 5000)) return 'sigkill';
  throw new CvmError('QEMU_FAILED', `VM ${vmid} (pid ${pid}) did not terminate after SIGKILL`);
}

export async function stopVm(ctx: LifecycleContext, vmid: number, opts: StopOptions = {}): Promise<StopResult> {
  const work = async (): Promise<StopResult> => {
    const pid = await runningPid(pathsFor(ctx, vmid));
    if (!pid) {
      // a VM that does not exist cannot be stopped (qm: "Configuration file … does not exist")
      await ctx.loadConfig(vmid);
      await cleanupAfterExit(ctx, vmid);
      return { vmid, wasRunning: false };
    }
    // a QEMU whose config vanished can still be stopped; a locked config needs --skiplock
    const config = await ctx.loadConfig(vmid).catch(() => undefined);
    if (config) assertNotLocked(config.conf, { skiplock: opts.ignoreConfigLock });
    const method = await stopLadder(ctx, vmid, pid, opts);
    await cleanupAfterExit(ctx, vmid);
    return { vmid, wasRunning: true, method };
  };
  return opts.skipLock ? work() : withVmRunLock(ctx.root, vmid, work);
}

export interface ShutdownOptions {
  /** Seconds to wait for the guest (default: the config's `startup: down=N`, else 60). */
  timeoutSec?: number;
  /** On timeout, stop the VM the hard way instead of failing. */
  forceStop?: boolean;
  skipLock?: boolean;
  /** Shut down even though the config has a `lock` (qm shutdown --skiplock). */
  ignoreConfigLock?: boolean;
}

/** qemu-server's default shutdown wait: the config's `startup: down=N`, else 60 s (_do_vm_stop). */
function shutdownTimeoutSec(conf: Record<string, string | undefined>, requested: number | undefined): number {
  if (requested !== undefined) return requested;
  const down = conf.startup ? parseStartupOrder(conf.startup)?.down : undefined;
  return down ? down : 60;
}

async function shutdownLocked(ctx: LifecycleContext, vmid: number, opts: ShutdownOptions): Promise<StopResult> {
  const paths = pathsFor(ctx, vmid);
  const config = await ctx.loadConfig(vmid);
  const pid = await runningPid(paths);
  // like _do_vm_stop: shutting down a VM that does not run is done, not an error
  if (!pid) {
    await cleanupAfterExit(ctx, vmid);
    return { vmid, wasRunning: false };
  }
  assertNotLocked(config.conf, { skiplock: opts.ignoreConfigLock });
  const timeoutSec = shutdownTimeoutSec(config.conf, opts.timeoutSec);
  const deadline = Date.now() + timeoutSec * 1000;
  const qmp = await QmpClient.connect(paths.qmp);
  let guestOff = false;
  let request: ShutdownRequest | undefined;
  try {
    // a paused guest cannot see the power button; it would power off the moment it resumes (vm_shutdown API)
    if ((await queryStatus(qmp).catch(() => undefined))?.status === 'paused') {
      if (!opts.forceStop) throw new CvmError('VM_RUNNING', 'VM is paused - cannot shutdown');
      warnFn(ctx)('VM is paused - stop instead of shutdown');
      qmp.destroy();
      const method = await stopLadder(ctx, vmid, pid, { timeoutSec, termWaitSec: 10 });
      await cleanupAfterExit(ctx, vmid);
      return { vmid, wasRunning: true, method };
    }
    request = await requestGuestShutdown(ctx, vmid, config.conf, qmp, timeoutSec * 1000);
    while (Date.now() < deadline && !request.failure()) {
      if (!(await waitForExit(pid, 0))) {
        const status = await queryStatus(qmp).catch(() => undefined);
        if (status?.status === 'shutdown') {
          guestOff = true;
          break;
        }
        if (!status && qmp.isClosed) break;
      } else break;
      await sleep(250);
    }
  } finally {
    qmp.destroy();
  }
  if (guestOff || !(await runningPid(paths))) {
    // -no-shutdown keeps QEMU around after the guest powered off: finish it like qmeventd
    await stopLadder(ctx, vmid, pid, { timeoutSec: 10, termWaitSec: 5 });
    await cleanupAfterExit(ctx, vmid);
    return { vmid, wasRunning: true, method: 'powerdown' };
  }
  // the agent refused (its shutdown program failed): _do_vm_stop's error path
  const refused = request?.failure();
  if (refused) {
    if (!opts.forceStop) throw new CvmError('QMP_ERROR', 'VM quit/powerdown failed', { details: { reason: refused.message } });
    warnFn(ctx)('VM quit/powerdown failed - terminating now with SIGTERM');
    const method = await stopLadder(ctx, vmid, pid, { timeoutSec: 0, termWaitSec: 10 });
    await cleanupAfterExit(ctx, vmid);
    return { vmid, wasRunning: true, method };
  }
  if (!opts.forceStop) throw new CvmError('QMP_TIMEOUT', 'VM quit/powerdown failed - got timeout');
  warnFn(ctx)(`guest did not power off within ${timeoutSec} s - stopping VM ${vmid}`);
  const method = await stopLadder(ctx, vmid, pid, { timeoutSec: 0, termWaitSec: 10 });
  await cleanupAfterExit(ctx, vmid);
  return { vmid, wasRunning: true, method };
}

export async function shutdownVm(ctx: LifecycleContext, vmid: number, opts: ShutdownOptions = {}): Promise<StopResult> {
  const work = () => shutdownLocked(ctx, vmid, opts);
  return opts.skipLock ? work() : withVmRunLock(ctx.root, vmid, work);
}

/** Guest shutdown, then a fresh start (the new QEMU picks up config changes). */
export async function rebootVm(
  ctx: LifecycleContext,
  vmid: number,
  opts: ShutdownOptions & { startTimeoutSec?: number } = {},
): Promise<StartResult> {
  return withVmRunLock(ctx.root, vmid, async () => {
    // unlike shutdown, a reboot of a VM that does not run is an error (vm_reboot)
    await ctx.loadConfig(vmid);
    if (!(await runningPid(pathsFor(ctx, vmid)))) throw new CvmError('VM_NOT_RUNNING', `VM ${vmid} not running`);
    await shutdownLocked(ctx, vmid, { ...opts, skipLock: true });
    return startVm(ctx, vmid, {
      skipLock: true,
      ignoreConfigLock: opts.ignoreConfigLock === true,
      ...(opts.startTimeoutSec !== undefined ? { timeoutSec: opts.startTimeoutSec } : {}),
    });
  });
}
