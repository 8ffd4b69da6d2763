/**
 * @module api/routes/nodes
 * `GET /nodes` (this one node, online, with load and memory numbers of the host and the TLS
 * fingerprint), the node index `GET /nodes/{node}`, the node's `status` (CPU, memory, load,
 * kernel, as pve-manager's node status has them) and `GET /cluster/status` (a standalone
 * node). cvmctl is a single-node system: any other node name is refused by the server core
 * with `no such cluster node`.
 */

import { cpus, loadavg, release, type, version as osVersion } from 'node:os';
import { clusterMembers, clusterQuorum, remoteNodeEntry } from '../../cluster/api-view.js';
import { hostUsage } from '../../host/local/usage.js';
import { nodeAcl, requirePrivs } from '../permissions.js';
import { node } from '../schemas.js';
import type { RouteDef, ServerContext } from '../types.js';
import { cvmctlVersion } from './version.js';

export function nodeEntry(ctx: ServerContext): Record<string, string | number> {
  const usage = hostUsage();
  return {
    node: ctx.node,
    status: 'online',
    id: `node/${ctx.node}`,
    type: 'node',
    cpu: usage.cpu,
    maxcpu: usage.maxcpu,
    mem: usage.mem,
    maxmem: usage.maxmem,
    disk: 0,
    maxdisk: 0,
    uptime: usage.uptime,
    level: '',
    ssl_fingerprint: ctx.fingerprint,
  };
}

function nodeStatus(ctx: ServerContext, cvmctl: string): Record<string, unknown> {
  const all = cpus();
  const usage = hostUsage();
  return {
    uptime: usage.uptime,
    loadavg: loadavg().map((l) => l.toFixed(2)),
    cpu: usage.cpu,
    cpuinfo: { cpus: all.length, model: all[0]?.model ?? 'unknown', mhz: String(all[0]?.speed ?? 0) },
    memory: { total: usage.maxmem, used: usage.mem, free: usage.maxmem - usage.mem },
    kversion: `${type()} ${release()} ${osVersion()}`,
    pveversion: `cvmctl/${cvmctl}`,
    node: ctx.node,
  };
}

export const nodeRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/nodes',
    handler: async (req) => {
      const members = await clusterMembers(req.server.root);
      if (!members) return [nodeEntry(req.server)];
      return members.map((m) => (m.node === req.server.node ? nodeEntry(req.server) : remoteNodeEntry(m)));
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}',
    params: { node },
    handler: async () => [{ name: 'qemu' }, { name: 'storage' }, { name: 'tasks' }, { name: 'capabilities' }, { name: 'status' }],
  },
  {
    method: 'GET',
    path: '/nodes/{node}/status',
    params: { node },
    permissions: requirePrivs(nodeAcl, ['Sys.Audit']),
    handler: async (req) => nodeStatus(req.server, cvmctlVersion()),
  },
  {
    method: 'GET',
    path: '/cluster/status',
    handler: async (req) => {
      const members = await clusterMembers(req.server.root);
      if (!members) return [{ type: 'node', id: `node/${req.server.node}`, name: req.server.node, nodeid: 0, online: 1, local: 1, level: '' }];
      const { name, quorate } = await clusterQuorum(req.server.root);
      return [
        { type: 'cluster', id: 'cluster', name, nodes: members.length, quorate: quorate ? 1 : 0, version: 1 },
        ...members.map((m, i) => ({
          type: 'node',
          id: `node/${m.node}`,
          name: m.node,
          nodeid: i + 1,
          online: m.online || m.node === req.server.node ? 1 : 0,
          local: m.node === req.server.node ? 1 : 0,
          level: '',
          ...(m.record?.url ? { ip: new URL(m.record.url).hostname } : {}),
        })),
      ];
    },
  },
];
