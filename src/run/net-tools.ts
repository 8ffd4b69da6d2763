/**
 * @module run/net-tools
 * The host-side tools tap plumbing uses: `ip`, `bridge` and `tc` run without a shell, and
 * reads/writes under /sys/class/net and /proc/sys/net. Passed in as one object so unit tests
 * record the calls, while integration tests run the real tools inside a network namespace.
 * A failing tool becomes one CvmError line with the tool's own stderr.
 */

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CvmError } from '../errors.js';

const run = promisify(execFile);

export type NetTool = 'ip' | 'bridge' | 'tc';

export interface NetTools {
  /** Run a tool; rejects with a CvmError('IO') naming the command and its stderr. */
  run(tool: NetTool, args: string[]): Promise<string>;
  /** First line of a sysfs/procfs file, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  write(path: string, value: string): Promise<void>;
}

export const hostNetTools: NetTools = {
  async run(tool, args) {
    try {
      return (await run(tool, args, { timeout: 10_000 })).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new CvmError('IO', `${tool} ${args.join(' ')} failed - ${(e.stderr || e.message).trim().split('\n')[0]}`, { cause: err });
    }
  },
  async read(path) {
    try {
      return (await readFile(path, 'utf8')).split('\n')[0]?.trim();
    } catch {
      return undefined;
    }
  },
  async write(path, value) {
    await writeFile(path, `${value}\n`);
  },
};

/** Run and ignore failure (removing what may not exist). */
export async function tryRun(tools: NetTools, tool: NetTool, args: string[]): Promise<void> {
  await tools.run(tool, args).catch(() => undefined);
}

export async function ifaceExists(tools: NetTools, iface: string): Promise<boolean> {
  return (await tools.read(`/sys/class/net/${iface}/ifindex`)) !== undefined;
}

/** disable_ipv6: a bridge port needs no link-local address (skipped when IPv6 is off). */
export async function disableIpv6(tools: NetTools, iface: string): Promise<void> {
  const file = `/proc/sys/net/ipv6/conf/${iface}/disable_ipv6`;
  if ((await tools.read(file)) === undefined) return;
  await tools.write(file, '1');
}
