/**
 * @module cli/commands/agent
 * `cvmctl agent <vmid> <command>`: the guest agent commands of `qm guest cmd`, plus
 * `exec` (`qm guest exec`: run a program in the guest, argv after `--`, wait up to --timeout
 * seconds) and `exec-status <pid>`. Results print as `qm` prints them: a plain value as a
 * line, an empty object as nothing, anything else as Perl's pretty canonical JSON.
 */
import type { Command } from 'commander';
import { CvmError } from '../../errors.js';
import { canonicalPrettyJson } from '../../util/canonical-json.js';
import { parseVmid as parseVmidText } from '../../store/vmid.js';
import { printWarning } from '../output.js';
import { MAX_TIMEOUT_SEC, parseSeconds } from './lifecycle.js';

const parseVmid = (text: string): number => parseVmidText(text);

/** print_agent_result of qm.pm. */
export function formatAgentResult(data: unknown): string {
  const result = data && typeof data === 'object' && 'result' in data ? (data as { result: unknown }).result : data;
  if (result === undefined || result === null) return '';
  if (typeof result !== 'object') {
    const text = String(result).replace(/\n$/, '');
    return /^\s*$/.test(text) ? '' : `${text}\n`;
  }
  if (!Array.isArray(result) && Object.keys(result).length === 0) return '';
  return `${canonicalPrettyJson(result)}\n`;
}

async function readStdin(limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new CvmError('PARAM_INVALID', "'input-data' (STDIN) is limited to 1 MiB, aborting");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBoolean(name: string) {
  return (text: string): boolean => {
    if (/^(1|on|yes|true)$/i.test(text)) return true;
    if (/^(0|off|no|false)$/i.test(text)) return false;
    throw new CvmError('PARAM_INVALID', `${name}: invalid value '${text}' - type check ('boolean') failed`);
  };
}

interface AgentOptions {
  timeout?: number;
  synchronous?: boolean;
  passStdin?: boolean;
}

export function register(program: Command): void {
  program
    .command('agent')
    .description(
      "talk to the VM's QEMU guest agent: ping, info, network-get-interfaces, fsfreeze-status, …, exec -- <argv>, exec-status <pid>",
    )
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<command>', 'agent command (ping, info, get-osinfo, network-get-interfaces, fsfreeze-status, exec, exec-status, …)')
    .argument('[args...]', 'exec: the program and its arguments (after --); exec-status: the pid')
    .option(
      '--timeout <s>',
      `exec: seconds to wait for the program, 0 = no limit, up to ${MAX_TIMEOUT_SEC} (default: 30)`,
      parseSeconds('timeout'),
    )
    .option('--synchronous <0|1>', 'exec: wait for the program to finish (default: 1)', parseBoolean('synchronous'))
    .option('--pass-stdin', 'exec: read stdin until EOF and give it to the program (at most 1 MiB)')
    .action(async (vmid: number, command: string, args: string[], opts: AgentOptions, cmd: Command) => {
      const [{ resolveRoot }, { localLifecycleContext }, agent] = await Promise.all([
        import('../../store/root.js'),
        import('../../run/local-context.js'),
        import('../../agent/index.js'),
      ]);
      const ctx = await localLifecycleContext(resolveRoot(cmd.optsWithGlobals().root as string | undefined), { warn: printWarning });
      let res: unknown;
      if (command === 'exec') {
        res = await agent.agentExec(ctx, vmid, {
          command: args,
          ...(opts.passStdin ? { inputData: await readStdin(agent.MAX_EXEC_INPUT_BYTES) } : {}),
          ...(opts.synchronous !== undefined ? { synchronous: opts.synchronous } : {}),
          ...(opts.timeout !== undefined ? { timeoutSec: opts.timeout } : {}),
          warn: printWarning,
        });
      } else if (command === 'exec-status') {
        if (args.length !== 1 || !/^\d+$/.test(args[0] as string)) {
          throw new CvmError('PARAM_INVALID', `pid: invalid value '${args.join(' ')}' - type check ('integer') failed`);
        }
        res = { result: await agent.agentExecStatus(ctx, vmid, Number(args[0])) };
      } else {
        if (args.length > 0) throw new CvmError('USAGE', `agent ${command}: unexpected arguments '${args.join(' ')}'`);
        res = await agent.agentCommand(ctx, vmid, command);
      }
      process.stdout.write(formatAgentResult(res));
    });
}
