/**
 * @module qemu/qmp/per-command
 * A QMP "session" that connects for every command and closes right after, the way
 * qemu-server's mon_cmd talks to a VM. QEMU's monitor serves one client at a time, so an
 * operation that polls for minutes (a block job) must not hold the socket: `cvmctl status`,
 * the API's status calls and a second operation get their turn between two polls. With a
 * `peer` name (`VM 100`) QEMU's refusals read as mon_cmd's: `VM 100 qmp command 'job-complete'
 * failed - <QEMU's text>`.
 */

import { CvmError } from '../../errors.js';
import { type ExecuteOptions, QmpClient, type QmpClientOptions, QmpError } from './client.js';

/** The one method the block-job and hotplug code need of a QMP session. */
export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T>;
}

export function perCommandQmp(path: string, options: QmpClientOptions & { peer?: string } = {}): QmpExecutor {
  return {
    async execute<T>(command: string, args?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T> {
      const client = await QmpClient.connect(path, options);
      try {
        return await client.execute<T>(command, args, opts);
      } catch (err) {
        if (!(err instanceof QmpError) || !options.peer) throw err;
        throw new CvmError('QMP_ERROR', `${options.peer} qmp command '${command}' failed - ${err.desc}`, {
          cause: err,
          details: { command, class: err.errorClass, desc: err.desc },
        });
      } finally {
        await client.close();
      }
    },
  };
}
