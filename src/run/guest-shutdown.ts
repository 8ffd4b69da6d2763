/**
 * @module run/guest-shutdown
 * The shutdown request of qemu-server's _do_vm_stop: with the guest agent enabled in the config
 * and answering `guest-ping` within 3 s (qga_check_running, which warns `QEMU Guest Agent is not
 * running - <error>` when it does not), `guest-shutdown` through the agent; otherwise the ACPI
 * power button (`system_powerdown`). The agent does not answer a shutdown that goes ahead (its
 * connection ends with QEMU); it answers only when the guest's shutdown program failed, and that
 * error is what `failure()` reports while the caller waits for the guest to power off.
 */

import { agentEnabled, agentSocketPath, qgaCheckRunning, qgaCommand } from '../agent/index.js';
import type { ConfigSection } from '../config/types.js';
import { CvmError } from '../errors.js';
import { type QmpClient, systemPowerdown } from '../qemu/qmp/index.js';
import { type LifecycleContext, warnFn } from './context.js';

export interface ShutdownRequest {
  via: 'agent' | 'acpi';
  /** The agent's refusal of `guest-shutdown`, once it came (undefined while none did). */
  failure(): Error | undefined;
}

/** Ask the guest to power off: through its agent when that runs (waiting at most `timeoutMs` for it), else by ACPI. */
export async function requestGuestShutdown(
  ctx: LifecycleContext,
  vmid: number,
  conf: ConfigSection,
  qmp: QmpClient,
  timeoutMs: number,
): Promise<ShutdownRequest> {
  if (agentEnabled(conf.agent) && (await qgaCheckRunning(ctx, vmid, warnFn(ctx)))) {
    let failed: Error | undefined;
    // not awaited: on success the answer never comes, the connection ends when QEMU quits
    void qgaCommand(agentSocketPath(ctx, vmid), vmid, 'guest-shutdown', undefined, { timeoutMs }).then(
      (reply) => {
        if (!reply.ok) failed = new CvmError('AGENT_ERROR', `VM ${vmid} qga command 'guest-shutdown' failed - ${reply.desc}`);
      },
      (err: Error) => {
        if (!/got timeout$/.test(err.message)) failed = err;
      },
    );
    return { via: 'agent', failure: () => failed };
  }
  await systemPowerdown(qmp);
  return { via: 'acpi', failure: () => undefined };
}
