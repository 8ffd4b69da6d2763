/**
 * @module cli/commands/migrate
 * `cvmctl migrate VMID TARGET [--with-local-disks] [--online] [--force] [--json]` like `qm
 * migrate`: moves a stopped VM of this cluster node to TARGET (its local disks streamed to the
 * target node's API, then ownership moved in one etcd transaction). The task-log lines, copy
 * progress included, go to stdout; `--json` prints only the result object. The work lives in
 * src/cluster/migrate.
 */
import type { Command } from 'commander';
import { parseVmid as parseVmidText } from '../../store/vmid.js';
import { printJson, printWarning } from '../output.js';

const parseVmid = (text: string): number => parseVmidText(text);

export function register(program: Command): void {
  program
    .command('migrate')
    .description('migrate a stopped VM to another cluster node (qm migrate); local disks only with --with-local-disks')
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<target>', 'target node')
    .option('--with-local-disks', 'copy local disks to the same storage on the target node')
    .option('--online', 'live migration of a running VM (refused: not supported by cvmctl, impossible for SEV/SNP/TDX)')
    .option('--force', 'migrate although the VM uses local devices')
    .option('--json', 'print the result as JSON instead of the task log')
    .action(
      async (
        vmid: number,
        target: string,
        opts: { withLocalDisks?: boolean; online?: boolean; force?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const [{ resolveRoot }, { migrateVm }, { resolve }] = await Promise.all([
          import('../../store/root.js'),
          import('../../cluster/migrate.js'),
          import('node:path'),
        ]);
        const root = resolve(resolveRoot(cmd.optsWithGlobals().root as string | undefined));
        const log = opts.json ? () => undefined : (line: string) => process.stdout.write(`${line}\n`);
        const result = await migrateVm({
          root,
          vmid,
          target,
          online: opts.online === true,
          withLocalDisks: opts.withLocalDisks === true,
          force: opts.force === true,
          log,
          warn: printWarning,
        });
        if (opts.json) printJson(result);
      },
    );
}
