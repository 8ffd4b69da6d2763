/**
 * @module snapshot/freeze
 * The guest file system freeze around a disk-only snapshot of a running VM, as qemu-server's
 * snapshot_create does it (__snapshot_check_freeze_needed, guest_fs_freeze_applicable,
 * __snapshot_freeze): only without RAM, only when the `agent` entry is enabled and does not say
 * `freeze-fs=0`, the agent answers `guest-ping` within 3 s and the guest is not frozen already
 * -- each skip is a log line. The freeze comes before the VM is paused and the thaw after it
 * resumes; a failed freeze or thaw is a warning and the snapshot goes on.
 */

import { agentSocketPath } from '../agent/commands.js';
import { qgaCommand } from '../agent/client.js';
import { agentFormat } from '../config/options/system-formats.js';
import { CvmError } from '../errors.js';
import type { LifecycleContext } from '../run/context.js';
import { readPropertyString } from '../schema/reader.js';

/** should_fs_freeze: an enabled agent freezes unless `freeze-fs=0` (or its old aliases). */
export function shouldFsFreeze(agent: string | undefined): boolean {
  const props = readPropertyString(agentFormat, agent);
  if (props.enabled !== '1') return false;
  return props['freeze-fs'] !== '0';
}

/** A guest agent command: its answer, the agent's own error as `Agent error: …`. */
async function qga(ctx: LifecycleContext, vmid: number, command: string, timeoutMs?: number): Promise<unknown> {
  const reply = await qgaCommand(agentSocketPath(ctx, vmid), vmid, command, undefined, timeoutMs ? { timeoutMs } : {});
  if (!reply.ok) throw new CvmError('AGENT_ERROR', `Agent error: ${reply.desc}`);
  return reply.value;
}

/** guest_fs_freeze_applicable, with its log lines. */
export async function fsFreezeApplicable(
  ctx: LifecycleContext,
  vmid: number,
  agent: string | undefined,
  log: (line: string) => void,
  warn: (message: string) => void,
): Promise<boolean> {
  if (!shouldFsFreeze(agent)) {
    log('skipping guest filesystem freeze - disabled in VM options');
    return false;
  }
  try {
    await qgaCommand(agentSocketPath(ctx, vmid), vmid, 'guest-ping', undefined, { timeoutMs: 3000 });
  } catch {
    log('skipping guest filesystem freeze - agent configured but not running?');
    return false;
  }
  let frozen = false;
  try {
    frozen = (await qga(ctx, vmid, 'guest-fsfreeze-status')) === 'frozen';
  } catch (err) {
    warn(`unable to check guest fs freeze status - ${(err as Error).message}`);
  }
  if (frozen) {
    log('skipping guest filesystem freeze - already frozen');
    return false;
  }
  return true;
}

/** __snapshot_freeze($vmid, 0): guest_fs_freeze (10 min), a failure only warned about. */
export async function fsFreeze(ctx: LifecycleContext, vmid: number, warn: (message: string) => void): Promise<void> {
  try {
    await qga(ctx, vmid, 'guest-fsfreeze-freeze', 10 * 60_000);
  } catch (err) {
    const message = (err as Error).message.replace(/^Agent error: /, '');
    warn(`unable to freeze guest fs - ${message}`);
  }
}

/** __snapshot_freeze($vmid, 1): guest_fs_thaw, a failure only warned about. */
export async function fsThaw(ctx: LifecycleContext, vmid: number, warn: (message: string) => void): Promise<void> {
  try {
    await qga(ctx, vmid, 'guest-fsfreeze-thaw');
  } catch (err) {
    warn(`guest-fsfreeze-thaw problems - ${(err as Error).message}`);
  }
}
