/**
 * @module run/start
 * `cvmctl start`: under the run lock and the VM's config lock (held until QEMU runs, like
 * qemu-server), refuse a second start, clear what a crashed QEMU left behind, build the
 * command with the host facts (a confidential VM on a host without the feature fails here,
 * before any process exists), check and create tap devices, spawn QEMU without a shell and
 * wait until its QMP socket answers. A VM with a cloud-init drive gets its image written first
 * (src/cloudinit). Helper processes (swtpm) start and end through the hook
 * list of run/hooks. A QEMU that dies while starting is reported with its own stderr text;
 * everything set up for it (helpers included) is undone.
 */

import { join } from 'node:path';
import { CvmError } from '../errors.js';
import { hasCloudinitDrive } from '../config/file/write.js';
import type { VmConfig } from '../config/types.js';
import { withVmConfigLock } from '../store/open.js';
import { type LifecycleContext, pathsFor, startTimeoutSec, warnFn } from './context.js';
import { prepareTempEfivars } from './efivars.js';
import { runAfterExitHooks, runAfterStartHooks, runBeforeSpawnHooks } from './hooks.js';
import { balloonAtStart } from './hotplug/balloon.js';
import { assertNotLocked, withVmRunLock } from './lock.js';
import { createTaps, linkDownNics, planTaps, removeTaps } from './network.js';
import { assertCanCreateTaps, assertRootWritable } from './preflight.js';
import { ensureRunDir, removeRuntimeFiles, runningPid } from './runtime-files.js';
import { spawnDaemonizing, spawnDetached, waitForQmp } from './spawn.js';
import { processAlive } from './runtime-files.js';
import { type QmpClient, queryStatus, type QmpStatus } from '../qemu/qmp/index.js';

export interface StartOptions {
  /** Seconds to wait for QEMU to be ready (default: qemu-server's config-aware timeout). */
  timeoutSec?: number;
  skipLock?: boolean;
  /** Start even though the config has a `lock` (qm start --skiplock). */
  ignoreConfigLock?: boolean;
  /** Arguments appended to the generated command line (a snapshot rollback adds `-incoming defer`). */
  extraArgs?: readonly string[];
  /** Work on the first QMP session, before the VM counts as started (loading a saved state). */
  onQmpReady?: (qmp: QmpClient) => Promise<void>;
}

export interface StartResult {
  vmid: number;
  pid: number;
  argv: string[];
  warnings: string[];
  qmpStatus: QmpStatus['status'];
  /** Milliseconds from spawn to a ready QMP session. */
  readyMs: number;
}

export async function startVm(ctx: LifecycleContext, vmid: number, opts: StartOptions = {}): Promise<StartResult> {
  // like qemu-server's vm_start, the config lock is held across the whole start: a `set` waits
  // and then sees the VM running (its change goes to [PENDING]); a `destroy` waits and refuses
  // a user who may not run VMs here hears so at once, not from a lock file's EACCES
  await assertRootWritable(ctx.root);
  const work = () => withVmConfigLock(ctx.root, vmid, () => startLocked(ctx, vmid, opts));
  return opts.skipLock ? work() : withVmRunLock(ctx.root, vmid, work);
}

