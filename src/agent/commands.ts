/**
 * @module agent/commands
 * The guest agent operations of `qm agent` / `qm guest exec` and the API's `…/agent/*`
 * endpoints, after qemu-server's Agent.pm: every call first checks that the config has an
 * `agent` entry (`No QEMU guest agent configured`), that the VM runs (`VM 100 is not
 * running`) and that the agent answers `guest-ping` within 3 s (`QEMU guest agent is not
 * running`); an error the agent returns becomes `Agent error: <its text>`. `exec` starts a
 * process (argv, never a shell string) and, when synchronous, polls `exec-status` each second
 * until it exits or the timeout passes (then the pid is returned with a warning).
 */

import { join } from 'node:path';
import { agentFormat } from '../config/options/system-formats.js';
import { CvmError } from '../errors.js';
import { propBool } from '../qemu/cfg2cmd/props.js';
import { readPropertyString } from '../schema/reader.js';
import type { LifecycleContext } from '../run/context.js';
import { runningPid, runtimePaths } from '../run/runtime-files.js';
import { qgaCommand, type QgaCommandOptions } from './client.js';

/** The simple commands with their HTTP method, as API2/Qemu/Agent.pm registers them. */
export const AGENT_COMMANDS: Readonly<Record<string, 'GET' | 'POST'>> = {
  'fsfreeze-freeze': 'POST',
  'fsfreeze-status': 'POST',
  'fsfreeze-thaw': 'POST',
  fstrim: 'POST',
  'get-fsinfo': 'GET',
  'get-host-name': 'GET',
  'get-memory-block-info': 'GET',
  'get-memory-blocks': 'GET',
  'get-osinfo': 'GET',
  'get-time': 'GET',
  'get-timezone': 'GET',
  'get-users': 'GET',
  'get-vcpus': 'GET',
  info: 'GET',
  'network-get-interfaces': 'GET',
  ping: 'POST',
  shutdown: 'POST',
  'suspend-disk': 'POST',
  'suspend-hybrid': 'POST',
  'suspend-ram': 'POST',
};

/** `input-data` limit of `qm guest exec --pass-stdin`. */
export const MAX_EXEC_INPUT_BYTES = 1024 * 1024;

/** Seconds `guest-ping` may take before the agent counts as not running (qga_check_running). */
const PING_TIMEOUT_MS = 3000;

export type AgentContext = Pick<LifecycleContext, 'facts' | 'loadConfig'>;

export function agentSocketPath(ctx: AgentContext, vmid: number): string {
  return join(ctx.facts.paths.runDir, `${vmid}.qga`);
}

/** get_qga_key(conf, 'enabled'): the `agent` value says the agent is enabled (`1`, `enabled=1,…`). */
export function agentEnabled(value: string | undefined): boolean {
  return propBool(qgaKey(value, 'enabled')) === true;
}

/** get_qga_key: one setting of the `agent` property string (undefined without an `agent` line). */
export function qgaKey(value: string | undefined, key: string): string | undefined {
  if (value === undefined) return undefined;
  return readPropertyString(agentFormat, value)[key];
}

/**
 * qga_check_running: whether the agent answers `guest-ping` within 3 s; if not, and unless
 * `warn` is omitted, it warns `QEMU Guest Agent is not running - <why>`.
 */
export async function qgaCheckRunning(ctx: AgentContext, vmid: number, warn?: (message: string) => void): Promise<boolean> {
  try {
    await qgaCommand(agentSocketPath(ctx, vmid), vmid, 'guest-ping', undefined, { timeoutMs: PING_TIMEOUT_MS });
    return true;
  } catch (err) {
    warn?.(`QEMU Guest Agent is not running - ${(err as Error).message}`);
    return false;
  }
}

/** assert_agent_available: configured, VM running, agent answering a ping. */
export async function assertAgentAvailable(ctx: AgentContext, vmid: number): Promise<void> {
  const config = await ctx.loadConfig(vmid);
  if (config.conf.agent === undefined) throw new CvmError('AGENT_ERROR', 'No QEMU guest agent configured');
  if (!(await runningPid(runtimePaths(ctx.facts.paths.runDir, vmid)))) {
    throw new CvmError('VM_NOT_RUNNING', `VM ${vmid} is not running`);
  }
  try {
    await qgaCommand(agentSocketPath(ctx, vmid), vmid, 'guest-ping', undefined, { timeoutMs: PING_TIMEOUT_MS });
  } catch {
    throw new CvmError('AGENT_ERROR', 'QEMU guest agent is not running');
  }
}

