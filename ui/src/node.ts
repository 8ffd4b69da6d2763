/**
 * @module ui/node
 * The node this server is: the `local` entry of `GET /cluster/status` (in a cluster `GET /nodes`
 * lists the other members too), read once.
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
