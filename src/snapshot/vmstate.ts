/**
 * @module snapshot/vmstate
 * RAM and device state of a snapshot, on stock QEMU. qemu-server's patched QEMU writes it
 * with `savevm-start` into the raw volume `vm-<vmid>-state-<snap>` while the VM runs, and
 * loads it with `-loadstate`. Stock QEMU has neither, but it can migrate to and from a file:
 * the VM is paused, its disks are snapshotted, its state is migrated into the same raw
 * volume (`migrate file:<path>`), and it resumes; a rollback starts QEMU with `-incoming defer`
 * and `migrate-incoming file:<path>`. The VM is paused for the whole save (qemu-server keeps
 * it running during most of it), so disks and RAM are consistent by construction.
 */

import { CvmError } from '../errors.js';
import type { QmpClient } from '../qemu/qmp/index.js';
import { sleep } from '../run/wait.js';
import { renderBytes } from '../storage/convert.js';

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  'total-time'?: number;
  ram?: { transferred?: number };
}

async function waitMigration(qmp: Pick<QmpClient, 'execute'>, what: string, timeoutMs: number): Promise<MigrateInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await qmp.execute<MigrateInfo>('query-migrate');
    if (info.status === 'completed') return info;
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw new CvmError('QEMU_FAILED', `unable to ${what} VM state and RAM - ${info['error-desc'] ?? info.status}`);
    }
    if (Date.now() > deadline) throw new CvmError('QMP_TIMEOUT', `unable to ${what} VM state and RAM - got timeout`);
    await sleep(100);
  }
}

/** Migrate the (paused) VM's state into `path`; the VM stays paused. */
export async function saveVmstate(
  qmp: Pick<QmpClient, 'execute'>,
  path: string,
  storeid: string,
  log: (line: string) => void,
): Promise<void> {
  log(`saving VM state and RAM using storage '${storeid}'`);
  await qmp.execute('migrate', { uri: `file:${path}` });
  const info = await waitMigration(qmp, 'save', 3_600_000);
  log(
    `completed saving the VM state in ${((info['total-time'] ?? 0) / 1000).toFixed(1)}s, saved ${renderBytes(info.ram?.transferred ?? 0)}`,
  );
}

/** Arguments that make a new QEMU wait for an incoming migration. */
export const INCOMING_ARGS: readonly string[] = ['-incoming', 'defer'];

/** Load the state saved in `path` into a QEMU started with INCOMING_ARGS, then let it run. */
export async function loadVmstate(qmp: Pick<QmpClient, 'execute'>, path: string): Promise<void> {
  await qmp.execute('migrate-incoming', { uri: `file:${path}` });
  await waitMigration(qmp, 'load', 3_600_000);
  const { status } = await qmp.execute<{ status: string }>('query-status');
  if (status !== 'running') await qmp.execute('cont');
}
