/**
 * @module qemu/qmp/per-command
 * A QMP "session" that connects for every command and closes right after, the way
 * qemu-server's mon_cmd talks to a VM. QEMU's monitor serves one client at a time, so an
 * operation that polls for minutes (a block job) must not hold the socket: `cvmctl status`,
 * the API's status calls and a second operation get their turn between two polls.
 */

import { type ExecuteOptions, QmpClient, type QmpClientOptions } from './client.js';

/** The one method the block-job and hotplug code need of a QMP session. */
export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T>;
}

export function perCommandQmp(path: string, options: QmpClientOptions = {}): QmpExecutor {
  return {
    async execute<T>(command: string, args?: Record<string, unknown>, opts?: ExecuteOptions): Promise<T> {
      const client = await QmpClient.connect(path, options);
      try {
        return await client.execute<T>(command, args, opts);
      } finally {
        await client.close();
      }
    },
  };
}