async function startLocked(ctx: LifecycleContext, vmid: number, opts: StartOptions): Promise<StartResult> {
  const warn = warnFn(ctx);
  let config = await ctx.loadConfig(vmid);
  assertNotLocked(config.conf, { skiplock: opts.ignoreConfigLock });
  if (config.conf.template === '1') throw new CvmError('PARAM_INVALID', "you can't start a vm if it's a template");
  const paths = pathsFor(ctx, vmid);
  if (await runningPid(paths)) throw new CvmError('VM_RUNNING', `VM ${vmid} already running`);
  // like vm_start: changes kept pending while the VM ran take effect now
  if (ctx.applyPending && Object.keys(config.pending).length > 0) config = await ctx.applyPending(vmid);
  // like vm_start: the cloud-init image is written from the config the VM starts with
  if (hasCloudinitDrive(config.conf)) config = await writeCloudinitImage(ctx, config, warn);
  const conf = config.conf;
  // helpers (swtpm), pid file, sockets, logs of a QEMU that died without cleaning up
  await runAfterExitHooks(ctx, vmid);
  const stale = await removeRuntimeFiles(paths.runDir, vmid);
  if (stale.length > 0) warn(`removed stale runtime files of VM ${vmid}: ${stale.sort().join(', ')}`);

  const taps = planTaps(vmid, conf, ctx.facts.bridgeMtu);
  await assertCanCreateTaps(taps);
  const generated = await ctx.buildCommand(config, ctx.facts);
  const built = opts.extraArgs ? { ...generated, argv: [...generated.argv, ...opts.extraArgs] } : generated;
  for (const w of built.warnings) warn(w);

  await ensureRunDir(paths.runDir);
  await prepareTempEfivars(ctx.facts, config, built.argv);
  await createTaps(taps, ctx.net);

  const timeoutMs = (opts.timeoutSec ?? startTimeoutSec(conf)) * 1000;
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  try {
    await runBeforeSpawnHooks(ctx, config);
    let gone: (() => Promise<string | undefined>) | undefined;
    if (built.argv.includes('-daemonize')) {
      await spawnDaemonizing(built.argv, timeoutMs);
    } else {
      const child = await spawnDetached(built.argv, join(paths.runDir, `${vmid}.log`));
      let reason: string | undefined;
      void child.exited.then((r) => {
        reason = r;
      });
      gone = async () => reason ?? ((await processAlive(child.pid)) ? undefined : 'QEMU exited');
    }
    const qmp = await waitForQmp(paths.qmp, deadline, gone);
    let status: QmpStatus['status'];
    try {
      // like vm_start: a NIC configured with link_down starts with its link down
      for (const key of linkDownNics(conf)) await qmp.execute('set_link', { name: key, up: false });
      if (opts.onQmpReady) await opts.onQmpReady(qmp);
      // like vm_start: the configured balloon target, unless a saved state brought its own
      await balloonAtStart(qmp, conf, warn, { setTarget: !opts.onQmpReady });
      status = (await queryStatus(qmp)).status;
    } finally {
      await qmp.close();
    }
    const readyMs = Date.now() - t0;
    const pid = await runningPid(paths);
    if (!pid)
      throw new CvmError('QEMU_FAILED', `start failed: QEMU for VM ${vmid} is not running after start (no valid pid file ${paths.pid})`);
    await runAfterStartHooks(ctx, config, pid);
    return { vmid, pid, argv: built.argv, warnings: built.warnings, qmpStatus: status, readyMs };
  } catch (err) {
    // a half-started QEMU must not survive a failed start
    const pid = await runningPid(paths);
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await removeTaps(taps, ctx.net);
    await runAfterExitHooks(ctx, vmid).catch(() => undefined);
    await removeRuntimeFiles(paths.runDir, vmid);
    throw withKvmHint(err, built.argv, vmid);
  }
}

/** apply_cloudinit_config at start: generate the image; recorded changes are then cleared in the stored config. */
async function writeCloudinitImage(ctx: LifecycleContext, config: VmConfig, warn: (m: string) => void): Promise<VmConfig> {
  const { applyCloudinit } = await import('../cloudinit/apply.js');
  if (!(await applyCloudinit(config, { storage: ctx.facts.storage, warn }))) return config;
  const { openConfigStore } = await import('../store/open.js');
  return openConfigStore(ctx.root).update(config.vmid, (current) => {
    delete current.special.cloudinit;
    return current;
  });
}

/**
 * QEMU's KVM set-up failures (a nested or restricted /dev/kvm that opens but cannot run the
 * CPU model) say nothing about the way out; add it when the VM asked for KVM.
 */
export function withKvmHint(err: unknown, argv: readonly string[], vmid: number): unknown {
  if (!(err instanceof CvmError) || err.code !== 'QEMU_FAILED') return err;
  const usesKvm = argv.some((a, i) => argv[i - 1] === '-machine' && /(^|,)accel=kvm(,|$)/.test(a));
  const kvmProblem = /Host doesn't support requested features|kvm|KVM/.test(err.message);
  if (!usesKvm || !kvmProblem) return err;
  return new CvmError(
    'QEMU_FAILED',
    `${err.message} (KVM cannot run this VM on this host; 'cvmctl set ${vmid} --kvm 0' runs it under TCG)`,
    {
      cause: err,
      details: err.details,
    },
  );
}
