/**
 * @module api/routes/cluster
 * `GET /cluster/nextid` (the first free VM id from 100 up, as a JSON string like PVE; with
 * `vmid` it asserts that id is free: `400 {vmid: "VM 100 already exists"}`),
 * `GET /cluster/resources` (every VM the caller may audit, with numeric `vmid`, plus this node
 * and its storages when no `type` filter asks otherwise; another node's running VMs carry the
 * usage that node published) and `GET /cluster/tasks` (every node's recent tasks as
 * pve-manager's Cluster.pm `tasks` lists them: all of them with Sys.Audit on `/`, else the
 * caller's own). Ansible and bpg find VMs only through the resources list.
 */

import { readdir } from 'node:fs/promises';
import { applyUsage, clusterMembers, clusterTaskLists, clusterUsage, remoteNodeEntry, remoteVmStatus } from '../../cluster/api-view.js';
import { EtcdConfigStore } from '../../cluster/etcd-store.js';
import { openConfigStore } from '../../store/open.js';
import { stateLayout } from '../../store/root.js';
import { vmidsWithPidFile } from '../../store/status.js';
import { VMID_MAX, VMID_MIN } from '../../store/vmid.js';
import { type RecentTask, recentTasks } from '../../tasks/recent.js';
import { decodeUpid } from '../../tasks/upid.js';
import { paramError } from '../params.js';
import { canSee } from '../permissions.js';
import { vmid } from '../schemas.js';
import { type ApiRequest, identityOf, type RouteDef, type ServerContext } from '../types.js';
import { vmStatusObject } from '../vmstatus.js';
import { nodeEntry } from './nodes.js';
import { splitTaskUser } from './tasks.js';
import { storageEntries } from './storage.js';

