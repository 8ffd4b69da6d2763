/**
 * @module api/routes/nodes
 * `GET /nodes` (this one node, online, with load and memory numbers of the host and the TLS
 * fingerprint) and the node index `GET /nodes/{node}`. cvmctl is a single-node system: any
 * other node name is refused by the server core with `no such cluster node`.
 */

import { availableParallelism, freemem, loadavg, totalmem, uptime } from 'node:os';
import { node } from '../schemas.js';
import type { RouteDef, ServerContext } from '../types.js';

export function nodeEntry(ctx: ServerContext): Record<string, string | number> {
  const maxcpu = availableParallelism();
  return {
    node: ctx.node,
    status: 'online',
    id: `node/${ctx.node}`,
    type: 'node',
    cpu: Math.min(1, (loadavg()[0] ?? 0) / maxcpu),
    maxcpu,
    mem: totalmem() - freemem(),
    maxmem: totalmem(),
    disk: 0,
    maxdisk: 0,
    uptime: Math.floor(uptime()),
    level: '',
    ssl_fingerprint: ctx.fingerprint,
  };
}

export const nodeRoutes: RouteDef[] = [
  { method: 'GET', path: '/nodes', handler: async (req) => [nodeEntry(req.server)] },
  {
    method: 'GET',
    path: '/nodes/{node}',
    params: { node },
    handler: async () => [{ name: 'qemu' }, { name: 'storage' }, { name: 'tasks' }, { name: 'capabilities' }],
  },
];
