/**
 * @module cli/commands/snapshot
 * `snapshot`, `rollback`, `delsnapshot`, `listsnapshot` like qm's commands of the same names.
 * The work lives in src/snapshot; progress lines (`snapshotting 'drive-scsi0' (…)`, vmstate
 * progress) go to stdout as in qm's task output, warnings to stderr as `WARN: …`.
 */
import type { Command } from 'commander';
import { CvmError } from '../../errors.js';
import { parseVmid as parseVmidText } from '../../store/vmid.js';
import { printWarning } from '../output.js';

const parseVmid = (text: string): number => parseVmidText(text);
const out = (text: string) => process.stdout.write(text);
const log = (line: string) => out(`${line}\n`);

function parseBoolean(name: string) {
  return (text: string): boolean => {
    if (/^(1|on|yes|true)$/i.test(text)) return true;
    if (/^(0|off|no|false)$/i.test(text)) return false;
    throw new CvmError('PARAM_INVALID', `${name}: invalid value '${text}' - type check ('boolean') failed`);
  };
}

async function context(cmd: Command) {
  const [{ resolveRoot }, { localLifecycleContext }, snapshot] = await Promise.all([
    import('../../store/root.js'),
    import('../../run/local-context.js'),
    import('../../snapshot/index.js'),
  ]);
  const ctx = await localLifecycleContext(resolveRoot(cmd.optsWithGlobals().root as string | undefined), { warn: printWarning });
  return { ctx, snapshot };
}

export function register(program: Command): void {
  program
    .command('snapshot')
    .description('snapshot a VM: every disk (qcow2 internal snapshots) and with --vmstate the RAM of a running VM')
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<snapname>', 'snapshot name (letter first, then letters, digits, _ and -; at most 40)')
    .option('--description <text>', 'a textual description or comment')
    .option('--vmstate <0|1>', 'save the vmstate (RAM) of a running VM', parseBoolean('vmstate'))
    .action(async (vmid: number, name: string, opts: { description?: string; vmstate?: boolean }, cmd: Command) => {
      const { ctx, snapshot } = await context(cmd);
      await snapshot.snapshotCreate(ctx, vmid, name, {
        log,
        ...(opts.description !== undefined ? { description: opts.description } : {}),
        ...(opts.vmstate !== undefined ? { vmstate: opts.vmstate } : {}),
      });
    });

  program
    .command('rollback')
    .description('roll a VM back to a snapshot (stops it first; a snapshot with RAM resumes from it)')
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<snapname>', 'snapshot name')
    .option('--start <0|1>', 'start the VM after rolling back to a snapshot without RAM', parseBoolean('start'))
    .action(async (vmid: number, name: string, opts: { start?: boolean }, cmd: Command) => {
      const { ctx, snapshot } = await context(cmd);
      await snapshot.snapshotRollback(ctx, vmid, name, { log, start: opts.start === true });
    });

  program
    .command('delsnapshot')
    .description('delete a snapshot (its disk snapshots and saved RAM)')
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<snapname>', 'snapshot name')
    .option('--force <0|1>', 'remove the snapshot from the config even if removing disk snapshots fails', parseBoolean('force'))
    .action(async (vmid: number, name: string, opts: { force?: boolean }, cmd: Command) => {
      const { ctx, snapshot } = await context(cmd);
      await snapshot.snapshotDelete(ctx, vmid, name, { log, force: opts.force === true });
    });

  program
    .command('listsnapshot')
    .description('list the snapshots of a VM as a tree (qm listsnapshot)')
    .argument('<vmid>', 'VM ID', parseVmid)
    .option('--json', 'print the list as JSON (the API answer)')
    .action(async (vmid: number, opts: { json?: boolean }, cmd: Command) => {
      const { ctx, snapshot } = await context(cmd);
      const list = await snapshot.snapshotList(ctx, vmid);
      out(opts.json ? `${JSON.stringify(list)}\n` : snapshot.formatSnapshotTree(list));
    });
}
