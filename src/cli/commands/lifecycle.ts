/**
 * @module cli/commands/lifecycle
 * Running VMs on this host: `start`, `stop`, `shutdown`, `reboot`, `reset`, `suspend`,
 * `resume` and `status`, like `qm` but with stock QEMU (local host profile). The work lives
 * in `src/run`; this module parses options, prints results and WARN lines.
 */
import { type Command, Option } from 'commander';
import { CvmError } from '../../errors.js';
import { quotedValue } from '../../store/quote.js';
import { parseVmid as parseVmidText } from '../../store/vmid.js';
import { printWarning } from '../output.js';

/** commander passes (value, previous): take the text only. */
const parseVmid = (text: string): number => parseVmidText(text);

/** Longest wait accepted for --timeout: one day (qemu-server has no maximum; Node timers cap at ~24.8 days). */
export const MAX_TIMEOUT_SEC = 86_400;

export function parseSeconds(name: string) {
  return (text: string): number => {
    const allowed = `allowed: integer between 0 and ${MAX_TIMEOUT_SEC}`;
    const reject = (reason: string): never => {
      throw new CvmError('PARAM_INVALID', `${name}: invalid value ${quotedValue(text)} - ${reason} (${allowed})`);
    };
    if (!/^-?\d+$/.test(text)) return reject("type check ('integer') failed");
    const value = Number(text);
    if (value < 0) return reject('value must have a minimum value of 0');
    if (value > MAX_TIMEOUT_SEC) return reject(`value must have a maximum value of ${MAX_TIMEOUT_SEC}`);
    return value;
  };
}

const SKIPLOCK_HELP = "ignore the lock property of the config (e.g. 'lock: backup')";

const warn = (m: string) => printWarning(m);

async function context(cmd: Command) {
  // independent modules: load them side by side rather than one after the other
  const [{ resolveRoot }, { localLifecycleContext }, { localHostNotices }] = await Promise.all([
    import('../../store/root.js'),
    import('../../run/local-context.js'),
    import('../../host/local/index.js'),
  ]);
  const ctx = await localLifecycleContext(resolveRoot(cmd.optsWithGlobals().root as string | undefined), { warn });
  return { ctx, notices: () => localHostNotices(ctx.facts).forEach(warn) };
}

const out = (text: string) => process.stdout.write(text);

