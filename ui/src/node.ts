/**
 * @module ui/node
 * The node this server is: the `local` entry of `GET /cluster/status` (in a cluster `GET /nodes`
 * lists the other members too), read once. In a cluster the UI also shows the VMs of the other
 * online nodes: their requests go to this server, which forwards them to the VM's node
 * (`onlineNodes`, `vmNode`).
 */

import { api } from './api';

let name: Promise<string> | undefined;

export function nodeName(): Promise<string> {
  name ??= api
    .get<{ type: string; name: string; local?: number }[]>('/cluster/status')
    .then((list) => list.find((e) => e.type === 'node' && e.local === 1)?.name ?? 'localhost');
  name.catch(() => {
    name = undefined;
  });
  return name;
}

/** The online nodes (this one alone when /nodes cannot say), this node first. */
export async function onlineNodes(): Promise<string[]> {
  const local = await nodeName();
  const list = await api.get<{ node: string; status: string }[]>('/nodes').catch(() => []);
  const others = list.filter((n) => n.status === 'online' && n.node !== local).map((n) => n.node);
  return [local, ...others.sort()];
}

const vmNodes = new Map<number, { node: Promise<string>; at: number }>();

/** The node a VM lives on (from /cluster/resources, remembered for 10 s); this node when not listed. */
export function vmNode(vmid: number | string): Promise<string> {
  const id = Number(vmid);
  const known = vmNodes.get(id);
  if (known && Date.now() - known.at < 10_000) return known.node;
  const node = api
    .get<{ vmid: number; node: string }[]>('/cluster/resources?type=vm')
    .then((list) => list.find((r) => r.vmid === id)?.node)
    .catch(() => undefined)
    .then((found) => found ?? nodeName());
  vmNodes.set(id, { node, at: Date.now() });
  return node;
}
