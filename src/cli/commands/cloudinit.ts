/**
 * @module cli/commands/cloudinit
 * `cvmctl cloudinit dump|pending|update` like `qm cloudinit …`: dump prints a generated file
 * (user, network or meta data) of the VM's current config, pending lists what changed since the
 * image was generated (`cur`/`new` lines as qm's format_pending, or the API rows with `--json`),
 * update regenerates the image and swaps it into a running VM. The work lives in src/cloudinit.
 */
import type { Command } from 'commander';
import { parseVmid as parseVmidText } from '../../store/vmid.js';
import { printJson, printWarning } from '../output.js';

const parseVmid = (text: string): number => parseVmidText(text);
const out = (text: string) => process.stdout.write(text);

async function context(cmd: Command) {
  const [{ resolveRoot }, { localLifecycleContext }, cloudinit] = await Promise.all([
    import('../../store/root.js'),
    import('../../run/local-context.js'),
    import('../../cloudinit/index.js'),
  ]);
  const ctx = await localLifecycleContext(resolveRoot(cmd.optsWithGlobals().root as string | undefined), { warn: printWarning });
  return { ctx, cloudinit };
}

/** PVE::GuestHelpers::format_pending: rows by key; a deleted key without value prints nothing, as in qm. */
export function formatPendingRows(rows: readonly { key: string; value?: string; pending?: string; delete?: number }[]): string {
  let text = '';
  for (const row of [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (row.value !== undefined) {
      if (row.delete) text += `del ${row.key}: ${row.value}\n`;
      else if (row.pending !== undefined) text += `cur ${row.key}: ${row.value}\nnew ${row.key}: ${row.pending}\n`;
      else text += `cur ${row.key}: ${row.value}\n`;
    } else if (row.pending !== undefined) text += `new ${row.key}: ${row.pending}\n`;
  }
  return text;
}

export function register(program: Command): void {
  const ci = program.command('cloudinit').description('cloud-init: dump generated files, list pending changes, regenerate the image');
  ci.command('dump')
    .description('print the generated cloud-init user, network or meta data of the current config (qm cloudinit dump)')
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<type>', 'user, network or meta')
    .action(async (vmid: number, type: string, _opts: unknown, cmd: Command) => {
      const { ctx, cloudinit } = await context(cmd);
      out(`${await cloudinit.cloudinitDump(await ctx.loadConfig(vmid), type, { warn: printWarning })}\n`);
    });
  ci.command('pending')
    .description('list the cloud-init values with the ones the current image was generated from (qm cloudinit pending)')
    .argument('<vmid>', 'VM ID', parseVmid)
    .option('--json', 'print the rows as JSON (the API answer)')
    .action(async (vmid: number, opts: { json?: boolean }, cmd: Command) => {
      const { ctx, cloudinit } = await context(cmd);
      const rows = cloudinit.cloudinitPending(await ctx.loadConfig(vmid));
      if (opts.json) printJson(rows);
      else out(formatPendingRows(rows));
    });
  ci.command('update')
    .description('regenerate the cloud-init image and change it in a running VM (qm cloudinit update)')
    .argument('<vmid>', 'VM ID', parseVmid)
    .action(async (vmid: number, _opts: unknown, cmd: Command) => {
      const { ctx, cloudinit } = await context(cmd);
      await cloudinit.cloudinitUpdate(ctx, vmid);
    });
}