export function register(program: Command): void {
  program
    .command('start')
    .description('start a VM: spawn QEMU (no shell) and wait until its QMP socket answers')
    .argument('<vmid>', 'VM ID', parseVmid)
    .option(
      '--timeout <s>',
      `seconds to wait for QEMU to be ready, 0 - ${MAX_TIMEOUT_SEC} (default: 30, more for big memory, hostpci, hugepages, many NICs)`,
      parseSeconds('timeout'),
    )
    .option('--skiplock', SKIPLOCK_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (vmid: number, opts: { timeout?: number; json?: boolean; skiplock?: boolean }, cmd: Command) => {
      const { ctx, notices } = await context(cmd);
      notices();
      const { startVm } = await import('../../run/index.js');
      const res = await startVm(ctx, vmid, {
        ignoreConfigLock: opts.skiplock === true,
        ...(opts.timeout !== undefined ? { timeoutSec: opts.timeout } : {}),
      });
      if (opts.json) out(`${JSON.stringify({ vmid, pid: res.pid, qmpstatus: res.qmpStatus, readyMs: res.readyMs })}\n`);
      else out(`VM ${vmid} started with PID ${res.pid} (${res.qmpStatus})\n`);
    });

  program
    .command('stop')
    .description('stop a VM the hard way: QMP quit, then SIGTERM, then SIGKILL')
    .argument('<vmid>', 'VM ID', parseVmid)
    .option('--timeout <s>', `seconds to wait after quit before SIGTERM, 0 - ${MAX_TIMEOUT_SEC} (default: 60)`, parseSeconds('timeout'))
    .option('--skiplock', SKIPLOCK_HELP)
    .action(async (vmid: number, opts: { timeout?: number; skiplock?: boolean }, cmd: Command) => {
      const { ctx } = await context(cmd);
      const { stopVm } = await import('../../run/index.js');
      const res = await stopVm(ctx, vmid, {
        ignoreConfigLock: opts.skiplock === true,
        ...(opts.timeout !== undefined ? { timeoutSec: opts.timeout } : {}),
      });
      out(res.wasRunning ? `VM ${vmid} stopped (${res.method})\n` : `VM ${vmid} was not running\n`);
    });

  program
    .command('shutdown')
    .description('ask the guest to power off (through its agent when that runs, else ACPI) and wait; --force-stop stops it after the timeout')
    .argument('<vmid>', 'VM ID', parseVmid)
    .option('--timeout <s>', `seconds to wait for the guest, 0 - ${MAX_TIMEOUT_SEC} (default: the config's startup down=N, else 60)`, parseSeconds('timeout'))
    .addOption(new Option('--force-stop', 'stop the VM if the guest has not powered off in time'))
    .option('--skiplock', SKIPLOCK_HELP)
    .action(async (vmid: number, opts: { timeout?: number; forceStop?: boolean; skiplock?: boolean }, cmd: Command) => {
      const { ctx } = await context(cmd);
      const { shutdownVm } = await import('../../run/index.js');
      const res = await shutdownVm(ctx, vmid, {
        ...(opts.timeout !== undefined ? { timeoutSec: opts.timeout } : {}),
        forceStop: Boolean(opts.forceStop),
        ignoreConfigLock: opts.skiplock === true,
      });
      if (!res.wasRunning) out(`VM ${vmid} was not running\n`);
      else out(`VM ${vmid} ${res.method === 'powerdown' ? 'shut down' : `stopped (${res.method})`}\n`);
    });

  program
    .command('reboot')
    .description('shut the guest down and start the VM again (applies config changes)')
    .argument('<vmid>', 'VM ID', parseVmid)
    .option('--timeout <s>', `seconds to wait for the guest shutdown, 0 - ${MAX_TIMEOUT_SEC} (default: 60)`, parseSeconds('timeout'))
    .option('--skiplock', SKIPLOCK_HELP)
    .action(async (vmid: number, opts: { timeout?: number; skiplock?: boolean }, cmd: Command) => {
      const { ctx } = await context(cmd);
      const { rebootVm } = await import('../../run/index.js');
      const res = await rebootVm(ctx, vmid, {
        ignoreConfigLock: opts.skiplock === true,
        ...(opts.timeout !== undefined ? { timeoutSec: opts.timeout } : {}),
      });
      out(`VM ${vmid} rebooted, new PID ${res.pid}\n`);
    });

  for (const [name, description, fn] of [
    ['reset', 'hard-reset the VM (system_reset)', 'resetVm'],
    ['suspend', 'pause the VM (vCPUs stopped, QEMU keeps running)', 'suspendVm'],
    ['resume', 'resume a paused or suspended VM', 'resumeVm'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<vmid>', 'VM ID', parseVmid)
      .option('--skiplock', SKIPLOCK_HELP)
      .action(async (vmid: number, opts: { skiplock?: boolean }, cmd: Command) => {
        const { ctx } = await context(cmd);
        const run = await import('../../run/index.js');
        await run[fn](ctx, vmid, { ignoreConfigLock: opts.skiplock === true });
      });
  }

  program
    .command('status')
    .description('show whether a VM runs: status, pid, uptime, QMP state, SEV state for a confidential VM')
    .argument('<vmid>', 'VM ID', parseVmid)
    .option('--verbose', 'print every field')
    .option('--json', 'print the status as JSON')
    .action(async (vmid: number, opts: { verbose?: boolean; json?: boolean }, cmd: Command) => {
      const { ctx } = await context(cmd);
      const { vmStatus, formatStatus } = await import('../../run/index.js');
      if (
        !(await ctx.loadConfig(vmid).then(
          () => true,
          () => false,
        ))
      ) {
        await ctx.loadConfig(vmid); // raises the store's "does not exist" error
      }
      const st = await vmStatus(ctx, vmid, { verbose: Boolean(opts.verbose || opts.json) });
      out(opts.json ? `${JSON.stringify(st)}\n` : formatStatus(st, Boolean(opts.verbose)));
    });
}
