/**
 * @module cli/commands/disk
 * `cvmctl disk resize VMID DISK SIZE` and `cvmctl disk move VMID DISK STORAGE` like `qm disk
 * resize|move`. The work lives in src/storage (resize.ts, move.ts); progress lines go to stdout
 * as in qm's task output.
 */
import type { Command } from 'commander';
import { CvmError } from '../../errors.js';
import { parseVmid as parseVmidText } from '../../store/vmid.js';
import { printWarning } from '../output.js';

const parseVmid = (text: string): number => parseVmidText(text);
const log = (line: string) => process.stdout.write(`${line}\n`);

/** `bwlimit`: an integer ≥ 0 (qm's schema). */
function parseBwlimit(text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new CvmError('PARAM_INVALID', `bwlimit: type check ('integer') failed - got '${text}'`, {
      details: { key: 'bwlimit', value: text },
    });
  }
  return Number(text);
}

async function context(cmd: Command) {
  const [{ resolveRoot }, { localLifecycleContext }] = await Promise.all([
    import('../../store/root.js'),
    import('../../run/local-context.js'),
  ]);
  return localLifecycleContext(resolveRoot(cmd.optsWithGlobals().root as string | undefined), { warn: printWarning });
}

export function register(program: Command): void {
  const disk = program.command('disk').description('disk operations: resize, move');
  disk
    .command('resize')
    .description('grow a disk: SIZE is absolute or +N (K/M/G/T); shrinking is refused; online through QMP block_resize')
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<disk>', 'the disk (scsi0, virtio1, efidisk0, …)')
    .argument('<size>', 'new size, e.g. 10G, or +1G to add to the current size')
    .option('--digest <sha1>', 'only if the config still has this SHA-1')
    .option('--skiplock', "ignore the config's lock")
    .action(async (vmid: number, name: string, size: string, opts: { digest?: string; skiplock?: boolean }, cmd: Command) => {
      const ctx = await context(cmd);
      const { diskResize } = await import('../../storage/resize.js');
      await diskResize(ctx, vmid, name, size, { log, skiplock: opts.skiplock === true, ...(opts.digest ? { digest: opts.digest } : {}) });
    });
  disk
    .command('move')
    .description(
      'copy a disk to another storage (stopped VM: qemu-img convert; running VM: a QEMU mirror job, then the VM switches to the copy); the source stays as unusedN unless --delete',
    )
    .argument('<vmid>', 'VM ID', parseVmid)
    .argument('<disk>', 'the disk (scsi0, virtio1, efidisk0, tpmstate0, …)')
    .argument('<storage>', 'target storage')
    .option('--format <raw|qcow2|vmdk>', 'target format (default: the source format)')
    .option('--delete', 'free the source volume after a successful copy')
    .option('--digest <sha1>', 'only if the config still has this SHA-1')
    .option(
      '--bwlimit <KiB/s>',
      "I/O bandwidth limit of the copy in KiB/s (0: unlimited); default: the storages' `bwlimit move=`",
      parseBwlimit,
    )
    .action(
      async (
        vmid: number,
        name: string,
        storage: string,
        opts: { format?: string; delete?: boolean; digest?: string; bwlimit?: number },
        cmd: Command,
      ) => {
        const ctx = await context(cmd);
        const { diskMove } = await import('../../storage/move.js');
        // qemu-server's move dies `interrupted by signal` on INT/TERM/QUIT/HUP and cleans up (a
        // mirror job cancelled, the new volume freed) instead of leaving them behind
        const interrupt = new AbortController();
        const signals = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGHUP'] as const;
        const onSignal = () => interrupt.abort();
        for (const s of signals) process.on(s, onSignal);
        try {
          await diskMove(ctx, vmid, name, storage, {
            signal: interrupt.signal,
            log,
            delete: opts.delete === true,
            ...(opts.format ? { format: opts.format } : {}),
            ...(opts.digest ? { digest: opts.digest } : {}),
            ...(opts.bwlimit !== undefined ? { bwlimit: opts.bwlimit } : {}),
          });
        } finally {
          for (const s of signals) process.off(s, onSignal);
        }
      },
    );
}