/** agent_cmd: availability check, `guest-<command>`, agent errors as `Agent error: …`. */
async function agentCall(
  ctx: AgentContext,
  vmid: number,
  command: string,
  args?: Record<string, unknown>,
  opts?: QgaCommandOptions,
): Promise<unknown> {
  await assertAgentAvailable(ctx, vmid);
  const reply = await qgaCommand(agentSocketPath(ctx, vmid), vmid, `guest-${command}`, args, opts);
  if (!reply.ok) throw new CvmError('AGENT_ERROR', `Agent error: ${reply.desc}`, { details: { class: reply.errorClass } });
  return reply.value;
}

/** One of AGENT_COMMANDS (`qm agent <vmid> <command>`); the answer is `{ result }` like the API. */
export async function agentCommand(ctx: AgentContext, vmid: number, command: string): Promise<{ result: unknown }> {
  if (!Object.hasOwn(AGENT_COMMANDS, command)) {
    throw new CvmError(
      'PARAM_INVALID',
      `command: value '${command}' does not have a value in the enumeration '${Object.keys(AGENT_COMMANDS).join(', ')}'`,
    );
  }
  return { result: await agentCall(ctx, vmid, command) };
}

export interface ExecStatus {
  exited: 0 | 1;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
  'out-truncated'?: 0 | 1;
  'err-truncated'?: 0 | 1;
}

/** qemu_exec_status: base64 output decoded, JSON booleans as 1/0. */
export async function agentExecStatus(ctx: AgentContext, vmid: number, pid: number): Promise<ExecStatus> {
  if (!Number.isInteger(pid) || pid < 0) throw new CvmError('PARAM_INVALID', `pid: invalid value '${pid}' - type check ('integer') failed`);
  const raw = (await agentCall(ctx, vmid, 'exec-status', { pid })) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'boolean') out[key] = value ? 1 : 0;
    else if ((key === 'out-data' || key === 'err-data') && typeof value === 'string')
      out[key] = Buffer.from(value, 'base64').toString('utf8');
    else out[key] = value;
  }
  return out as unknown as ExecStatus;
}

export interface ExecOptions {
  /** argv: program then its arguments (no shell). */
  command?: string[];
  /** Becomes the process's stdin (`--pass-stdin`), at most 1 MiB. */
  inputData?: string;
  /** Wait for the process (default true). */
  synchronous?: boolean;
  /** Seconds to wait when synchronous (default 30, 0 = no limit). */
  timeoutSec?: number;
  /** Called when the wait ends before the process did. */
  warn?: (message: string) => void;
  /** Poll interval (tests shorten it; qemu-server polls each second). */
  pollMs?: number;
}

/** `qm guest exec`: start the command; when synchronous wait for its exit status. */
export async function agentExec(ctx: AgentContext, vmid: number, opts: ExecOptions): Promise<{ result: ExecStatus | { pid: number } }> {
  const sync = opts.synchronous ?? true;
  if (opts.timeoutSec !== undefined && !sync) throw new CvmError('PARAM_INVALID', "synchronous: needs to be set for 'timeout'");
  const argv = opts.command && opts.command.length > 0 ? opts.command : undefined;
  if (!argv && opts.inputData === undefined) throw new CvmError('PARAM_INVALID', 'command or input-data (or both) required');
  if (opts.inputData !== undefined && Buffer.byteLength(opts.inputData) > MAX_EXEC_INPUT_BYTES) {
    throw new CvmError('PARAM_INVALID', "'input-data' (STDIN) is limited to 1 MiB, aborting");
  }
  const args: Record<string, unknown> = { 'capture-output': true };
  if (argv) {
    args.path = argv[0];
    args.arg = argv.slice(1);
  }
  if (opts.inputData !== undefined) args['input-data'] = Buffer.from(opts.inputData).toString('base64');
  const started = (await agentCall(ctx, vmid, 'exec', args)) as { pid: number };
  if (!sync) return { result: started };
  const timeoutMs = (opts.timeoutSec ?? 30) * 1000;
  const t0 = Date.now();
  while (timeoutMs === 0 || Date.now() - t0 < timeoutMs) {
    const status = await agentExecStatus(ctx, vmid, started.pid);
    if (status.exited) return { result: status };
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
  opts.warn?.('timeout reached, returning pid');
  return { result: started };
}
