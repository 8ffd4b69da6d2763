/**
 * @module ui/node
 * The node this server is (cvmctl is single-node): its name, read once from `GET /nodes`.
 */

import { api } from './api';

let name: Promise<string> | undefined;

export function nodeName(): Promise<string> {
  name ??= api.get<{ node: string }[]>('/nodes').then((list) => list[0]?.node ?? 'localhost');
  name.catch(() => {
    name = undefined;
  });
  return name;
}
