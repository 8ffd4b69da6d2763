/**
 * @module api/routes/pools
 * Resource pools: cvmctl has none, but bpg reads `GET /pools` for every VM, so the list exists
 * and is empty. Asking for a particular pool gets PVE's "does not exist" answer.
 */

import { CvmError } from '../../errors.js';
import type { RouteDef } from '../types.js';

const poolid = { type: 'string', format: 'pve-poolid', maxLength: 64 } as const;
const noSuchPool = (id: string) => new CvmError('VM_NOT_FOUND', `pool '${id}' does not exist`);

export const poolRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/pools',
    params: { poolid: { ...poolid, optional: true }, type: { type: 'string', optional: true, enum: ['qemu', 'lxc', 'storage'] } },
    handler: async () => [],
  },
  {
    method: 'GET',
    path: '/pools/{poolid}',
    params: { poolid },
    handler: async (req) => Promise.reject(noSuchPool(req.params.poolid as string)),
  },
  {
    method: 'PUT',
    path: '/pools',
    params: {
      poolid,
      vms: { type: 'string', optional: true },
      delete: { type: 'boolean', optional: true },
      comment: { type: 'string', optional: true },
    },
    handler: async (req) => Promise.reject(noSuchPool(req.params.poolid as string)),
  },
];
