/**
 * @module tasks/upid
 * PVE's unique process ids (UPIDs), the names of worker tasks:
 * `UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:` with its
 * trailing colon, exactly as pve-common's PVE::Tools::upid_encode / upid_decode write and
 * read them. Clients parse them (proxmoxer counts nine `:` fields, bpg takes the node from
 * field 1), so the shape is part of the wire contract. Also the process's own `pstart`
 * (start time in clock ticks since boot, field 22 of /proc/self/stat) that ties a UPID to a
 * live process.
 */

import { readFileSync } from 'node:fs';

export interface Upid {
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  type: string;
  id: string;
  /** `root@pam` or `root@pam!token`. */
  user: string;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

export function encodeUpid(u: Upid): string {
  return `UPID:${u.node}:${hex8(u.pid)}:${hex8(u.pstart)}:${hex8(u.starttime)}:${u.type}:${u.id}:${u.user}:`;
}

/** The decoded UPID, or undefined when the text is not one (PVE: "unable to parse worker upid"). */
export function decodeUpid(text: string): Upid | undefined {
  const m = UPID_RE.exec(text);
  if (!m) return undefined;
  return {
    node: m[1] as string,
    pid: Number.parseInt(m[2] as string, 16),
    pstart: Number.parseInt(m[3] as string, 16),
    starttime: Number.parseInt(m[4] as string, 16),
    type: m[5] as string,
    id: m[6] as string,
    user: m[7] as string,
  };
}

let ownPstart: number | undefined;

/** This process's start time in clock ticks since boot (0 where /proc is missing). */
export function processStartTicks(): number {
  if (ownPstart !== undefined) return ownPstart;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // the command name (field 2) may contain spaces: count fields after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ownPstart = Number(fields[19]) || 0;
  } catch {
    ownPstart = 0;
  }
  return ownPstart;
}
