/**
 * @module snapshot/list
 * `cvmctl listsnapshot`: the `GET …/snapshot` answer (every snapshot with name, snaptime,
 * vmstate 0/1, description, parent, snapstate; then `current` with the digest, running flag,
 * `You are here!` and its parent) and qm's tree rendering of it (print_snapshot_tree: roots and
 * children ordered by snaptime, `current` last, `` `-> `` prefixes growing by one space per
 * level, name padded to 30 minus the prefix, local time `%F %H:%M:%S`, the description's first
 * line or `no-description`).
 */

import type { LifecycleContext } from '../run/context.js';
import { isRunning, storeOf } from './common.js';

export interface SnapshotListItem {
  name: string;
  snaptime?: number;
  vmstate?: 0 | 1;
  description: string;
  parent?: string;
  snapstate?: string;
  digest?: string;
  running?: 0 | 1;
}

export async function snapshotList(ctx: LifecycleContext, vmid: number): Promise<SnapshotListItem[]> {
  const { config } = await storeOf(ctx).read(vmid);
  const out: SnapshotListItem[] = [];
  for (const [name, d] of Object.entries(config.snapshots)) {
    const item: SnapshotListItem = {
      name,
      snaptime: Number(d.snaptime ?? 0) || 0,
      vmstate: d.vmstate ? 1 : 0,
      description: d.description ?? '',
    };
    if (d.parent) item.parent = d.parent;
    if (d.snapstate) item.snapstate = d.snapstate;
    out.push(item);
  }
  const current: SnapshotListItem = {
    name: 'current',
    digest: config.digest,
    running: (await isRunning(ctx, vmid)) ? 1 : 0,
    description: 'You are here!',
  };
  if (config.conf.parent) current.parent = config.conf.parent;
  out.push(current);
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');
function localTime(epoch: number): string {
  const d = new Date(epoch * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** print_snapshot_tree */
export function formatSnapshotTree(list: readonly SnapshotListItem[]): string {
  const byName = new Map(list.map((e) => [e.name, { ...e, children: [] as string[] }]));
  const roots: string[] = [];
  for (const e of list) {
    const parent = e.parent !== undefined ? byName.get(e.parent) : undefined;
    if (parent) parent.children.push(e.name);
    else roots.push(e.name);
  }
  // `current` has no snaptime and sorts last
  const bySnaptime = (a: string, b: string): number => {
    const ta = a === 'current' ? undefined : byName.get(a)?.snaptime;
    const tb = b === 'current' ? undefined : byName.get(b)?.snaptime;
    if (ta === undefined) return 1;
    if (tb === undefined) return -1;
    return ta - tb;
  };
  let text = '';
  const walk = (prefix: string, name: string) => {
    const e = byName.get(name);
    if (!e) return;
    const description = (e.description || 'no-description').split('\n')[0] ?? '';
    const time = name !== 'current' && e.snaptime !== undefined ? localTime(e.snaptime) : '';
    const len = Math.max(0, 30 - prefix.length);
    text += `${prefix} ${name.padEnd(len)} ${time.padEnd(23)} ${description}\n`;
    for (const child of [...e.children].sort(bySnaptime)) walk(` ${prefix}`, child);
  };
  for (const root of [...roots].sort(bySnaptime)) walk('`->', root);
  return text;
}
