/**
 * @module snapshot/describe
 * The one change a snapshot allows after it was taken, its description (qemu-server's
 * `PUT …/snapshot/{snapname}/config`): under the config lock, refused while the VM carries a
 * `lock:` (`VM is locked (…)`), and for a snapshot that does not exist.
 */

import type { LifecycleContext } from '../run/context.js';
import { assertNotLocked } from '../run/lock.js';
import { snapshotOf, storeOf } from './common.js';

export async function snapshotSetDescription(ctx: LifecycleContext, vmid: number, name: string, description: string): Promise<void> {
  await storeOf(ctx).update(vmid, (cfg) => {
    assertNotLocked(cfg.conf);
    snapshotOf(cfg, name).description = description;
    return cfg;
  });
}