/** VM ids with a config file under the root. */
export async function usedVmids(root: string): Promise<Set<number>> {
  const store = openConfigStore(root);
  if (store instanceof EtcdConfigStore) return new Set((await store.clusterVmids()).keys()); // ids of every node
  try {
    const names = await readdir(stateLayout(root).configDir);
    return new Set(
      names
        .map((n) => /^(\d+)\.conf$/.exec(n)?.[1])
        .filter((v): v is string => v !== undefined)
        .map(Number),
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw err;
  }
}

/** Resource entries of the VMs the caller may audit. */
export async function vmResources(req: ApiRequest): Promise<Record<string, string | number>[]> {
  const identity = identityOf(req);
  const { root, node } = req.server;
  const store = openConfigStore(root);
  // usage is decoration: without it, running VMs of other nodes still list (with zeros)
  const [members, usage] = await Promise.all([clusterMembers(root), clusterUsage(root).catch(() => undefined)]);
  // a cluster member lists every node's VMs; the others' running state comes from their registrations
  const vms = store instanceof EtcdConfigStore ? await store.listAll() : (await req.server.configs.list()).map((vm) => ({ ...vm, node }));
  // only VMs with a pid file can run here: the others are stopped without a look at /proc
  const pidFiles = await vmidsWithPidFile(root);
  const out: Record<string, string | number>[] = [];
  for (const vm of vms) {
    if (!(await canSee(req, identity, `/vms/${vm.vmid}`, ['VM.Audit']))) continue;
    const local = vm.node === node;
    // another node's VM has no pid file here: its state comes from that node's registration
    const st = await vmStatusObject(root, vm.config, local && pidFiles.has(vm.vmid) ? undefined : { status: 'stopped' });
    if (!local) {
      st.status = members ? remoteVmStatus(members, vm.node, vm.vmid) : 'unknown';
      if (st.status === 'running') applyUsage(st, usage?.get(vm.node)?.[vm.vmid]);
    }
    out.push({
      id: `qemu/${vm.vmid}`,
      type: 'qemu',
      node: vm.node,
      ...st,
      maxcpu: st.cpus as number,
      template: st.template ?? 0,
    });
  }
  return out;
}

/**
 * Parse every config and what the listing takes from it ahead of the first `/cluster/resources`
 * of a single node (`serve` runs it in the background at start; a cluster member warms its
 * watch-fed copy instead).
 */
export async function warmVmResources(server: ServerContext): Promise<void> {
  for (const vm of await server.configs.list()) await vmStatusObject(server.root, vm.config, { status: 'stopped' });
}

/** A published task entry as the list shows it: the UPID's fields, `pid` while running, else `endtime` and `status`. */
function taskEntry(raw: unknown): Record<string, string | number> | undefined {
  const t = raw as Partial<RecentTask> | null;
  const u = typeof t?.upid === 'string' ? decodeUpid(t.upid) : undefined;
  if (!t || !u) return undefined;
  const out: Record<string, string | number> = { upid: t.upid as string, node: u.node, starttime: u.starttime, type: u.type, id: u.id };
  Object.assign(out, splitTaskUser(u.user));
  if (typeof t.endtime === 'number' && typeof t.status === 'string') {
    out.endtime = t.endtime;
    out.status = t.status;
  } else out.pid = u.pid;
  return out;
}

export const clusterRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/cluster',
    handler: async () => [{ name: 'nextid' }, { name: 'resources' }, { name: 'status' }, { name: 'tasks' }],
  },
  {
    method: 'GET',
    path: '/cluster/nextid',
    params: { vmid: { ...vmid, optional: true } },
    handler: async (req) => {
      const store = openConfigStore(req.server.root);
      // a cluster member asks etcd about single ids (linearizable) instead of listing every id
      const cluster = store instanceof EtcdConfigStore ? store : undefined;
      if (req.params.vmid !== undefined) {
        const wanted = Number(req.params.vmid);
        const taken = cluster ? (await cluster.vmidOwner(wanted)) !== undefined : (await usedVmids(req.server.root)).has(wanted);
        if (taken) throw paramError({ vmid: `VM ${wanted} already exists` });
        return String(wanted);
      }
      let free: number | undefined;
      if (cluster) free = await cluster.firstFreeVmid(VMID_MIN, VMID_MAX);
      else {
        const used = await usedVmids(req.server.root);
        for (let id = VMID_MIN; id <= VMID_MAX && free === undefined; id++) if (!used.has(id)) free = id;
      }
      if (free !== undefined) return String(free);
      throw paramError({ vmid: 'unable to get any free VMID in range [100, 999999999]' });
    },
  },
  {
    method: 'GET',
    path: '/cluster/tasks',
    handler: async (req) => {
      const identity = identityOf(req);
      const all = await canSee(req, identity, '/', ['Sys.Audit']);
      // this node's list fresh from its task logs; the others' as they published it
      const lists = new Map<string, unknown[]>([[req.server.node, await recentTasks(req.server.tasks)]]);
      // like pmxcfs's get_tasklist, the others' lists are best effort: etcd unreachable leaves this node's
      for (const [node, list] of (await clusterTaskLists(req.server.root).catch(() => undefined)) ?? []) {
        if (node !== req.server.node && Array.isArray(list)) lists.set(node, list);
      }
      const out: Record<string, string | number>[] = [];
      for (const node of [...lists.keys()].sort()) {
        for (const raw of lists.get(node) ?? []) {
          const entry = taskEntry(raw);
          // as Cluster.pm: after the token split, `user` must be the caller (a token sees its tasks only with Sys.Audit)
          if (entry && (all || entry.user === identity.authid)) out.push(entry);
        }
      }
      return out;
    },
  },
  {
    method: 'GET',
    path: '/cluster/resources',
    params: { type: { type: 'string', optional: true, enum: ['vm', 'storage', 'node', 'sdn'] } },
    handler: async (req) => {
      const type = req.params.type;
      const out: Record<string, unknown>[] = [];
      if (type === undefined || type === 'vm') out.push(...(await vmResources(req)));
      if (type === undefined || type === 'node') {
        if (await canSee(req, identityOf(req), `/nodes/${req.server.node}`, ['Sys.Audit'])) out.push(nodeEntry(req.server));
        for (const m of (await clusterMembers(req.server.root)) ?? []) {
          if (m.node !== req.server.node && (await canSee(req, identityOf(req), `/nodes/${m.node}`, ['Sys.Audit']))) out.push(remoteNodeEntry(m));
        }
      }
      if (type === undefined || type === 'storage') {
        for (const s of await storageEntries(req)) {
          out.push({
            ...s,
            id: `storage/${req.server.node}/${s.storage}`,
            type: 'storage',
            plugintype: s.type,
            node: req.server.node,
            status: 'available',
          });
        }
      }
      return out;
    },
  },
];
